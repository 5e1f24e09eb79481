"""Completion end to end: an editor's requests through LSP to the fake Mistral API and back."""

from __future__ import annotations

import asyncio

import pytest
from lsprotocol import types

from tests.e2e.client import EditorSession, apply_inline, server_environment, split_marker
from tests.fake_mistral import FIM_PATH, FakeMistral, Hang, Reply
from tests.tools import eventually

URI = "file:///work/project/calc.py"


async def test_inline_completion_is_advertised_only_to_clients_that_have_it(
    fake: FakeMistral,
) -> None:
    for editor, expected in (("neovim", True), ("vscode", True), ("helix", False)):
        session = await EditorSession.start(editor, server_environment(fake.base_url))
        try:
            capabilities = session.result.capabilities
            assert (capabilities.inline_completion_provider is not None) is expected, editor
            assert capabilities.completion_provider is not None
        finally:
            await session.stop()


async def test_inline_completion_after_multibyte_text_lands_at_the_cursor(
    fake: FakeMistral, session: EditorSession
) -> None:
    fake.fim_responder = lambda body: "a + b  # 😀 é"
    text, line, index = split_marker("def add(a, b):\n    s = '😀é'; return |\n")
    session.open(URI, text)
    result = await session.inline(URI, line, index)
    assert result is not None and len(result.items) == 1
    item = result.items[0]
    assert item.range.start == session.position(URI, line, index)
    assert apply_inline(text, session, item) == (
        "def add(a, b):\n    s = '😀é'; return a + b  # 😀 é\n"
    )
    request = fake.fim_requests[-1].body
    assert request["prompt"] == "def add(a, b):\n    s = '😀é'; return "
    assert request["suffix"] == "\n"
    assert request["model"] == "codestral-latest"


async def test_inline_item_mid_line_keeps_the_rest_of_the_line(
    fake: FakeMistral, session: EditorSession
) -> None:
    fake.fim_responder = lambda body: "x, y)"  # repeats the ")" already after the cursor
    text, line, index = split_marker("print(|)\n")
    session.open(URI, text)
    result = await session.inline(URI, line, index)
    assert apply_inline(text, session, result.items[0]) == "print(x, y)\n"


async def test_crlf_documents(fake: FakeMistral, session: EditorSession) -> None:
    fake.fim_responder = lambda body: "return 1"
    session.open(URI, "def one():\r\n    \r\n\r\nx = 1\r\n")
    result = await session.inline(URI, 1, 4)
    assert result.items[0].insert_text == "return 1"
    assert fake.fim_requests[-1].body["prompt"] == "def one():\r\n    "
    assert fake.fim_requests[-1].body["suffix"] == "\r\n\r\nx = 1\r\n"


@pytest.mark.parametrize("editor", ["helix", "neovim", "vscode"])
async def test_classic_completion_fallback(fake: FakeMistral, editor: str) -> None:
    fake.fim_responder = lambda body: "urn total  # ≠ 😀"
    session = await EditorSession.start(editor, server_environment(fake.base_url))
    try:
        text, line, index = split_marker("def f(total):\n    ret|\n")
        session.open(URI, text)
        result = await session.complete(URI, line, index)
        assert result.is_incomplete
        [item] = result.items
        assert item.label.startswith("return total")
        assert isinstance(item.text_edit, types.TextEdit)
        assert item.text_edit.new_text == "return total  # ≠ 😀"
        assert item.text_edit.range.start == session.position(URI, line, index - 3)
        assert item.text_edit.range.end == session.position(URI, line, index)
        assert item.filter_text.startswith("ret")
        # Markdown only where the client declared it renders Markdown (Helix declares none).
        if editor == "helix":
            assert item.documentation == "    return total  # ≠ 😀"
        else:
            assert item.documentation.kind == types.MarkupKind.Markdown
            assert item.documentation.value == "```python\n    return total  # ≠ 😀\n```"
    finally:
        await session.stop()


