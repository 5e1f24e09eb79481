"""Turn a document and a cursor into a fill-in-the-middle request: prompt, suffix and mode.

Codestral sees only what we send, and pays for every character of it, so the text around the
cursor is cut to a budget (a few thousand characters each way by default, more before the
cursor than after, as the model needs the past more than the future). Cuts fall on line
boundaries so the model never sees half an identifier.

Every per-request cost is bounded by a window around the cursor, never by the size of a line
or file: the prompt and suffix by their budgets, the cursor's line by :data:`MAX_LINE_CHARS`.
A line longer than that (minified code, a data blob, a base64 string) gets no completion at
all: converting its positions and scanning it would cost more on every keystroke than a
completion there is worth, and nothing useful fits after 10,000 characters of one line.

The mode decides how much the model may write: finishing the current line (the cursor is in
the middle of code, or at the end of an ordinary statement) or a block of several lines (the
cursor is on an empty line, or just after a block opener such as ``:`` or ``{``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from codestral_ls.documents import Cursor, Document
from codestral_ls.indentation import indent_width

#: A line ending in one of these opens a block: the next lines are its body.
_BLOCK_OPENER = re.compile(r"(?:[:{]|=>|\bdo|\bthen|\bbegin)\s*$")
#: An open bracket at the end of a line starts a multi-line list, unless the editor already
#: closed it on the same line (then the user is filling in arguments: one line).
_LIST_OPENER = re.compile(r"[(\[]\s*$")
#: What may follow the cursor without making it "mid-line": closing brackets, quotes and the
#: punctuation an editor auto-inserts. Completing before them is still completing the line.
_CLOSERS_ONLY = re.compile(r"""^[\s)\]}>"'`;:,.]*$""")

#: The longest cursor line that gets completions (see the module docstring).
MAX_LINE_CHARS = 10_000


def line_in_window(document: Document, line: int) -> bool:
    """Whether ``line`` is short enough to complete on (O(1): no scan, no conversion)."""
    return not 0 <= line < document.line_count or document.line_length(line) <= MAX_LINE_CHARS


class Mode(str, Enum):
    """How much the model may write at this cursor."""

    SINGLE_LINE = "single-line"
    MULTI_LINE = "multi-line"


@dataclass(frozen=True)
class FimContext:
    """Everything about the cursor that the request and the post-processing need."""

    prompt: str
    suffix: str
    mode: Mode
    #: The cursor's line before and after the cursor (without the terminator).
    line_before: str
    line_after: str
    #: Content of the nearest non-empty line above the cursor's line ("" if none).
    line_above: str
    #: Content of the nearest non-empty line below the cursor's line ("" if none).
    line_below: str
    #: A completion line indented less than this has left the block being written.
    min_indent: int
    language_id: str = ""

    @property
    def at_line_end(self) -> bool:
        return _CLOSERS_ONLY.match(self.line_after) is not None


def choose_mode(line_before: str, line_after: str) -> Mode:
    """Single-line in the middle of code, multi-line on a blank line or after a block opener."""
    if _CLOSERS_ONLY.match(line_after) is None:
        return Mode.SINGLE_LINE
    if not line_before.strip():
        return Mode.MULTI_LINE
    if _BLOCK_OPENER.search(line_before):
        return Mode.MULTI_LINE
    if _LIST_OPENER.search(line_before) and not line_after.strip():
        return Mode.MULTI_LINE
    return Mode.SINGLE_LINE


def _min_indent(line_before: str, mode: Mode) -> int:
    if not line_before.strip():
        return indent_width(line_before)
    if mode is Mode.MULTI_LINE:
        return indent_width(line_before) + 1
    return 0


def _nearest_non_empty(document: Document, start: int, step: int, limit: int = 50) -> str:
    line = start
    for _ in range(limit):
        if not 0 <= line < document.line_count:
            return ""
        text = document.line_text(line)
        if text.strip():
            return text
        line += step
    return ""


def build_context(
    document: Document,
    cursor: Cursor,
    *,
    max_prefix_chars: int,
    max_suffix_chars: int,
    multiline: str = "auto",
) -> FimContext:
    """Split ``document`` at ``cursor`` into the FIM prompt and suffix, within the budgets.

    ``multiline`` is the user's setting: "auto" decides per cursor, "always" and "never" force it.
    """
    line = document.line_text(cursor.line)
    line_before, line_after = line[: cursor.index], line[cursor.index :]
    mode = choose_mode(line_before, line_after)
    if multiline == "always":
        mode = Mode.MULTI_LINE
    elif multiline == "never":
        mode = Mode.SINGLE_LINE
    return FimContext(
        prompt=document.text_before(cursor, max_prefix_chars),
        suffix=document.text_after(cursor, max_suffix_chars),
        mode=mode,
        line_before=line_before,
        line_after=line_after,
        line_above=_nearest_non_empty(document, cursor.line - 1, -1),
        line_below=_nearest_non_empty(document, cursor.line + 1, 1),
        min_indent=_min_indent(line_before, mode),
        language_id=document.language_id,
    )
