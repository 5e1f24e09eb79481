"""Joining a document's running call when the user only typed on (scheduling.RunningCalls)."""

from __future__ import annotations

import asyncio

from codestral_ls.documents import Cursor, Document
from codestral_ls.scheduling import JOIN_ANCHOR, JOIN_TYPED, RunningCall, RunningCalls

URI = "file:///w/add.py"


def typed_at(document: Document, cursor: Cursor, text: str) -> None:
    point = (cursor.line, cursor.index)
    document.apply_edit(point, point, text)


async def settled() -> None:
    """Let cancellations and done-callbacks run (a few event-loop turns, no time)."""
    for _ in range(5):
        await asyncio.sleep(0)


class Fetch:
    """An upstream call the test answers by hand; counts how often it was started."""

    def __init__(self) -> None:
        self.answer: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self.started = 0
        self.cancelled = False

    async def __call__(self) -> str:
        self.started += 1
        try:
            return await self.answer
        except asyncio.CancelledError:
            self.cancelled = True
            raise


def started_call(
    calls: RunningCalls, document: Document, cursor: Cursor, fetch: Fetch, key: str = "k1"
) -> asyncio.Task[str]:
    suffix = document.text_after(cursor, 1000)
    return asyncio.ensure_future(calls.start(document, cursor, suffix, key, fetch))


async def one_call() -> tuple[RunningCalls, Fetch, Document, asyncio.Task[str]]:
    """The document "y = " with one call started at its end."""
    calls, fetch = RunningCalls(), Fetch()
    document = Document(URI, "y = \n")
    task = started_call(calls, document, Cursor(0, 4), fetch)
    await asyncio.sleep(0)
    return calls, fetch, document, task


def test_a_call_is_typed_ahead_of_only_after_an_edit_that_kept_the_text_before_it() -> None:
    document = Document(URI, "def add(a, b):\n    \n")
    cursor = Cursor(1, 4)
    call = RunningCall(document, cursor, document.chars_before(cursor, 50), "\n", "k", edits=3)
    assert not call.typed_ahead(3)  # not edited since: nothing typed ahead
    typed_at(document, cursor, "ret")
    assert call.typed_ahead(4)
    document.apply_edit((1, 0), (1, 0), "#")
    assert not call.typed_ahead(5)  # the text before the cursor changed
    document.replace_all("x")
    assert not call.typed_ahead(6)  # the cursor is not in the document any more


async def test_typing_on_joins_the_call_and_gets_what_was_typed() -> None:
    calls, fetch = RunningCalls(), Fetch()
    document = Document(URI, "def add(a, b):\n    \n")
    cursor = Cursor(1, 4)
    first = started_call(calls, document, cursor, fetch)
    await asyncio.sleep(0)
    prompt = document.text[: len("def add(a, b):\n    ")]
    joined = calls.join(URI, prompt + "ret", "\n")
    assert joined is not None
    typed, waiter = joined
    assert typed == "ret"
    fetch.answer.set_result("return a + b")
    assert await waiter == "return a + b" and await first == "return a + b"
    assert fetch.started == 1


async def test_no_join_without_a_call_after_other_text_or_too_far_ahead() -> None:
    calls, fetch = RunningCalls(), Fetch()
    document = Document(URI, "x = 1\n" * 100 + "y = \n")
    cursor = Cursor(100, 4)
    prompt = document.text[: -len("\n")]
    assert calls.join(URI, prompt, "\n") is None  # nothing running
    task = started_call(calls, document, cursor, fetch)
    await asyncio.sleep(0)
    assert calls.join(URI, prompt, "\nmore") is None  # the text after the cursor changed
    assert calls.join(URI, "z" + prompt[1:], "\n") is not None  # the anchor is the last 400
    assert calls.join(URI, prompt[:-1] + "z", "\n") is None  # the text before it changed
    assert calls.join(URI, prompt + "a" * JOIN_TYPED, "\n") is not None
    assert calls.join(URI, prompt + "a" * (JOIN_TYPED + 1), "\n") is None  # typed too far
    assert len(document.chars_before(cursor, JOIN_ANCHOR)) == JOIN_ANCHOR
    fetch.answer.set_result("2")
    await task


async def test_a_short_document_joins_only_with_its_whole_text_before_the_cursor() -> None:
    calls, fetch, _document, task = await one_call()
    assert calls.join(URI, "y = 2", "\n") is not None
    assert calls.join(URI, "x\ny = 2", "\n") is None  # "y = " is not the start of this prompt
    fetch.answer.set_result("2")
    await task


async def test_a_finished_call_cannot_be_joined_and_is_forgotten() -> None:
    calls, fetch, _document, task = await one_call()
    fetch.answer.set_result("2")
    assert await task == "2"
    assert calls.join(URI, "y = ", "\n") is None
    assert calls.typed_ahead_of("k1") is False  # forgotten with it


async def test_an_edit_before_the_cursor_closes_a_call_nobody_waits_for() -> None:
    calls, fetch, _document, task = await one_call()
    task.cancel()  # the request left (the editor cancelled it)...
    await asyncio.sleep(0)
    assert not fetch.cancelled and calls.typed_ahead_of("k1") is False
    # ...and with nothing typed ahead of it, the call was closed as it left.
    await settled()
    assert fetch.cancelled and len(calls) == 0


async def test_typing_ahead_keeps_a_call_nobody_waits_for_until_the_text_before_changes() -> None:
    calls, fetch, document, task = await one_call()
    cursor = Cursor(0, 4)
    typed_at(document, cursor, "2")
    calls.edited(URI)
    assert calls.edits(URI) == 1 and calls.typed_ahead_of("k1")
    task.cancel()
    await settled()
    assert not fetch.cancelled and len(calls) == 1  # kept for the next request
    document.apply_edit((0, 0), (0, 0), "#")
    calls.edited(URI)
    await settled()
    assert fetch.cancelled and len(calls) == 0


async def test_closing_the_document_closes_its_call_and_forgets_its_edits() -> None:
    calls, fetch, document, task = await one_call()
    typed_at(document, Cursor(0, 4), "2")
    calls.edited(URI)  # typed ahead: kept when its request leaves...
    task.cancel()
    await settled()
    assert not fetch.cancelled
    calls.closed(URI)  # ...but not once its document is closed
    await settled()
    assert fetch.cancelled and calls.edits(URI) == 0 and len(calls) == 0


async def test_a_new_call_for_the_document_closes_the_one_it_replaces() -> None:
    calls, old, new = RunningCalls(), Fetch(), Fetch()
    document = Document(URI, "y = \n")
    cursor = Cursor(0, 4)
    first = started_call(calls, document, cursor, old, key="k1")
    await asyncio.sleep(0)
    first.cancel()
    typed_at(document, cursor, "2")
    calls.edited(URI)  # typed ahead: k1 is kept...
    await asyncio.sleep(0)
    assert not old.cancelled
    second = started_call(calls, document, Cursor(0, 5), new, key="k2")  # ...until replaced
    await settled()
    assert old.cancelled and new.started == 1
    new.answer.set_result("")
    assert await second == ""
    await calls.aclose()


async def test_the_same_call_asked_twice_runs_once() -> None:
    calls, fetch = RunningCalls(), Fetch()
    document = Document(URI, "y = \n")
    a = started_call(calls, document, Cursor(0, 4), fetch)
    b = started_call(calls, document, Cursor(0, 4), fetch)
    await asyncio.sleep(0)
    fetch.answer.set_result("2")
    assert await a == await b == "2" and fetch.started == 1
