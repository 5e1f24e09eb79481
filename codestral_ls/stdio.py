"""LSP over stdin/stdout: reading frames without a thread hop, and surviving bad framing.

pygls reads stdin on a worker thread: every message costs three thread round trips (header
line, blank line, body), 40 µs each at best and 350 µs at p99 on a busy machine (measured),
and a completion request waits behind the ``didChange`` sent just before it. When stdin is
a pipe or a socket, as it is under every editor, :func:`serve_stdio` lets the event loop
read it directly (:class:`PipeReader`); anything else (a regular file, a platform without
pipe transports) goes through pygls's threaded reader as before.

Both readers repair framing the same way and end the process when the editor closes stdin
(see :class:`GuardedStdin`).
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import stat
import sys
from collections.abc import Callable
from typing import Any, BinaryIO

from codestral_ls import pygls_compat

log = logging.getLogger(__name__)

_HEADER = re.compile(rb"Content-Length: *\d+\r?\n\Z", re.IGNORECASE)
#: Largest message read: a 50 MB file in a didOpen, with room for its JSON escapes. A
#: larger Content-Length (2 GB: the server would buffer everything after it and never
#: answer again) is skipped, and reading resumes at the next header.
MAX_FRAME_BYTES = 64 * 1024 * 1024
#: Longest line accepted; only broken framing makes lines this long.
_LINE_LIMIT = MAX_FRAME_BYTES
#: What a skipped message reads as: not JSON, so pygls reports it and reads on.
_SKIPPED = b" "


def frame_too_large(size: int) -> bool:
    """Whether a message of ``size`` bytes is skipped (see :data:`MAX_FRAME_BYTES`)."""
    if size <= MAX_FRAME_BYTES:
        return False
    log.warning(
        "skipped a message of %d bytes (over the %d MB cap); reading on from the next header",
        size,
        MAX_FRAME_BYTES // 2**20,
    )
    return True


_told_not_utf8 = False


def message_text(body: bytes) -> str:
    """A message's body as text for ``json.loads``, which would decode it the same way.

    A file with bytes that are not UTF-8 (Neovim's ``++bad=keep``) reaches the server inside
    a ``didOpen``; decoded strictly, the whole message was dropped with a traceback, and the
    document stayed unknown for the session (no completion in it, a warning per keystroke).
    Those bytes become U+FFFD instead: positions after one on its line may be off by a few
    columns, the rest of the file works.
    """
    global _told_not_utf8
    try:
        return body.decode("utf-8", "surrogatepass")  # what json.loads does with bytes
    except UnicodeDecodeError as error:
        level = logging.DEBUG if _told_not_utf8 else logging.WARNING
        _told_not_utf8 = True
        log.log(level, "a message held bytes that are not UTF-8 (%s): read as U+FFFD", error.reason)
        return body.decode("utf-8", "replace")


def resync_header(line: bytes) -> bytes:
    """A line that *ends* with a Content-Length header, cut down to that header.

    pygls expects each header line to be exactly ``Content-Length: N``. After a frame with
    a wrong length, the next header arrives glued to the rest of a body (bodies end without
    a newline), and every later message would be lost without this.
    """
    match = _HEADER.search(line)
    if match and match.start() > 0:
        log.warning("skipped %d bytes of broken framing before a header", match.start())
        return line[match.start() :]
    return line


class GuardedStdin:
    """Wraps stdin for pygls's threaded reader: repairs framing, exits at the end of input.

    When the editor closes stdin, the process ends right there: letting pygls's loop wind
    down instead would cancel every task at once, and a call whose error lands in that same
    instant is reported as "Task exception was never retrieved", noise in the editor's log.
    """

    def __init__(self, inner: Any, on_eof: Callable[[], None], unread: bytes = b"") -> None:
        self._inner = inner
        self._on_eof = on_eof
        self._unread = unread  # read from stdin before pygls started (early_initialize)

    def readline(self) -> bytes:
        if self._unread:
            line, newline, self._unread = self._unread.partition(b"\n")
            if not newline:
                line += self._inner.readline()
            return resync_header(line + newline)
        return resync_header(self._checked(self._inner.readline(_LINE_LIMIT)))

    def read(self, size: int = -1) -> str | bytes:
        """A message's body (as text: :func:`message_text`)."""
        if frame_too_large(size):
            return _SKIPPED
        if self._unread:
            if size < 0:
                data, self._unread = self._unread + self._inner.read(), b""
                return message_text(data)
            data, self._unread = self._unread[:size], self._unread[size:]
            if len(data) < size:
                data += self._checked(self._inner.read(size - len(data)))
            return message_text(data)
        return message_text(self._checked(self._inner.read(size)))

    def _checked(self, data: bytes) -> bytes:
        if not data:
            self._on_eof()
        return data


class PipeReader:
    """stdin read by the event loop itself, with :class:`GuardedStdin`'s behaviour."""

    def __init__(self, stream: asyncio.StreamReader, on_eof: Callable[[], None]) -> None:
        self._stream = stream
        self._on_eof = on_eof

    @classmethod
    async def open(
        cls, stdin: BinaryIO, on_eof: Callable[[], None], unread: bytes = b""
    ) -> PipeReader | None:
        """A reader on ``stdin`` if the loop can watch it (a pipe or socket), else ``None``.

        Watching makes the file non-blocking, for whoever else holds it too: a terminal
        would stay non-blocking after the server, and writes to stdout would fail with
        EAGAIN when both are the same socket. So only a pipe or socket of its own qualifies.
        """
        if not _is_pipe_or_socket(stdin) or _shares_file_with_stdout(stdin):
            return None
        loop = asyncio.get_running_loop()
        stream = asyncio.StreamReader(limit=_LINE_LIMIT)
        stream.feed_data(unread)
        try:
            await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stream), stdin)
        except (OSError, ValueError, NotImplementedError) as error:
            log.debug("stdin is read on a thread (%s)", error)
            return None
        log.debug("stdin is read by the event loop")
        return cls(stream, on_eof)

    async def readline(self) -> bytes:
        # Let the event loop run once per line. Buffered data is returned without yielding,
        # and pygls starts a request's handler as a task: without this, the didChange that
        # followed a request in the same read would be applied before the handler read the
        # document, and the request would be answered against text it never saw.
        await asyncio.sleep(0)
        try:
            line = await self._stream.readline()
        except ValueError:  # longer than _LINE_LIMIT: nothing to resynchronise on
            log.warning("dropped a line over %d bytes", _LINE_LIMIT)
            return b"\r\n"
        if not line:
            self._on_eof()
        return resync_header(line)

    async def readexactly(self, size: int) -> str | bytes:
        """A message's body (as text: :func:`message_text`)."""
        if frame_too_large(size):
            return _SKIPPED
        try:
            return message_text(await self._stream.readexactly(size))
        except asyncio.IncompleteReadError as error:  # the editor closed stdin mid-message
            self._on_eof()
            return error.partial