async def test_request_body_has_only_documented_fields(
    fake: FakeMistral, session: EditorSession
) -> None:
    session.open(URI, "def f():\n    \n")
    await session.inline(URI, 1, 4)
    body = fake.fim_requests[-1].body
    assert set(body) <= {
        "model",
        "prompt",
        "suffix",
        "max_tokens",
        "min_tokens",
        "temperature",
        "top_p",
        "stream",
        "stop",
        "random_seed",
    }
    assert body["stream"] is True and body["max_tokens"] == 128
    assert fake.fim_requests[-1].headers["authorization"] == "Bearer test-key"


async def test_burst_of_keystrokes_makes_one_upstream_request(
    fake: FakeMistral, editor: str
) -> None:
    """VS Code asks on every keystroke: 20 keys 30 ms apart must cost one FIM call.

    The debounce is 1 s here, not the default 150 ms: a loaded machine can stall the test
    between two keystrokes for longer than 150 ms, and then two calls would be right."""
    options = {"debounceMs": 1000, "adaptiveDebounce": False}
    session = await EditorSession.start(editor, server_environment(fake.base_url), options)
    try:
        fake.fim_responder = lambda body: " # done"
        session.open(URI, "x = 1\n")
        pending = []
        typed = "result = compute(a)"
        for i in range(20):
            char = typed[i] if i < len(typed) else " "
            session.type_text(URI, 1, i, char)
            pending.append(session.inline_request(URI, 1, i + 1))
            await asyncio.sleep(0.03)
        results = await asyncio.wait_for(asyncio.gather(*(p.future for p in pending)), 60)
    finally:
        await session.stop()
    assert len(fake.fim_requests) == 1
    shown = [r for r in results if r and (r.items if not isinstance(r, list) else r)]
    assert len(shown) == 1, "only the last request gets the completion; the others are empty"


async def test_same_position_twice_makes_one_upstream_request(
    fake: FakeMistral, session: EditorSession
) -> None:
    fake.fim_responder = lambda body: "return 42"
    session.open(URI, "def answer():\n    \n")
    first = await session.inline(URI, 1, 4)
    second = await session.inline(URI, 1, 4)
    assert first.items[0].insert_text == second.items[0].insert_text == "return 42"
    assert len(fake.fim_requests) == 1


async def test_typing_the_predicted_text_is_answered_from_memory(
    fake: FakeMistral, session: EditorSession
) -> None:
    fake.fim_responder = lambda body: "return a * b"
    session.open(URI, "def mul(a, b):\n    \n")
    first = await session.inline(URI, 1, 4)
    assert first.items[0].insert_text == "return a * b"
    for offset, char in enumerate("return"):
        session.type_text(URI, 1, 4 + offset, char)
    result = await session.inline(URI, 1, 10)
    assert result.items[0].insert_text == " a * b"
    assert len(fake.fim_requests) == 1


async def test_cancel_request_closes_the_upstream_call(
    fake: FakeMistral, session: EditorSession
) -> None:
    fake.script(Hang())
    session.open(URI, "def f():\n    \n")
    pending = session.inline_request(URI, 1, 4, invoked=True)
    assert await asyncio.to_thread(fake.wait_for_requests, 1, 60, FIM_PATH)
    pending.cancel()
    with pytest.raises(Exception, match="cancel"):  # LSP's RequestCancelled error
        await asyncio.wait_for(pending.future, 60)
    # The server hangs up on the fake (a connection opened ahead may stay, idle).
    assert await asyncio.to_thread(fake.wait_for, lambda f: f.abandoned_requests == 1, 60)
    assert await asyncio.to_thread(fake.wait_for, lambda f: f.in_flight == 0, 60)
    fake.fim_responder = lambda body: "pass"
    result = await session.inline(URI, 1, 4, invoked=True)
    assert result.items[0].insert_text == "pass"


async def test_single_line_stream_is_closed_as_soon_as_the_line_is_complete(
    fake: FakeMistral, session: EditorSession
) -> None:
    long_tail = "\n".join(f"line_{i} = {i}" for i in range(60))
    fake.fim_responder = lambda body: "value)\n" + long_tail
    fake.token_delay = 0.005
    text, line, index = split_marker("print(|)\n")
    session.open(URI, text)
    result = await session.inline(URI, line, index)
    assert result.items[0].insert_text == "value)"
    await eventually(lambda: fake.aborted_streams > 0, "the server to close the stream")
    assert fake.aborted_streams == 1
    assert fake.tokens_sent < 60  # the answer had ~300 tokens


