"""Where an action's answer lands, as plain functions of the document and the answer.

* the code replaces the target, its indentation re-based on the target's (tabs or spaces as
  the file uses them), and a Custom instruction comment is removed with it;
* an explanation goes above the target as a comment block;
* tests go into the language's companion test file when the client can create files (an open
  or existing one is appended to), else below the target;
* a chat reply is appended to the chat buffer under its heading;
* line endings follow the document's (``\\r\\n`` files stay ``\\r\\n``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import PurePosixPath
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from codestral_ls.actions import answers, chat_buffer
from codestral_ls.actions.catalog import Placement
from codestral_ls.actions.comments import CommentStyle, comment_style
from codestral_ls.actions.edits import FileChange, Replacement
from codestral_ls.actions.target import Target, statement
from codestral_ls.documents import Cursor, Document, Mark
from codestral_ls.indentation import indent_unit, leading_whitespace, reindent

#: How many lines of a file are read to find its indentation step.
_INDENT_SAMPLE = 400


class NoCodeInAnswer(Exception):
    """The answer should have held code and had none."""


@dataclass(frozen=True)
class Landing:
    """Where one action's answer goes, decided before the answer is asked for."""

    placement: Placement
    document: Document
    version: int
    target: Target | None = None  # None for a chat reply
    language: str = ""
    #: Custom: the ``codestral:`` instruction comment above the target goes with it.
    drop_instruction: bool = False
    #: Tests: the companion test file, when the client can create files.
    tests_uri: str | None = None
    #: The target's lines (its instruction comment included), followed through the edits
    #: the user makes while the answer comes (:func:`mark_target`); None for a chat reply.
    mark: Mark | None = None


def _first_line(target: Target) -> int:
    """The target's first line, or its instruction comment's when that is above it."""
    if target.instruction_line is None:
        return target.start.line
    return min(target.start.line, target.instruction_line)


def mark_target(document: Document, target: Target) -> Mark:
    """Follow the target's whole lines through the edits to come (unmark when done)."""
    return document.mark(Cursor(_first_line(target), 0), document.line_end(target.end.line))


def follow(landing: Landing) -> Landing | None:
    """``landing`` in its document as it is now, after the user edited it while Codestral
    answered: moved with the lines the action works on when no edit touched them (the edits
    were above or below); ``None`` when one did, or text was typed onto their first or last
    line, or for a chat reply (the conversation it answers may have changed).

    The lines are followed through the edits themselves (:class:`Mark`), not looked for by
    their text: the same lines elsewhere (a copy, a twin function) are never taken for them.
    """
    target, mark = landing.target, landing.mark
    if target is None or mark is None or mark.broken or landing.placement is Placement.APPEND_REPLY:
        return None
    document = landing.document
    first, last = document.cursor_at(mark.start), document.cursor_at(mark.end)
    if first.index != 0 or last != document.line_end(last.line):
        return None
    shift = first.line - _first_line(target)
    instruction = target.instruction_line
    moved = replace(
        target,
        start=Cursor(target.start.line + shift, target.start.index),
        end=Cursor(target.end.line + shift, target.end.index),
        instruction_line=None if instruction is None else instruction + shift,
    )
    return replace(landing, target=moved, version=document.version)


@dataclass(frozen=True)
class TestsFile:
    """The companion test file as it is now: open in the editor, on disk, or neither."""

    uri: str
    open_document: Document | None = None
    on_disk: str | None = None


def changes_for(landing: Landing, answer: str, tests: TestsFile | None = None) -> list[FileChange]:
    """The file changes that put ``answer`` where ``landing`` says (``tests``: the state of
    ``landing.tests_uri``). Raises :class:`NoCodeInAnswer` when code was due and absent."""
    document, target, version = landing.document, landing.target, landing.version
    if landing.placement is Placement.APPEND_REPLY or target is None:
        return [FileChange(document, [reply_at_end(document, answer)], version=version)]
    if landing.placement is Placement.COMMENT_ABOVE:
        style = comment_style(document.language_id, document.uri)
        return [
            FileChange(document, comment_above(document, target, answer, style), version=version)
        ]
    code = answers.extract_code(answer)
    if not code.strip():
        raise NoCodeInAnswer
    if landing.placement is Placement.REPLACE:
        replacements = replace_target(
            document, target, code, drop_instruction=landing.drop_instruction
        )
        return [FileChange(document, replacements, version=version)]
    if tests is not None:
        return [test_file_change(tests, document, code)]
    return [
        FileChange(document, tests_below(document, target, code, landing.language), version=version)
    ]


