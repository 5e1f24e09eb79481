"""``python -m bench``: run every benchmark of issue 5 and print one table.

    python -m bench                 # everything, ~4 minutes
    python -m bench --only replay   # one section (startup, latency, keystroke, early-stop,
                                    # process, replay, editor)
    python -m bench --only editor   # typing in real headless Neovim 0.12 (~3 minutes)
    python -m bench --only longlines --only memory   # 1 MB / 10 MB lines; 500 x 200 KB files
    python -m bench --scale 1       # replay the editing session in real time (~27 minutes)

Needs the test dependencies (``pip install -e '.[test]'``) for the fake API.
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import context as context_bench  # noqa: E402
from bench import (  # noqa: E402
    early_stop,
    editor,
    keystroke,
    latency,
    longlines,
    process,
    replay,
    session,
    startup,
)
from bench.stats import Row, render  # noqa: E402

SECTIONS = (
    "startup",
    "latency",
    "keystroke",
    "early-stop",
    "process",
    "replay",
    "editor",
    "longlines",
    "memory",
    "context",
)


def replay_rows(outcomes: list[replay.Outcome], trace: session.Trace, args) -> list[Row]:
    rows = []
    pauses = trace.pauses(0.5)
    header = (
        f"session: {trace.count('type')} keys, {trace.count('backspace')} backspaces, "
        f"{trace.count('newline')} Enter, {trace.count('accept')} accepted completions, "
        f"{pauses} pauses ≥ 0.5 s, {trace.duration / 60:.1f} min replayed at x{args.scale:g}; "
        f"fake latency {args.latency * 1000:g} ms + {args.token_delay * 1000:g} ms/token"
    )
    rows.append(Row("replay", header, ""))
    for o in outcomes:
        local = f"{o.shown_local} ({o.local_share:.0%}) from cache or typed-ahead"
        if o.shown_in_flight:
            local += f", {o.shown_in_flight} from a call already in flight"
        rows.append(
            Row(
                "replay",
                o.name,
                f"{o.upstream_calls} calls for {o.requests} requests; {o.shown} shown "
                f"({o.shown_in_time} in time), {local}; "
                f"tokens {o.prompt_tokens:,} prompt + "
                f"{o.completion_tokens:,} completion",
            )
        )
    ours = [o for o in outcomes if o.name.startswith("codestral-ls")]
    naive = [o for o in outcomes if o.name.startswith("naive")]
    best = min(naive, key=lambda o: o.upstream_calls)
    for o in ours:
        label = o.name.removeprefix("codestral-ls, ")
        per_pause = o.upstream_calls / pauses
        rows.append(
            Row(
                "replay",
                f"{label}: upstream calls per pause",
                f"{per_pause:.2f}",
                "≤ 1",
                per_pause <= 1,
            )
        )
        fewer = 1 - o.upstream_calls / best.upstream_calls
        rows.append(
            Row(
                "replay",
                f"{label}: fewer calls than the best naive policy ({best.name[7:]})",
                f"{fewer:.0%} ({o.upstream_calls} vs {best.upstream_calls})",
                "≥ 30 %",
                fewer >= 0.30,
            )
        )
        if o.delays:
            delays = sorted(o.delays)
            rows.append(
                Row(
                    "replay",
                    f"{label}: last key -> ghost text, p50 / p90",
                    f"{delays[len(delays) // 2] * 1000:.0f} / "
                    f"{delays[int(len(delays) * 0.9)] * 1000:.0f} ms ({len(delays)} shown in time)",
                    "",
                )
            )
        rows.append(
            Row(
                "replay",
                f"{label}: shown without an upstream call (cache, typed-ahead)",
                f"{o.local_share:.0%} of {o.shown}",
                "≥ 25 %",
                o.local_share >= 0.25,
            )
        )
    return rows


async def main_async(args) -> list[Row]:
    rows: list[Row] = []
    chosen = args.only or SECTIONS
    if "startup" in chosen:
        rows += await startup.run()
    if "latency" in chosen:
        rows += await latency.run(args.samples)
    if "keystroke" in chosen:
        rows += await keystroke.run()
    if "early-stop" in chosen:
        rows += await early_stop.run()
    if "process" in chosen:
        rows += await process.run(completions=args.completions)
    if "editor" in chosen:
        rows += await editor.run(args.api_ms / 1000)
    if "longlines" in chosen:
        rows += await longlines.run_lines()
    if "memory" in chosen:
        rows += await longlines.run_memory()
    if "replay" in chosen:
        trace = session.generate(args.seed)
        outcomes = await replay.run_all(
            trace, scale=args.scale, latency=args.latency, token_delay=args.token_delay
        )
        rows += replay_rows(outcomes, trace, args)
    if "context" in chosen:
        rows += await context_bench.run(per_project=args.context_positions)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--only", action="append", choices=SECTIONS, help="run only this section")
    parser.add_argument("--samples", type=int, default=300, help="latency samples per file")
    parser.add_argument("--completions", type=int, default=10_000, help="for the RSS growth")
    parser.add_argument("--scale", type=float, default=0.08, help="replay time factor")
    parser.add_argument("--latency", type=float, default=0.35, help="fake API latency, s")
    parser.add_argument("--token-delay", type=float, default=0.012, help="fake API s/token")
    parser.add_argument("--seed", type=int, default=5, help="seed of the editing session")
    parser.add_argument(
        "--api-ms", type=float, default=200, help="fake API time in the Neovim session, ms"
    )
    parser.add_argument(
        "--context-positions", type=int, default=100, help="call lines per project (context)"
    )
    args = parser.parse_args(argv)
    started = time.perf_counter()
    rows = asyncio.run(main_async(args))
    print(render(rows))
    print(
        f"\n{time.perf_counter() - started:.0f} s on {platform.python_implementation()} "
        f"{platform.python_version()}, {platform.machine()}, "
        f"{len(__import__('os').sched_getaffinity(0))} CPUs"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
