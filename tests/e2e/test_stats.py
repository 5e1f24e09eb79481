"""The ``codestral/stats`` request: the engine's counters, which the benchmarks read."""

from __future__ import annotations

import asyncio

from tests.e2e.client import EditorSession
from tests.fake_mistral import FakeMistral
from tests.reliability.lsp_process import LspProcess, environment
from tests.tools import HANG

URI = "file:///work/project/stats.py"


async def test_stats_count_upstream_calls_and_shown_completions_by_source(
    fake: FakeMistral, session: EditorSession
) -> None:
    fake.fim_responder = lambda body: "return 42"
    session.open(URI, "def answer():\n    \n")
    await session.inline(URI, 1, 4)
    await session.inline(URI, 1, 4)
    stats = await asyncio.wait_for(session.request("codestral/stats", None).future, HANG)
    # pygls's client gives unknown results as named tuples.
    assert stats.upstream_calls == 1
    assert stats.shown._asdict() == {"api": 1, "cache": 1}


def test_a_request_without_params_is_answered() -> None:
    """JSON-RPC lets a request leave out ``params``; Neovim does for ``codestral/stats``."""
    with LspProcess(environment(None)) as server:
        server.initialize()
        answer = server.request("codestral/stats")  # no params key at all
        assert answer["result"]["requests"] == 0, answer
        assert server.shutdown_and_exit() == 0
