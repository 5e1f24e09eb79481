"""The chunked document store against a plain-string reference, in every encoding, with chunks
so small (4 to 8 characters) that every edit and lookup crosses chunk boundaries."""

from __future__ import annotations

import subprocess
import sys
import tracemalloc

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from codestral_ls.documents import (
    CHUNK_CHARS,
    Cursor,
    Document,
    DocumentStore,
    PositionEncoding,
    cut_chunks,
    line_content,
    split_lines,
    terminator,
)
from codestral_ls.heap import TRIM_AFTER, Trimmer

ENCODINGS = list(PositionEncoding)


def units(text: str, encoding: PositionEncoding) -> int:
    return sum(encoding.units(c) for c in text)


@pytest.mark.parametrize(
    ("text", "lines"),
    [
        ("", [""]),
        ("a", ["a"]),
        ("a\n", ["a\n", ""]),
        ("a\r\nb", ["a\r\n", "b"]),
        ("a\rb\n", ["a\r", "b\n", ""]),
        ("a\u2028b", ["a\u2028b"]),  # not an LSP line break
    ],
)
def test_split_lines_follows_lsp_terminators(text: str, lines: list[str]) -> None:
    assert split_lines(text) == lines


@pytest.mark.parametrize(
    ("encoding", "column", "index"),
    [
        (PositionEncoding.UTF16, 6, 6),  # just before the emoji
        (PositionEncoding.UTF16, 7, 6),  # inside its surrogate pair: rounds down
        (PositionEncoding.UTF16, 8, 7),  # after it
        (PositionEncoding.UTF8, 1, 1),
        (PositionEncoding.UTF8, 2, 1),  # inside "é"
        (PositionEncoding.UTF8, 3, 2),
        (PositionEncoding.UTF8, 11, 7),  # after "😀" (4 bytes) + "é" (2)
        (PositionEncoding.UTF32, 7, 7),
        (PositionEncoding.UTF32, 99, 8),  # past the end: clamped to the end of the line
    ],
)
def test_columns_convert_in_the_negotiated_encoding(
    encoding: PositionEncoding, column: int, index: int
) -> None:
    document = Document("file:///x", "héllo 😀x\r\nnext", encoding=encoding)
    assert document.cursor(0, column) == Cursor(0, index)


def test_positions_outside_the_document_are_clamped_and_reported_invalid() -> None:
    document = Document("file:///x", "ab\ncd", encoding=PositionEncoding.UTF16)
    assert document.cursor(9, 0) == Cursor(1, 2)
    assert document.cursor(-1, 3) == Cursor(0, 0)
    assert document.is_valid_position(1, 2)
    assert not document.is_valid_position(1, 3)
    assert not document.is_valid_position(2, 0)
    assert not document.is_valid_position(-1, 0)


def test_edit_joining_cr_and_lf_makes_one_terminator() -> None:
    document = Document("file:///x", "a\rb\n", encoding=PositionEncoding.UTF16)
    document.apply_edit((1, 0), (1, 1), "")
    assert list(document.lines) == ["a\r\n", ""]


def test_text_before_and_after_cut_at_line_boundaries() -> None:
    document = Document("file:///x", "one\ntwo\nthree\nfour\n")
    cursor = Cursor(2, 2)
    assert document.text_before(cursor, 10) == "one\ntwo\nth"
    assert document.text_before(cursor, 9) == "two\nth"
    assert document.text_before(cursor, 5) == "th"
    assert document.text_after(cursor, 9) == "ree\nfour\n"
    assert document.text_after(cursor, 5) == "ree\n"
    assert document.text_between(Cursor(0, 1), Cursor(1, 2)) == "ne\ntw"


