"""Long lines and memory: per-keystroke cost must not grow with a line's length (issue 12).

Against a real server process over stdio (Neovim's capabilities: utf-8 positions), one
document per case, all in the same process and the same run:

* a 100-character line (the baseline), and single lines of 1 MB and 10 MB, ASCII and with
  one "é" near the start (so no column conversion can take the pure-ASCII shortcut);
* **didChange**: one character typed at the end of the line then deleted, each followed by
  a ``codestral/stats`` request; the figure is the time to that answer (the edit and a
  round trip), so a slow edit shows however the server schedules it;
* **completion**: an invoked inline completion at the end of the line, request to answer.
  The long lines are past the completion window, so they must get an empty answer fast;
  the baseline goes to the fake API (zero latency) and back.

Each long-line figure is given as a ratio to the baseline's, target ≤ 2x (p50 and p99).

**Memory**: 500 files of 200 KB of real Python (standard-library text) opened, RSS growth
divided by the text's size (target ≤ 1.5x), then all closed (what is kept afterwards).
"""

from __future__ import annotations

import asyncio
import gc
import sysconfig
import time
from pathlib import Path

from bench.lsp import NEOVIM_CAPABILITIES, LspProcess, server_environment
from bench.stats import Row, dist_ms, p50_95_99
from tests.fake_mistral import FakeMistral

BASE_LINE = 100
CASES = (
    ("100 chars", BASE_LINE, False),
    ("1 MB ASCII", 1_000_000, False),
    ("1 MB with é", 1_000_000, True),
    ("10 MB ASCII", 10_000_000, False),
    ("10 MB with é", 10_000_000, True),
)
FILES, FILE_CHARS = 500, 200_000


def one_line(length: int, accented: bool) -> str:
    unit = "var a=b+c;"
    line = (unit * (length // len(unit) + 1))[:length]
    if accented:
        line = line[:10] + "é" + line[11:]
    return line


async def _timed(awaitable) -> float:
    started = time.perf_counter()
    await awaitable
    return time.perf_counter() - started


async def line_case(
    server: LspProcess, uri: str, line: str, samples: int
) -> tuple[list[float], list[float]]:
    """(didChange + round trip, completion) timings at the end of ``line``, in seconds."""
    server.did_open(uri, line + "\n")
    end = len(line.encode("utf-8"))  # utf-8 columns (Neovim's encoding)
    await server.request("codestral/stats", None, timeout=600)
    changes, completions = [], []
    version = 1
    for i in range(samples):
        version += 1
        if i % 2 == 0:
            server.did_change(uri, version, (0, end), (0, end), "x")
        else:
            server.did_change(uri, version, (0, end), (0, end + 1), "")
        changes.append(await _timed(server.request("codestral/stats", None, timeout=600)))
    for _ in range(samples):
        _ident, answer = server.inline_request(uri, 0, end, invoked=True)
        completions.append(await _timed(asyncio.wait_for(answer, 600)))
    server.notify("textDocument/didClose", {"textDocument": {"uri": uri}})
    return changes, completions


def _ratio_row(label: str, what: str, timings: list[float], base: list[float]) -> Row:
    p50, _p95, p99 = p50_95_99(timings)
    b50, _b95, b99 = p50_95_99(base)
    r50, r99 = p50 / b50, p99 / b99
    return Row(
        "long lines",
        f"{label}: {what}, p50/p95/p99 (ratio to 100 chars)",
        f"{dist_ms(timings)} ({r50:.2f}x / {r99:.2f}x)",
        "≤ 2x p50 and p99",
        r50 <= 2 and r99 <= 2,
    )


async def run_lines(samples: int = 60, cases=CASES) -> list[Row]:
    rows: list[Row] = []
    with FakeMistral(api_key="test-key") as fake:
        fake.fim_responder = lambda body: "d;"
        server = await LspProcess.spawn(server_environment(fake.base_url))
        try:
            await server.initialize(NEOVIM_CAPABILITIES, {"debounceMs": 0})
            base: tuple[list[float], list[float]] | None = None
            for n, (label, length, accented) in enumerate(cases):
                uri = f"file:///bench/long{n}.js"
                changes, completions = await line_case(
                    server, uri, one_line(length, accented), samples
                )
                if base is None:
                    base = (changes, completions)
                    rows.append(Row("long lines", f"{label}: didChange", dist_ms(changes)))
                    rows.append(Row("long lines", f"{label}: completion", dist_ms(completions)))
                    continue
                rows.append(_ratio_row(label, "didChange", changes, base[0]))
                rows.append(_ratio_row(label, "completion at line end", completions, base[1]))
        finally:
            await server.close()
    return rows


def python_text(chars: int) -> str:
    """``chars`` characters of real Python (standard-library modules, in order)."""
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    parts, size = [], 0
    for path in sorted(stdlib.glob("*.py")):
        text = path.read_text(encoding="utf-8", errors="replace")
        parts.append(text)
        size += len(text)
        if size >= chars:
            break
    return "".join(parts)[:chars]


async def run_memory(files: int = FILES, chars: int = FILE_CHARS) -> list[Row]:
    source = python_text(chars)
    server = await LspProcess.spawn(server_environment(None))
    try:
        await server.initialize(NEOVIM_CAPABILITIES)
        await server.request("codestral/stats", None)
        gc.collect()
        before = server.rss_kb()
        total = 0
        for i in range(files):
            text = f"# file {i}\n" + source  # distinct texts, as real files are
            total += len(text.encode("utf-8"))
            server.did_open(f"file:///bench/mem/{i}.py", text)
            if i % 50 == 49:
                await server.request("codestral/stats", None, timeout=120)
        await server.request("codestral/stats", None, timeout=120)
        opened = server.rss_kb()
        for i in range(files):
            server.notify(
                "textDocument/didClose", {"textDocument": {"uri": f"file:///bench/mem/{i}.py"}}
            )
        await server.request("codestral/stats", None, timeout=120)
        closed = server.rss_kb()
    finally:
        await server.close()
    ratio = (opened - before) * 1024 / total
    kept = (closed - before) * 1024 / total
    return [
        Row(
            "memory",
            f"{files} files x {chars // 1000} KB open: RSS growth / text size",
            f"{ratio:.2f}x ({(opened - before) / 1024:.0f} MB for {total / 2**20:.0f} MB)",
            "≤ 1.5x",
            ratio <= 1.5,
        ),
        Row(
            "memory",
            "after closing them all: RSS kept / text size",
            f"{kept:.2f}x ({(closed - before) / 1024:.0f} MB)",
            "≤ 0.25x (released)",
            kept <= 0.25,
        ),
    ]
