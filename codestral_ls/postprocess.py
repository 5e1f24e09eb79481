"""Shape what the model wrote into what the user should see.

Two steps. While the answer streams, :func:`truncate_for_mode` says where the answer for this
cursor is complete (the end of the line in single-line mode; the end of the block in
multi-line mode), so the stream can be closed early: the user waits less and fewer tokens are
paid for. Once complete, :func:`clean_completion` removes what would only duplicate text that
is already in the buffer, and refuses answers that add nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from codestral_ls.indentation import indent_width
from codestral_ls.prompt import FimContext, Mode

#: A line made only of closing brackets (and a trailing separator) ends a block: keep it, stop.
_CLOSING_LINE = re.compile(r"^\s*(?:[)\]}]+[;,)]*|end|fi|done|esac)\s*$")
_PAIRS = {"(": ")", "[": "]", "{": "}"}
_QUOTES = "\"'`"


@dataclass(frozen=True)
class Truncation:
    """The part of a (possibly partial) answer worth keeping, and whether it is complete."""

    text: str
    complete: bool


def truncate_for_mode(
    text: str, context: FimContext, *, max_lines: int, final: bool = False
) -> Truncation:
    """Cut ``text`` where the answer for ``context``'s mode is complete.

    Call it on every streamed prefix: ``complete`` turns true as soon as more text could only
    be thrown away, which is when the stream should be closed. ``final`` says the model has
    finished, so the last line is whole too.
    """
    if context.mode is Mode.SINGLE_LINE:
        cut = _truncate_single_line(text, context)
    else:
        cut = _truncate_multi_line(text, context, max_lines, final)
    return Truncation(cut.text, True) if final else cut


def _truncate_single_line(text: str, context: FimContext) -> Truncation:
    if not context.at_line_end:
        # Mid-line: only the rest of this line can be completed.
        end = _first_line_end(text, 0)
        return Truncation(text[:end], True) if end >= 0 else Truncation(text, False)
    # At the end of a line the answer may start on the next line: skip leading line breaks and
    # indentation, then keep the first line that has content.
    start = len(text) - len(text.lstrip())
    if start == len(text):
        return Truncation(text, False)
    end = _first_line_end(text, start)
    return Truncation(text[:end], True) if end >= 0 else Truncation(text, False)


def _first_line_end(text: str, start: int) -> int:
    positions = [p for p in (text.find("\n", start), text.find("\r", start)) if p >= 0]
    return min(positions) if positions else -1


def _truncate_multi_line(text: str, context: FimContext, max_lines: int, final: bool) -> Truncation:
    lines = text.split("\n")
    finished = lines if final else lines[:-1]  # unless final, the last line is still coming
    kept: list[str] = []
    content_lines = 0
    blank_run = 0
    below = context.line_below.strip()
    for index, line in enumerate(finished):
        stripped = line.strip()
        if index > 0 and stripped:
            if below and stripped == below:
                return Truncation(_join(kept), True)
            if indent_width(line) < context.min_indent:
                if _CLOSING_LINE.match(line) and content_lines:
                    kept.append(line)
                return Truncation(_join(kept), True)
        if stripped:
            content_lines += 1
            blank_run = 0
        else:
            blank_run += 1
            if blank_run >= 2 and content_lines:
                return Truncation(_join(kept), True)
        if _repeats_three_times(kept, line):
            return Truncation(_join(kept[:-2]), True)
        kept.append(line)
        if content_lines >= max_lines:
            return Truncation(_join(kept), True)
    return Truncation(text, False)


def _repeats_three_times(kept: list[str], line: str) -> bool:
    return bool(line.strip()) and len(kept) >= 2 and kept[-1] == kept[-2] == line


def _join(lines: list[str]) -> str:
    return "\n".join(lines)


def clean_completion(text: str, context: FimContext) -> str | None:
    """The completion to show, or ``None`` when it adds nothing the buffer does not have."""
    if context.at_line_end and context.line_before.endswith(" ") and text.startswith(" "):
        # Codestral tends to repeat the space the user just typed.
        text = text[1:]
    text = text.rstrip()
    if context.line_after.strip() and "\n" not in text:
        text = _trim_suffix_overlap(text, context).rstrip()
    stripped = text.strip()
    if not stripped:
        return None
    if context.suffix.lstrip().startswith(stripped):
        return None
    if stripped == context.line_above.strip():
        return None
    return text


def _trim_suffix_overlap(text: str, context: FimContext) -> str:
    """Drop the end of ``text`` that the text after the cursor already has, if brackets agree.

    "x)" before ")" becomes "x", but "f(a)" before ")" stays: trimming it would unbalance the
    line. Of the candidates, the one leaving the line best balanced wins, the longer trim on ties.
    """
    after = context.line_after
    best, best_score = text, _imbalance(context.line_before + text + after)
    for size in range(1, min(len(text), len(after)) + 1):
        if text.endswith(after[:size]):
            candidate = text[:-size]
            score = _imbalance(context.line_before + candidate + after)
            if score <= best_score:
                best, best_score = candidate, score
    return best


def _imbalance(line: str) -> int:
    """How far ``line``'s brackets and quotes are from balanced (0 is balanced)."""
    score = 0
    for opener, closer in _PAIRS.items():
        score += abs(line.count(opener) - line.count(closer))
    for quote in _QUOTES:
        score += line.count(quote) % 2
    return score
