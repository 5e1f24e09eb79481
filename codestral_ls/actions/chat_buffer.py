"""A conversation kept in a Markdown file, so chat works in any editor that has code actions.

A file whose name ends in ``.codestral.md`` is a chat buffer::

    Text before the first heading is the first question.

    ## Codestral

    The assistant's answer.

    ## You

    A follow-up question.

Level-2 headings name who speaks: ``You``/``User``/``Me`` for the user, ``Codestral``/
``Assistant``/``AI`` for the model, ``System`` for an optional system prompt of this chat.
Other headings are ordinary text of the current message. "Codestral: Reply" sends the
conversation (its newest turns, up to a size: ``prompts.newest_that_fit``) and appends the
answer under ``## Codestral``, then opens a new ``## You`` section for the next question.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

CHAT_SUFFIX = ".codestral.md"
ASSISTANT_HEADING = "## Codestral"
USER_HEADING = "## You"

_ROLES = {
    "you": "user",
    "user": "user",
    "me": "user",
    "codestral": "assistant",
    "assistant": "assistant",
    "ai": "assistant",
    "system": "system",
}
_HEADING = re.compile(r"^##[ \t]+(?P<name>[A-Za-z]+)[ \t]*:?[ \t]*#*[ \t]*$")
#: A fence line: up to three spaces, then three or more backticks or tildes (CommonMark).
_FENCE = re.compile(r"^ {0,3}(?P<run>`{3,}|~{3,})(?P<rest>.*)$")


@dataclass(frozen=True)
class Message:
    role: str  # "system", "user" or "assistant"
    content: str


def is_chat_buffer(uri: str) -> bool:
    """Whether the document at ``uri`` is a chat buffer (by its name)."""
    return uri.lower().split("?")[0].endswith(CHAT_SUFFIX)


def parse_conversation(text: str) -> list[Message]:
    """The messages of a chat buffer, in order; empty sections are dropped.

    Headings inside fenced code blocks are code, not speakers. Consecutive sections of the
    same role are merged, since the API expects user and assistant turns to alternate.
    """
    messages: list[Message] = []
    role = "user"
    lines: list[str] = []

    def flush() -> None:
        content = "\n".join(lines).strip()
        if not content:
            return
        if messages and messages[-1].role == role:
            messages[-1] = Message(role, messages[-1].content + "\n\n" + content)
        else:
            messages.append(Message(role, content))

    fence: str | None = None
    for line in text.splitlines():
        fence = _fence_after(line, fence)
        match = None if fence is not None else _HEADING.match(line)
        speaker = _ROLES.get(match.group("name").lower()) if match else None
        if speaker is None:
            lines.append(line)
            continue
        flush()
        role, lines = speaker, []
    flush()
    return messages


def _fence_after(line: str, fence: str | None) -> str | None:
    """The fence open after ``line``, given the one open before it (``None``: outside code).

    A fence is closed only by a run of the same character at least as long, with nothing
    after it: ```` ``` ```` inside a ```` ```` ```` block, or ``~~~`` inside a ```` ``` ````
    one, is content.
    """
    found = _FENCE.match(line)
    if found is None:
        return fence
    run = found["run"]
    if fence is None:
        return run
    if run[0] == fence[0] and len(run) >= len(fence) and not found["rest"].strip():
        return None
    return fence


def _open_fence(text: str) -> str | None:
    """The fence still open at the end of ``text`` (an answer cut short by its token limit)."""
    fence: str | None = None
    for line in text.splitlines():
        fence = _fence_after(line, fence)
    return fence


def wants_reply(messages: list[Message]) -> bool:
    """Whether the conversation ends with a user message the model has not answered."""
    return bool(messages) and messages[-1].role == "user"


def reply_text(answer: str, document_text: str, newline: str = "\n") -> str:
    """What to append to a chat buffer ending in ``document_text``: the answer, then a prompt.

    The answer goes under its own heading, separated from what precedes it by one blank line
    whatever the buffer ended with, and a fresh ``## You`` section waits for the next question.
    A code block left open, by the question (code pasted without its closing fence) or by the
    answer (cut short), is closed: else both headings after it would be read as code.
    """
    close = _closing(document_text, newline)
    before = document_text + close
    if not before.strip() or before.endswith(("\n\n", "\r\n\r\n")):
        lead = ""
    elif before.endswith(("\n", "\r")):
        lead = newline
    else:
        lead = newline * 2
    body = answer.replace("\r\n", "\n").strip("\n").rstrip()
    fence = _open_fence(body)
    if fence is not None:
        body += "\n" + fence
    body = body.replace("\n", newline)
    parts = [ASSISTANT_HEADING, "", body, "", USER_HEADING, "", ""]
    return close + lead + newline.join(parts)


def _closing(document_text: str, newline: str) -> str:
    """The fence line that closes a code block ``document_text`` leaves open (``""``: none).

    The question is the end of the document: a user who pastes "```python" and code and asks
    away never closes the block, and the reply appended after it, its ``## Codestral`` and the
    next ``## You`` would then be code, the whole chat one question.
    """
    fence = _open_fence(document_text)
    if fence is None:
        return ""
    start = "" if document_text.endswith(("\n", "\r")) else newline
    return start + fence + newline


__all__ = [
    "ASSISTANT_HEADING",
    "CHAT_SUFFIX",
    "USER_HEADING",
    "Message",
    "is_chat_buffer",
    "parse_conversation",
    "reply_text",
    "wants_reply",
]
