"""Chat buffers (``*.codestral.md``): what a Reply appends must leave the chat readable.

The next Reply parses the whole file again, so a heading that lands inside a code block turns
the rest of the chat into code: one user message, the answers sent back as the question.
"""

from __future__ import annotations

import pytest

from codestral_ls.actions.chat_buffer import parse_conversation, reply_text, wants_reply

ANSWER = "Use a list comprehension:\n\n```python\nsquares = [x * x for x in xs]\n```"


@pytest.mark.parametrize(
    "question",
    [
        "## You\n\nWhy is this slow?\n\n```python\nfor x in xs:\n    squares.append(x * x)\n",
        "## You\n\nWhy is this slow?\n```python\nfor x in xs:\n    squares.append(x * x)",
        "## You\n\nWhy?\n\n~~~~\n```\nnot the end of it\n```\n\n",
    ],
    ids=["newline", "no-newline", "tildes-around-backticks"],
)
def test_a_question_ending_inside_a_code_block_gets_its_block_closed(question: str) -> None:
    assert wants_reply(parse_conversation(question))
    text = question + reply_text(ANSWER, question)
    asked, answered = parse_conversation(text)
    assert (asked.role, answered.role) == ("user", "assistant")
    assert answered.content == ANSWER
    assert text.endswith("\n\n## Codestral\n\n" + ANSWER + "\n\n## You\n\n")
    # The new "## You" is a heading: what is typed under it is the next question.
    follow_up = parse_conversation(text + "And with numpy?\n")
    assert [m.role for m in follow_up] == ["user", "assistant", "user"]
    assert follow_up[-1].content == "And with numpy?"


def test_the_closing_fence_keeps_the_documents_line_ends() -> None:
    question = "Why?\r\n```python\r\nx = 1"
    appended = reply_text("Because.", question, "\r\n")
    assert appended == "\r\n```\r\n\r\n## Codestral\r\n\r\nBecause.\r\n\r\n## You\r\n\r\n"


def test_a_closed_block_gets_no_second_fence() -> None:
    question = "Why?\n```python\nx = 1\n```\n"
    assert reply_text("Because.", question) == "\n## Codestral\n\nBecause.\n\n## You\n\n"