@pytest.mark.parametrize(
    ("text", "budget", "after"),
    [
        ("ab\r\ncd\n", 3, "ab\r"),  # a "\r\n" across the budget: none fits, cut there
        ("a\nb\r\ncd", 4, "a\n"),  # ... the line end before it does
        ("a\r\r\nb", 3, "a\r"),  # a lone "\r" is a line end of its own
        ("\nabc", 3, "\n"),  # a line end at the very start
        ("ab\rcd", 3, "ab\r"),  # a "\r" alone just inside the budget
        ("abcd\n", 3, "abc"),  # no line end inside: the budget itself
        ("a\nb\ncdef", 5, "a\nb\n"),  # the last of several
    ],
)
def test_text_after_ends_at_the_last_line_end_within_the_budget(
    text: str, budget: int, after: str
) -> None:
    assert Document("file:///x", text).text_after(Cursor(0, 0), budget) == after


# -- property: the store always equals a plain-string reference -------------------------------

ALPHABET = st.sampled_from(["a", "b", " ", "\n", "\r", "\r\n", "é", "😀", "\t", "中"])
TEXTS = st.lists(ALPHABET, max_size=30).map("".join)


def reference_offset(text: str, line: int, column: int, encoding: PositionEncoding) -> int:
    """Offset of (line, column) computed the slow, obvious way on the whole string."""
    lines = split_lines(text)
    if line < 0:
        return 0  # above the first line: the start of the document
    if line >= len(lines):
        return len(text)  # past the last line: the end of the document
    offset = sum(len(item) for item in lines[:line])
    content = lines[line]
    content = line_content(content)
    seen = 0
    for index, char in enumerate(content):
        seen += encoding.units(char)
        if seen > column:
            return offset + index
    return offset + len(content)


@settings(max_examples=100, deadline=None)
@given(
    text=TEXTS,
    edits=st.lists(
        st.tuples(
            st.integers(0, 6), st.integers(0, 12), st.integers(0, 6), st.integers(0, 12), TEXTS
        ),
        max_size=8,
    ),
    encoding=st.sampled_from(ENCODINGS),
)
def test_incremental_edits_match_the_reference(
    text: str, edits: list[tuple[int, int, int, int, str]], encoding: PositionEncoding
) -> None:
    document = Document("file:///x", text, encoding=encoding)
    reference = text
    for start_line, start_col, end_line, end_col, new_text in edits:
        a = reference_offset(reference, start_line, start_col, encoding)
        b = reference_offset(reference, end_line, end_col, encoding)
        if b < a:
            a, b = b, a
        reference = reference[:a] + new_text + reference[b:]
        document.apply_edit((start_line, start_col), (end_line, end_col), new_text)
        assert document.text == reference
        assert list(document.lines) == split_lines(reference)


def test_chars_before_is_exact_and_crosses_lines() -> None:
    document = Document("u", "ab\ncd\nef")
    assert document.chars_before(Cursor(2, 1), 4) == "cd\ne"
    assert document.chars_before(Cursor(2, 1), 100) == "ab\ncd\ne"
    assert document.chars_before(Cursor(0, 0), 3) == ""
    assert document.contains(Cursor(2, 2)) and not document.contains(Cursor(2, 3))
    assert not document.contains(Cursor(3, 0))


# -- property: every reading of a chunked document equals the same reading of the reference ---

CHUNKS = st.sampled_from([4, 5, 8])
#: Long runs too, so that lines span several chunks and columns pass a chunk's length.
LONG_TEXTS = st.lists(
    st.one_of(ALPHABET, st.sampled_from(["é" * 9, "ab" * 7, "😀" * 6, "\r\n\r\n", "x\r"])),
    max_size=14,
).map("".join)


def reference_before(lines: list[str], cursor: Cursor, max_chars: int) -> str:
    """The line-list store's ``text_before``: whole lines up from the cursor while they fit."""
    head = lines[cursor.line][: cursor.index]
    if len(head) >= max_chars:
        return head[len(head) - max_chars :]
    taken = head
    for line in reversed(lines[: cursor.line]):
        if len(taken) + len(line) > max_chars:
            break
        taken = line + taken
    return taken


