"""Start-up as the editor sees it, and the first completion against the ones after it.

* ``initialize`` answered: process start (``create_subprocess_exec``) -> the answer read by
  the client, Neovim's capabilities, in fresh processes (median of several);
* start -> first completion: ``initialized``, ``didOpen`` and an invoked inline completion sent
  right behind the ``initialize`` answer, timed to the completion's answer (what an editor
  that opens a file at once waits before ghost text can appear);
* the first completion asked 0.5 s after ``initialized`` against the median of the 20 after
  it, in the same process, each after an edit (no cache), invoked (no debounce); the fake
  answers after ``--ttft`` (default 0: the ratio then shows the server's own first-call cost);
* a completion after an idle pause longer than httpx's default keep-alive (5 s), against the
  same median: the kept-alive connection should still be there. Beside it, the same pauses
  before a direct call of the minimal client (``bench.latency.RawClient``, the body the
  server sent last) against that client's own median: what idling costs any process on this
  machine (caches gone cold), not the server in particular.
"""

from __future__ import annotations

import asyncio
import tempfile
import time

from bench.latency import RawClient, raw_call
from bench.lsp import NEOVIM_CAPABILITIES, LspProcess, inline_text, server_environment
from bench.stats import Row, percentile
from tests.fake_mistral import FakeMistral

URI = "file:///bench/startup.py"
TEXT = "def f(values):\n    total = 0\n    \n    return total\n"
LINE = 2


async def _start(fake: FakeMistral, cache: str | None = None) -> tuple[LspProcess, float]:
    env = server_environment(fake.base_url)
    if cache is not None:
        env["CODESTRAL_LS_CACHE_DIR"] = cache
    server = await LspProcess.spawn(env)
    await server.initialize(NEOVIM_CAPABILITIES, {"debounceMs": 0, "alternatives": 1})
    return server, time.perf_counter() - server.started


async def startup_runs(
    fake: FakeMistral, runs: int, cache: str | None = None
) -> tuple[list[float], list[float]]:
    """(start -> initialize answer, start -> first completion), seconds, per fresh process
    with the start-up cache in ``cache`` (``None``: the user's)."""
    answered, completed = [], []
    for _ in range(runs):
        server, took = await _start(fake, cache)
        try:
            server.did_open(URI, TEXT)
            _ident, future = server.inline_request(URI, LINE, 4, invoked=True)
            if not inline_text(await asyncio.wait_for(future, 30)):
                raise RuntimeError("start-up: no first completion")
            completed.append(time.perf_counter() - server.started)
            answered.append(took)
        finally:
            await server.close()
    return answered, completed


async def _timed_completion(server: LspProcess, version: int, old: str) -> tuple[float, str]:
    new = f"    value_{version} = "
    server.did_change(URI, version, (LINE, 0), (LINE, len(old)), new)
    started = time.perf_counter()
    _ident, future = server.inline_request(URI, LINE, len(new), invoked=True)
    if not inline_text(await asyncio.wait_for(future, 30)):
        raise RuntimeError("first completion: no answer")
    return time.perf_counter() - started, new


async def first_and_later(
    fake: FakeMistral,
    *,
    after_ready: bool,
    later: int = 20,
    pauses: int = 0,
    idle: float = 6.0,
    cache: str | None = None,
) -> tuple[float, list[float], list[float], int]:
    """(the first completion, asked 0.5 s after ``initialized`` or after the server answered a
    first request; the next ``later``; ``pauses`` more, each after ``idle`` s without a
    request; connections the fake accepted during the pauses), seconds."""
    server, _took = await _start(fake, cache)
    try:
        server.did_open(URI, TEXT)
        if after_ready:
            await server.request("codestral/stats", {})
        await asyncio.sleep(0.5)
        old = "    "
        first, old = await _timed_completion(server, 2, old)
        after, rested = [], []
        for version in range(3, 3 + later):
            took, old = await _timed_completion(server, version, old)
            after.append(took)
        connections = fake.connections_accepted
        for version in range(3 + later, 3 + later + pauses):
            await asyncio.sleep(idle)
            took, old = await _timed_completion(server, version, old)
            rested.append(took)
        return first, after, rested, fake.connections_accepted - connections
    finally:
        await server.close()


