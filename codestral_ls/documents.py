"""The open documents, kept as lists of lines so that a keystroke costs O(line), not O(file).

pygls's own ``TextDocument`` re-splits and rebuilds the whole text on every incremental edit,
which is milliseconds per keystroke on a megabyte file. Completion only ever needs the lines
around the cursor, so this store keeps each document as a list of lines (each with its own
terminator) and splices edits in place.

Positions arrive in the encoding negotiated at ``initialize`` (utf-8 for Neovim and Helix,
utf-16 for VS Code, utf-32 for some). :class:`PositionEncoding` converts between those code
units and Python string indices, one line at a time. Out-of-range positions are clamped, the
way editors expect: a column past the end of a line means its end, a line past the end of the
document means the end of the document, a column inside a multi-unit character rounds down.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum

#: An LSP line terminator (``str.splitlines`` knows many more: U+2028, U+0085, \f ...).
_TERMINATOR = re.compile(r"(\r\n|\r|\n)")
#: Code points that take two utf-16 units (a surrogate pair).
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")


def split_lines(text: str) -> list[str]:
    """Split ``text`` into lines that keep their terminators; the last line has none.

    ``"a\\nb\\n"`` gives ``["a\\n", "b\\n", ""]``: a document always has at least one line, and a
    trailing terminator opens an empty last line, as editors count lines. Linear in ``text``
    (one regex pass that only stops at terminators, then pairs each line with its own).
    """
    parts = _TERMINATOR.split(text)
    lines = [parts[i] + parts[i + 1] for i in range(0, len(parts) - 1, 2)]
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
        prefix = text[:index]
        if self is PositionEncoding.UTF32 or prefix.isascii():
            return len(prefix)
        if self is PositionEncoding.UTF16:
            # surrogatepass: a lone surrogate (valid in JSON text) is one unit, as in units()
            return len(prefix.encode("utf-16-le", errors="surrogatepass")) // 2
        return len(prefix.encode("utf-8", errors="surrogatepass"))


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


@dataclass(frozen=True)
class Cursor:
    """A position resolved to Python indices: ``line`` into the line list, ``index`` into it."""

    line: int
    index: int


class Document:
    """One open text document: its lines, version and language, edited in place."""

    def __init__(
        self,
        uri: str,
        text: str,
        *,
        version: int | None = None,
        language_id: str = "",
        encoding: PositionEncoding = PositionEncoding.UTF16,
    ) -> None:
        self.uri = uri
        self.version = version
        self.language_id = language_id
        self.encoding = encoding
        self.lines: list[str] = split_lines(text)

    # -- reading ---------------------------------------------------------------------------

    @property
    def text(self) -> str:
        """The whole text. O(size): for tests and whole-file features, never per keystroke."""
        return "".join(self.lines)

    @property
    def line_count(self) -> int:
        return len(self.lines)

    def line_text(self, line: int) -> str:
        """Content of ``line`` without its terminator ("" past the end)."""
        if 0 <= line < len(self.lines):
            return line_content(self.lines[line])
        return ""

    def cursor(self, line: int, column: int) -> Cursor:
        """Resolve a client (line, column) to indices, clamped into the document.

        Costs O(column) at C speed, never a Python loop over the line, and copies nothing
        past the column.
        """
        if line < 0:
            return Cursor(0, 0)
        if line >= len(self.lines):
            last = len(self.lines) - 1
            return Cursor(last, self.line_length(last))
        index = self.encoding.index_of_column(self.lines[line], column)
        return Cursor(line, min(index, self.line_length(line)))

    def line_length(self, line: int) -> int:
        """Length of ``line``'s content in characters (terminator excluded), in O(1)."""
        text = self.lines[line]
        return len(text) - len(terminator(text))

    def line_end(self, line: int) -> Cursor:
        """The cursor after the last character of ``line``'s content."""
        return Cursor(line, self.line_length(line))

    def newline(self) -> str:
        """The document's end-of-line (its first line's; ``"\\n"`` for a one-line document)."""
        return terminator(self.lines[0]) or "\n"

    def is_valid_position(self, line: int, column: int) -> bool:
        """Whether (line, column) names a real place (not past the end of its line or file)."""
        if line < 0 or column < 0 or line >= len(self.lines):
            return False
        if column <= self.line_length(line):
            return True  # every character is at least one unit of any encoding
        content = line_content(self.lines[line])
        return column <= self.encoding.column_of_index(content, len(content))

    def column(self, cursor: Cursor) -> int:
        """The client column of ``cursor``."""
        return self.encoding.column_of_index(self.lines[cursor.line], cursor.index)

    def text_before(self, cursor: Cursor, max_chars: int) -> str:
        """Up to ``max_chars`` of text before ``cursor``, cut at a line start where possible.

        Whole lines are taken going up from the cursor while they fit. The cursor's own line is
        always included (cut from the left only if it alone exceeds the budget).
        """
        head = self.lines[cursor.line][: cursor.index]
        if len(head) >= max_chars:
            return head[len(head) - max_chars :]
        parts = [head]
        used = len(head)
        for line in self._lines_upward(cursor.line - 1):
            if used + len(line) > max_chars:
                break
            parts.append(line)
            used += len(line)
        parts.reverse()
        return "".join(parts)

    def chars_before(self, cursor: Cursor, count: int) -> str:
        """Exactly the last ``count`` characters before ``cursor`` (fewer at the document start).

        Unlike :meth:`text_before` it does not stop at a line start, so it is a stable
        fingerprint of "the text just before this place". O(count), not O(document).
        """
        head = self.lines[cursor.line][: cursor.index]
        parts = [head]
        used = len(head)
        line = cursor.line - 1
        while used < count and line >= 0:
            parts.append(self.lines[line])
            used += len(self.lines[line])
            line -= 1
        parts.reverse()
        text = "".join(parts)
        return text[len(text) - count :] if len(text) > count else text

    def contains(self, cursor: Cursor) -> bool:
        """Whether ``cursor`` (indices, as from :meth:`cursor`) is still inside the document."""
        return 0 <= cursor.line < len(self.lines) and 0 <= cursor.index <= self.line_length(
            cursor.line
        )

    def text_after(self, cursor: Cursor, max_chars: int) -> str:
        """Up to ``max_chars`` of text after ``cursor``, cut at a line end where possible."""
        tail = self.lines[cursor.line][cursor.index :]
        if len(tail) >= max_chars:
            return tail[:max_chars]
        parts = [tail]
        used = len(tail)
        for line in self.lines[cursor.line + 1 :]:
            if used + len(line) > max_chars:
                break
            parts.append(line)
            used += len(line)
        return "".join(parts)

    def text_between(self, start: Cursor, end: Cursor) -> str:
        """The text from ``start`` to ``end`` (empty when ``end`` is before ``start``)."""
        if (end.line, end.index) <= (start.line, start.index):
            return ""
        if start.line == end.line:
            return self.lines[start.line][start.index : end.index]
        middle = "".join(self.lines[start.line + 1 : end.line])
        return self.lines[start.line][start.index :] + middle + self.lines[end.line][: end.index]

    def _lines_upward(self, start: int) -> Iterator[str]:
        for line in range(start, -1, -1):
            yield self.lines[line]

    # -- editing ---------------------------------------------------------------------------

    def replace_all(self, text: str) -> None:
        """A full-text change."""
        self.lines = split_lines(text)

    def apply_edit(
        self,
        start: tuple[int, int],
        end: tuple[int, int],
        new_text: str,
    ) -> None:
        """Replace the client range ``start``..``end`` (line, column pairs) with ``new_text``.

        Only ``new_text`` is split; the touched lines are cut at the edit and glued to its
        first and last pieces. Where the edit brings a ``\\r`` and a ``\\n`` together (at
        either end) they become one ``\\r\\n`` terminator, as a fresh split would make them.
        """
        first = self.cursor(*start)
        last = self.cursor(*end)
        if (last.line, last.index) < (first.line, first.index):
            first, last = last, first
        pieces = split_lines(new_text)
        pieces[0] = self.lines[first.line][: first.index] + pieces[0]
        pieces[-1] += self.lines[last.line][last.index :]
        lo = first.line
        if len(pieces) > 1 and _joins_crlf(pieces[-2], pieces[-1]):
            ending = pieces.pop()  # "…\r" then the tail's "\n"
            pieces[-1] += ending
        if lo > 0 and _joins_crlf(self.lines[lo - 1], pieces[0]):
            lo -= 1
            pieces[0] = self.lines[lo] + pieces[0]  # the line above ends with "\r"
        self.lines[lo : last.line + 1] = pieces


def _joins_crlf(line: str, following: str) -> bool:
    """Whether ``line`` ends with a lone ``\\r`` and ``following`` is a lone ``\\n`` line, which
    together are one line ending in ``\\r\\n``."""
    return following == "\n" and line.endswith("\r")


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

    def close(self, uri: str) -> None:
        self._documents.pop(uri, None)

    def __len__(self) -> int:
        return len(self._documents)

    def __iter__(self) -> Iterator[Document]:
        return iter(self._documents.values())


__all__ = [
    "Cursor",
    "Document",
    "DocumentStore",
    "PositionEncoding",
    "line_content",
    "split_lines",
]
