"""The open documents, kept as a few large chunks so that a keystroke costs O(window + log n).

pygls's own ``TextDocument`` re-splits and rebuilds the whole text on every incremental edit,
which is milliseconds per keystroke on a megabyte file. A list of lines (the previous store)
fixed that for ordinary files, but cost 2.6 times the text in memory (a ``str`` object per
line is ~57 bytes of overhead) and still did O(line) work per keystroke on a minified 10 MB
line. So a document is now a list of chunks of about :data:`CHUNK_CHARS` (4,096) characters
(between a quarter and twice that), cut after a line end where one is near, never inside
a ``\\r\\n``, with three Fenwick trees over the chunks: their lengths, their line ends and
their lengths in the client's position encoding. Finding line ``n``, the chunk of an offset,
or the chunk where column ``c`` of a long line falls is O(log chunks); an edit rewrites the
one or two chunks it touches, O(chunk). Only a window around the edit or the cursor is ever scanned,
copied or converted, whatever the length of its line or file. The offsets of the line ends
inside a chunk are found once per version of that chunk (an ``array``, 4 bytes a line).

Positions arrive in the encoding negotiated at ``initialize`` (utf-8 for Neovim and Helix,
utf-16 for VS Code, utf-32 for some). :class:`PositionEncoding` converts between those code
units and Python string indices. Out-of-range positions are clamped, the way editors expect: a
column past the end of a line means its end, a line past the end of the document means the end
of the document, a column inside a multi-unit character rounds down.
"""

from __future__ import annotations

import re
from array import array
from bisect import bisect_right
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from enum import Enum
from itertools import accumulate, count, islice
from operator import add
from typing import overload

#: An LSP line terminator (``str.splitlines`` knows many more: U+2028, U+0085, \f ...).
_TERMINATOR = re.compile(r"(\r\n|\r|\n)")
#: Code points that take two utf-16 units (a surrogate pair).
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")

#: A chunk's usual size in characters: big enough that the per-chunk cost (a ``str`` header,
#: three tree entries: ~250 bytes) is a few percent of the text, small enough that what an
#: edit redoes for its chunk (a copy, its line ends found again, its length in utf-8 or
#: utf-16) takes tens of microseconds. 16 KB chunks made that 4 times longer for 1% less.
CHUNK_CHARS = 4_096


def split_lines(text: str) -> list[str]:
    """Split ``text`` into lines that keep their terminators; the last line has none.

    ``"a\\nb\\n"`` gives ``["a\\n", "b\\n", ""]``: a document always has at least one line, and a
    trailing terminator opens an empty last line, as editors count lines. Linear in ``text``
    (one regex pass that only stops at terminators, then pairs each line with its own).
    """
    parts = _TERMINATOR.split(text)
    lines = [parts[i - 1] + parts[i] for i in range(1, len(parts), 2)]
    lines.append(parts[-1])
    return lines


def terminator(line: str) -> str:
    """``line``'s end-of-line: ``"\\r\\n"``, ``"\\n"``, ``"\\r"``, or ``""`` (the last line)."""
    if line.endswith("\r\n"):
        return "\r\n"
    return line[-1] if line.endswith(("\n", "\r")) else ""


def line_content(line: str) -> str:
    """``line`` without its terminator."""
    return line[: len(line) - len(terminator(line))]


