"""What the completion pipeline answers: text to insert at a cursor, and where it came from.

Its own module so that what shapes and counts completions (``items.py``, ``controls.py``)
does not import the engine.
"""

from __future__ import annotations

from dataclasses import dataclass

from codestral_ls.documents import Cursor


@dataclass(frozen=True)
class Completion:
    """Text to insert at ``cursor``, and where it came from (for logs and benchmarks)."""

    text: str
    cursor: Cursor
    source: str  # "api", "cache", "typed-ahead", "in-flight" or "alternative"
