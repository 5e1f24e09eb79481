"""Bytes that are legal somewhere on the way but not everywhere: a lone UTF-16 surrogate in
the document, a broken Content-Encoding from the API, a terminal on stdin."""

from __future__ import annotations

import fcntl
import os
import pty

import pytest

from codestral_ls.documents import Cursor, Document
from codestral_ls.engine import CompletionEngine
from codestral_ls.stdio import PipeReader
from tests.e2e.client import EditorSession, server_environment
from tests.fake_mistral import Error, FakeMistral


@pytest.mark.parametrize("editor", ["vscode", "neovim"])
async def test_a_lone_surrogate_in_the_document_does_not_break_completion(
    fake: FakeMistral, editor: str
) -> None:
    """JSON text may hold "\\ud83d" alone; UTF-8 cannot carry it. It goes out as U+FFFD."""
    fake.fim_responder = lambda body: "42"
    session = await EditorSession.start(editor, server_environment(fake.base_url))
    try:
        uri = "file:///project/surrogate.py"
        session.open(uri, "s = '\ud83d'\nx = \n")
        result = await session.inline(uri, 1, 4, invoked=True)
        assert [item.insert_text for item in result.items] == ["42"]
        assert fake.fim_requests[0].body["prompt"] == "s = '\ufffd'\nx = "
        # and a position on the surrogate's own line is counted, not an internal error
        await session.inline(uri, 0, 6, invoked=True)
    finally:
        await session.stop()


async def test_an_answer_whose_encoding_does_not_decode_is_an_api_failure(
    fake: FakeMistral, engine: CompletionEngine
) -> None:
    """A proxy's error page claiming gzip: httpx raises DecodingError, which must become an
    API failure (backoff, one message), not an exception out of the completion."""
    document = Document("file:///w/a.py", "def mul(a, b):\n    \n", language_id="python")
    fake.script(Error(502, body=b"not gzip at all", headers={"Content-Encoding": "gzip"}))
    assert await engine.complete(document, Cursor(1, 4)) is None
    assert engine.health.failures == 1


async def test_a_terminal_on_stdin_is_not_made_non_blocking() -> None:
    """Only pipes and sockets are read by the event loop: it would leave a terminal (shared
    with the shell that started the server) non-blocking."""
    _controller, terminal = pty.openpty()
    with os.fdopen(terminal, "rb", buffering=0) as stdin:
        assert await PipeReader.open(stdin, lambda: None) is None
        assert not fcntl.fcntl(terminal, fcntl.F_GETFL) & os.O_NONBLOCK
    os.close(_controller)
