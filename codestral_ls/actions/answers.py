"""Reading the model's answer: the code in it, or its prose as a comment block.

Answers come as Markdown: code is taken out of its fence (the longest fenced block, since a
model sometimes adds a usage example or an apology around the code), or the whole answer
when it has no fence; an explanation becomes comment lines in the language's syntax,
wrapped to a readable width, its code and lists kept as they are.
"""

from __future__ import annotations

import re
import textwrap

from codestral_ls.actions.comments import CommentStyle, as_comment
from codestral_ls.indentation import indent_width, leading_whitespace, trim_blank_edges

#: Width explanation comments are wrapped to (the project's own line length).
COMMENT_WIDTH = 100

_OPEN_FENCE = re.compile(r"^[ \t]{0,3}(?P<fence>`{3,}|~{3,})(?P<info>[^`\n]*)$")
_BULLET = re.compile(r"^(\s*(?:[-*+]|\d+[.)])\s+)")


def extract_code(answer: str) -> str:
    """The code in ``answer``: its longest fenced block, else all of it without blank edges.

    An unterminated fence (an answer cut short) counts as running to the end.
    """
    lines = answer.replace("\r\n", "\n").split("\n")
    blocks: list[list[str]] = []
    index = 0
    while index < len(lines):
        match = _OPEN_FENCE.match(lines[index])
        if match is None:
            index += 1
            continue
        fence = match.group("fence")
        closing = re.compile(rf"^[ \t]{{0,3}}{re.escape(fence[0])}{{{len(fence)},}}[ \t]*$")
        body: list[str] = []
        index += 1
        while index < len(lines) and not closing.match(lines[index]):
            body.append(lines[index])
            index += 1
        blocks.append(body)
        index += 1
    if blocks:
        chosen = max(blocks, key=lambda block: len("\n".join(block)))
        return "\n".join(trim_blank_edges(chosen))
    return "\n".join(trim_blank_edges(lines))


def explanation_comment(
    answer: str, style: CommentStyle, indent: str, width: int = COMMENT_WIDTH
) -> list[str]:
    """The explanation as comment lines: prose wrapped to ``width``, code and lists kept."""
    marker = len(style.line) + 1 if style.line else 0
    room = max(40, width - indent_width(indent) - marker)
    lines: list[str] = []
    in_fence = False
    for line in answer.replace("\r\n", "\n").strip().split("\n"):
        line = line.rstrip()
        if _OPEN_FENCE.match(line):
            in_fence = not in_fence
            continue  # fences mean nothing inside a comment; their code stays as it is
        if in_fence or len(line) <= room or line.startswith(("    ", "\t")):
            lines.append(line)
            continue
        bullet = _BULLET.match(line)
        hanging = " " * len(bullet.group(1)) if bullet else leading_whitespace(line)
        lines += textwrap.wrap(
            line,
            room,
            subsequent_indent=hanging,
            break_long_words=False,
            break_on_hyphens=False,
        )
    squeezed: list[str] = []
    for line in lines:
        if line or (squeezed and squeezed[-1]):
            squeezed.append(line)
    return as_comment(squeezed, style, indent)
