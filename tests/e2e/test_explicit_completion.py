"""Explicit means explicit in every editor (issue 11, item 5).

eglot's ``C-M-i`` and Helix's completion request arrive as ``textDocument/completion`` with
``CompletionTriggerKind.Invoked``. After one failure they were refused without a call ("No
match" in Emacs) while paused, though the README promises that explicit requests try at once;
they are now treated like invoked inline requests: no debounce, through a paused breaker.
"""

from __future__ import annotations

import pytest
from lsprotocol import types

from codestral_ls.messages import SUMMARY_CHARS
from tests.e2e.client import EditorSession, server_environment
from tests.fake_mistral import Error, FakeMistral

URI = "file:///project/calc.py"


@pytest.mark.parametrize("editor", ["helix", "neovim"])
async def test_an_invoked_completion_request_tries_at_once_after_a_failure(
    fake: FakeMistral, editor: str
) -> None:
    fake.fim_responder = lambda body: "return a + b"
    fake.script(Error(401))  # pauses automatic completions for 30 s or more
    session = await EditorSession.start(editor, server_environment(fake.base_url))
    try:
        session.open(URI, "def add(a, b):\n    \n")
        assert not (await session.complete(URI, 1, 4)).items  # the 401
        result = await session.complete(URI, 1, 4)  # asked again, explicitly
        assert len(fake.fim_requests) == 2
        assert [item.text_edit.new_text for item in result.items] == ["return a + b"]
    finally:
        await session.stop()


async def test_a_completion_asked_for_on_an_overlong_line_says_why_once(fake: FakeMistral) -> None:
    """A line over the 10,000-character window (minified code) gets no completion. Asked
    for explicitly, that silence looked like a broken server: the user is told once per
    document, in one short line; automatic requests stay silent."""
    fake.fim_responder = lambda body: "return a + b"
    session = await EditorSession.start("neovim", server_environment(fake.base_url))
    try:
        minified = "data = [" + "1," * 6000 + "]"
        session.open(URI, f"{minified}\ndef add(a, b):\n    \n")
        end = len(minified)
        assert await session.inline(URI, 0, end) is None  # automatic, as typing asks
        assert session.client.messages == []
        assert await session.inline(URI, 0, end, invoked=True) is None
        [told] = session.client.messages
        assert told.type == types.MessageType.Info
        assert "no completion on lines over 10,000 characters" in told.message
        assert len(told.message) <= SUMMARY_CHARS  # one line: no "Press ENTER" in Neovim
        assert not (await session.complete(URI, 0, end)).items  # eglot's C-M-i there
        assert await session.inline(URI, 0, end, invoked=True) is None
        assert len(session.client.messages) == 1  # once per document
        assert fake.fim_requests == []  # nothing was sent for that line
        # The file's short lines still complete.
        [item] = (await session.inline(URI, 2, 4, invoked=True)).items
        assert item.insert_text == "return a + b"
        assert len(session.client.messages) == 1
        # Closed and opened again, it is told again (once).
        session.client.text_document_did_close(
            types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=URI))
        )
        session.open(URI, f"{minified}\n")
        for _ in range(2):
            assert await session.inline(URI, 0, end, invoked=True) is None
        assert len(session.client.messages) == 2
        # Where completions are off anyway, the line's length is not the reason: no message.
        other = "file:///project/other.js"
        session.open(other, f"{minified}\n", language="javascript")
        params = types.ExecuteCommandParams(
            command="codestral.toggle", arguments=[{"action": "disable", "uri": other}]
        )
        await session.request(types.WORKSPACE_EXECUTE_COMMAND, params)
        assert await session.inline(other, 0, end, invoked=True) is None
        assert len(session.client.messages) == 2
    finally:
        await session.stop()
