"""Which turns of a long chat a Reply sends (``prompts.newest_that_fit``).

A chat buffer grows with every Reply; sent whole each time, it costs more at every question
until the API refuses it. The newest turns that fit are sent, the system prompt and the
question always.
"""

from __future__ import annotations

from codestral_ls.actions.prompts import newest_that_fit


def chat(*contents: str, system: str = "S") -> list[dict[str, str]]:
    """A system prompt, then turns alternating from the user's."""
    turns = [
        {"role": "user" if i % 2 == 0 else "assistant", "content": text}
        for i, text in enumerate(contents)
    ]
    return [{"role": "system", "content": system}, *turns]


def contents(messages: list[dict[str, str]]) -> list[str]:
    return [m["content"] for m in messages]


def test_a_chat_that_fits_is_sent_whole() -> None:
    messages = chat("q1", "a1", "q2")
    assert newest_that_fit(messages, 7) == (messages, 0)  # exactly the budget: it fits


def test_the_oldest_turns_are_left_out_first() -> None:
    messages = chat("q" * 10, "a" * 10, "Q" * 10, "A" * 10, "last?", system="s" * 5)
    kept, left_out = newest_that_fit(messages, 5 + 5 + 10 + 10)
    assert contents(kept) == ["s" * 5, "Q" * 10, "A" * 10, "last?"]
    assert left_out == 2


def test_what_is_kept_starts_with_a_user_turn() -> None:
    """Mistral refuses an assistant turn right after the system prompt: when the cut falls
    before an answer, the answer goes with its question."""
    messages = chat("q" * 10, "a" * 10, "Q" * 10, "A" * 10, "last?", system="s" * 5)
    kept, left_out = newest_that_fit(messages, 5 + 5 + 10 + 10 + 10)  # room for a1, not q1
    assert contents(kept) == ["s" * 5, "Q" * 10, "A" * 10, "last?"]
    assert left_out == 2


def test_the_newest_turns_are_kept_without_a_gap() -> None:
    """A short old turn is not sent past a long newer one that did not fit."""
    messages = chat("q", "a", "Q" * 50, "A", "last?")
    kept, left_out = newest_that_fit(messages, 20)
    assert contents(kept) == ["S", "last?"] and left_out == 4


def test_the_system_prompt_and_the_question_are_kept_whatever_their_size() -> None:
    messages = chat("q", "a", "?" * 30, system="s" * 30)
    kept, left_out = newest_that_fit(messages, 40)
    assert contents(kept) == ["s" * 30, "?" * 30] and left_out == 2


def test_every_system_message_counts_and_stays() -> None:
    messages = [{"role": "system", "content": "x" * 10}, *chat("q" * 10, "a" * 10, "last?")]
    kept, left_out = newest_that_fit(messages, 10 + 1 + 5 + 10)
    assert [m["role"] for m in kept] == ["system", "system", "user"] and left_out == 2


def test_a_chat_that_starts_with_an_answer_keeps_it_when_everything_fits() -> None:
    messages = [{"role": "assistant", "content": "Hello."}, {"role": "user", "content": "Hi?"}]
    assert newest_that_fit(messages, 100) == (messages, 0)
    assert newest_that_fit([], 100) == ([], 0)
