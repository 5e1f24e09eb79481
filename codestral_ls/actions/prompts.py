"""Everything the model is told, in one readable place.

Each action has a system prompt (overridable per action id in the ``systemPrompts`` setting)
and one user message built the way a careful engineer would brief a colleague: the language and
file name, the code to work on, a bounded slice of the code around it (marked as context, so
it is not rewritten), the editor's diagnostics for Fix, and the instruction for Custom. Code
sits in fences longer than any backtick run inside it, so no code can close its fence early.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import unquote, urlsplit

from codestral_ls.actions.chat_buffer import Message
from codestral_ls.actions.comments import language_of
from codestral_ls.actions.target import Target
from codestral_ls.documents import Document

_CODE_ONLY = (
    " Answer with the complete resulting code only, in a single fenced code block, with no "
    "explanation before or after it. Keep the original indentation style and naming."
)

SYSTEM_PROMPTS: dict[str, str] = {
    "explain": (
        "You are Codestral, an expert software engineer, explaining code to a colleague in "
        "their editor. Explain what the given code does: its purpose, how it works, and "
        "anything surprising (edge cases, likely bugs, cost). Be concise: at most about 12 "
        "short lines of plain text, no headings and no code blocks. Your answer is inserted "
        "into the file as a comment above the code, so do not write comment markers yourself."
    ),
    "refactor": (
        "You are Codestral, an expert software engineer. Improve the given code: make it "
        "clearer, simpler, more idiomatic and more robust, keeping its behaviour and its "
        "public interface. The answer replaces the given code in the file." + _CODE_ONLY
    ),
    "fix": (
        "You are Codestral, an expert software engineer. Fix the problems the editor reports "
        "in the given code (its diagnostics are listed). Change only what the fixes need. The "
        "answer replaces the given code in the file." + _CODE_ONLY
    ),
    "docstring": (
        "You are Codestral, an expert software engineer. Document the given code: add a "
        "docstring or documentation comment in the language's conventional style (Python "
        "docstrings, JSDoc, Javadoc, Rustdoc, Go doc comments, ...) to each function, method "
        "or class that lacks one, saying what it does and why, its parameters, result and "
        "errors. Do not change the code itself. The answer replaces the given code in the "
        "file, so include the code." + _CODE_ONLY
    ),
    "tests": (
        "You are Codestral, an expert software engineer. Write unit tests for the given code "
        "with the testing framework usual for the language (pytest for Python unless the "
        "context shows another). Cover ordinary cases, edge cases and errors; keep each test "
        "small and named after what it checks. Answer with the test code only, in a single "
        "fenced code block, with no explanation before or after it."
    ),
    "custom": (
        "You are Codestral, an expert software engineer. Apply the user's instruction to the "
        "given code. The answer replaces the given code in the file." + _CODE_ONLY
    ),
    "chat": (
        "You are Codestral, a helpful coding assistant chatting with a developer in their "
        "editor. Answer precisely and concisely in Markdown; put code in fenced code blocks "
        "with a language tag."
    ),
}

#: What the code an action works on is called in the prompt.
_NAMES = {"selection": "the selected code", "block": "this code", "line": "this line"}
_MAX_CONTEXT_CHARS = 16_000


@dataclass(frozen=True)
class WhereTestsGo:
    """Where tests will be written, so the model can write the imports they need."""

    new_file: str | None = None  # file name of a separate test file; None: below the code


def system_prompt(action: str, overrides: Mapping[str, str]) -> str:
    """The system prompt for ``action`` (``chat`` for a chat buffer), a setting's if given."""
    override = overrides.get(action)
    return override if override and override.strip() else SYSTEM_PROMPTS[action]


def action_messages(
    action: str,
    document: Document,
    target: Target,
    *,
    context_lines: int,
    overrides: Mapping[str, str],
    diagnostics: Sequence[Mapping[str, Any]] = (),
    tests: WhereTestsGo | None = None,
) -> list[dict[str, str]]:
    """The chat messages for a code action on ``target``."""
    language = language_of(document.language_id, document.uri) or "text"
    name = file_name(document.uri)
    code = document.text_between(target.start, target.end)
    before, after = _surroundings(document, target, context_lines)
    what = _NAMES.get(target.chosen_by, "this code")
    parts = [f"Language: {language}\nFile: {name}"]
    if before.strip():
        parts.append(
            f"Code before {what} (context only, do not repeat it):\n{fenced(before, language)}"
        )
    parts.append(f"{_capitalized(what)}:\n{fenced(code, language)}")
    if after.strip():
        parts.append(
            f"Code after {what} (context only, do not repeat it):\n{fenced(after, language)}"
        )
    if diagnostics:
        lines = [describe_diagnostic(d, target.start.line) for d in diagnostics]
        parts.append("Diagnostics reported by the editor:\n" + "\n".join(lines))
    if action == "custom" and target.instruction:
        parts.append(f"Instruction: {target.instruction}")
    if action == "tests" and tests is not None:
        if tests.new_file:
            parts.append(
                f"The tests will be saved as a new file `{tests.new_file}` next to `{name}`: "
                "include the imports they need."
            )
        else:
            parts.append(f"The tests will be inserted into `{name}` right below {what}.")
    request = {
        "explain": f"Explain {what}.",
        "refactor": f"Rewrite {what}, improved.",
        "fix": f"Fix {what}.",
        "docstring": f"Add documentation to {what}.",
        "tests": f"Write tests for {what}.",
        "custom": f"Apply the instruction to {what}.",
    }[action]
    parts.append(request)
    return [
        {"role": "system", "content": system_prompt(action, overrides)},
        {"role": "user", "content": "\n\n".join(parts)},
    ]


