"""From the model's answer to a WorkspaceEdit the editor can apply as is.

Answers come as Markdown; the edit must be code that fits where it lands:

* code is taken out of its fence (the longest fenced block, since a model sometimes adds a
  usage example or an apology around the code), or the whole answer when it has no fence;
* indentation is re-based on the target's: the answer's common indentation is removed and the
  target's first-line indentation put in its place, with tabs or spaces as the file uses them;
* line endings follow the document's (``\\r\\n`` files stay ``\\r\\n``);
* an explanation becomes a comment block in the language's syntax, wrapped to a readable width;
* positions are converted to the client's units only here, from the same document version the
  prompt was built from, and the edit names that version so a client refuses it on a newer one.
"""

from __future__ import annotations

import re
import textwrap
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from lsprotocol import types

from codestral_ls.actions.comments import CommentStyle, as_comment
from codestral_ls.actions.target import Target, statement
from codestral_ls.documents import Cursor, Document

#: Width explanation comments are wrapped to (the project's own line length).
COMMENT_WIDTH = 100

_OPEN_FENCE = re.compile(r"^[ \t]{0,3}(?P<fence>`{3,}|~{3,})(?P<info>[^`\n]*)$")
_BULLET = re.compile(r"^(\s*(?:[-*+]|\d+[.)])\s+)")


@dataclass(frozen=True)
class Replacement:
    """Replace ``start``..``end`` of one document (Python indices) with ``text``."""

    start: Cursor
    end: Cursor
    text: str


@dataclass(frozen=True)
class FileChange:
    """The replacements for one file; ``create`` makes the file first (it does not exist yet).

    ``version`` is the document version the replacements were computed against (``None`` for
    a file that is not open in the editor).
    """

    document: Document
    replacements: Sequence[Replacement] = field(default_factory=tuple)
    create: bool = False
    version: int | None = None


# -- reading the answer -----------------------------------------------------------------------


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
        return "\n".join(_trim_blank_edges(chosen))
    return "\n".join(_trim_blank_edges(lines))


def _trim_blank_edges(lines: list[str]) -> list[str]:
    start, end = 0, len(lines)
    while start < end and not lines[start].strip():
        start += 1
    while end > start and not lines[end - 1].strip():
        end -= 1
    return [line.rstrip() for line in lines[start:end]]


# -- shaping code -----------------------------------------------------------------------------


def leading_whitespace(text: str) -> str:
    return text[: len(text) - len(text.lstrip(" \t"))]


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
    lines = _trim_blank_edges(code.replace("\r\n", "\n").split("\n"))
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
    if theirs is not None and theirs == ours and ours > _width(first):
        return [first + lines[0], *lines[1:]]
    return lines


def _smallest_indent(lines: Sequence[str]) -> int | None:
    widths = [_width(leading_whitespace(line)) for line in lines if line.strip()]
    return min(widths, default=None)


def _width(whitespace: str) -> int:
    return len(whitespace.expandtabs(4))


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


def explanation_comment(
    answer: str, style: CommentStyle, indent: str, width: int = COMMENT_WIDTH
) -> list[str]:
    """The explanation as comment lines: prose wrapped to ``width``, code and lists kept."""
    marker = len(style.line) + 1 if style.line else 0
    room = max(40, width - len(indent.expandtabs(4)) - marker)
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


# -- placing it -------------------------------------------------------------------------------


def newline_of(document: Document) -> str:
    """The document's line terminator (the first one found; ``\\n`` for one-line documents)."""
    for line in document.lines:
        if line.endswith("\r\n"):
            return "\r\n"
        if line.endswith("\n"):
            return "\n"
        if line.endswith("\r"):
            return "\r"
    return "\n"


def _target_lines(document: Document, target: Target) -> list[str]:
    return [document.line_text(n) for n in range(target.start.line, target.end.line + 1)]


def replace_target(
    document: Document, target: Target, code: str, *, drop_instruction: bool = False
) -> list[Replacement]:
    """Replace the target with ``code``; Custom also removes its instruction comment."""
    newline = newline_of(document)
    first_line = document.line_text(target.start.line)
    indent = leading_whitespace(first_line)
    unit = indent_unit(document.lines[:400]) or indent_unit(_target_lines(document, target))
    if target.whole_lines:
        text = reindent(code, indent, unit, original=_target_lines(document, target))
    else:
        # Inside one line: the first line continues the line, the others take its indentation.
        shaped = reindent(code, "", unit).split("\n")
        text = "\n".join([shaped[0], *[indent + line if line else "" for line in shaped[1:]]])
    edits = [Replacement(target.start, target.end, text.replace("\n", newline))]
    line = target.instruction_line
    if drop_instruction and line is not None and line < target.start.line:
        edits.insert(0, Replacement(Cursor(line, 0), Cursor(line + 1, 0), ""))
    return edits


def comment_above(
    document: Document, target: Target, answer: str, style: CommentStyle
) -> list[Replacement]:
    """Insert the explanation as a comment block above the target's first line."""
    newline = newline_of(document)
    indent = leading_whitespace(document.line_text(target.start.line))
    comment = explanation_comment(answer, style, indent)
    at = Cursor(target.start.line, 0)
    return [Replacement(at, at, newline.join(comment) + newline)]