async def minimal_client_pauses(
    fake: FakeMistral, *, later: int = 20, pauses: int = 3, idle: float = 6.0
) -> tuple[list[float], list[float]]:
    """(``later`` calls in a row, ``pauses`` calls each after ``idle`` s) of the minimal
    client, seconds, with the FIM body the server sent last: the control for the server's
    pauses."""
    body = fake.fim_requests[-1].body
    client = RawClient(fake.base_url, "test-key")
    try:
        await client.fim_stream(body)  # its connection and first use, apart
        in_a_row = [await raw_call(client, body) for _ in range(later)]
        rested = []
        for _ in range(pauses):
            await asyncio.sleep(idle)
            rested.append(await raw_call(client, body))
        return in_a_row, rested
    finally:
        await client.aclose()


async def run(runs: int = 9, ttft: float = 0.0) -> list[Row]:
    rows = []
    with (
        FakeMistral(api_key="test-key") as fake,
        tempfile.TemporaryDirectory(prefix="codestral-ls-cache-") as cache,
    ):
        fake.fim_responder = lambda body: "compute(alpha, beta)"
        # The first start on a machine has no start-up cache (codestral_ls/attrs_cache.py).
        cold_answered, cold_completed = await startup_runs(fake, 1, cache)
        answered, completed = await startup_runs(fake, runs, cache)
        p50 = percentile(answered, 50)
        rows.append(
            Row(
                "start-up",
                f"process start → initialize answered, p50 (min / max) of {runs} fresh processes",
                f"{p50 * 1000:.0f} ms ({min(answered) * 1000:.0f} / {max(answered) * 1000:.0f})",
                "≤ 150 ms",
                p50 <= 0.150,
            )
        )
        rows.append(
            Row(
                "start-up",
                "process start → first completion answered (sent right after initialize), p50",
                f"{percentile(completed, 50) * 1000:.0f} ms "
                f"({min(completed) * 1000:.0f} / {max(completed) * 1000:.0f})",
            )
        )
        rows.append(
            Row(
                "start-up",
                "the first start on a machine (no start-up cache yet): initialize answered; "
                "first completion",
                f"{cold_answered[0] * 1000:.0f} ms; {cold_completed[0] * 1000:.0f} ms",
            )
        )
        fake.latency = ttft
        label = f"fake API answering in {ttft * 1000:g} ms"
        for after_ready, when in ((False, "initialized"), (True, "the server's first answer")):
            first, after, rested, reconnects = await first_and_later(
                fake, after_ready=after_ready, pauses=3 if after_ready else 0, cache=cache
            )
            median = percentile(after, 50)
            rows.append(
                Row(
                    "first completion",
                    f"asked 0.5 s after {when} / p50 of the next {len(after)} ({label})",
                    f"{first / median:.2f} ({first * 1000:.1f} / {median * 1000:.1f} ms)",
                    "≤ 1.3",
                    first / median <= 1.3,
                )
            )
        pause = percentile(rested, 50)
        rows.append(
            Row(
                "first completion",
                f"after {len(rested)} pauses of 6 s (httpx's own keep-alive: 5 s) / the same p50; "
                "new connections",
                f"{pause / median:.2f} ({pause * 1000:.1f} ms); {reconnects}",
                "≤ 1.3; 0",
                pause / median <= 1.3 and reconnects == 0,
            )
        )
        raw_row, raw_rested = await minimal_client_pauses(fake)
        raw_median, raw_pause = percentile(raw_row, 50), percentile(raw_rested, 50)
        rows.append(
            Row(
                "first completion",
                f"control: the minimal client after {len(raw_rested)} pauses of 6 s / its own p50 "
                f"of {len(raw_row)} in a row (what idling costs any process here)",
                f"{raw_pause / raw_median:.2f} ({raw_pause * 1000:.2f} / "
                f"{raw_median * 1000:.2f} ms)",
            )
        )
    return rows
