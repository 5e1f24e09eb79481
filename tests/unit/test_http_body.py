"""SSE line splitting at CR/LF only, and the inflating cap (codestral_ls.http_body)."""

from __future__ import annotations

import zlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from codestral_ls.http_body import SseLines, UnsupportedEncoding, _inflater

LINE_TEXT = st.text(st.sampled_from(["a", "é", "\u2028", "\u0085", "\x0c", "\x1c", "😀"]))
END = st.sampled_from(["\r\n", "\r", "\n"])


@given(
    lines=st.lists(st.tuples(LINE_TEXT, END), max_size=8),
    cuts=st.lists(st.integers(0, 200), max_size=6),
)
def test_lines_end_only_at_cr_lf_crlf_however_the_bytes_are_cut(
    lines: list[tuple[str, str]], cuts: list[int]
) -> None:
    data = "".join(text + end for text, end in lines).encode("utf-8")
    splitter = SseLines()
    out: list[str] = []
    start = 0
    for cut in [*sorted(c for c in cuts if c <= len(data)), len(data)]:
        out += splitter.feed(data[start:cut])
        start = cut
    out += splitter.close()
    # "\r" then "\n" (an empty line between) is one CRLF, as the splitter must read it.
    text = "".join(text + end for text, end in lines)
    expected = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")[:-1]
    assert out == expected


def test_inflating_stops_at_the_limit() -> None:
    bomb = zlib.compress(bytes(10_000_000))
    inflate = _inflater("deflate")
    assert inflate is not None
    assert len(inflate(bomb, 1000)) == 1000


@pytest.mark.parametrize("encoding", ["br", "gzip, gzip", "zstd"])
def test_other_encodings_are_refused(encoding: str) -> None:
    with pytest.raises(UnsupportedEncoding):
        _inflater(encoding)