def chat_messages(
    conversation: Sequence[Message], overrides: Mapping[str, str]
) -> list[dict[str, str]]:
    """The messages for a chat buffer: its own ``## System`` section wins over the setting."""
    messages = [{"role": m.role, "content": m.content} for m in conversation]
    if not any(m["role"] == "system" for m in messages):
        messages.insert(0, {"role": "system", "content": system_prompt("chat", overrides)})
    else:
        # The API wants the system message first; a buffer may have it anywhere.
        messages.sort(key=lambda m: m["role"] != "system")
    return messages


def newest_that_fit(
    messages: Sequence[dict[str, str]], budget: int
) -> tuple[list[dict[str, str]], int]:
    """``messages`` with only the newest turns that fit in ``budget`` characters of content,
    and how many older turns were left out.

    A chat buffer grows with every Reply, and sending all of it costs more each time until
    the model's context refuses it. The system prompt and the last message (the question)
    are always kept, whatever their size (the caller refuses a question over the budget);
    the turns before the question are taken newest first, as long as everything fits. What
    is kept starts with a user turn when older ones were left out: Mistral refuses an
    assistant turn right after the system prompt.
    """
    system = [m for m in messages if m["role"] == "system"]
    turns = [m for m in messages if m["role"] != "system"]
    if not turns:
        return list(messages), 0
    used = sum(len(m["content"]) for m in system) + len(turns[-1]["content"])
    first = len(turns) - 1
    while first > 0 and used + len(turns[first - 1]["content"]) <= budget:
        first -= 1
        used += len(turns[first]["content"])
    while 0 < first < len(turns) - 1 and turns[first]["role"] != "user":
        first += 1
    return system + turns[first:], first


def describe_diagnostic(diagnostic: Mapping[str, Any], first_line: int) -> str:
    """One diagnostic as a prompt line: ``- line 3: error: undefined name (pyflakes)``."""
    line = diagnostic.get("line")
    where = f"line {line + 1}" if isinstance(line, int) else "somewhere"
    if isinstance(line, int) and line >= first_line:
        where += f" (line {line - first_line + 1} of the code)"
    severity = diagnostic.get("severity")
    source = diagnostic.get("source")
    code = diagnostic.get("code")
    text = f"- {where}: "
    if severity:
        text += f"{severity}: "
    text += str(diagnostic.get("message", "")).strip()
    tags = ", ".join(str(part) for part in (source, code) if part not in (None, ""))
    return text + (f" ({tags})" if tags else "")


def fenced(code: str, language: str = "") -> str:
    """``code`` in a Markdown fence that nothing inside it can close."""
    runs = [len(run) for run in re.findall(r"`{3,}", code)]
    fence = "`" * max(3, max(runs, default=0) + 1)
    body = code if code.endswith("\n") else code + "\n"
    return f"{fence}{language}\n{body}{fence}"


def file_name(uri: str) -> str:
    """The file's name from its URI (``untitled`` when it has none)."""
    path = unquote(urlsplit(uri).path)
    return PurePosixPath(path).name or "untitled"


def _surroundings(document: Document, target: Target, lines: int) -> tuple[str, str]:
    """Up to ``lines`` whole lines before and after the target, each side char-bounded."""
    instruction = target.instruction_line
    top = target.start.line if instruction is None else min(instruction, target.start.line)
    first = max(0, top - lines)
    before = "".join(document.lines[first:top])
    if target.start.index:
        before += document.lines[target.start.line][: target.start.index]
    last_line = target.end.line
    tail = document.lines[last_line][target.end.index :]
    after = tail + "".join(document.lines[last_line + 1 : last_line + 1 + lines])
    if lines == 0:
        before, after = "", ""
    return _keep_end(before, _MAX_CONTEXT_CHARS), after[:_MAX_CONTEXT_CHARS]


def _keep_end(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[len(text) - limit :]


def _capitalized(text: str) -> str:
    return text[:1].upper() + text[1:]


__all__ = [
    "SYSTEM_PROMPTS",
    "WhereTestsGo",
    "action_messages",
    "chat_messages",
    "describe_diagnostic",
    "fenced",
    "file_name",
    "newest_that_fit",
    "system_prompt",
]
