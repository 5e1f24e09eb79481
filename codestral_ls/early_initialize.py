"""Answer ``initialize`` before pygls is loaded, then let pygls carry on as if it had.

An editor waits for the ``initialize`` answer before it sends the first document, and
importing lsprotocol and pygls takes 0.4-0.8 s (more on a loaded machine): with them loaded
first, the server answered 0.95-1.09 s after it started. The answer depends only on the
features we register (fixed) and on two things the client declares (the position encodings
it accepts, and whether it has inline completion), so it is computed here from the raw JSON
with the standard library alone and written at once, ~50 ms after the process starts. The
heavy imports follow right away, while the editor sends ``initialized`` and opens its first
file; those messages wait in the pipe.

The session then goes to pygls through :func:`adopt`: pygls runs its own ``initialize`` for
the same message (client capabilities, workspace, position encoding, our ``initialize``
handler with the settings and the editor's process watch), and its answer is compared to the
one already sent instead of being sent again. ``tests/unit/test_early_initialize.py`` pins
that both answers are equal for the initialize parameters of many clients; a difference at
run time is logged as a warning.

Anything unusual in the first message (not ``initialize``, framing or types pygls would
reject) is left to pygls untouched: the bytes read so far are handed on as they came.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import stat
from dataclasses import dataclass
from typing import Any

from codestral_ls import __version__
from codestral_ls.actions.catalog import ACTION_KINDS

log = logging.getLogger(__name__)

#: Longest first message read here; a larger one (or a longer header) goes to pygls as is.
_MAX_BODY = 16 * 1024 * 1024
_MAX_HEADER = 64 * 1024
#: The encodings pygls can work in, the client's first choice among them wins (pygls's rule).
_ENCODINGS = ("utf-8", "utf-16", "utf-32")
#: ``TextDocumentSyncKind.Incremental`` (what ``CodestralServer`` registers).
_INCREMENTAL = 2
#: Every ``@server.command`` in registration order (actions, then controls); spelled out
#: because the modules that register them import pygls. The test compares with pygls's list.
_COMMANDS = ("codestral.runAction", "codestral.toggle", "codestral.accepted")


@dataclass
class EarlyStart:
    """What was read from stdin before pygls was loaded, and what was answered."""

    #: Every byte read from stdin that pygls has not seen (everything after the initialize
    #: message if it was answered, else everything).
    unread: bytes
    #: The initialize message (parsed JSON) if it was answered here, else ``None``.
    message: dict[str, Any] | None = None
    #: The ``result`` sent for it.
    result: dict[str, Any] | None = None
    #: Whether the editor's ``processId`` was alive when its initialize was read.
    editor_alive: bool = False


def initialize_result(params: Any) -> dict[str, Any] | None:
    """The ``InitializeResult`` the full server gives for ``params`` (raw JSON), or ``None``
    when the parameters are unusual enough that pygls should answer them itself."""
    if not isinstance(params, dict):
        return None
    capabilities = params.get("capabilities")
    if not isinstance(capabilities, dict):
        return None
    general = _member(capabilities, "general")
    text_document = _member(capabilities, "textDocument")
    if general is None or text_document is None:
        return None
    encodings = general.get("positionEncodings")
    if encodings is not None and not (
        isinstance(encodings, list) and all(isinstance(e, str) for e in encodings)
    ):
        return None
    inline = text_document.get("inlineCompletion")
    if inline is not None and not isinstance(inline, dict):
        return None
    synchronization = _member(text_document, "synchronization")
    if synchronization is None:
        return None
    sync: dict[str, Any] = {"openClose": True, "change": _INCREMENTAL}
    for name in ("willSave", "willSaveWaitUntil"):
        # Never offered (no handler), but pygls says so only to clients that mention them.
        if synchronization.get(name) is not None:
            sync[name] = False
    sync["save"] = True  # didSave is handled (the repository index)
    result: dict[str, Any] = {
        "capabilities": {
            "positionEncoding": _position_encoding(encodings),
            "textDocumentSync": sync,
            "completionProvider": {},
            "codeActionProvider": {"codeActionKinds": list(ACTION_KINDS), "resolveProvider": True},
            "executeCommandProvider": {"commands": list(_COMMANDS)},
            "workspace": {
                "workspaceFolders": {"supported": True, "changeNotifications": True},
                "fileOperations": {},
            },
        },
        "serverInfo": {"name": "codestral-ls", "version": __version__},
    }
    if inline is not None:  # only clients that declare inline completion get it (LSP 3.18)
        result["capabilities"]["inlineCompletionProvider"] = {}
    return result


def _member(parent: dict[str, Any], name: str) -> dict[str, Any] | None:
    """``parent[name]`` as a dict (``{}`` when absent or null); ``None`` if it is not one."""
    value = parent.get(name)
    if value is None:
        return {}
    return value if isinstance(value, dict) else None


def _position_encoding(encodings: list[str] | None) -> str:
    for encoding in encodings or ():
        if encoding in _ENCODINGS:
            return encoding
    return "utf-16"


# -- reading and answering before the event loop ----------------------------------------------


def answer_from_stdin(stdin_fd: int = 0, stdout_fd: int = 1) -> EarlyStart | None:
    """Read the first message; if it is an ``initialize`` we can answer, answer it now.

    Only a pipe or socket is read here (what editors give their servers); ``None`` means
    nothing was read. The file descriptors are still blocking at this point.
    """
    if not _is_pipe_or_socket(stdin_fd) or _same_file(stdin_fd, stdout_fd):
        return None
    start = EarlyStart(unread=b"")
    frame = _read_frame(stdin_fd, start)
    if frame is None:
        return start
    body, rest = frame
    try:
        message = json.loads(body)
    except ValueError:  # pygls reports it
        return start
    result = _answerable(message)
    if result is None:
        return start
    response = json.dumps({"id": message["id"], "jsonrpc": "2.0", "result": result})
    payload = response.encode("utf-8")
    header = (
        f"Content-Length: {len(payload)}\r\n"
        "Content-Type: application/vscode-jsonrpc; charset=utf-8\r\n\r\n"
    ).encode("ascii")
    # Looked at before answering: once answered, the editor may go on (or die) at any time.
    start.editor_alive = _editor_alive(message["params"].get("processId"))
    _write_all(stdout_fd, header + payload)
    start.unread, start.message, start.result = rest, message, result
    return start


def _editor_alive(pid: Any) -> bool:
    """``lifecycle.process_alive`` without importing it (it imports asyncio: 30+ ms)."""
    if isinstance(pid, bool) or not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # someone else's process (EPERM), but alive
    return True


def _answerable(message: Any) -> dict[str, Any] | None:
    if not isinstance(message, dict) or message.get("jsonrpc") != "2.0":
        return None
    if message.get("method") != "initialize":
        return None
    ident = message.get("id")
    if isinstance(ident, bool) or not isinstance(ident, (int, str)):
        return None
    return initialize_result(message.get("params"))


def _read_frame(fd: int, start: EarlyStart) -> tuple[bytes, bytes] | None:
    """(body, bytes after it) of the first frame; ``None`` if it is not a plain one. Every
    byte read so far is in ``start.unread`` either way."""
    while b"\r\n\r\n" not in start.unread:
        if len(start.unread) > _MAX_HEADER or not _read_more(fd, start):
            return None
    head, _, rest = start.unread.partition(b"\r\n\r\n")
    length = None
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            with contextlib.suppress(ValueError):
                length = int(value.strip())
    if length is None or not 0 <= length <= _MAX_BODY:
        return None
    while len(rest) < length:
        if not _read_more(fd, start):
            return None
        rest = start.unread.partition(b"\r\n\r\n")[2]
    return rest[:length], rest[length:]


def _read_more(fd: int, start: EarlyStart) -> bool:
    try:
        chunk = os.read(fd, 65536)
    except InterruptedError:
        return True
    except OSError:
        return False
    start.unread += chunk
    return bool(chunk)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _is_pipe_or_socket(fd: int) -> bool:
    try:
        mode = os.fstat(fd).st_mode
    except OSError:
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)


def _same_file(a: int, b: int) -> bool:
    try:
        first, second = os.fstat(a), os.fstat(b)
    except OSError:
        return True
    return (first.st_dev, first.st_ino) == (second.st_dev, second.st_ino)


# -- handing over to pygls --------------------------------------------------------------------


def adopt(server: Any, start: EarlyStart) -> None:
    """Run pygls's ``initialize`` for the message answered early, without answering again.

    ``server`` is the ``CodestralServer``, its writer set and its event loop running (our
    ``initialize`` handler starts the editor's process watch and logs to the editor).
    """
    if start.message is None or start.result is None:
        return
    import asyncio

    from codestral_ls import pygls_compat

    protocol = server.protocol
    message, sent = start.message, start.result
    params = _structured_params(protocol, message.get("params"), sent)

    def check(future: Any) -> None:
        try:
            ours = pygls_compat.as_json(protocol, future.result())
        except Exception:
            log.exception("initialize failed after it was answered")
            return
        if ours != sent:
            log.warning("the early initialize answer differs from pygls's: %s vs %s", sent, ours)

    pygls_compat.run_initialize(protocol, message["id"], params, check)
    if start.editor_alive and server._parent_watch is None:
        # The editor died between its initialize and now (pygls's own initialize would
        # have started watching it): it will not come back.
        log.info("the editor ended before the server had started; exiting")
        asyncio.get_running_loop().create_task(server.leave(0))


def _structured_params(protocol: Any, params: dict[str, Any], sent: dict[str, Any]) -> Any:
    """The ``InitializeParams`` pygls would have read. If pygls rejects them (it would have
    answered an error), the client already has its answer: the session goes on with the
    capabilities that answer was computed from, and a warning is logged."""
    from lsprotocol import types

    from codestral_ls import pygls_compat

    try:
        return pygls_compat.structure(protocol, params, types.InitializeParams)
    except Exception as error:
        log.warning("initialize parameters pygls rejects (%s); going on without them", error)
    capabilities: dict[str, Any] = {
        "general": {"positionEncodings": [sent["capabilities"]["positionEncoding"]]}
    }
    if "inlineCompletionProvider" in sent["capabilities"]:
        capabilities["textDocument"] = {"inlineCompletion": {}}
    return pygls_compat.structure(
        protocol, {"processId": None, "capabilities": capabilities}, types.InitializeParams
    )
