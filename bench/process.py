"""Start-up time and memory of the server process.

* what start-up imports cost, in fresh processes (the start-up itself: ``startup.py``);
* RSS with 200 open files of 50 KB each (``VmRSS`` from /proc after a round trip);
* RSS growth over 10,000 completions, eight documents at a time: half go upstream (each
  follows an edit that changes the prompt), half are asked again at the same place and served
  from the cache; the growth is measured from the RSS after a warm-up of 500 completions
  (imports, connection pool, caches filling) to the end.
"""

from __future__ import annotations

import asyncio
import sys
import time

from bench.lsp import NEOVIM_CAPABILITIES, LspProcess, inline_text, server_environment
from bench.stats import Row, percentile
from tests.fake_mistral import FakeMistral

FILE_BYTES = 50_000


async def command_times(runs: int, code: str) -> list[float]:
    """Wall time of ``python -c code`` in fresh processes (for the start-up breakdown)."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        process = await asyncio.create_subprocess_exec(sys.executable, "-c", code)
        await process.wait()
        times.append(time.perf_counter() - started)
    return times


def fifty_kb_file(n: int) -> str:
    line = f"def handler_{n}_{{i}}(request, response):  return request.value + {n}\n"
    lines = []
    size = 0
    i = 0
    while size < FILE_BYTES:
        text = line.format(i=i)
        lines.append(text)
        size += len(text)
        i += 1
    return "".join(lines)


async def _round_trip(server: LspProcess) -> None:
    """Every notification sent before is handled once this answers (messages are ordered)."""
    _ident, future = server.inline_request("file:///bench/none.py", 0, 0)
    await asyncio.wait_for(future, 30)


async def open_files_rss(base_url: str, count: int = 200) -> tuple[int, int]:
    """(RSS after initialize, RSS with ``count`` open files), in KB."""
    server = await LspProcess.spawn(server_environment(base_url))
    try:
        await server.initialize(NEOVIM_CAPABILITIES)
        await _round_trip(server)
        before = server.rss_kb()
        for n in range(count):
            server.did_open(f"file:///bench/open/module_{n}.py", fifty_kb_file(n))
        await _round_trip(server)
        await asyncio.sleep(0.2)
        return before, server.rss_kb()
    finally:
        await server.close()


async def completion_growth(
    fake: FakeMistral, total: int = 10_000, warmup: int = 500, documents: int = 8
) -> tuple[int, int, list[int], int]:
    """(RSS after warm-up, RSS at the end, RSS every 1,000, upstream calls), KB."""
    fake.fim_responder = lambda body: "compute(alpha, beta)"
    server = await LspProcess.spawn(server_environment(fake.base_url))
    try:
        await server.initialize(NEOVIM_CAPABILITIES, {"debounceMs": 0, "alternatives": 1})
        uris = [f"file:///bench/soak/module_{d}.py" for d in range(documents)]
        lines = [fifty_kb_file(d).split("\n") for d in range(documents)]
        versions = [1] * documents
        olds = [lines[d][500] for d in range(documents)]
        for d, uri in enumerate(uris):
            server.did_open(uri, "\n".join(lines[d]))
        done = 0
        after_warmup = 0
        trend: list[int] = []
        answered = 0
        while done < total:
            futures = []
            for d, uri in enumerate(uris):
                if (done // documents) % 2 == 0:
                    new = f"    value_{done + d} = "
                    versions[d] += 1
                    server.did_change(uri, versions[d], (500, 0), (500, len(olds[d])), new)
                    olds[d] = new
                futures.append(server.inline_request(uri, 500, len(olds[d]), invoked=True)[1])
            results = await asyncio.wait_for(asyncio.gather(*futures), 60)
            answered += sum(1 for r in results if inline_text(r))
            before = done
            done += documents
            if before < warmup <= done:
                await asyncio.sleep(0.2)
                after_warmup = server.rss_kb()
            if before // 1000 != done // 1000:
                trend.append(server.rss_kb())
        await asyncio.sleep(0.2)
        if answered < total * 0.99:
            raise RuntimeError(f"only {answered} of {total} completions were answered")
        return after_warmup, server.rss_kb(), trend, len(fake.fim_requests)
    finally:
        await server.close()


async def run(startup_runs: int = 7, completions: int = 10_000) -> list[Row]:
    rows = []
    with FakeMistral(api_key="test-key") as fake:
        bare = percentile(await command_times(startup_runs, "pass"), 50)
        lsprotocol = percentile(await command_times(startup_runs, "import lsprotocol.types"), 50)
        server = percentile(await command_times(startup_runs, "import codestral_ls.server"), 50)
        rows.append(
            Row(
                "start-up",
                "imports, p50 of fresh processes: Python itself / + import lsprotocol.types "
                "(pygls needs it) / + import the whole server (after the initialize answer)",
                f"{bare * 1000:.0f} / {lsprotocol * 1000:.0f} / {server * 1000:.0f} ms",
            )
        )
        idle, with_files = await open_files_rss(fake.base_url)
        rows.append(
            Row(
                "memory",
                "RSS after initialize (and the imports that follow it)",
                f"{idle / 1024:.1f} MB",
                "≤ 49 MB (issue 15's baseline)",
                idle <= 49 * 1024,
            )
        )
        rows.append(
            Row(
                "memory",
                "RSS with 200 open files of 50 KB",
                f"{with_files / 1024:.1f} MB",
                "≤ 73 MB (issue 15's baseline)",
                with_files <= 73 * 1024,
            )
        )
        start, end, trend, calls = await completion_growth(fake, completions)
        growth = (end - start) / 1024
        rows.append(
            Row(
                "memory",
                f"RSS growth over {completions:,} completions ({calls:,} upstream calls)",
                f"{growth:+.1f} MB ({start / 1024:.1f} → {end / 1024:.1f} MB)",
                "≤ 5 MB",
                growth <= 5,
            )
        )
        rows.append(
            Row(
                "memory",
                "RSS every 1,000 completions (MB)",
                " ".join(f"{kb / 1024:.1f}" for kb in trend),
            )
        )
    return rows