async def test_settings_from_initialization_and_did_change_configuration(
    fake: FakeMistral,
) -> None:
    session = await EditorSession.start(
        "neovim", server_environment(fake.base_url), options={"maxTokens": 7, "model": "m1"}
    )
    try:
        session.open(URI, "def f():\n    \n")
        await session.inline(URI, 1, 4)
        assert (fake.fim_requests[-1].body["max_tokens"], fake.fim_requests[-1].body["model"]) == (
            7,
            "m1",
        )
        session.client.workspace_did_change_configuration(
            types.DidChangeConfigurationParams(settings={"codestral": {"model": "m2"}})
        )
        await session.inline(URI, 1, 4, invoked=True)
        assert fake.fim_requests[-1].body["model"] == "m2"
        # Each notification is the whole configuration (Neovim sends client.settings):
        # a setting it no longer holds returns to its value at start, not to the last one
        # sent (a bad apiBase tried once used to stay until a restart).
        session.client.workspace_did_change_configuration(
            types.DidChangeConfigurationParams(
                settings={"codestral": {"apiBase": "notaurl", "maxTokens": 9}}
            )
        )
        assert "notaurl" in (await session.wait_for_message()).message
        session.client.workspace_did_change_configuration(
            types.DidChangeConfigurationParams(settings={"codestral": {"temperature": 0.5}})
        )
        other = URI.replace(".py", "_2.py")
        session.open(other, "def g():\n    \n")
        await session.inline(other, 1, 4, invoked=True)
        asked = [r.body for r in fake.fim_requests if "def g" in r.body["prompt"]]
        assert asked, "nothing was asked: the apiBase taken out stayed in force"
        body = asked[0]  # the completion; alternatives follow at other temperatures
        assert (body["model"], body["max_tokens"], body["temperature"]) == ("m1", 7, 0.5)
    finally:
        await session.stop()


async def test_invalid_setting_is_reported_once_and_defaulted(fake: FakeMistral) -> None:
    session = await EditorSession.start(
        "neovim", server_environment(fake.base_url), options={"maxTokens": "lots"}
    )
    try:
        message = await session.wait_for_message()
        assert "maxTokens" in message.message
        session.open(URI, "def f():\n    \n")
        await session.inline(URI, 1, 4)
        assert fake.fim_requests[-1].body["max_tokens"] == 128
        assert len(session.client.messages) == 1
    finally:
        await session.stop()


async def test_no_key_starts_tells_once_and_answers_empty(fake: FakeMistral) -> None:
    session = await EditorSession.start("vscode", server_environment(None))
    try:
        message = await session.wait_for_message()
        assert "CODESTRAL_API_KEY" in message.message
        session.open(URI, "def f():\n    \n")
        for _ in range(3):
            result = await session.inline(URI, 1, 4, invoked=True)
            assert result is None or not result.items
        assert len(session.client.messages) == 1
        assert fake.paid_requests == []
    finally:
        await session.stop()


async def test_scripted_reply_then_recovery(fake: FakeMistral, session: EditorSession) -> None:
    fake.script(Reply("first"))
    session.open(URI, "x = \n")
    result = await session.inline(URI, 0, 4)
    assert result.items[0].insert_text == "first"


async def test_non_streaming_mode(fake: FakeMistral) -> None:
    fake.fim_responder = lambda body: "value)\nnext_line = 2"
    session = await EditorSession.start(
        "vscode", server_environment(fake.base_url), options={"stream": False}
    )
    try:
        text, line, index = split_marker("print(|)\n")
        session.open(URI, text)
        result = await session.inline(URI, line, index)
        assert apply_inline(text, session, result.items[0]) == "print(value)\n"
        assert fake.fim_requests[-1].body["stream"] is False
    finally:
        await session.stop()