def _is_pipe_or_socket(stdin: BinaryIO) -> bool:
    try:
        mode = os.fstat(stdin.fileno()).st_mode
    except (OSError, ValueError, AttributeError):
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)


def _shares_file_with_stdout(stdin: BinaryIO) -> bool:
    try:
        ours, theirs = os.fstat(stdin.fileno()), os.fstat(sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # no real file descriptors: be careful
        return True
    return (ours.st_dev, ours.st_ino) == (theirs.st_dev, theirs.st_ino)


def serve_stdio(
    server: Any,
    on_eof: Callable[[], None],
    *,
    unread: bytes = b"",
    on_start: Callable[[], None] = lambda: None,
) -> None:
    """Serve LSP on stdin/stdout until the input ends (pygls's ``start_io``, but with
    :class:`PipeReader` where it works). ``server`` is a pygls ``LanguageServer``.

    ``unread`` is input read from stdin before (it is read first); ``on_start`` runs in
    the event loop once output works, before any input is read."""
    pygls_compat.write_to_stdout(server, sys.stdout.buffer)

    async def serve() -> None:
        stdin = sys.stdin.buffer
        reader = await PipeReader.open(stdin, on_eof, unread) or pygls_compat.threaded_reader(
            server, GuardedStdin(stdin, on_eof, unread)
        )
        on_start()
        await pygls_compat.read_until_stopped(server, reader)

    try:
        asyncio.run(serve())
    except BrokenPipeError:
        log.info("the editor closed the connection")
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        server.shutdown()
