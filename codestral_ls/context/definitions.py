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
#: Most docstring lines in a class outline: its summary, leaving the room to the methods.
CLASS_DOCSTRING_LINES = 4
#: Longest method signature in a class outline (one line); a longer one is cut at a comma.
OUTLINE_SIGNATURE_CHARS = 110
#: Most lines of a class body read for its outline (made once per definition and cached):
#: httpx's ``AsyncClient`` has its ``get`` 480 lines below its header.
CLASS_BODY_LINES = 5000
#: Most lines a method's header may span and still be read whole for its outline line.
_OUTLINE_HEADER_LINES = 80

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


def _python_block_end(lines: list[str], start: int, most: int = 400) -> int:
    """The line after the body of the ``def``/``class`` starting at ``start`` (looked for
    in the ``most`` lines after it)."""
    indent = _indent(lines[start])
    header_end = _python_header_end(lines, start)
    end = header_end + 1
    limit = min(len(lines), start + most)
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
    end = _header_close(lines, start, SIGNATURE_LINES)
    return start if end is None else end


def _header_close(lines: list[str], start: int, most: int) -> int | None:
    """The line whose ``:`` closes the header starting at ``start``, within ``most`` lines."""
    depth = 0
    for number in range(start, min(len(lines), start + most)):
        code = lines[number].split("#", 1)[0]
        depth += sum(code.count(c) for c in "([{") - sum(code.count(c) for c in ")]}")
        if depth <= 0 and code.rstrip().endswith(":"):
            return number
    return None


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
    return [*taken, taken[0][: _indent(taken[0])] + quote]


def _python_snippet(lines: list[str], start: int) -> str:
    line = lines[start]
    keyword = line.lstrip().split(None, 1)[0] if line.strip() else ""
    if keyword not in ("def", "async", "class"):
        return line + "\n"  # a module-level name: its assignment line
    end = _python_block_end(lines, start, CLASS_BODY_LINES if keyword == "class" else 400)
    if end - start <= WHOLE_LINES:
        return "\n".join(lines[start:end]) + "\n"
    header_end = _python_header_end(lines, start)
    most = CLASS_DOCSTRING_LINES if keyword == "class" else 6
    docstring = _docstring(lines, header_end + 1, most)
    kept = lines[start : header_end + 1] + docstring
    body_indent = " " * (_indent(line) + 4)
    if keyword == "class":
        used = sum(len(each) + 1 for each in kept) + len(body_indent) + 4  # and the "..."
        room = (OUTLINE_LINES - len(kept) - 1, MAX_SNIPPET_CHARS - used)
        kept += _class_outline(lines, header_end + 1 + len(docstring), end, *room)
    kept.append(body_indent + "...")
    return "\n".join(kept[:OUTLINE_LINES]) + "\n"


#: A class body's member: a method (its name), or a field with a type (``name: type``).
_METHOD = re.compile(r"(?:async[ \t]+)?def[ \t]+([A-Za-z_]\w*)")
_FIELD = re.compile(r"([A-Za-z_]\w*)[ \t]*:[^=]")
#: Decorators shown in front of a method's signature: they change how it is called.
_SHOWN_DECORATORS = ("@property", "@classmethod", "@staticmethod")


def _class_outline(
    lines: list[str], start: int, end: int, most_lines: int, most_chars: int
) -> list[str]:
    """What a caller of the class uses, one line per member, within ``most_lines`` and
    ``most_chars``, in the order of the source: the constructor, then the public methods,
    properties and typed fields, then the other dunders (``__call__``, ``__aenter__`` ...)
    while room is left.

    Private helpers (``_name``) are left out, and a signature that spans lines is joined into
    one: taken in order and line by line, a large class (httpx's ``AsyncClient``) showed
    ``__init__(`` and its private helpers, and none of ``get``, ``post`` or ``stream``.
    """
    members: dict[str, tuple[int, int, str]] = {}  # name -> (rank, line, text)
    body_indent = None
    decorators: list[str] = []
    for number in range(start, end):
        line = lines[number]
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        indent = _indent(line)
        if body_indent is None:
            body_indent = indent
        if indent != body_indent:
            continue
        if stripped.startswith("@"):
            decorators.append(stripped)
            continue
        method, field = _METHOD.match(stripped), _FIELD.match(stripped)
        name = (method or field)[1] if method or field else None
        rank = _member_rank(name, decorators) if name else None
        if name is not None and rank is not None and name not in members:
            if method:
                shown = [d for d in decorators if d in _SHOWN_DECORATORS]
                text = " ".join([*shown, _one_line_signature(lines, number)])
            else:
                text = stripped
            members[name] = (rank, number, " " * indent + text)
        decorators = []
    chosen = []
    for member in sorted(members.values()):  # the most needed first
        if len(chosen) >= most_lines or len(member[2]) + 1 > most_chars:
            break
        chosen.append(member)
        most_chars -= len(member[2]) + 1
    return [text for _rank, _number, text in sorted(chosen, key=lambda member: member[1])]


def _member_rank(name: str, decorators: list[str]) -> int | None:
    """How much a caller needs a member: 0 the constructor, 1 public, 2 another dunder;
    ``None`` for what a caller never calls (private helpers, overloads, setters)."""
    if any(d.startswith("@overload") or d.endswith((".setter", ".deleter")) for d in decorators):
        return None
    if name == "__init__":
        return 0
    if not name.startswith("_"):
        return 1
    if name.startswith("__") and name.endswith("__"):
        return 2
    return None


def _one_line_signature(lines: list[str], start: int) -> str:
    """The header starting at ``start`` on one line (comments dropped, spaces collapsed),
    cut at a parameter past :data:`OUTLINE_SIGNATURE_CHARS`."""
    end = _header_close(lines, start, _OUTLINE_HEADER_LINES)
    last = min(len(lines), start + _OUTLINE_HEADER_LINES) - 1 if end is None else end
    parts = [line.split("#", 1)[0].strip() for line in lines[start : last + 1]]
    text = re.sub(r"([(\[{]) ", r"\1", " ".join(part for part in parts if part))
    text = re.sub(r",? ([)\]}])", r"\1", text)
    if len(text) <= OUTLINE_SIGNATURE_CHARS:
        return text
    returns = ""
    arrow = text.rfind(") -> ")
    if arrow > 0 and len(text) - arrow < OUTLINE_SIGNATURE_CHARS // 2:
        returns = text[arrow + 1 :]
    cut = text.rfind(", ", 0, OUTLINE_SIGNATURE_CHARS - len(returns) - 6)
    if cut <= 0:
        return text[: OUTLINE_SIGNATURE_CHARS - 1] + "…"
    return text[:cut] + ", ...)" + (returns or ":")


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
