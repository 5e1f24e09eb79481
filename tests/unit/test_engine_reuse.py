"""The engine reuses answers it already has or is already paying for (against the fake API)."""

from __future__ import annotations

import asyncio

from codestral_ls.documents import Cursor, Document
from codestral_ls.engine import CompletionEngine
from tests.fake_mistral import FakeMistral

URI = "file:///work/mul.py"


def type_text(engine: CompletionEngine, document: Document, line: int, index: int, text: str):
    document.apply_edit((line, index), (line, index), text)
    engine.document_changed(document.uri)


async def test_typing_ahead_of_a_running_call_waits_for_it_instead_of_a_new_one(
    fake: FakeMistral, engine: CompletionEngine
) -> None:
    fake.fim_responder = lambda body: "return a * b"
    fake.latency = 0.3
    document = Document(URI, "def mul(a, b):\n    \n", language_id="python")
    first = asyncio.ensure_future(engine.complete(document, Cursor(1, 4)))
    assert await asyncio.to_thread(fake.wait_for_requests, 1, 60)
    type_text(engine, document, 1, 4, "re")
    second = await engine.complete(document, Cursor(1, 6))
    assert await first is None  # superseded: answered empty at once
    assert second is not None
    assert (second.text, second.source) == ("turn a * b", "in-flight")
    assert len(fake.fim_requests) == 1
    assert engine.stats.shown == {"in-flight": 1}


async def test_a_running_call_the_user_typed_away_from_is_not_reused(
    fake: FakeMistral, engine: CompletionEngine
) -> None:
    fake.fim_responder = lambda body: "a + b" if body["prompt"].endswith("x") else "return a * b"
    fake.latency = 0.3
    document = Document(URI, "def mul(a, b):\n    \n", language_id="python")
    first = asyncio.ensure_future(engine.complete(document, Cursor(1, 4)))
    assert await asyncio.to_thread(fake.wait_for_requests, 1, 60)
    type_text(engine, document, 1, 4, "x")
    second = await engine.complete(document, Cursor(1, 5))
    assert await first is None
    assert second is not None and (second.text, second.source) == ("a + b", "api")
    assert len(fake.fim_requests) == 2


async def test_an_edit_elsewhere_leaves_nobody_waiting_and_closes_the_call(
    fake: FakeMistral, engine: CompletionEngine
) -> None:
    fake.latency = 30  # never answers in time
    document = Document(URI, "def mul(a, b):\n    \n", language_id="python")
    first = asyncio.ensure_future(engine.complete(document, Cursor(1, 4)))
    assert await asyncio.to_thread(fake.wait_for_requests, 1, 60)
    type_text(engine, document, 0, 0, "# new first line\n")  # the prompt no longer matches
    fake.latency = 0
    fake.fim_responder = lambda body: "return a * b"
    second = await engine.complete(document, Cursor(2, 4))
    assert await first is None
    assert second is not None and second.source == "api"
    assert await asyncio.to_thread(fake.wait_for, lambda f: f.abandoned_requests == 1, 60)


async def test_shown_completions_are_counted_by_source(
    fake: FakeMistral, engine: CompletionEngine
) -> None:
    fake.fim_responder = lambda body: "return a * b"
    document = Document(URI, "def mul(a, b):\n    \n", language_id="python")
    assert (await engine.complete(document, Cursor(1, 4))).source == "api"
    assert (await engine.complete(document, Cursor(1, 4))).source == "cache"
    type_text(engine, document, 1, 4, "ret")
    assert (await engine.complete(document, Cursor(1, 7))).source == "typed-ahead"
    assert engine.stats.shown == {"api": 1, "cache": 1, "typed-ahead": 1}
    assert engine.stats.upstream_calls == 1


async def test_a_cancelled_request_the_user_types_ahead_of_keeps_its_call_for_the_next(
    fake: FakeMistral, engine: CompletionEngine
) -> None:
    """VS Code cancels the previous request on each keystroke, Neovim on each change."""
    fake.fim_responder = lambda body: "return a * b"
    fake.latency = 0.3
    document = Document(URI, "def mul(a, b):\n    \n", language_id="python")
    first = asyncio.ensure_future(engine.complete(document, Cursor(1, 4)))
    assert await asyncio.to_thread(fake.wait_for_requests, 1, 60)
    type_text(engine, document, 1, 4, "r")
    first.cancel()  # $/cancelRequest
    type_text(engine, document, 1, 5, "e")
    second = await engine.complete(document, Cursor(1, 6))
    assert second is not None and second.text == "turn a * b"
    assert second.source in ("in-flight", "typed-ahead")
    assert len(fake.fim_requests) == 1
    assert fake.abandoned_requests == 0


async def test_a_cancelled_request_without_typing_closes_its_call_at_once(
    fake: FakeMistral, engine: CompletionEngine
) -> None:
    fake.latency = 30
    document = Document(URI, "def mul(a, b):\n    \n", language_id="python")
    first = asyncio.ensure_future(engine.complete(document, Cursor(1, 4)))
    assert await asyncio.to_thread(fake.wait_for_requests, 1, 60)
    first.cancel()
    assert await asyncio.to_thread(fake.wait_for, lambda f: f.abandoned_requests == 1, 60)


async def test_a_call_kept_for_typing_ahead_closes_once_the_text_before_it_changes(
    fake: FakeMistral, engine: CompletionEngine
) -> None:
    fake.latency = 30
    document = Document(URI, "def mul(a, b):\n    \n", language_id="python")
    first = asyncio.ensure_future(engine.complete(document, Cursor(1, 4)))
    assert await asyncio.to_thread(fake.wait_for_requests, 1, 60)
    type_text(engine, document, 1, 4, "r")
    first.cancel()
    await asyncio.gather(first, return_exceptions=True)  # the request has left...
    for _ in range(5):  # ...and what its leaving sets off has run (loop turns, not time)
        await asyncio.sleep(0)
    assert engine.calls_running == 1  # kept: the user is typing ahead of it
    document.apply_edit((1, 5), (1, 5), "")
    document.apply_edit((0, 0), (0, 3), "async def")  # an edit before its cursor
    engine.document_changed(URI)
    assert await asyncio.to_thread(fake.wait_for, lambda f: f.abandoned_requests == 1, 60)
