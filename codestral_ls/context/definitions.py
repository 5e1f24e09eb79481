"""Where names are defined in a source file, and the few lines that tell a caller how to use them.

A model writing a call needs the callee's signature, not its body: for a function that is
the header (every line of it, up to the ``:`` or ``{``) and the start of its docstring; for
a class, its header, docstring and the signatures of its methods (an outline). Short
definitions are kept whole. Definitions are found with one regular expression per line and
language family: no parser, so a file half-typed in the editor still has its definitions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: Lines of a definition kept whole when it is no longer than this.
WHOLE_LINES = 12
#: Most lines of a signature (a long parameter list).
SIGNATURE_LINES = 10
#: Most lines of a class outline.
OUTLINE_LINES = 24
#: Most characters of one definition's snippet.
MAX_SNIPPET_CHARS = 1200

_M = re.MULTILINE
_PYTHON = (
    re.compile(r"^[ \t]*(?:async[ \t]+)?def[ \t]+([A-Za-z_]\w*)", _M),
    re.compile(r"^[ \t]*class[ \t]+([A-Za-z_]\w*)", _M),
    re.compile(r"^([A-Za-z_]\w*)[ \t]*(?::[^=\n]*)?=(?!=)", _M),  # a module-level name
)
_JAVASCRIPT = (
    re.compile(
        r"^[ \t]*(?:export[ \t]+)?(?:default[ \t]+)?(?:async[ \t]+)?function\*?[ \t]*"
        r"([A-Za-z_$][\w$]*)",
        _M,
    ),
    re.compile(
        r"^[ \t]*(?:export[ \t]+)?(?:default[ \t]+)?(?:abstract[ \t]+)?class[ \t]+"
        r"([A-Za-z_$][\w$]*)",
        _M,
    ),
    re.compile(
        r"^[ \t]*(?:export[ \t]+)?(?:declare[ \t]+)?(?:interface|type|enum)[ \t]+"
        r"([A-Za-z_$][\w$]*)",
        _M,
    ),
    re.compile(r"^[ \t]*(?:export[ \t]+)?(?:const|let|var)[ \t]+([A-Za-z_$][\w$]*)[ \t]*[:=]", _M),
    re.compile(
        r"^[ \t]+(?:(?:public|private|protected|static|async|readonly|override|get|set)[ \t]+)*"
        r"(?!(?:if|for|while|switch|catch|return|function|constructor)\b)"
        r"([A-Za-z_$][\w$]*)[ \t]*(?:<[^>\n]*>)?\([^)\n]*\)?[^;\n]*\{?[ \t]*$",
        _M,
    ),
)
_GO = (
    re.compile(r"^func[ \t]+(?:\([^)\n]*\)[ \t]*)?([A-Za-z_]\w*)", _M),
    re.compile(r"^type[ \t]+([A-Za-z_]\w*)", _M),
    re.compile(r"^(?:var|const)[ \t]+([A-Za-z_]\w*)", _M),
)
_OTHER = (
    re.compile(
        r"^[ \t]*(?:pub(?:\([^)\n]*\))?[ \t]+)?(?:async[ \t]+)?(?:unsafe[ \t]+)?fn[ \t]+"
        r"([A-Za-z_]\w*)",
        _M,
    ),
    re.compile(
        r"^[ \t]*(?:pub(?:\([^)\n]*\))?[ \t]+)?(?:struct|enum|trait|union)[ \t]+([A-Za-z_]\w*)",
        _M,
    ),
    re.compile(
        r"^[ \t]*(?:(?:public|private|protected|static|final|abstract|sealed|data|open|internal)"
        r"[ \t]+)*(?:class|interface|record|object|module|def|function|fun)[ \t]+([A-Za-z_]\w*)",
        _M,
    ),
)
_PATTERNS = {"python": _PYTHON, "javascript": _JAVASCRIPT, "go": _GO}


@dataclass(frozen=True)
class Definition:
    """A name defined on ``line`` (0-based) of a file."""

    name: str
    line: int


def find_definitions(lines: list[str], family: str) -> list[Definition]:
    """Every definition of ``lines`` (without terminators), in order.

    The patterns run over the joined text (``re.MULTILINE``), in C: a loop over the lines in
    Python cost 20 ms on a 5,000-line file, more than a completion may spend.
    """
    text = "\n".join(lines)
    starts: dict[int, str] = {}
    for pattern in _PATTERNS.get(family, _OTHER):  # on one line, the first pattern wins
        for match in pattern.finditer(text):
            starts.setdefault(match.start(), match[1])
    found = []
    line = previous = 0
    for start in sorted(starts):
        line += text.count("\n", previous, start)
        previous = start
        found.append(Definition(starts[start], line))
    return found


def defines(line: str, name: str, family: str) -> bool:
    """Whether ``line`` defines ``name`` (checks a remembered position still holds)."""
    if name not in line:
        return False
    for pattern in _PATTERNS.get(family, _OTHER):
        match = pattern.match(line)
        if match:
            return match[1] == name
    return False


def definition_at(lines: list[str], line: int, family: str) -> str:
    """The lines of the definition starting at ``line`` that a caller needs, as text."""
    text = _python_snippet(lines, line) if family == "python" else _braced_snippet(lines, line)
    if len(text) > MAX_SNIPPET_CHARS:
        text = text[: text.rfind("\n", 0, MAX_SNIPPET_CHARS) + 1] or text[:MAX_SNIPPET_CHARS]
    return text


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" \t"))


def _python_block_end(lines: list[str], start: int) -> int:
    """The line after the body of the ``def``/``class`` starting at ``start``."""
    indent = _indent(lines[start])
    header_end = _python_header_end(lines, start)
    end = header_end + 1
    limit = min(len(lines), start + 400)
    while end < limit:
        line = lines[end]
        if line.strip() and _indent(line) <= indent and not line.lstrip().startswith("#"):
            break
        end += 1
    while end > header_end + 1 and not lines[end - 1].strip():
        end -= 1
    return end


def _python_header_end(lines: list[str], start: int) -> int:
    """The last line of the header starting at ``start`` (the one ending the signature)."""
    depth = 0
    for number in range(start, min(len(lines), start + SIGNATURE_LINES)):
        code = lines[number].split("#", 1)[0]
        depth += sum(code.count(c) for c in "([{") - sum(code.count(c) for c in ")]}")
        if depth <= 0 and code.rstrip().endswith(":"):
            return number
    return start


def _docstring(lines: list[str], start: int, most: int) -> list[str]:
    """The docstring lines starting at ``start`` (at most ``most``), or none."""
    if start >= len(lines):
        return []
    first = lines[start].lstrip()
    quote = next((q for q in ('"""', "'''") if first.lstrip("rRbBuU").startswith(q)), None)
    if quote is None:
        return []
    body = first.lstrip("rRbBuU")[3:]
    if quote in body:
        return [lines[start]]
    taken = [lines[start]]
    for number in range(start + 1, min(len(lines), start + most)):
        taken.append(lines[number])
        if quote in lines[number]:
            return taken
    return [*taken, taken[-1][: _indent(taken[-1])] + quote]


