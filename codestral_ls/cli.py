"""The ``codestral-ls`` command: the language server, and a terminal mode for scripts.

codestral-ls                      # LSP over stdio (what editors run)
codestral-ls --tcp 127.0.0.1:2087 # LSP over TCP, for debugging
codestral-ls complete FILE --line 12 --column 5   # print the completion there
codestral-ls stats [--plot usage.png]             # local acceptance statistics
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence

from codestral_ls import __version__, logs


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="codestral-ls",
        description="Codestral code completion and chat as a language server.",
        epilog="Set CODESTRAL_API_KEY (or MISTRAL_API_KEY with api.mistral.ai) first.",
    )
    parser.add_argument("--version", action="version", version=f"codestral-ls {__version__}")
    parser.add_argument("--stdio", action="store_true", help="speak LSP on stdin/stdout (default)")
    parser.add_argument("--tcp", metavar="HOST:PORT", help="speak LSP on a TCP socket instead")
    _add_log_options(parser, default=None)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    complete = commands.add_parser(
        "complete",
        help="print the completion for a position in a file and exit",
        epilog=COMPLETE_EXIT_STATUSES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    # Also after the command, where people type them (the value given there wins).
    _add_log_options(complete, default=argparse.SUPPRESS)
    complete.add_argument("file", help="the source file")
    complete.add_argument("--line", type=int, required=True, help="line, counted from 1")
    complete.add_argument(
        "--column", type=int, required=True, help="column in characters, counted from 1"
    )
    complete.add_argument("--language", default="", help="language id (default: from suffix)")
    complete.add_argument(
        "--multiline",
        choices=("auto", "always", "never"),
        help="how much to complete (default: auto, or the multiline setting)",
    )
    complete.add_argument(
        "--settings",
        metavar="JSON|FILE",
        help="settings as editors pass them, as JSON text or a JSON file, e.g. "
        '\'{"apiBase": "https://gateway.example/v1", "model": "codestral-latest"}\'',
    )
    stats = commands.add_parser(
        "stats", help="print how many suggestions were shown, accepted and what they cost"
    )
    from codestral_ls.stats_report import add_arguments

    add_arguments(stats)
    return parser


#: ``complete --help``'s list of exit statuses, for whoever writes the script (here rather
#: than in terminal.py, whose imports the server's start-up should not pay for).
COMPLETE_EXIT_STATUSES = """\
exit status:
  0  a completion, printed on stdout
  1  the model had nothing to add here
  2  a configuration problem (no key, a rejected key, a bad setting, a wrong URL or
     model): change something
  3  the API or the network failed (429, 5xx, timeout, refused, a malformed answer):
     try again later
  4  nothing was asked, on purpose: Codestral is off (enable, disabledLanguages) or this
     file or the text at the cursor is never sent (excludeGlobs, maskSecrets)
Each status but 0 and 1 prints one line on stderr saying why."""


def _add_log_options(parser: argparse.ArgumentParser, default: object) -> None:
    parser.add_argument(
        "--log-file", metavar="PATH", default=default, help="write the server log to PATH"
    )
    parser.add_argument(
        "--log-level",
        choices=("debug", "info", "warning", "error"),
        default=default,
        help="how much to log (default: info; for complete: errors only, it says what failed)",
    )


#: What a person who runs ``codestral-ls`` at a terminal sees (an editor's stdin is a pipe).
STARTED_BY_HAND = (
    f"codestral-ls {__version__}: Codestral's language server, waiting for an editor to speak "
    "LSP on stdin (editors start it: see editors/README.md). To try it here: "
    "codestral-ls complete FILE --line N --column N. Ctrl-D quits."
)


def _is_a_terminal(stream: object) -> bool:
    try:
        return bool(stream and stream.isatty())  # type: ignore[attr-defined]
    except (AttributeError, ValueError):  # no stdin, or a closed one
        return False


#: The exit status of a program that a closed pipe stopped (128 + SIGPIPE), as a shell shows it.
_STOPPED_BY_A_CLOSED_PIPE = 141


def _printing(command: Callable[[], int]) -> int:
    """Run a command that prints to stdout. A reader that stops early (``| head``) ends it
    quietly, as it ends any Unix tool, instead of with a traceback: Python ignores SIGPIPE and
    raises ``BrokenPipeError`` at the write, and again at exit when it flushes stdout."""
    try:
        code = command()
        sys.stdout.flush()
        return code
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # the flush at exit goes nowhere
        os.close(devnull)
        return _STOPPED_BY_A_CLOSED_PIPE


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # The terminal mode prints one line per failure itself; its log is opt-in.
    level = getattr(logging, (args.log_level or "info").upper())
    if args.command == "complete" and not args.log_level:
        level = logging.ERROR
    # A level asked for is shown on stderr too; by default stderr gets warnings and errors.
    logs.configure(args.log_file, level, stderr_level=level if args.log_level else logging.WARNING)
    if args.command == "complete":
        from codestral_ls.terminal import run_complete

        return _printing(lambda: run_complete(args))
    if args.command == "stats":
        from codestral_ls.stats_report import run_stats

        return _printing(lambda: run_stats(args))
    if not args.tcp and _is_a_terminal(sys.stdin):
        print(STARTED_BY_HAND, file=sys.stderr)
    from codestral_ls import early_initialize

    # The editor gets its initialize answer before the heavy imports below.
    early = None if args.tcp else early_initialize.answer_from_stdin()
    from codestral_ls import attrs_cache, folders, tls

    tls.build_in_background()  # OpenSSL reads the CA bundle while Python imports below
    # lsprotocol's classes reuse the methods attrs compiled for them at an earlier start.
    with attrs_cache.reusing_compiled_methods(folders.cache_dir()):
        from codestral_ls import lifecycle, stdio
        from codestral_ls.pygls_compat import shutdown_requested
        from codestral_ls.server import create_server

    server = create_server()
    server.exit_hook = server.finish  # exit codes per spec, no wait for the stdin thread
    if args.tcp:
        host, _, port = args.tcp.rpartition(":")
        if not host or not port.isdigit():
            print("codestral-ls: --tcp wants HOST:PORT, e.g. 127.0.0.1:2087", file=sys.stderr)
            return 2
        server.start_tcp(host, int(port))
    else:
        stdio.serve_stdio(
            server,
            lambda: server.finish(lifecycle.exit_code(shutdown_requested(server.protocol))),
            unread=early.unread if early else b"",
            on_start=lambda: early_initialize.adopt(server, early) if early else None,
        )
    # The client went away (end of stdin) without an ``exit``: as the spec's exit, 0 only
    # after a ``shutdown``.
    server.finish(lifecycle.exit_code(shutdown_requested(server.protocol)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
