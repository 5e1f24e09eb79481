"""Indentation: how wide it is, what a file's step is, and re-basing code onto a target.

One place for all of it, so that the completion pipeline (``prompt.py``, ``postprocess.py``)
and the code actions (``actions/target.py``, ``actions/placement.py``) agree on what a tab
is worth: a tab stops every :data:`TAB_WIDTH` columns, as editors show it by default.
"""

from __future__ import annotations

import textwrap
from collections import Counter
from collections.abc import Sequence

#: Columns between tab stops.
TAB_WIDTH = 4


def leading_whitespace(text: str) -> str:
    """The spaces and tabs ``text`` starts with."""
    return text[: len(text) - len(text.lstrip(" \t"))]


def indent_width(text: str) -> int:
    """The width of ``text``'s indentation in columns, tabs stopping every ``TAB_WIDTH``."""
    return len(leading_whitespace(text).expandtabs(TAB_WIDTH))


def indent_unit(lines: Sequence[str]) -> str | None:
    """The file's indentation step as seen in ``lines``: a tab, some spaces, or unknown.

    The step is the most common increase of indentation from one line to the next, between
    2 and 8 spaces (on a tie, the one seen first). JSDoc's `` * `` lines (one space) do not
    count, and a docstring's hanging indent (two) is rarer than the body's step, or comes
    after it.
    """
    increases: Counter[int] = Counter()
    previous = 0
    for line in lines:
        if not line.strip():
            continue
        lead = leading_whitespace(line)
        if lead.startswith("\t"):
            return "\t"
        if len(lead) > previous:
            increases[len(lead) - previous] += 1
        previous = len(lead)
    steps = [step for step in increases if 2 <= step <= 8]  # in the order first seen
    if not steps:
        return None
    return " " * max(steps, key=lambda step: increases[step])


def reindent(
    code: str, indent: str, unit: str | None = None, *, original: Sequence[str] = ()
) -> str:
    """``code`` with its common indentation replaced by ``indent`` (lines joined with ``\\n``).

    ``unit`` is the file's indentation step: the answer's steps are converted to it, so a tab
    file gets tabs. ``original`` are the target's lines: an answer whose first line lost its
    indentation while the others kept theirs (a common model habit) is repaired first.
    """
    lines = trim_blank_edges(code.replace("\r\n", "\n").split("\n"))
    if not lines:
        return ""
    lines = _repair_first_line(lines, original)
    body = textwrap.dedent("\n".join(lines)).split("\n")
    if unit is not None:
        body = _convert_indentation(body, unit)
    return "\n".join(indent + line if line.strip() else "" for line in body)


def _repair_first_line(lines: list[str], original: Sequence[str]) -> list[str]:
    """Give the first line back the target's indentation when the rest kept the target's."""
    if len(lines) < 2 or len(original) < 2 or leading_whitespace(lines[0]):
        return lines
    first = leading_whitespace(original[0])
    if not first:
        return lines
    theirs = _smallest_indent(lines[1:])
    ours = _smallest_indent(original[1:])
    if theirs is not None and theirs == ours and ours > indent_width(first):
        return [first + lines[0], *lines[1:]]
    return lines


def _smallest_indent(lines: Sequence[str]) -> int | None:
    return min((indent_width(line) for line in lines if line.strip()), default=None)


def _convert_indentation(lines: list[str], unit: str) -> list[str]:
    """Convert between tabs and spaces only; a different count of spaces is the model mirroring
    the code it was shown, and alignment continuation lines make "the" space step unreliable."""
    theirs = indent_unit(lines)
    if theirs is None or (theirs == "\t") == (unit == "\t"):
        return lines
    out = []
    for line in lines:
        lead = leading_whitespace(line)
        if theirs == "\t":
            levels, rest = lead.count("\t"), lead.replace("\t", "")
        else:
            width = len(lead.expandtabs(len(theirs)))
            levels, rest = divmod(width, len(theirs))
            rest = " " * rest
        out.append(unit * levels + rest + line[len(lead) :])
    return out


def trim_blank_edges(lines: list[str]) -> list[str]:
    """``lines`` without blank lines at either end, and without trailing whitespace."""
    start, end = 0, len(lines)
    while start < end and not lines[start].strip():
        start += 1
    while end > start and not lines[end - 1].strip():
        end -= 1
    return [line.rstrip() for line in lines[start:end]]
