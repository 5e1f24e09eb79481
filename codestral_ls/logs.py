"""Logging to a file and to the editor (``window/logMessage``), with secrets scrubbed.

Nothing in the server logs a key on purpose; the scrubbing filter is the second line of
defence: any registered secret that still reaches a log record (inside an exception text, a
URL, a third-party library's debug line) is replaced before any handler writes it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # asyncio is imported on use: the early initialize answer does not wait for it
    import asyncio

_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


#: A key setting's value as it appears in a logged message or dict (``'apiKey': '...'``,
#: ``"api_key": "..."``): redacted even before the key is registered. pygls logs the editor's
#: answer to ``workspace/configuration`` (debug level) before the server has read it.
_KEY_SETTING = re.compile(
    r"""(?P<name>['"]?(?:apiKey|api_key|selfHostedApiKey|self_hosted_api_key)['"]?\s*[:=]\s*)"""
    r"""(?P<quote>['"])(?P<value>[^'"]+)(?P=quote)"""
)


class SecretScrubber(logging.Filter):
    """Replaces every registered secret in log records with ``<redacted>``, and the value of
    any key setting in them (see ``_KEY_SETTING``)."""

    def __init__(self) -> None:
        super().__init__()
        self._secrets: set[str] = set()

    def add(self, secret: str | None) -> None:
        if secret and len(secret) >= 4:
            self._secrets.add(secret)

    def scrub(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "<redacted>")
        if "key" in text or "Key" in text:  # a cheap test before the pattern
            text = _KEY_SETTING.sub(r"\g<name>\g<quote><redacted>\g<quote>", text)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        message = self.scrub(record.getMessage())
        if record.exc_info:
            message += "\n" + self.scrub(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
            record.exc_text = None
        record.msg, record.args = message, None
        return True


SCRUBBER = SecretScrubber()


class EditorLogHandler(logging.Handler):
    """Forwards records to the editor through a ``send(level, text)`` callback.

    Inside the event loop, lines are sent ``delay`` seconds later, together: a line logged
    while a completion is computed would otherwise be written to the editor before the
    completion itself, on the path the user waits on (one more JSON-RPC message per
    request, 0.3 ms measured). :meth:`flush` (called by ``logging.shutdown`` on exit)
    sends what is still waiting.
    """

    def __init__(
        self, send: Callable[[int, str], None], level: int = logging.INFO, delay: float = 0.02
    ) -> None:
        super().__init__(level)
        self._send = send
        self._sending = False
        self._delay = delay
        self._pending: list[tuple[int, str]] = []
        self._scheduled: asyncio.TimerHandle | None = None
        self.setFormatter(logging.Formatter("%(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        if self._sending:  # a log line written while sending one must not recurse
            return
        self._pending.append((record.levelno, self.format(record)))
        import asyncio

        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # outside the loop (start-up, another thread): send now
            self.flush()
            return
        if self._scheduled is None:
            self._scheduled = loop.call_later(self._delay, self.flush)

    def flush(self) -> None:
        if self._scheduled is not None:
            self._scheduled.cancel()
            self._scheduled = None
        pending, self._pending = self._pending, []
        self._sending = True
        try:
            for level, text in pending:
                self._send(level, text)
        except Exception:  # the editor went away; the file log still has it
            pass
        finally:
            self._sending = False


def _unreadable_message_tracebacks(record: logging.LogRecord) -> bool:
    """Drop pygls's tracebacks for a message it cannot read (one per reader, two for bad
    parameters): the server then logs the same error in one line (``report_server_error``,
    ``structure_message``), and a traceback of the JSON parser only says the client sent
    garbage. They still show at debug level."""
    return not (
        record.name.startswith("pygls")
        and isinstance(record.msg, str)
        and record.msg.startswith(("Unable to handle message", "Unable to deserialize message"))
    )


def configure(
    log_file: str | None, level: int = logging.INFO, *, stderr_level: int = logging.WARNING
) -> None:
    """Set up the root logger: scrubbing always, a file if asked, nothing on stdout (LSP's).

    Without a file, the log goes to stderr from ``stderr_level`` up (editors show stderr in
    their LSP log; the info lines reach them as ``window/logMessage`` already): pass the
    level a person asked for on the command line to see it there.
    """
    root = logging.getLogger()
    root.setLevel(level)
    for handler in list(root.handlers):
        root.removeHandler(handler)
    if log_file:
        handler: logging.Handler = logging.FileHandler(log_file, encoding="utf-8")
    else:
        handler = logging.StreamHandler()  # stderr: editors show it in their LSP log
        handler.setLevel(stderr_level)
    handler.setFormatter(logging.Formatter(_FORMAT))
    handler.addFilter(SCRUBBER)
    if level > logging.DEBUG:
        handler.addFilter(_unreadable_message_tracebacks)
    root.addHandler(handler)
    # pygls logs every message in full at INFO (initialize parameters included, which may
    # hold a key) and httpx every request: both only when debugging.
    for noisy in ("pygls", "httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(
            logging.DEBUG if level <= logging.DEBUG else logging.WARNING
        )


def attach_editor(handler: EditorLogHandler) -> None:
    """Send our own log lines (not the libraries') to the editor as well, through ``handler``
    instead of any editor attached before.

    A process serves one editor; a second ``initialize`` only happens where servers are built
    in one process one after another (the tests), and each added a handler that kept sending
    to its dead server, and flushed into it at exit ("Unable to send data, no available
    transport!")."""
    logger = logging.getLogger("codestral_ls")
    for previous in [h for h in logger.handlers if isinstance(h, EditorLogHandler)]:
        logger.removeHandler(previous)
    handler.addFilter(SCRUBBER)
    logger.addHandler(handler)