def tests_below(document: Document, target: Target, code: str, language: str) -> list[Replacement]:
    """Insert tests below a top-level target (below the whole block when only part of its
    first line is selected), or at the end of the file for a nested one."""
    newline = newline_of(document)
    gap = 2 if language == "python" else 1
    unit = indent_unit(document.lines[:400])
    tests = reindent(code, "", unit).replace("\n", newline)
    if leading_whitespace(document.line_text(target.start.line)):
        return [append_at_end(document, tests, gap)]
    last = target.end.line
    if not target.whole_lines:  # a name picked in a header: below the block it opens
        last = statement(document, target.start.line)[1]
    end = end_of_line(document, last)
    text = newline * (gap + 1) + tests
    if end.line + 1 < document.line_count and document.line_text(end.line + 1).strip():
        text += newline * gap
    return [Replacement(end, end, text)]


def end_of_line(document: Document, line: int) -> Cursor:
    """The cursor after the last character of ``line``'s content."""
    return Cursor(line, len(document.line_text(line)))


def append_at_end(document: Document, block: str, gap: int = 1) -> Replacement:
    """Append ``block`` (and a final newline) after ``gap`` blank lines at the end of a file."""
    newline = newline_of(document)
    last = document.line_count - 1
    end = end_of_line(document, last)
    if not document.text.strip():
        return Replacement(Cursor(0, 0), end, block + newline)
    trailing_blank = 0
    for line in range(last - 1, -1, -1):  # blank lines before the final (empty) one
        if document.line_text(line).strip():
            break
        trailing_blank += 1
    if document.line_text(last):
        lead = newline * (gap + 1)
    else:
        lead = newline * max(0, gap - trailing_blank)
    return Replacement(end, end, lead + block + newline)


def companion_test_uri(uri: str, language: str) -> str | None:
    """Where a test file for ``uri`` goes by the language's convention, if it has a clear one.

    ``calc.py`` → ``test_calc.py``, ``calc.ts`` → ``calc.test.ts``, ``calc.go`` →
    ``calc_test.go``, next to the source. ``None`` when the file already is a test file or the
    language has no single convention (tests are then written below the code).
    """
    parts = urlsplit(uri)
    if parts.scheme != "file":
        return None  # an unsaved buffer (untitled:) has no folder to put a file next to
    head, _, raw_name = parts.path.rpartition("/")
    name = PurePosixPath(unquote(raw_name))
    stem, suffix = name.stem, name.suffix
    if language == "python" and suffix in (".py", ""):
        if stem.startswith("test_") or stem.endswith("_test") or stem == "conftest":
            return None
        new = f"test_{stem}.py"
    elif language in ("javascript", "javascriptreact", "typescript", "typescriptreact"):
        if re.search(r"\.(test|spec)$", stem) or not suffix:
            return None
        new = f"{stem}.test{suffix}"
    elif language == "go" and suffix == ".go":
        if stem.endswith("_test"):
            return None
        new = f"{stem}_test.go"
    else:
        return None
    return urlunsplit(parts._replace(path=f"{head}/{quote(new)}"))


# -- the LSP edit -----------------------------------------------------------------------------


def workspace_edit(changes: Sequence[FileChange], *, versioned: bool) -> types.WorkspaceEdit:
    """The edit in the form the client takes: ``documentChanges`` (versioned, can create
    files) when it supports them, else the plain ``changes`` map."""
    if not versioned:
        if any(change.create for change in changes):
            raise ValueError("creating a file needs documentChanges support")
        return types.WorkspaceEdit(
            changes={c.document.uri: _text_edits(c) for c in changes if c.replacements}
        )
    operations: list[types.TextDocumentEdit | types.CreateFile] = []
    for change in changes:
        if change.create:
            operations.append(
                types.CreateFile(
                    uri=change.document.uri,
                    options=types.CreateFileOptions(overwrite=False, ignore_if_exists=True),
                )
            )
        if change.replacements:
            operations.append(
                types.TextDocumentEdit(
                    text_document=types.OptionalVersionedTextDocumentIdentifier(
                        uri=change.document.uri, version=change.version
                    ),
                    edits=list(_text_edits(change)),
                )
            )
    return types.WorkspaceEdit(document_changes=operations)


def _text_edits(change: FileChange) -> list[types.TextEdit]:
    document = change.document
    return [
        types.TextEdit(
            range=types.Range(
                start=types.Position(line=r.start.line, character=document.column(r.start)),
                end=types.Position(line=r.end.line, character=document.column(r.end)),
            ),
            new_text=r.text,
        )
        for r in change.replacements
    ]


__all__ = [
    "FileChange",
    "Replacement",
    "append_at_end",
    "comment_above",
    "companion_test_uri",
    "end_of_line",
    "explanation_comment",
    "extract_code",
    "indent_unit",
    "newline_of",
    "reindent",
    "replace_target",
    "tests_below",
    "workspace_edit",
]
