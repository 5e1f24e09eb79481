"""Where the user edited lately: the ranges of text they changed, most recent first.

Continue sends the recently edited ranges of other files with each completion: code the
user just wrote elsewhere (a new helper, a changed signature) is what the code at the cursor
is most likely to use next, and it is often not saved yet, so no index on disk has it.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

#: Ranges remembered, over all documents.
MAX_RANGES = 24
#: Lines shown around an edited range.
MARGIN_LINES = 3
#: Most lines of one edited range (a paste of a whole file is cut to its start).
MAX_RANGE_LINES = 16


@dataclass
class EditedRange:
    """Lines ``first``..``last`` (inclusive) of ``uri`` were changed."""

    uri: str
    first: int
    last: int


class RecentEdits:
    """The last edited ranges; an edit next to or inside a remembered range widens it."""

    def __init__(self) -> None:
        self._ranges: deque[EditedRange] = deque(maxlen=MAX_RANGES)

    def note(self, uri: str, first: int, last: int) -> None:
        """Lines ``first``..``last`` of ``uri`` hold new text (after the edit)."""
        for edited in self._ranges:
            if (
                edited.uri == uri
                and first <= edited.last + MARGIN_LINES
                and last >= edited.first - MARGIN_LINES
            ):
                self._ranges.remove(edited)
                first, last = min(first, edited.first), max(last, edited.last)
                break
        last = min(last, first + MAX_RANGE_LINES - 1)
        self._ranges.append(EditedRange(uri, first, last))

    def shifted(self, uri: str, line: int, delta: int) -> None:
        """Lines were inserted (``delta`` > 0) or removed at ``line``: move the ranges below."""
        if not delta:
            return
        for edited in self._ranges:
            if edited.uri == uri and edited.first > line:
                edited.first = max(line, edited.first + delta)
                edited.last = max(edited.first, edited.last + delta)

    def forget(self, uri: str) -> None:
        for edited in [e for e in self._ranges if e.uri == uri]:
            self._ranges.remove(edited)

    def newest_first(self) -> list[EditedRange]:
        return list(reversed(self._ranges))
