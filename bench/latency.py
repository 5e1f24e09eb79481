"""Added latency: an inline completion through LSP minus the same FIM call made directly.

Each sample edits the cursor's line (so neither the cache nor typed-ahead reuse can answer),
then sends an *invoked* inline completion (no debounce) and times request → response at the
client. Right after, the bench replays the exact body the server sent (read back from the
fake's records) with its own pooled httpx client and times it to the end of the stream. The
difference is what the server adds: JSON-RPC in and out, the document and prompt work, the
cache key, SSE parsing and post-processing. Both calls hit the same fake on 127.0.0.1 in the
same run, so the network and the fake's own time cancel out. The figure compares the two
distributions (p50 of one minus p50 of the other, and so on): differences taken pair by pair
mostly measure the scheduler noise of two independent timings (their median is shown too).
"""

from __future__ import annotations

import sysconfig
import time
from pathlib import Path
from typing import Any

import httpx

from bench.lsp import NEOVIM_CAPABILITIES, LspProcess, inline_text, server_environment
from bench.stats import Row, dist_ms, ms, p50_95_99, percentile
from tests.fake_mistral import FakeMistral

ANSWER = "compute(alpha, beta)  # a single-line answer"
URI = "file:///bench/latency.py"


def small_file() -> str:
    body = "".join(f"    total += values[{i}] * {i}\n" for i in range(20))
    return "def f(values):\n    total = 0\n" + body + "    \n    return total\n"


def large_file(min_lines: int = 20_000, min_chars: int = 1_000_000) -> str:
    """At least 20,000 lines and 1 MB of real Python: standard-library modules one after
    another. Real code, unlike generated lines, exercises what a prompt's content costs
    (the secret-masking patterns cost 40 times more on real code than on uniform lines)."""
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    lines: list[str] = []
    chars = 0
    for path in sorted(stdlib.glob("*.py")):
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines(keepends=True):
            lines.append(line)
            chars += len(line)
        if len(lines) >= min_lines and chars >= min_chars:
            break
    return "".join(lines)


async def _direct(http: httpx.AsyncClient, body: dict[str, Any]) -> float:
    """The same call as a good direct client makes it: streamed, read to the end of the body
    (so the kept-alive connection is reused), timed to the last byte."""
    started = time.perf_counter()
    async with http.stream("POST", "fim/completions", json=body) as response:
        async for _line in response.aiter_lines():
            pass
    return time.perf_counter() - started


async def measure(
    name: str, text: str, cursor_line: int, samples: int, warmup: int = 20
) -> tuple[list[float], list[float], list[float]]:
    """(through LSP, direct, difference) per sample, in seconds."""
    with FakeMistral(api_key="test-key") as fake:
        fake.fim_responder = lambda body: ANSWER
        server = await LspProcess.spawn(server_environment(fake.base_url))
        http = httpx.AsyncClient(
            base_url=fake.base_url + "/",
            headers={"Authorization": "Bearer test-key"},
        )
        try:
            await server.initialize(NEOVIM_CAPABILITIES, {"debounceMs": 0, "alternatives": 1})
            server.did_open(URI, text)
            lines = text.split("\n")
            old = lines[cursor_line]
            version = 1
            lsp, direct, added = [], [], []
            for i in range(warmup + samples):
                new = f"    value_{i} = "
                version += 1
                server.did_change(URI, version, (cursor_line, 0), (cursor_line, len(old)), new)
                old = new
                started = time.perf_counter()
                _ident, future = server.inline_request(URI, cursor_line, len(new), invoked=True)
                result = await future
                through_lsp = time.perf_counter() - started
                if not inline_text(result):
                    raise RuntimeError(f"{name}: no completion in sample {i}")
                body = fake.fim_requests[-1].body
                straight = await _direct(http, body)
                if i >= warmup:
                    lsp.append(through_lsp)
                    direct.append(straight)
                    added.append(through_lsp - straight)
            return lsp, direct, added
        finally:
            await http.aclose()
            await server.close()


def _large_case(text: str) -> tuple[str, str, int]:
    lines = text.count("\n")
    name = f"{lines:,} lines ({len(text.encode()) / 1e6:.1f} MB) of standard-library Python"
    return name, text, lines // 2


async def run(samples: int) -> list[Row]:
    rows: list[Row] = []
    for name, text, line in (
        ("small file (24 lines)", small_file(), 22),
        _large_case(large_file()),
    ):
        lsp, direct, added = await measure(name, text, line, samples)
        through = p50_95_99(lsp)
        straight = p50_95_99(direct)
        p50, p95, p99 = (a - b for a, b in zip(through, straight, strict=True))
        rows.append(
            Row(
                "added latency",
                f"{name}: p50/p95/p99 through LSP minus the same of direct httpx calls "
                f"({samples} pairs; median of per-pair differences {ms(percentile(added, 50))} ms)",
                f"{ms(p50)} / {ms(p95)} / {ms(p99)} ms",
                "p50 ≤ 2 ms, p99 ≤ 10 ms",
                p50 <= 0.002 and p99 <= 0.010,
            )
        )
        rows.append(
            Row(
                "added latency",
                f"{name}: through LSP / direct",
                f"{dist_ms(lsp)} / {dist_ms(direct)}",
            )
        )
    return rows