def _python_snippet(lines: list[str], start: int) -> str:
    line = lines[start]
    keyword = line.lstrip().split(None, 1)[0] if line.strip() else ""
    if keyword not in ("def", "async", "class"):
        return line + "\n"  # a module-level name: its assignment line
    end = _python_block_end(lines, start)
    if end - start <= WHOLE_LINES:
        return "\n".join(lines[start:end]) + "\n"
    header_end = _python_header_end(lines, start)
    docstring = _docstring(lines, header_end + 1, 6)
    kept = lines[start : header_end + 1] + docstring
    if keyword == "class":
        kept += _class_outline(lines, header_end + 1 + len(docstring), end)
    body_indent = " " * (_indent(line) + 4)
    kept.append(body_indent + "...")
    return "\n".join(kept[:OUTLINE_LINES]) + "\n"


def _class_outline(lines: list[str], start: int, end: int) -> list[str]:
    """The signatures of a class body's methods (and its annotated fields), one level deep."""
    members = []
    body_indent = None
    for number in range(start, end):
        line = lines[number]
        if not line.strip():
            continue
        indent = _indent(line)
        if body_indent is None:
            body_indent = indent
        if indent != body_indent:
            continue
        stripped = line.lstrip()
        if stripped.startswith(("def ", "async def ")):
            header_end = _python_header_end(lines, number)
            members += lines[number : header_end + 1]
        elif re.match(r"[A-Za-z_]\w*[ \t]*:[^=]", stripped) or stripped.startswith("@property"):
            members.append(line)
        if len(members) >= OUTLINE_LINES:
            break
    return members


def _braced_snippet(lines: list[str], start: int) -> str:
    """A definition of a brace language: whole if short, else its header up to ``{``."""
    depth = 0
    opened = False
    end = min(len(lines), start + 400)
    for number in range(start, end):
        code = lines[number]
        depth += code.count("{") - code.count("}")
        opened = opened or "{" in code
        if opened and depth <= 0:
            end = number + 1
            break
        if not opened and number - start >= SIGNATURE_LINES:
            end = number
            break
        if not opened and code.rstrip().endswith(";"):
            end = number + 1
            break
    if end - start <= WHOLE_LINES:
        return "\n".join(lines[start:end]) + "\n"
    header = []
    for number in range(start, min(end, start + SIGNATURE_LINES)):
        header.append(lines[number])
        if "{" in lines[number]:
            break
    return "\n".join([*header, lines[start][: _indent(lines[start])] + "  ..."]) + "\n"
