"""Explicit means explicit in every editor (issue 11, item 5).

eglot's ``C-M-i`` and Helix's completion request arrive as ``textDocument/completion`` with
``CompletionTriggerKind.Invoked``. After one failure they were refused without a call ("No
match" in Emacs) while paused, though the README promises that explicit requests try at once;
they are now treated like invoked inline requests: no debounce, through a paused breaker.
"""

from __future__ import annotations

import pytest

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