class PositionEncoding(str, Enum):
    """The unit in which the client counts columns (LSP ``PositionEncodingKind``)."""

    UTF8 = "utf-8"
    UTF16 = "utf-16"
    UTF32 = "utf-32"

    @classmethod
    def from_lsp(cls, value: object) -> PositionEncoding:
        """Map the negotiated encoding (string or lsprotocol enum); LSP's default is utf-16."""
        text = getattr(value, "value", value)
        for member in cls:
            if member.value == text:
                return member
        return cls.UTF16

    def units(self, char: str) -> int:
        """How many code units of this encoding ``char`` (one code point) takes."""
        code = ord(char)
        if self is PositionEncoding.UTF32:
            return 1
        if self is PositionEncoding.UTF16:
            return 2 if code > 0xFFFF else 1
        if code < 0x80:
            return 1
        if code < 0x800:
            return 2
        return 3 if code < 0x10000 else 4

    def length(self, text: str) -> int:
        """How many code units of this encoding ``text`` takes (one C pass, no Python loop)."""
        if self is PositionEncoding.UTF32 or text.isascii():
            return len(text)
        if self is PositionEncoding.UTF16:
            # surrogatepass: a lone surrogate (valid in JSON text) is one unit, as in units()
            return len(text.encode("utf-16-le", errors="surrogatepass")) // 2
        return len(text.encode("utf-8", errors="surrogatepass"))

    def index_of_column(self, text: str, column: int) -> int:
        """Python index in ``text`` of client ``column``; clamped, rounding down inside a char.

        Every code point is at least one unit, so only ``text[:column]`` can matter: the cost
        is bounded by the column, at C speed (an encode, not a Python loop per character).
        """
        if column <= 0:
            return 0
        prefix = text[:column]
        if self is PositionEncoding.UTF32 or prefix.isascii():
            return len(prefix)
        if self is PositionEncoding.UTF16:
            return _utf16_index(prefix, column)
        data = prefix.encode("utf-8", errors="surrogatepass")[:column]
        return len(_whole_utf8(data).decode("utf-8", errors="surrogatepass"))

    def column_of_index(self, text: str, index: int) -> int:
        """Client column of the Python ``index`` in ``text``."""
        return self.length(text[:index])


def _utf16_index(prefix: str, column: int) -> int:
    """Index of utf-16 ``column`` in ``prefix`` (which is ``text[:column]``)."""
    if len(prefix.encode("utf-16-le", errors="surrogatepass")) == 2 * len(prefix):
        return len(prefix)  # no surrogate pairs: one unit per character (a fast C pass)
    astral = 0  # surrogate pairs before the index
    for match in _ASTRAL.finditer(prefix):
        start = match.start()
        if start + astral + 2 <= column:
            astral += 1
        elif start + astral < column:
            return start  # the column falls between the two halves of a pair: round down
        else:
            break
    return min(column - astral, len(prefix))


def _whole_utf8(data: bytes) -> bytes:
    """``data`` without a multi-byte sequence cut at its end."""
    lead = len(data) - 1
    while lead >= 0 and data[lead] & 0xC0 == 0x80:  # continuation bytes
        lead -= 1
    if lead < 0:
        return data
    first = data[lead]
    needed = 1 if first < 0x80 else 2 if first < 0xE0 else 3 if first < 0xF0 else 4
    return data if len(data) - lead >= needed else data[:lead]


def _count_ends(text: str) -> int:
    """How many line ends ``text`` holds (a ``\\r\\n`` is one), in three C passes."""
    return text.count("\n") + text.count("\r") - text.count("\r\n")


def line_ends(text: str) -> array[int]:
    """The offsets just after each line end of ``text``. Without a lone ``\r`` (LF and CRLF
    files) every line ends with ``\n``, and C iterators add up the pieces' lengths: ~10 times
    faster than a regex match per line, and this runs once per edited chunk."""
    if text.count("\r") == text.count("\r\n"):
        lengths = islice(map(len, text.split("\n")), text.count("\n"))
        return array("I", map(add, accumulate(lengths), count(1)))
    return array("I", [match.end() for match in _TERMINATOR.finditer(text)])


def _last_terminator(text: str, stop: int) -> int:
    """The index of the last ``\\r`` or ``\\n`` of ``text[:stop]`` (-1 if none)."""
    return max(text.rfind("\n", 0, stop), text.rfind("\r", 0, stop))