def reply_at_end(document: Document, answer: str) -> Replacement:
    """A chat reply appended to the chat buffer, under its heading."""
    text = chat_buffer.reply_text(answer, document.text, document.newline())
    end = document.line_end(document.line_count - 1)
    return Replacement(end, end, text)


def test_file_change(tests: TestsFile, source: Document, code: str) -> FileChange:
    """Append to the test file if it exists (open or on disk), else create it."""
    unit = indent_unit(source.lines[:_INDENT_SAMPLE])
    if tests.open_document is not None:
        document = tests.open_document
        block = reindent(code, "", unit).replace("\n", document.newline())
        replacement = append_at_end(document, block, gap=2)
        return FileChange(document, [replacement], version=document.version)
    document = Document(tests.uri, tests.on_disk or "", encoding=source.encoding)
    newline = (document if tests.on_disk else source).newline()
    block = reindent(code, "", unit).replace("\n", newline)
    if tests.on_disk:  # a file with text in it: below that text
        return FileChange(document, [append_at_end(document, block, gap=2)])
    # A new or empty file: the tests are all of it, in the source's line ends.
    whole = Replacement(Cursor(0, 0), document.line_end(0), block + newline)
    return FileChange(document, [whole], create=tests.on_disk is None)


def _target_lines(document: Document, target: Target) -> list[str]:
    return [document.line_text(n) for n in range(target.start.line, target.end.line + 1)]


def replace_target(
    document: Document, target: Target, code: str, *, drop_instruction: bool = False
) -> list[Replacement]:
    """Replace the target with ``code``; Custom also removes its instruction comment."""
    newline = document.newline()
    first_line = document.line_text(target.start.line)
    indent = leading_whitespace(first_line)
    unit = indent_unit(document.lines[:_INDENT_SAMPLE]) or indent_unit(
        _target_lines(document, target)
    )
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
    newline = document.newline()
    indent = leading_whitespace(document.line_text(target.start.line))
    comment = answers.explanation_comment(answer, style, indent)
    at = Cursor(target.start.line, 0)
    return [Replacement(at, at, newline.join(comment) + newline)]


def tests_below(document: Document, target: Target, code: str, language: str) -> list[Replacement]:
    """Insert tests below a top-level target (below the whole block when only part of its
    first line is selected), or at the end of the file for a nested one."""
    newline = document.newline()
    gap = 2 if language == "python" else 1
    unit = indent_unit(document.lines[:_INDENT_SAMPLE])
    tests = reindent(code, "", unit).replace("\n", newline)
    if leading_whitespace(document.line_text(target.start.line)):
        return [append_at_end(document, tests, gap)]
    last = target.end.line
    if not target.whole_lines:  # a name picked in a header: below the block it opens
        last = statement(document, target.start.line)[1]
    end = document.line_end(last)
    text = newline * (gap + 1) + tests
    if document.line_text(end.line + 1).strip():  # "" past the end: nothing follows
        text += newline * gap
    return [Replacement(end, end, text)]


def append_at_end(document: Document, block: str, gap: int = 1) -> Replacement:
    """Append ``block`` (and a final newline) after ``gap`` blank lines at the end of a file."""
    newline = document.newline()
    last = document.line_count - 1
    end = document.line_end(last)
    if not document.text.strip():
        return Replacement(Cursor(0, 0), end, block + newline)
    trailing_blank = 0
    for line in reversed(document.lines[:last]):  # blank lines before the final (empty) one
        if line.strip():
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