def reference_after(lines: list[str], cursor: Cursor, max_chars: int) -> str:
    tail = lines[cursor.line][cursor.index :]
    if len(tail) >= max_chars:
        return tail[:max_chars]
    for line in lines[cursor.line + 1 :]:
        if len(tail) + len(line) > max_chars:
            break
        tail += line
    return tail


def check_against_reference(document: Document, reference: str, budget: int) -> None:
    encoding = document.encoding
    lines = split_lines(reference)
    assert document.text == reference
    assert list(document.lines) == lines
    assert document.line_count == len(lines) == len(document.lines)
    assert document.newline() == (terminator(lines[0]) or "\n")
    offset = 0
    for number, line in enumerate(lines):
        content = line_content(line)
        assert document.lines[number] == line
        assert document.lines[number:] == lines[number:]
        assert document.lines[number : number + 2] == lines[number : number + 2]
        assert document.line_text(number) == content
        assert document.line_length(number) == len(content)
        assert document.line_end(number) == Cursor(number, len(content))
        width = units(content, encoding)
        assert document.is_valid_position(number, width)
        assert not document.is_valid_position(number, width + 1)
        for column in range(width + 2):
            cursor = document.cursor(number, column)
            expected = reference_offset(reference, number, column, encoding) - offset
            assert cursor == Cursor(number, expected)
            assert document.contains(cursor)
            assert document.column(cursor) == units(content[:expected], encoding)
            assert document.offset(cursor) == offset + expected
            assert document.text_before(cursor, budget) == reference_before(lines, cursor, budget)
            assert document.text_after(cursor, budget) == reference_after(lines, cursor, budget)
            before = reference[: offset + expected]
            assert document.chars_before(cursor, budget) == before[max(len(before) - budget, 0) :]
        offset += len(line)
    for count in range(len(lines) + 2):
        top = "".join(lines[:count])
        assert document.head(count, len(reference) + 1) == top
        assert document.head(count, budget) == top[:budget]
    assert document.line_text(len(lines)) == ""
    assert document.cursor(len(lines), 0) == Cursor(len(lines) - 1, len(line_content(lines[-1])))
    assert document.cursor(-1, 3) == Cursor(0, 0)
    assert not document.contains(Cursor(len(lines), 0))
    assert not document.contains(Cursor(0, len(line_content(lines[0])) + 1))
    assert not document.contains(Cursor(0, -1))


@settings(max_examples=150, deadline=None)
@given(
    text=LONG_TEXTS,
    edits=st.lists(
        st.tuples(
            st.integers(-1, 5),
            st.integers(0, 30),
            st.integers(0, 5),
            st.integers(0, 30),
            LONG_TEXTS,
        ),
        max_size=5,
    ),
    encoding=st.sampled_from(ENCODINGS),
    chunk_chars=CHUNKS,
    budget=st.integers(0, 12),
)
def test_chunked_document_reads_like_the_reference_after_edits(
    text: str,
    edits: list[tuple[int, int, int, int, str]],
    encoding: PositionEncoding,
    chunk_chars: int,
    budget: int,
) -> None:
    document = Document("file:///x", text, encoding=encoding, chunk_chars=chunk_chars)
    reference = text
    for start_line, start_col, end_line, end_col, new_text in edits:
        a = reference_offset(reference, start_line, start_col, encoding)
        b = reference_offset(reference, end_line, end_col, encoding)
        reference = reference[: min(a, b)] + new_text + reference[max(a, b) :]
        document.apply_edit((start_line, start_col), (end_line, end_col), new_text)
        assert document.text == reference
        assert all(len(chunk) <= 2 * chunk_chars for chunk in document._chunks)
        assert not any(
            left.endswith("\r") and right.startswith("\n")
            for left, right in zip(document._chunks, document._chunks[1:], strict=False)
        )
    check_against_reference(document, reference, budget)


