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

#: Split after each LSP line terminator (\r\n, \r, \n); ``str.splitlines`` knows many more.
_SPLIT_KEEP_ENDS = re.compile(r"(?<=\r\n)|(?<=\r)(?!\n)|(?<=\n)")


def split_lines(text: str) -> list[str]:
    """Split ``text`` into lines that keep their terminators; the last line has none.

    ``"a\\nb\\n"`` gives ``["a\\n", "b\\n", ""]``: a document always has at least one line, and a
    trailing terminator opens an empty last line, as editors count lines.
    """
    return _SPLIT_KEEP_ENDS.split(text)


def line_content(line: str) -> str:
    """``line`` without its terminator."""
    if line.endswith("\r\n"):
        return line[:-2]
    if line.endswith(("\n", "\r")):
        return line[:-1]
    return line


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
        """Python index in ``text`` of client ``column``; clamped, rounding down inside a char."""
        if column <= 0:
            return 0
        if self is PositionEncoding.UTF32 or text.isascii():
            return min(column, len(text))
        seen = 0
        for index, char in enumerate(text):
            seen += self.units(char)
            if seen > column:
                return index
        return len(text)

    def column_of_index(self, text: str, index: int) -> int:
        """Client column of the Python ``index`` in ``text``."""
        prefix = text[:index]
        if self is PositionEncoding.UTF32 or prefix.isascii():
            return len(prefix)
        if self is PositionEncoding.UTF16:
            # surrogatepass: a lone surrogate (valid in JSON text) is one unit, as in units()
            return len(prefix.encode("utf-16-le", errors="surrogatepass")) // 2
        return len(prefix.encode("utf-8", errors="surrogatepass"))


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
        """Resolve a client (line, column) to indices, clamped into the document."""
        if line < 0:
            return Cursor(0, 0)
        if line >= len(self.lines):
            last = len(self.lines) - 1
            return Cursor(last, len(line_content(self.lines[last])))
        content = line_content(self.lines[line])
        return Cursor(line, self.encoding.index_of_column(content, column))

    def is_valid_position(self, line: int, column: int) -> bool:
        """Whether (line, column) names a real place (not past the end of its line or file)."""
        if line < 0 or column < 0 or line >= len(self.lines):
            return False
        content = line_content(self.lines[line])
        return column <= self.encoding.column_of_index(content, len(content))

    def column(self, cursor: Cursor) -> int:
        """The client column of ``cursor``."""
        return self.encoding.column_of_index(line_content(self.lines[cursor.line]), cursor.index)

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
        return 0 <= cursor.line < len(self.lines) and 0 <= cursor.index <= len(
            line_content(self.lines[cursor.line])
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

    def replace_all(self, text: str, version: int | None) -> None:
        """A full-text change."""
        self.lines = split_lines(text)
        self.version = version

    def apply_edit(
        self,
        start: tuple[int, int],
        end: tuple[int, int],
        new_text: str,
        version: int | None = None,
    ) -> None:
        """Replace the client range ``start``..``end`` (line, column pairs) with ``new_text``.

        Only the touched lines are re-split. The neighbouring lines are re-split with them so a
        ``\\r`` and a ``\\n`` that an edit brings together become one ``\\r\\n`` terminator.
        """
        first = self.cursor(*start)
        last = self.cursor(*end)
        if (last.line, last.index) < (first.line, first.index):
            first, last = last, first
        lo = max(first.line - 1, 0)
        hi = min(last.line + 1, len(self.lines) - 1)
        joined = (
            "".join(self.lines[lo : first.line])
            + self.lines[first.line][: first.index]
            + new_text
            + self.lines[last.line][last.index :]
            + "".join(self.lines[last.line + 1 : hi + 1])
        )
        pieces = split_lines(joined)
        if hi < len(self.lines) - 1:
            # The region ends with a terminator and more lines follow: the empty piece that
            # split_lines opens after it is the start of the next, untouched line.
            pieces.pop()
        self.lines[lo : hi + 1] = pieces
        if version is not None:
            self.version = version


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
