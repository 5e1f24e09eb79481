"""The server's debounce applies to clients that ask on every keystroke, not on top of
Neovim's own wait (scheduling.ClientPacing).

Neovim 0.12 sends its edits in batches (one ``didChange`` holding the changes of up to 150 ms
of typing) and asks for an inline completion 200 ms after the last key, without cancelling
older requests. The server used to wait for its own quiet time again, counted from the last
``didChange``: 118 ms p50 more ghost-text delay in real Neovim. Here the debounce is 5 s, so
a request it held would be plain to see (the ``held`` counter, and seconds of waiting); the
request is sent right after the last batch, the closest a batch can come to it, where the old
rule waited longest.
"""

from __future__ import annotations

import asyncio

import pytest
from lsprotocol import types

from tests.e2e.client import EditorSession, apply_inline, server_environment
from tests.fake_mistral import FakeMistral
from tests.tools import HANG

URI = "file:///work/project/pacing.py"
TEXT = "def total(values):\n    \n"
LONG_DEBOUNCE = {
    "debounceMs": 5000,
    "debounceMinMs": 5000,
    "debounceMaxMs": 5000,
    "adaptiveDebounce": False,
}
NEOVIM = types.ClientInfo(name="Neovim", version="v0.12.0")


def answer(body: dict) -> str:
    """The fake's answer: what the typist was about to type after each pause."""
    prompt = body["prompt"]
    if prompt.endswith("result = sum(values"):
        return ")"
    if prompt.endswith("return result * 2 + len("):
        return "values)"
    return ""


def send_batch(session: EditorSession, line: int, start: int, keys: str) -> None:
    """One ``didChange`` with one change per key, as Neovim's change tracking sends a batch."""
    changes: list[types.TextDocumentContentChangeEvent] = []
    for offset, key in enumerate(keys):
        position = session.position(URI, line, start + offset)
        changes.append(
            types.TextDocumentContentChangePartial(
                range=types.Range(start=position, end=position), text=key
            )
        )
        lines = session.texts[URI].split("\n")
        lines[line] = lines[line][: start + offset] + key + lines[line][start + offset :]
        session.texts[URI] = "\n".join(lines)
    session.versions[URI] += 1
    session.client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(
                uri=URI, version=session.versions[URI]
            ),
            content_changes=changes,
        )
    )


async def stats(session: EditorSession):
    return await asyncio.wait_for(session.request("codestral/stats", None).future, HANG)


async def test_neovim_request_after_its_own_pause_goes_upstream_at_once(
    fake: FakeMistral,
) -> None:
    fake.fim_responder = answer
    session = await EditorSession.start(
        "neovim", server_environment(fake.base_url), LONG_DEBOUNCE, client_info=NEOVIM
    )
    try:
        session.open(URI, TEXT)
        shown = []
        for line, typed in ((1, "result = sum(values"), (2, "return result * 2 + len(")):
            if line == 2:  # Enter with auto-indent: one more batch, no request of its own
                end = (1, len(session.texts[URI].split("\n")[1]))
                session.replace(URI, end, end, "\n    ")
            for start in range(0, len(typed), 3):  # ~3 keys per 150 ms batch
                send_batch(session, line, 4 + start, typed[start : start + 3])
            result = await session.inline(URI, line, 4 + len(typed))  # Neovim's request
            assert result is not None and result.items, "no ghost text"
            text = apply_inline(session.texts[URI], session, result.items[0])
            shown.append(text.split("\n")[line])
        counters = await stats(session)
    finally:
        await session.stop()
    assert shown == ["    result = sum(values)", "    return result * 2 + len(values)"]
    assert counters.held == 0, "Neovim's request waited for the server's debounce"
    assert counters.upstream_calls == len(fake.fim_requests) == 2


@pytest.mark.parametrize(
    "client_info",
    [None, types.ClientInfo(name="Visual Studio Code", version="1.95.0")],
    ids=["unnamed", "vscode"],
)
async def test_a_client_asking_on_every_keystroke_gets_one_call_per_pause(
    fake: FakeMistral, client_info: types.ClientInfo | None
) -> None:
    """VS Code asks after every key and cancels the previous request: still one upstream
    call per pause. (A 1 s debounce: the keys are sent back to back, far within it.)"""
    fake.fim_responder = answer
    options = {"debounceMs": 1000, "adaptiveDebounce": False}
    session = await EditorSession.start(
        "vscode", server_environment(fake.base_url), options, client_info=client_info
    )
    try:
        session.open(URI, TEXT)
        for line, typed in ((1, "result = sum(values"), (2, "return result * 2 + len(")):
            if line == 2:  # Enter with auto-indent
                end = (1, len(session.texts[URI].split("\n")[1]))
                session.replace(URI, end, end, "\n    ")
            pending = None
            for offset, key in enumerate(typed):
                session.type_text(URI, line, 4 + offset, key)
                if pending is not None:
                    pending.cancel()
                pending = session.inline_request(URI, line, 5 + offset)
            assert pending is not None
            last = await asyncio.wait_for(pending.future, 30)  # the pause: its answer
            items = last.items if isinstance(last, types.InlineCompletionList) else last
            assert items, "no ghost text after the pause"
        counters = await stats(session)
    finally:
        await session.stop()
    assert len(fake.fim_requests) == 2, [r.body["prompt"][-30:] for r in fake.fim_requests]
    assert counters.held >= 2
