"""Soak: many completions with upstream faults mixed in; memory and descriptors stay flat.

    python -m bench.soak                 # 10,000 completions (~2 minutes)
    python -m bench.soak --count 2000    # quicker

One real server process (stdio) against the fake API. Every request asks at a new cursor
text (a character is typed first), so each one is a real upstream call unless a fault has
paused automatic completions. One call in ``--fault-every`` meets a fault, in turn: HTTP 500,
429 with ``Retry-After: 0``, a stream cut halfway, malformed JSON, an answer that never comes
(the 300 ms completion deadline ends it). The server's resident memory (VmRSS) and open file
descriptors are sampled from /proc after a warm-up and every tenth of the run: a leak shows
as a steady climb. Linux only (reads /proc).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.fake_mistral import BadJSON, CutStream, Error, FakeMistral, Hang  # noqa: E402
from tests.reliability.lsp_process import LspProcess, environment  # noqa: E402

URI = "file:///soak/main.py"
FAULTS = (
    Error(500),
    Error(429, headers={"Retry-After": "0"}),
    CutStream(after_tokens=2),
    BadJSON(after_tokens=1),
    Hang(),
)


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def run(count: int, fault_every: int) -> int:
    samples: list[tuple[int, int, int]] = []
    shown = empty = 0
    started = time.monotonic()
    with FakeMistral() as fake:
        fake.fim_responder = lambda body: "value = compute(x)"
        options = {
            "completionTimeoutMs": 300,
            "connectTimeoutMs": 300,
            "debounceMs": 0,
            "alternatives": 1,
        }
        with LspProcess(environment(fake.base_url)) as server:
            server.initialize(options)
            pid = server.proc.pid
            line = ""
            server.open(URI, "import math\n\n")
            version = 1
            warm_up = min(1000, count // 10)
            for i in range(1, count + 1):
                if i % fault_every == 0:
                    fake.script(FAULTS[(i // fault_every) % len(FAULTS)])
                if i % 200 == 0:
                    line = ""  # start the line over: the document stays small
                    fake.reset()  # the fake's records, not the server's state
                    version += 1
                    server.notify(
                        "textDocument/didChange",
                        {
                            "textDocument": {"uri": URI, "version": version},
                            # A new first line each round: no prompt repeats, no cache hits.
                            "contentChanges": [{"text": f"import math  # round {i}\n\n"}],
                        },
                    )
                char = "abcdefghij"[i % 10]
                version += 1
                server.notify(
                    "textDocument/didChange",
                    {
                        "textDocument": {"uri": URI, "version": version},
                        "contentChanges": [
                            {
                                "range": {
                                    "start": {"line": 1, "character": len(line)},
                                    "end": {"line": 1, "character": len(line)},
                                },
                                "text": char,
                            }
                        ],
                    },
                )
                line += char
                answer = server.inline(URI, 1, len(line), invoked=True, timeout=30)
                result = answer.get("result") or {}
                if result.get("items"):
                    shown += 1
                else:
                    empty += 1
                if i == warm_up or (i > warm_up and i % max(1, count // 10) == 0):
                    samples.append((i, rss_kib(pid), open_fds(pid)))
            stats = server.request("codestral/stats", {})["result"]
            messages = len(server.messages())
            code = server.shutdown_and_exit()
    elapsed = time.monotonic() - started
    print(f"soak: {count} completions in {elapsed:.0f} s, one fault per {fault_every} calls")
    print(
        f"  shown {shown}, empty {empty}; upstream calls {stats['upstream_calls']}, "
        f"cache hits {stats['cache_hits']}, typed-ahead {stats['typed_ahead_hits']}"
    )
    print(f"  failures {stats['failures']}, messages shown to the user {messages}, exit {code}")
    print("  after n completions:   RSS (MiB)   open fds")
    for n, rss, fds in samples:
        print(f"  {n:>18}   {rss / 1024:9.1f}   {fds:8d}")
    first, last = samples[0], samples[-1]
    growth = (last[1] - first[1]) / 1024
    print(f"  RSS growth after warm-up: {growth:+.1f} MiB; fds {first[2]} -> {last[2]}")
    flat = growth < 8 and last[2] <= first[2] + 2
    print("  flat" if flat else "  NOT FLAT")
    return 0 if flat and code == 0 else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__)
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--fault-every", type=int, default=50)
    args = parser.parse_args(argv)
    return run(args.count, args.fault_every)


if __name__ == "__main__":
    sys.exit(main())