@pytest.mark.parametrize("chunk_chars", [4, 5, 8])
def test_lines_are_read_across_chunks(chunk_chars: int) -> None:
    text = "first line\r\nsecond\rthird very long line éé\n\nlast"
    document = Document("file:///x", text, chunk_chars=chunk_chars)
    assert len(document._chunks) > 3
    check_against_reference(document, text, 7)
    assert document.lines[-1] == "last" and document.lines[-5] == "first line\r\n"
    assert document.lines[::2] == ["first line\r\n", "third very long line éé\n", "last"]
    assert document.lines[3:1] == [] and document.lines[9:] == []
    for wrong in (5, -6):
        with pytest.raises(IndexError):
            document.lines[wrong]


def test_chunks_are_cut_after_a_line_end_near_the_size_never_inside_crlf() -> None:
    assert cut_chunks("") == [""]
    text = "x" * 10
    assert cut_chunks(text, 5) == [text]  # fits in two chunks' size: one, not copied
    assert cut_chunks(text, 5)[0] is text
    assert cut_chunks("x" * 11, 5) == ["xxxxx", "xxxxxx"]
    assert cut_chunks("ab\ncdefghijk", 5) == ["ab\n", "cdefghijk"]
    assert cut_chunks("a\nbcdefghijk", 5) == ["a\nbcd", "efghijk"]  # "\n" before half: no
    assert cut_chunks("abcd\r\nefghij", 5) == ["abcd\r\n", "efghij"]
    assert cut_chunks("abcd\n\nefghij", 5) == ["abcd\n", "\nefghij"]
    assert cut_chunks("y" * 30, 5) == ["yyyyy"] * 4 + ["y" * 10]


def test_an_edit_merges_a_small_piece_into_its_neighbour() -> None:
    document = Document("file:///x", "0123456789abcdefghij", chunk_chars=8)
    assert document._chunks == ["01234567", "89abcdefghij"]
    document.apply_edit((0, 2), (0, 9), "")
    assert document._chunks == ["019abcdefghij"]
    crlf = Document("file:///x", "abc\rdefg\nhij", chunk_chars=4)
    assert crlf._chunks == ["abc\r", "defg\nhij"] and crlf.line_count == 3
    crlf.apply_edit((1, 0), (1, 4), "")  # "\r" then "\n" across a boundary: one chunk
    assert crlf._chunks == ["abc\r\nhij"] and crlf.line_count == 2
    lf = Document("file:///x", "abcdefg\nhij", chunk_chars=4)
    lf.apply_edit((0, 4), (0, 7), "")  # a "\n" after a chunk without "\r": kept apart
    assert lf._chunks == ["abcd", "\nhij"] and lf.line_count == 2


def test_the_encoding_can_change_after_opening() -> None:
    document = Document("file:///x", "é" * 20 + "x", chunk_chars=4)
    assert document.cursor(0, 20) == Cursor(0, 20)
    document.encoding = PositionEncoding.UTF8
    assert document.cursor(0, 20) == Cursor(0, 10)
    assert document.column(Cursor(0, 20)) == 40
    assert document.cursor(0, 41) == Cursor(0, 21) and document.is_valid_position(0, 41)
    assert not document.is_valid_position(0, 42)


def test_memory_is_close_to_the_text() -> None:
    """A 1 MB file of short lines is held in about its own size (a list of lines held 2.8
    times: a ``str`` object per line). tracemalloc counts what the document allocates."""
    text = "".join(f"    value_{n} = compute({n})\n" for n in range(40_000))
    tracemalloc.start()
    try:
        document = Document("file:///x", text)
        held, _peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert document.line_count == 40_001
    assert held < 1.1 * len(text)


@pytest.mark.parametrize("accent", ["", "é"])
def test_an_edit_at_the_end_of_a_long_line_copies_a_window_not_the_line(accent: str) -> None:
    """Typing at the end of a 2 MB line converts the column and rewrites one chunk: the memory
    it allocates on the way (copies, encodings) stays under a few chunks, where rewriting or
    encoding the line would take megabytes."""
    line = accent + "var a=b+c;" * 200_000
    document = Document("file:///x", line + "\n", encoding=PositionEncoding.UTF8)
    end = len(line.encode("utf-8"))
    tracemalloc.start()
    try:
        document.apply_edit((0, end), (0, end), "x")
        assert document.cursor(0, end + 1) == Cursor(0, len(line) + 1)
        assert document.column(Cursor(0, len(line))) == end
        assert document.line_length(0) == len(line) + 1
        _held, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 * CHUNK_CHARS
    assert document.text == line + "x\n"