def cut_chunks(text: str, chunk_chars: int = CHUNK_CHARS) -> list[str]:
    """``text`` as chunks of at most ``2 * chunk_chars`` characters, all but the last between
    half and once ``chunk_chars`` (so the last has more than ``chunk_chars`` when there are
    several): each cut right after the last ``\\n`` of that range if it has one, else at
    ``chunk_chars``, moved past a ``\\r\\n`` it would split. A text that fits is one chunk
    (the same ``str``, not a copy); ``""`` is ``[""]``.
    """
    chunks = []
    start = 0
    while len(text) - start > 2 * chunk_chars:
        end = text.rfind("\n", start + chunk_chars // 2, start + chunk_chars) + 1
        if not end:
            end = start + chunk_chars
            end += text.startswith("\r\n", end - 1)
        chunks.append(text[start:end])
        start = end
    chunks.append(text[start:])
    return chunks


class _Sums:
    """Counts (one per chunk) and their running totals, as a Fenwick tree: changing a count,
    the total of the first ``n`` and the place where a running total is reached all cost
    O(log n). Replacing several counts at once rebuilds the tree, O(n), which only happens
    when an edit changes the number of chunks (once per ``CHUNK_CHARS`` typed)."""

    def __init__(self, values: list[int]) -> None:
        self.values = values
        self._build()

    def _build(self) -> None:
        size = len(self.values)
        tree = [0, *self.values]
        for index in range(1, len(tree)):
            parent = index + (index & -index)
            if parent <= size:
                tree[parent] += tree[index]
        self._tree = tree
        self._top = 1 << size.bit_length()  # a power of two > size: find's first step
        self.total = sum(self.values)

    def set(self, index: int, value: int) -> None:
        delta = value - self.values[index]
        self.values[index] = value
        self.total += delta
        position = index + 1
        while position < len(self._tree):
            self._tree[position] += delta
            position += position & -position

    def splice(self, start: int, stop: int, values: list[int]) -> None:
        self.values[start:stop] = values
        self._build()

    def before(self, index: int) -> int:
        """The total of the counts before ``index``."""
        total = 0
        while index > 0:
            total += self._tree[index]
            index &= index - 1
        return total

    def find(self, value: int) -> tuple[int, int]:
        """``(index, total before it)`` for the largest ``index`` whose total before is at most
        ``value`` (``len(values)`` when the total of all is at most ``value``)."""
        index = 0
        rest = value
        step = self._top
        while step:
            following = index + step
            if following < len(self._tree) and self._tree[following] <= rest:
                index = following
                rest -= self._tree[following]
            step >>= 1
        return index, value - rest


@dataclass(frozen=True)
class Cursor:
    """A position resolved to Python indices: ``line`` number, ``index`` into that line."""

    line: int
    index: int


@dataclass(eq=False)  # each mark is itself: two with the same offsets are two marks
class Mark:
    """A span of a document followed through its edits, as offsets into the whole text
    (:meth:`Document.mark`): moved by edits before it, left by edits after it, and ``broken``
    by any edit that touches what is between ``start`` and ``end``."""

    start: int
    end: int
    broken: bool = False

    def moved(self, start: int, end: int, inserted: int) -> None:
        """The text between offsets ``start`` and ``end`` was replaced by ``inserted``
        characters."""
        if end <= self.start:
            delta = inserted - (end - start)
            self.start += delta
            self.end += delta
        elif start < self.end:
            self.broken = True


class Document:
    """One open text document: its text (as chunks), version and language, edited in place."""

    def __init__(
        self,
        uri: str,
        text: str,
        *,
        version: int | None = None,
        language_id: str = "",
        encoding: PositionEncoding = PositionEncoding.UTF16,
        chunk_chars: int = CHUNK_CHARS,
    ) -> None:
        self.uri = uri
        self.version = version
        self.language_id = language_id
        self._encoding = encoding
        self._chunk_chars = chunk_chars
        #: Spans followed through the edits (see :meth:`mark`); usually none.
        self._marks: list[Mark] = []
        self.replace_all(text)

    @property
    def encoding(self) -> PositionEncoding:
        return self._encoding

    @encoding.setter
    def encoding(self, encoding: PositionEncoding) -> None:
        """Counting the chunks' units again: O(size), once (tests, a late negotiation)."""
        self._encoding = encoding
        self._units = _Sums([encoding.length(chunk) for chunk in self._chunks])

    # -- reading ---------------------------------------------------------------------------

    @property
    def text(self) -> str:
        """The whole text. O(size): for tests and whole-file features, never per keystroke."""
        return "".join(self._chunks)

    @property
    def lines(self) -> Lines:
        """The lines with their terminators, as a read-only sequence: ``lines[n]`` and
        ``lines[a:b]`` cost O(what they return + log n); iterating is O(size)."""
        return Lines(self)

    @property
    def size(self) -> int:
        """The text's length in characters, O(1)."""
        return self._length.total

    @property
    def line_count(self) -> int:
        return self._ends.total + 1

    def line_text(self, line: int) -> str:
        """Content of ``line`` without its terminator ("" past the end)."""
        if 0 <= line < self.line_count:
            start, end, _next = self._span(line)
            return self.text_range(start, end)
        return ""

    def line(self, line: int) -> str:
        """``line`` with its terminator (``0 <= line < line_count``)."""
        start, _end, following = self._span(line)
        return self.text_range(start, following)

    def head(self, max_lines: int, max_chars: int) -> str:
        """The text of the first ``max_lines`` lines (terminators included), at most
        ``max_chars`` characters of it: O(what it returns + log n). Two documents with the
        same head have the same first lines up to that size, whatever follows."""
        end = self._span(max_lines)[0] if self.line_count > max_lines else self.size
        return self.text_range(0, min(end, max_chars))

    def text_range(self, start: int, end: int) -> str:
        """The text between two offsets into the whole text: O(end - start + log n)."""
        chunk, base = self._locate(start)
        parts = []
        while base < end and chunk < len(self._chunks):
            text = self._chunks[chunk]
            parts.append(text[max(start - base, 0) : end - base])
            base += len(text)
            chunk += 1
        return "".join(parts)

    def cursor(self, line: int, column: int) -> Cursor:
        """Resolve a client (line, column) to indices, clamped into the document.

        Costs O(min(column, chunk) + log n): a column far into a long line is found by the
        chunks' lengths in units, then converted inside one chunk.
        """
        if line < 0:
            return Cursor(0, 0)
        if line >= self.line_count:
            last = self.line_count - 1
            return Cursor(last, self.line_length(last))
        start, end, _next = self._span(line)
        return Cursor(line, self._index(start, end, column))

    def _position(self, line: int, column: int) -> int:
        """The offset of client (line, column), clamped as :meth:`cursor` does."""
        if line < 0:
            return 0
        if line >= self.line_count:
            return self._length.total
        start, end, _next = self._span(line)
        return start + self._index(start, end, column)

    def line_length(self, line: int) -> int:
        """Length of ``line``'s content in characters (terminator excluded), O(log n)."""
        start, end, _next = self._span(line)
        return end - start

    def line_end(self, line: int) -> Cursor:
        """The cursor after the last character of ``line``'s content."""
        return Cursor(line, self.line_length(line))

    def newline(self) -> str:
        """The document's end-of-line (its first line's; ``"\\n"`` for a one-line document)."""
        _start, end, following = self._span(0)
        return self.text_range(end, following) or "\n"

    def is_valid_position(self, line: int, column: int) -> bool:
        """Whether (line, column) names a real place (not past the end of its line or file)."""
        if line < 0 or column < 0 or line >= self.line_count:
            return False
        start, end, _next = self._span(line)
        if column <= end - start:
            return True  # every character is at least one unit of any encoding
        return column <= self._units_between(start, end)

    def column(self, cursor: Cursor) -> int:
        """The client column of ``cursor``."""
        start, _end, _next = self._span(cursor.line)
        return self._units_between(start, start + cursor.index)

    def text_before(self, cursor: Cursor, max_chars: int) -> str:
        """Up to ``max_chars`` of text before ``cursor``, cut at a line start where possible.

        Whole lines are taken going up from the cursor while they fit. The cursor's own line is
        always included (cut from the left only if it alone exceeds the budget).
        """
        at = self.offset(cursor)
        start = at - max_chars
        if start <= 0:
            return self.text_range(0, at)
        window = self.text_range(start - 1, at)  # one more: is the window's start a line's?
        found = _TERMINATOR.search(window)
        return window[found.end() :] if found else window[1:]

    def chars_before(self, cursor: Cursor, count: int) -> str:
        """Exactly the last ``count`` characters before ``cursor`` (fewer at the document start).

        Unlike :meth:`text_before` it does not stop at a line start, so it is a stable
        fingerprint of "the text just before this place". O(count), not O(document).
        """
        at = self.offset(cursor)
        return self.text_range(max(at - count, 0), at)

    def contains(self, cursor: Cursor) -> bool:
        """Whether ``cursor`` (indices, as from :meth:`cursor`) is still inside the document."""
        return 0 <= cursor.line < self.line_count and 0 <= cursor.index <= self.line_length(
            cursor.line
        )

    def text_after(self, cursor: Cursor, max_chars: int) -> str:
        """Up to ``max_chars`` of text after ``cursor``, cut at a line end where possible (the
        rest of the cursor's line, cut at ``max_chars`` if it alone exceeds them)."""
        at = self.offset(cursor)
        window = self.text_range(at, at + max_chars + 1)  # one more: is its last "\r" a line's?
        if len(window) <= max_chars:
            return window
        # The last line end within the budget, found backwards (C-level searches: a list of
        # every line end of the window cost 80 us of a 4,000-character suffix, measured).
        end = _last_terminator(window, max_chars)
        if end >= 0 and window[end] == "\r" and window[end + 1 : end + 2] == "\n":
            end = _last_terminator(window, end)  # a "\r\n" across the budget is not in it
        return window[: end + 1] if end >= 0 else window[:max_chars]

    def text_between(self, start: Cursor, end: Cursor) -> str:
        """The text from ``start`` to ``end`` (empty when ``end`` is before ``start``)."""
        return self.text_range(self.offset(start), self.offset(end))

    def offset(self, cursor: Cursor) -> int:
        """``cursor`` as an offset into the whole text."""
        start, _end, _next = self._span(cursor.line)
        return start + cursor.index

    def cursor_at(self, offset: int) -> Cursor:
        """The cursor at ``offset`` into the whole text (clamped into it), O(log n + one
        chunk's line ends)."""
        offset = min(max(offset, 0), self._length.total)
        chunk, base = self._locate(offset)
        line = self._ends.before(chunk) + bisect_right(self._ends_of(chunk), offset - base)
        start, _end, _next = self._span(line)
        return Cursor(line, offset - start)

    # -- following a span through edits ----------------------------------------------------

    def mark(self, start: Cursor, end: Cursor) -> Mark:
        """Follow the text from ``start`` to ``end`` through the edits to come, until
        :meth:`unmark`: where it went, or whether an edit touched it (a code action's target
        while its answer comes). Each edit costs O(marks)."""
        mark = Mark(self.offset(start), self.offset(end))
        self._marks.append(mark)
        return mark

    def unmark(self, mark: Mark) -> None:
        if mark in self._marks:
            self._marks.remove(mark)

    # -- editing ---------------------------------------------------------------------------

    def replace_all(self, text: str) -> None:
        """A full-text change (what it kept of the old text is unknown: every mark breaks)."""
        for mark in self._marks:
            mark.broken = True
        self._chunks = cut_chunks(text, self._chunk_chars)
        self._length = _Sums([len(chunk) for chunk in self._chunks])
        self._ends = _Sums([_count_ends(chunk) for chunk in self._chunks])
        self._units = _Sums([self._encoding.length(chunk) for chunk in self._chunks])
        self._ends_in: list[array[int] | None] = [None] * len(self._chunks)

    def apply_edit(
        self,
        start: tuple[int, int],
        end: tuple[int, int],
        new_text: str,
    ) -> None:
        """Replace the client range ``start``..``end`` (line, column pairs) with ``new_text``.

        The chunks holding the range are cut at its ends and glued to ``new_text``; a piece
        left shorter than a quarter chunk takes in a neighbour, as does a ``\\r`` meeting a
        ``\\n`` across a chunk boundary (so that they stay one ``\\r\\n`` in one chunk); what
        results is cut again if it grew past two chunks. O(chunk + new_text + log n).
        """
        first = self._position(*start)
        last = self._position(*end)
        self._replace(min(first, last), max(first, last), new_text)

    def _replace(self, start: int, end: int, new_text: str) -> None:
        chunks = self._chunks
        first, base = self._locate(start)
        last, last_base = self._locate(end)
        text = chunks[first][: start - base] + new_text + chunks[last][end - last_base :]
        small = self._chunk_chars // 4
        # Only the start can meet a "\r": the text ends with the rest of chunk ``last``,
        # whose end is already a valid boundary, unless that rest is the end of the document.
        while True:
            if len(text) < small and last + 1 < len(chunks):
                last += 1
                text += chunks[last]
            elif first > 0 and (
                len(text) < small or (text.startswith("\n") and chunks[first - 1].endswith("\r"))
            ):
                first -= 1
                text = chunks[first] + text
            else:
                break
        self._splice(first, last + 1, cut_chunks(text, self._chunk_chars))
        for mark in self._marks:
            mark.moved(start, end, len(new_text))

    def _splice(self, first: int, stop: int, pieces: list[str]) -> None:
        """Put ``pieces`` in place of the chunks ``first`` to ``stop`` (excluded)."""
        lengths = [len(piece) for piece in pieces]
        ends = [_count_ends(piece) for piece in pieces]
        units = [self._encoding.length(piece) for piece in pieces]
        self._chunks[first:stop] = pieces
        self._ends_in[first:stop] = [None] * len(pieces)
        if len(pieces) == stop - first:
            for index in range(len(pieces)):
                self._length.set(first + index, lengths[index])
                self._ends.set(first + index, ends[index])
                self._units.set(first + index, units[index])
        else:
            self._length.splice(first, stop, lengths)
            self._ends.splice(first, stop, ends)
            self._units.splice(first, stop, units)

    # -- finding things --------------------------------------------------------------------

    def _locate(self, offset: int) -> tuple[int, int]:
        """``(chunk, offset of its start)`` for the chunk holding ``offset`` (the following
        one at a boundary; the last one at or past the end of the text)."""
        chunk, base = self._length.find(offset)
        if chunk == len(self._chunks):
            chunk -= 1
            base -= self._length.values[chunk]
        return chunk, base

    def _end_of(self, number: int) -> tuple[int, int]:
        """``(chunk, offset in it)`` just after the ``number``-th line end (from 1)."""
        chunk, before = self._ends.find(number - 1)
        return chunk, self._ends_of(chunk)[number - before - 1]

    def _ends_of(self, chunk: int) -> array[int]:
        """The offsets just after each line end of ``chunk``, found once per version of it."""
        ends = self._ends_in[chunk]
        if ends is None:
            ends = self._ends_in[chunk] = line_ends(self._chunks[chunk])
        return ends

    def _span(self, line: int) -> tuple[int, int, int]:
        """Offsets of ``line``'s start, its content's end and the next line's start (one
        search in the tree when the line starts in the chunk where it ends, as most do)."""
        if line + 1 >= self.line_count:
            return self._start(line), self._length.total, self._length.total
        chunk, before = self._ends.find(line)  # the chunk of this line's own end
        ends = self._ends_of(chunk)
        own = line - before  # its index in ``ends``
        base = self._length.before(chunk)
        start = base + ends[own - 1] if own else self._start(line)
        crlf = self._chunks[chunk].startswith("\r\n", ends[own] - 2)
        return start, base + ends[own] - 1 - crlf, base + ends[own]

    def _start(self, line: int) -> int:
        if line == 0:
            return 0
        chunk, after = self._end_of(line)
        return self._length.before(chunk) + after

    def _index(self, start: int, end: int, column: int) -> int:
        """Index in the line ``start``..``end`` (offsets) of client ``column``, clamped.

        A column within a chunk's length of the line start converts that much text; one
        further (a long line) skips whole chunks by their lengths in units, then converts
        inside the chunk where it falls.
        """
        if column <= self._chunk_chars:
            piece = self.text_range(start, min(end, start + column))
            return self._encoding.index_of_column(piece, column)
        wanted = self._units_at(start) + column
        chunk, before = self._units.find(wanted)
        if chunk == len(self._chunks):
            return end - start
        index = self._length.before(chunk) + self._encoding.index_of_column(
            self._chunks[chunk], wanted - before
        )
        return min(index, end) - start

    def _units_at(self, offset: int) -> int:
        """The text's length in units up to ``offset``: O(chunk + log n)."""
        chunk, base = self._locate(offset)
        prefix = self._chunks[chunk][: offset - base]
        return self._units.before(chunk) + self._encoding.length(prefix)

    def _units_between(self, start: int, end: int) -> int:
        if end - start <= self._chunk_chars:
            return self._encoding.length(self.text_range(start, end))
        return self._units_at(end) - self._units_at(start)

    def _lines_from(self, line: int) -> Iterator[str]:
        """The lines from ``line`` on, with their terminators: slices of each chunk between
        its line ends (C-level iteration), a line longer than a chunk glued from its pieces."""
        start = self._span(line)[0]
        chunk, base = self._locate(start)
        skip = start - base
        held: list[str] = []  # a line's pieces from earlier chunks
        for index in range(chunk, len(self._chunks)):
            text = self._chunks[index]
            ends = self._ends_of(index)
            first = bisect_right(ends, skip)  # the first line end after ``skip``
            if first < len(ends):
                held.append(text[skip : ends[first]])
                yield "".join(held)
                yield from map(text.__getitem__, map(slice, ends[first:], ends[first + 1 :]))
                held = []
                skip = ends[-1]
            held.append(text[skip:])
            skip = 0
        yield "".join(held)


class Lines(Sequence[str]):
    """A document's lines with their terminators, made on demand from its chunks (what was
    the store itself when it was a list of lines)."""

    def __init__(self, document: Document) -> None:
        self._document = document

    def __len__(self) -> int:
        return self._document.line_count

    @overload
    def __getitem__(self, key: int) -> str: ...

    @overload
    def __getitem__(self, key: slice) -> list[str]: ...

    def __getitem__(self, key: int | slice) -> str | list[str]:
        if isinstance(key, slice):
            start, stop, step = key.indices(len(self))
            if step != 1:
                return [self[index] for index in range(start, stop, step)]
            return list(islice(self._document._lines_from(start), max(stop - start, 0)))
        index = key + len(self) if key < 0 else key
        if not 0 <= index < len(self):
            raise IndexError(key)
        return self._document.line(index)

    def __iter__(self) -> Iterator[str]:
        return self._document._lines_from(0)


class DocumentStore:
    """The documents the client has opened, by URI."""

    def __init__(self, encoding: PositionEncoding = PositionEncoding.UTF16) -> None:
        self.encoding = encoding
        self._documents: dict[str, Document] = {}

    def open(self, uri: str, text: str, version: int | None, language_id: str) -> Document:
        document = Document(
            uri, text, version=version, language_id=language_id, encoding=self.encoding
        )
        self._documents[uri] = document
        return document

    def get(self, uri: str) -> Document | None:
        return self._documents.get(uri)

    def close(self, uri: str) -> Document | None:
        """Forget the document at ``uri``; the one closed, if it was open."""
        return self._documents.pop(uri, None)

    def __len__(self) -> int:
        return len(self._documents)

    def __iter__(self) -> Iterator[Document]:
        return iter(self._documents.values())


__all__ = [
    "Cursor",
    "Document",
    "DocumentStore",
    "Lines",
    "Mark",
    "PositionEncoding",
    "cut_chunks",
    "line_content",
    "line_ends",
    "split_lines",
]
