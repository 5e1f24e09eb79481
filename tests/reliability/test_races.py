"""Edits, cancellations and settings changes that land while a completion is on its way.

Each test here reproduces a bug found in review: the request must come back empty (never an
error, never an answer placed at a cursor that no longer exists), and the server must not
mistake what happened for an outage.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json

from codestral_ls.documents import Cursor, Document
from codestral_ls.endpoint import resolve_endpoint
from codestral_ls.engine import CompletionEngine
from tests.conftest import NO_DEBOUNCE, engine_for, fake_environ
from tests.e2e.client import EditorSession, server_environment
from tests.fake_mistral import FIM_PATH, Error, FakeMistral
from tests.reliability.lsp_process import LspProcess, environment, frame
from tests.tools import HANG, eventually

URI = "file:///project/stale.py"
THREE_LINES = "a = 1\nb = 2\nc = \n"


def delete_lines(session: EditorSession, uri: str, first: int, end: int) -> None:
    """Delete lines ``first`` to ``end`` (exclusive) as one edit, with no request after it
    (an edit in Neovim's normal mode, or any edit in Helix or eglot)."""
    session.replace(uri, (first, 0), (end, 0), "")


async def test_lines_deleted_during_the_upstream_call_give_an_empty_answer(
    fake: FakeMistral,
) -> None:
    fake.fim_responder = lambda body: "42"
    fake.latency = 0.5
    session = await EditorSession.start("vscode", server_environment(fake.base_url))
    try:
        session.open(URI, THREE_LINES)
        pending = session.inline_request(URI, 2, 4, invoked=True)
        assert await asyncio.to_thread(fake.wait_for_requests, 1, 60)
        delete_lines(session, URI, 1, 3)  # the request's line is gone
        result = await asyncio.wait_for(pending, HANG)  # was: an IndexError as internal error
        assert list(result.items) == []
    finally:
        await session.stop()


def test_lines_deleted_during_the_debounce_give_an_empty_completion_list() -> None:
    """An automatic completion request, then an edit that deletes its line, in one write:
    the request is read first and waits out its debounce; the deletion, read right behind it
    from the same buffer, lands during the debounce, whatever the machine's speed (no time
    window between the two). The answer is empty and the text that is gone is not sent."""

    def change(version: int, start: tuple[int, int], end: tuple[int, int], text: str) -> dict:
        where = {
            "start": {"line": start[0], "character": start[1]},
            "end": {"line": end[0], "character": end[1]},
        }
        return {
            "jsonrpc": "2.0",
            "method": "textDocument/didChange",
            "params": {
                "textDocument": {"uri": URI, "version": version},
                "contentChanges": [{"range": where, "text": text}],
            },
        }

    keystroke = change(2, (2, 4), (2, 4), "x")  # an edit starts the debounce clock
    request = {
        "jsonrpc": "2.0",
        "id": 99,
        "method": "textDocument/completion",  # no context: automatic, so debounced
        "params": {"textDocument": {"uri": URI}, "position": {"line": 2, "character": 5}},
    }
    deletion = change(3, (1, 0), (3, 0), "")
    with FakeMistral(api_key="test-key") as fake, LspProcess(environment(fake.base_url)) as server:
        fake.fim_responder = lambda body: "42"
        server.initialize({"debounceMs": 3000, "adaptiveDebounce": False}, capabilities={})
        server.open(URI, THREE_LINES)
        server.send_bytes(frame(keystroke) + frame(request) + frame(deletion))  # one read
        answer = server.answer(99)
        assert "error" not in answer, answer
        result = answer["result"]
        assert (result["items"] if isinstance(result, dict) else result) == []
        assert fake.fim_requests == []  # the text that is gone was not sent
        # Dropped as superseded after its debounce, not by tripping over the missing line.
        stats = server.request("codestral/stats")["result"]
        assert (stats["held"], stats["superseded"], stats["upstream_calls"]) == (1, 1, 0)


def test_a_request_is_answered_for_the_text_it_was_sent_with() -> None:
    """A request and the didChange after it, in one write: the change must not overtake the
    request (stdin read in the event loop returns buffered frames without yielding)."""
    text = "abc = \n"
    request = {
        "jsonrpc": "2.0",
        "id": 2,
        "method": "textDocument/completion",
        "params": {"textDocument": {"uri": URI}, "position": {"line": 0, "character": 6}},
    }
    change = {
        "jsonrpc": "2.0",
        "method": "textDocument/didChange",
        "params": {
            "textDocument": {"uri": URI, "version": 2},
            "contentChanges": [
                {
                    "range": {
                        "start": {"line": 0, "character": 0},
                        "end": {"line": 0, "character": 0},
                    },
                    "text": "XYZ",
                }
            ],
        },
    }
    with FakeMistral(api_key="test-key") as fake, LspProcess(environment(fake.base_url)) as server:
        fake.fim_responder = lambda body: "42"
        # Answered, so the server is up and reading: the two frames below reach it in one
        # read of their own (a fixed 0.5 s wait here did not ensure that on a loaded machine).
        server.initialize({"debounceMs": 0, "adaptiveDebounce": False}, capabilities={})
        server.open(URI, text)
        server.send_bytes(frame(request) + frame(change))  # one write, one read
        assert fake.wait_for_requests(1, timeout=60, path=FIM_PATH)
        assert [r.body["prompt"] for r in fake.fim_requests] == [json.loads('"abc = "')]


async def test_a_cancelled_probe_lets_the_next_request_probe(
    fake: FakeMistral, engine: CompletionEngine
) -> None:
    """After a failure one request probes the API; if the user cancels it, the next one
    probes at once instead of every request waiting out the probe's 10 s lease."""
    document = Document("file:///w/a.py", "def mul(a, b):\n    \n", language_id="python")
    fake.script(Error(500))
    assert await engine.complete(document, Cursor(1, 4)) is None
    await asyncio.sleep(engine.health.pause_remaining() + 0.05)
    fake.latency = 0.3
    fake.fim_responder = lambda body: "return a * b"
    probe = asyncio.ensure_future(engine.complete(document, Cursor(1, 4)))
    assert await asyncio.to_thread(fake.wait_for_requests, 2, 60)
    probe.cancel()
    # The cancelled call releases the probe as it ends (calls_running drops after that).
    await eventually(lambda: engine.calls_running == 0, "the cancelled probe to end")
    fake.latency = 0
    document.apply_edit((0, 0), (0, 0), "#")
    engine.document_changed(document.uri)
    completion = await engine.complete(document, Cursor(1, 4))
    assert completion is not None and completion.text == "return a * b"


async def test_changing_settings_during_a_call_is_not_an_outage(fake: FakeMistral) -> None:
    fake.fim_responder = lambda body: "return a * b"
    fake.latency = 0.5
    told: list[str] = []
    engine = engine_for(fake, notify=told.append)
    document = Document("file:///w/mul.py", "def mul(a, b):\n    \n", language_id="python")
    try:
        running = asyncio.ensure_future(engine.complete(document, Cursor(1, 4)))
        assert await asyncio.to_thread(fake.wait_for_requests, 1, 60)
        changed = dataclasses.replace(NO_DEBOUNCE, completion_timeout_ms=6000)
        # Closes the client the running call is using.
        engine.upstream.configure(changed, resolve_endpoint(changed, fake_environ(fake)))
        engine.configure(changed)
        assert await running is None
        assert engine.stats.failures == 0 and engine.health.failures == 0 and told == []
        assert engine.health.allows()
    finally:
        await engine.aclose()
        await engine.upstream.aclose()
