"""The line-based document store against a plain-string reference, in every encoding."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from codestral_ls.documents import Cursor, Document, PositionEncoding, split_lines

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
    assert document.lines == ["a\r\n", ""]


def test_text_before_and_after_cut_at_line_boundaries() -> None:
    document = Document("file:///x", "one\ntwo\nthree\nfour\n")
    cursor = Cursor(2, 2)
    assert document.text_before(cursor, 10) == "one\ntwo\nth"
    assert document.text_before(cursor, 9) == "two\nth"
    assert document.text_before(cursor, 5) == "th"
    assert document.text_after(cursor, 9) == "ree\nfour\n"
    assert document.text_after(cursor, 5) == "ree\n"
    assert document.text_between(Cursor(0, 1), Cursor(1, 2)) == "ne\ntw"


# -- property: the store always equals a plain-string reference -------------------------------

ALPHABET = st.sampled_from(["a", "b", " ", "\n", "\r", "\r\n", "é", "😀", "\t", "中"])
TEXTS = st.lists(ALPHABET, max_size=30).map("".join)


def reference_offset(text: str, line: int, column: int, encoding: PositionEncoding) -> int:
    """Offset of (line, column) computed the slow, obvious way on the whole string."""
    lines = split_lines(text)
    if line >= len(lines):
        return len(text)  # past the last line: the end of the document
    line = max(line, 0)
    offset = sum(len(item) for item in lines[:line])
    content = lines[line]
    for terminator in ("\r\n", "\n", "\r"):
        if content.endswith(terminator):
            content = content[: -len(terminator)]
            break
    seen = 0
    for index, char in enumerate(content):
        seen += encoding.units(char)
        if seen > column:
            return offset + index
    return offset + len(content)


@settings(max_examples=300, deadline=None)
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
        assert document.lines == split_lines(reference)


def test_chars_before_is_exact_and_crosses_lines() -> None:
    document = Document("u", "ab\ncd\nef")
    assert document.chars_before(Cursor(2, 1), 4) == "cd\ne"
    assert document.chars_before(Cursor(2, 1), 100) == "ab\ncd\ne"
    assert document.chars_before(Cursor(0, 0), 3) == ""
    assert document.contains(Cursor(2, 2)) and not document.contains(Cursor(2, 3))
    assert not document.contains(Cursor(3, 0))
