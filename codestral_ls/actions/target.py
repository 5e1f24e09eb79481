"""What an action works on: the selection, or the function or line under the cursor.

Editors without a selection (a code-action request at a bare cursor) still deserve a useful
answer, so an empty range grows to the innermost function-like block around the cursor, found
by indentation and a keyword heuristic that fits most languages, or else to the cursor's line.

A selection that spans lines is widened to whole lines: replacing whole lines is what lets the
answer's indentation be matched to the code around it. A selection inside one line stays as it
is, so "refactor this expression" replaces just the expression.

A comment line ``codestral: <instruction>`` directly above the target (or under the cursor,
or as the selection's first line) carries the Custom action's instruction.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from codestral_ls.actions.comments import instruction_in
from codestral_ls.documents import Cursor, Document
from codestral_ls.indentation import indent_width

#: How far up to look for the enclosing function, and the longest block taken as one.
_MAX_LOOKUP_LINES = 500
_MAX_BLOCK_LINES = 1000

_MODIFIERS = (
    r"(?:export|default|pub(?:\([\w:]+\))?|async|static|public|private|protected|internal|"
    r"override|virtual|abstract|final|inline|local|extern|unsafe|const|suspend|open|"
    r"partial|sealed|fileprivate|mutating)"
)
_KEYWORD_HEADER = re.compile(
    rf"^\s*(?:{_MODIFIERS}\s+)*"
    r"(?:def|class|function\*?|fn|func|fun|sub|proc|procedure|method|defn|defun|defmacro|"
    r"interface|struct|impl|trait|enum|module|object|record|macro_rules!|begin|test|describe|it)"
    r"\b"
)
_ARROW_HEADER = re.compile(r"^\s*(?:export\s+)?(?:const|let|var)\s+\w+\s*=\s*(?:async\s+)?.*=>")
#: ``int main(void) {`` and friends: a type, a name, parameters, maybe an opening brace.
_C_HEADER = re.compile(r"^\s*[\w:<>\[\]*&,\s]*?[\w>\]*&]\s+\**[\w:~]+\s*\([^;]*\)\s*\w*\s*\{?\s*$")
#: A method in a class body without a keyword (JavaScript, TypeScript, Java, C#, Dart):
#: ``add(a, b) {``, ``public async load(url: string): Promise<void> {``, ``get size() {``.
_METHOD_HEADER = re.compile(
    rf"^\s*(?:{_MODIFIERS}\s+|get\s+|set\s+|\*\s*)*[A-Za-z_$][\w$]*\s*(?:<[^>]*>)?\s*"
    r"\([^;]*\)\s*(?::\s*[^={;]+)?\{\s*$"
)
#: Longer lines are no headers; _C_HEADER's backtracking grows fast with the length (6 s for
#: 10,000 spaces), so it only ever sees lines this short.
_HEADER_MAX_CHARS = 1_000
_CONTROL = re.compile(
    r"^\s*(?:if|else|for|foreach|while|do|switch|case|return|catch|try|elif|with|match|when)\b"
)
#: Statements that look like ``type name(args)`` to :data:`_C_HEADER` (``assert f(x)``,
#: ``throw new E(x)``, ``go worker(k)``): a keyword followed by an expression is a line of a
#: body, never a header. (A method named like one, ``delete(key) {``, has no space after it.)
_STATEMENT = re.compile(
    r"^\s*(?:assert|raise|yield|await|del|throw|throws|new|delete|go|defer|echo|print|puts|"
    r"co_await|co_yield|co_return|not|typeof|sizeof|goto|using|import|from|require|include|"
    r"elsif|unless|until|lambda)\s+\S"
)
_CLOSER = re.compile(r"^\s*(?:[})\]]|end\b|fi\b|esac\b|done\b|endfunction\b|endif\b)")
_OPEN_BRACE_ONLY = re.compile(r"^\s*\{\s*$")
_DECORATOR = re.compile(r"^\s*(?:@|#\[|\[\w)")


@dataclass(frozen=True)
class Target:
    """The text an action works on (``start``..``end``), and how it was chosen.

    ``whole_lines`` targets run from a line's start to the end of a line's content (its
    terminator excluded). ``instruction_line`` is the comment holding ``instruction``, which
    Custom replaces together with the target.
    """

    start: Cursor
    end: Cursor
    whole_lines: bool
    chosen_by: str  # "selection", "block" or "line"
    instruction: str | None = None
    instruction_line: int | None = None


def find_target(document: Document, start: Cursor, end: Cursor) -> Target | None:
    """The target for a code-action request over ``start``..``end``; ``None`` on blank space."""
    if (end.line, end.index) < (start.line, start.index):
        start, end = end, start
    if start == end:
        return _at_cursor(document, start.line)
    if end.index == 0 and end.line > start.line:
        end = document.line_end(end.line - 1)  # a selection of whole lines ends at column 0
    instruction, instruction_line = None, None
    first = instruction_in(document.line_text(start.line))
    if first is not None and end.line > start.line:
        # The selection starts with the instruction comment: the code is what follows it.
        instruction, instruction_line = first, start.line
        start = Cursor(start.line + 1, 0)
    content = document.line_text(start.line)
    if start.line == end.line and _covers_less_than_line(content, start.index, end.index):
        if not content[start.index : end.index].strip():
            return None
        return Target(start, end, whole_lines=False, chosen_by="selection")
    # Blank lines at either end of a line-wise selection are not part of the code: the
    # indentation is read from the first line, and a blank one would move the code out of
    # its class.
    first, last = start.line, end.line
    while first < last and not document.line_text(first).strip():
        first += 1
    while last > first and not document.line_text(last).strip():
        last -= 1
    if not document.line_text(first).strip():
        return None
    if instruction is None:
        instruction, instruction_line = _instruction_above(document, first)
    return Target(
        Cursor(first, 0),
        document.line_end(last),
        whole_lines=True,
        chosen_by="selection",
        instruction=instruction,
        instruction_line=instruction_line,
    )


def _at_cursor(document: Document, line: int) -> Target | None:
    text = document.line_text(line)
    instruction = instruction_in(text)
    if instruction is not None:
        # On the instruction itself: the code right below it is meant.
        code = _next_code_line(document, line + 1)
        if code is None:
            return None
        return _whole(document, *statement(document, code), instruction, line)
    if not text.strip():
        found = enclosing_block(document, line)
        return None if found is None else _whole(document, *found)
    instruction, instruction_line = _instruction_above(document, line)
    if instruction is not None:
        return _whole(document, *statement(document, line), instruction, instruction_line)
    while _DECORATOR.match(document.line_text(line)) and line + 1 < document.line_count:
        line += 1  # on a decorator: the function it decorates
    found = enclosing_block(document, line)
    if found is None:
        return _whole(document, *statement(document, line))
    instruction, instruction_line = _instruction_above(document, found[0])
    return _whole(document, *found, instruction, instruction_line)


def statement(document: Document, line: int) -> tuple[int, int]:
    """``line`` with the block it opens, if any (a header's body, an ``if``'s branch)."""
    header = line
    while _DECORATOR.match(document.line_text(header)) and header + 1 < document.line_count:
        header += 1
    first, last = _block_from(document, header)
    return min(first, line), last


def _whole(
    document: Document,
    first: int,
    last: int,
    instruction: str | None = None,
    instruction_line: int | None = None,
) -> Target:
    return Target(
        Cursor(first, 0),
        document.line_end(last),
        whole_lines=True,
        chosen_by="line" if first == last else "block",
        instruction=instruction,
        instruction_line=instruction_line,
    )


def enclosing_block(document: Document, line: int) -> tuple[int, int] | None:
    """First and last line of the innermost function-like block holding ``line``, if any.

    Walks up from ``line`` keeping the smallest indentation seen: only a header indented no
    deeper than everything between it and ``line`` can enclose it, which keeps the walk linear
    in practice (one block scan per nesting level).
    """
    smallest: int | None = None
    for candidate in range(line, max(-1, line - _MAX_LOOKUP_LINES), -1):
        text = document.line_text(candidate)
        if not text.strip():
            continue
        indent = indent_width(text)
        if (smallest is None or indent <= smallest) and is_header(text):
            first, last = _block_from(document, candidate)
            if first <= line <= last and last - first < _MAX_BLOCK_LINES:
                return first, last
        if smallest is None or indent < smallest:
            smallest = indent
        if (
            smallest == 0
            and candidate != line
            and not is_header(text)
            and not _CLOSER.match(text)
            and not _OPEN_BRACE_ONLY.match(text)
            and not _DECORATOR.match(text)
        ):
            break  # top-level code that opens nothing: no block above can hold the line
    return None


def is_header(text: str) -> bool:
    """Whether ``text`` looks like the first line of a function, class or similar block."""
    if len(text) > _HEADER_MAX_CHARS or _CONTROL.match(text) or _STATEMENT.match(text):
        return False
    return any(
        pattern.match(text)
        for pattern in (_KEYWORD_HEADER, _ARROW_HEADER, _C_HEADER, _METHOD_HEADER)
    )


def _block_from(document: Document, header: int) -> tuple[int, int]:
    """The header's block: decorators above it, deeper-indented lines and a closer below it."""
    base = indent_width(document.line_text(header))
    first = header
    while first > 0:
        above = document.line_text(first - 1)
        if above.strip() and indent_width(above) == base and _DECORATOR.match(above):
            first -= 1
        else:
            break
    last = header
    candidate = header + 1
    while candidate < document.line_count:
        text = document.line_text(candidate)
        if text.strip():
            indent = indent_width(text)
            if indent > base:
                last = candidate
            elif indent == base and (_CLOSER.match(text) or _OPEN_BRACE_ONLY.match(text)):
                last = candidate
                if _CLOSER.match(text):
                    break
            else:
                break
        candidate += 1
    return first, last


def _instruction_above(document: Document, line: int) -> tuple[str | None, int | None]:
    if line == 0:
        return None, None
    instruction = instruction_in(document.line_text(line - 1))
    return (instruction, line - 1) if instruction is not None else (None, None)


def _next_code_line(document: Document, line: int) -> int | None:
    for candidate in range(line, min(document.line_count, line + 50)):
        if document.line_text(candidate).strip():
            return candidate
    return None


def _covers_less_than_line(content: str, start: int, end: int) -> bool:
    """Whether [start, end) leaves part of the line's non-blank text out."""
    stripped_start = len(content) - len(content.lstrip())
    stripped_end = len(content.rstrip())
    return start > stripped_start or end < stripped_end


__all__ = ["Target", "enclosing_block", "find_target", "is_header"]
