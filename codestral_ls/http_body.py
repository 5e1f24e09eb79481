"""Reading an HTTP answer with a byte cap, enforced while reading: nothing the endpoint sends
can make the server hold more than the cap, or spend longer than the cap takes to read.

httpx would read a body whole (``response.text``), inflate gzip and deflate without limit (a
1,931-byte double-gzip body became 1 GiB: 3.1 GB of RSS and 9-31 s on the event loop), and
split server-sent events like ``str.splitlines`` (at U+2028, U+0085 ...). Here:

* requests ask for ``Accept-Encoding: identity``; a body compressed anyway is inflated here,
  one ``gzip`` or ``deflate`` layer at most, never past the cap (other encodings are refused);
* :func:`iter_body` yields the raw, decoded bytes up to the cap and raises
  :class:`BodyTooLarge` the moment it is passed: the caller closes the response, the rest is
  never read;
* :class:`SseLines` splits a byte stream into lines at CR, LF and CRLF only, as the SSE
  specification says, and decodes each line as UTF-8 on its own.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import AsyncIterator, Callable

import httpx

#: What every request asks for: no compression (answers are small; inflating is a risk).
ACCEPT_ENCODING = "identity"
#: ``zlib`` window bits per Content-Encoding (16 + 15: a gzip header; 15: a zlib header).
_WBITS = {"gzip": 31, "x-gzip": 31, "deflate": 15}


class BodyTooLarge(Exception):
    """The answer passed its byte cap (``read`` bytes read when it was noticed)."""

    def __init__(self, cap: int) -> None:
        super().__init__(f"the answer is larger than {cap:,} bytes")
        self.cap = cap


class UnsupportedEncoding(Exception):
    """A Content-Encoding this client does not inflate (it asked for none)."""


async def iter_body(response: httpx.Response, cap: int) -> AsyncIterator[bytes]:
    """The body of ``response``, decoded, in pieces; :class:`BodyTooLarge` past ``cap``."""
    inflate = _inflater(response.headers.get("content-encoding", ""))
    total = 0
    async for raw in response.aiter_raw():
        data = inflate(raw, cap - total + 1) if inflate else raw
        total += len(data)
        if total > cap:
            # What fits is handed over first: a truncating reader keeps the start of an
            # error page that arrived in one piece (it kept nothing, reason included).
            if within := data[: len(data) - (total - cap)]:
                yield within
            raise BodyTooLarge(cap)
        if data:
            yield data


async def read_body(response: httpx.Response, cap: int, *, truncate: bool = False) -> bytes:
    """The whole body up to ``cap`` bytes: past it, :class:`BodyTooLarge`, or with
    ``truncate`` the first ``cap`` bytes (for error bodies, whose start is all we show)."""
    parts: list[bytes] = []
    try:
        async for data in iter_body(response, cap):
            parts.append(data)
    except BodyTooLarge:
        if not truncate:
            raise
    return b"".join(parts)[:cap]


def _inflater(encoding: str) -> Callable[[bytes, int], bytes] | None:
    """A function inflating one piece of a body, at most ``limit`` bytes out; ``None`` for
    an identity body."""
    codings = [c.strip().lower() for c in encoding.split(",") if c.strip()]
    codings = [c for c in codings if c != "identity"]
    if not codings:
        return None
    if len(codings) > 1 or codings[0] not in _WBITS:
        raise UnsupportedEncoding(f"the answer is compressed as {encoding!r}")
    decoder = zlib.decompressobj(_WBITS[codings[0]])

    def inflate(data: bytes, limit: int) -> bytes:
        try:
            # max_length: a bomb stops at the cap; what is left unread stays compressed.
            return decoder.decompress(data, max(limit, 1))
        except zlib.error as error:
            raise UnsupportedEncoding(f"the answer's {codings[0]} data is broken") from error

    return inflate


_END_OF_LINE = re.compile(rb"\r\n|\r|\n")


class SseLines:
    """Server-sent-event lines from a byte stream: split at CR, LF or CRLF, nothing else.

    A CR at the end of one piece and an LF at the start of the next are one line end. Only the
    new piece is searched, so a line arriving in many pieces costs its length, not more.
    """

    def __init__(self) -> None:
        self._pending: list[bytes] = []
        self._after_cr = False

    def feed(self, data: bytes) -> list[str]:
        """The lines that ``data`` completes (without their line ends)."""
        if not data:
            return []
        if self._after_cr and data.startswith(b"\n"):
            data = data[1:]
        self._after_cr = data.endswith(b"\r")
        lines = []
        start = 0
        for end in _END_OF_LINE.finditer(data):
            self._pending.append(data[start : end.start()])
            lines.append(self._take())
            start = end.end()
        if start < len(data):
            self._pending.append(data[start:])
        return lines

    def close(self) -> list[str]:
        """The last line, if the stream ended without a line end."""
        return [self._take()] if self._pending else []

    def _take(self) -> str:
        line = b"".join(self._pending).decode("utf-8", errors="replace")
        self._pending = []
        return line


__all__ = [
    "ACCEPT_ENCODING",
    "BodyTooLarge",
    "SseLines",
    "UnsupportedEncoding",
    "iter_body",
    "read_body",
]