def test_closing_documents_trims_the_heap_once_enough_was_freed() -> None:
    trims: list[int] = []
    trimmer = Trimmer(trims.append)
    store = DocumentStore()
    store.open("file:///a", "x" * (TRIM_AFTER // 2), 1, "python")
    store.open("file:///b", "y" * (TRIM_AFTER // 2 - 1), 1, "python")
    store.open("file:///c", "z", 1, "python")
    for uri in ("file:///a", "file:///b"):
        closed = store.close(uri)
        assert closed is not None and closed.uri == uri
        trimmer.closed(closed.size)
    assert trims == [] and trimmer.freed == TRIM_AFTER - 1 and len(store) == 1
    assert store.close("file:///a") is None
    trimmer.closed(1)
    assert trims == [0] and trimmer.freed == 0
    assert [document.uri for document in store] == ["file:///c"]


def test_units_at_each_encoding_boundary() -> None:
    utf8, utf16 = PositionEncoding.UTF8, PositionEncoding.UTF16
    widths = {"\x7f": 1, "\x80": 2, "\u07ff": 2, "\u0800": 3, "\uffff": 3, "\U00010000": 4}
    for char, width in widths.items():
        assert utf8.units(char) == width == utf8.length(char)
        assert utf16.units(char) == (2 if width == 4 else 1) == utf16.length(char)
        assert PositionEncoding.UTF32.units(char) == 1 == PositionEncoding.UTF32.length(char)
    assert utf16.length("\ud800x") == 2  # a lone surrogate (valid in JSON) is one unit


@pytest.mark.parametrize(
    ("text", "column", "index"),
    [
        ("\u0800x", 1, 0),  # inside a 3-byte character led by 0xE0
        ("\u0800x", 2, 0),
        ("\u0800x", 3, 1),
        ("\U00010000x", 3, 0),  # inside a 4-byte character led by 0xF0
        ("\U00010000x", 4, 1),
        ("\x80x", 1, 0),
        ("\x80x", 2, 1),
        ("\ud800x", 2, 0),  # a lone surrogate: 3 bytes with surrogatepass
        ("\ud800x", 3, 1),
    ],
)
def test_utf8_columns_inside_a_character_round_down(text: str, column: int, index: int) -> None:
    assert PositionEncoding.UTF8.index_of_column(text, column) == index


def test_a_piece_shorter_than_a_quarter_chunk_joins_its_neighbour() -> None:
    text = "abcdefghijkl" + "mnopqrstuvwx" + "yz0123456789ABCD"
    document = Document("file:///x", text, chunk_chars=12)
    assert [len(chunk) for chunk in document._chunks] == [12, 12, 16]
    document.apply_edit((0, 14), (0, 23), "")  # 3 characters left: a quarter, kept
    assert document._chunks == ["abcdefghijkl", "mnx", "yz0123456789ABCD"]
    document.apply_edit((0, 13), (0, 14), "")  # 2 left: joins the next chunk
    assert document._chunks == ["abcdefghijkl", "mxyz0123456789ABCD"]
    document.apply_edit((0, 13), (0, 30), "")  # the last chunk: joins the one before
    assert document._chunks == ["abcdefghijklm"]
    document.apply_edit((0, 0), (0, 13), "")
    assert document._chunks == [""] and document.line_count == 1


def test_the_negotiated_encoding_is_read_from_its_lsp_name() -> None:
    assert PositionEncoding.from_lsp("utf-8") is PositionEncoding.UTF8
    assert PositionEncoding.from_lsp(PositionEncoding.UTF32) is PositionEncoding.UTF32
    assert PositionEncoding.from_lsp("utf-16") is PositionEncoding.UTF16
    assert PositionEncoding.from_lsp(None) is PositionEncoding.UTF16  # LSP's default


def test_utf16_columns_count_every_surrogate_pair_before_them() -> None:
    utf16 = PositionEncoding.UTF16
    assert utf16.index_of_column("😀😀xy😀", 5) == 3  # two pairs before: index 5 - 2
    assert utf16.index_of_column("😀😀xy😀", 6) == 4
    assert utf16.index_of_column("😀😀xy😀", 7) == 4  # inside the third pair: rounds down
    assert utf16.index_of_column("😀😀xy😀", 8) == 5


def test_the_c_library_is_looked_up_at_the_first_trim_not_at_start() -> None:
    """ctypes costs every session 440 KB and 3-4 ms of start-up; few ever trim."""
    probe = (
        "import sys\n"
        "from codestral_ls.server import create_server\n"
        "from codestral_ls.heap import TRIM_AFTER\n"
        "server = create_server({})\n"
        "print('ctypes' in sys.modules)\n"
        "server.heap.closed(TRIM_AFTER)\n"
        "print('ctypes' in sys.modules, server.heap.freed)\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    )
    assert run.stdout.split("\n")[:2] == ["False", "True 0"]


# -- following a span through edits (a code action's target while its answer comes) ------------


@pytest.mark.parametrize("chunk_chars", [4, 5, 8, CHUNK_CHARS])
def test_cursor_at_is_the_inverse_of_offset(chunk_chars: int) -> None:
    text = "first line\r\nsecond\rthird very long line éé\n\nlast"
    document = Document("file:///x", text, chunk_chars=chunk_chars)
    for line in range(document.line_count):
        for index in range(document.line_length(line) + 1):
            cursor = Cursor(line, index)
            assert document.cursor_at(document.offset(cursor)) == cursor
    assert document.cursor_at(-5) == Cursor(0, 0)
    assert document.cursor_at(10**9) == Cursor(4, 4)


@settings(max_examples=300, deadline=None)
@given(
    text=st.text(alphabet="ab\n", min_size=6, max_size=40),
    span=st.tuples(st.integers(0, 40), st.integers(0, 40)),
    edits=st.lists(
        st.tuples(st.integers(0, 45), st.integers(0, 45), st.text(alphabet="xy\n", max_size=5)),
        max_size=4,
    ),
    chunk_chars=CHUNKS,
)
def test_a_mark_keeps_its_text_until_an_edit_touches_it(
    text: str, span: tuple[int, int], edits: list[tuple[int, int, str]], chunk_chars: int
) -> None:
    """Edits before the mark move it, edits after it leave it, and an edit that touches what
    is between its ends breaks it: an unbroken mark always holds the text it was put on."""
    start, end = sorted(min(value, len(text)) for value in span)
    document = Document("file:///x", text, chunk_chars=chunk_chars)
    mark = document.mark(document.cursor_at(start), document.cursor_at(end))
    marked = text[start:end]
    for a, b, new_text in edits:
        a, b = sorted(min(value, len(document.text)) for value in (a, b))
        first, last = document.cursor_at(a), document.cursor_at(b)
        touches = (a < mark.end and b > mark.start) or mark.start < a < mark.end
        document.apply_edit(
            (first.line, document.column(first)), (last.line, document.column(last)), new_text
        )
        if touches:
            assert mark.broken
    if not mark.broken:
        assert document.text_range(mark.start, mark.end) == marked
    document.unmark(mark)
    document.apply_edit((0, 0), (0, 0), "z")
    assert document._marks == []


def test_a_full_text_change_breaks_every_mark() -> None:
    document = Document("file:///x", "a\nb\n")
    mark = document.mark(Cursor(0, 0), Cursor(1, 1))
    document.replace_all("a\nb\n")
    assert mark.broken
