"""Hostile input that must not freeze the server (issue 12): long lines, huge or endless
answers, absurd framing and protocol abuse.

Each case runs against a real server process and ends with :func:`assert_healthy`: the
server still answers (a request after the attack gets its answer), its RSS stayed within
what the case may cost, and it holds no more file descriptors than before, give or take its
HTTP connection pool. Nothing here is timed: a frozen server shows as a missing answer, a
slow path as an operation count (upstream requests, bytes read).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from tests.fake_mistral import FakeMistral
from tests.reliability.lsp_process import LspProcess, environment

#: Neovim's position encoding: utf-8 columns are the ones a non-ASCII line makes costly.
UTF8_CLIENT: dict[str, Any] = {
    "general": {"positionEncodings": ["utf-8"]},
    "textDocument": {
        "completion": {"completionItem": {"snippetSupport": True}},
        "inlineCompletion": {},
    },
}
#: The HTTP pool may open this many connections during a case (httpx's limit is 8).
POOL = 8
MB = 1024 * 1024


def rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


class Server:
    """A server process and the figures a case is judged against."""

    def __init__(self, process: LspProcess) -> None:
        self.process = process
        self.pid = process.proc.pid
        self.rss_kb = rss_kb(self.pid)
        self.fds = open_fds(self.pid)

    def assert_healthy(self, *, may_grow_mb: float = 30) -> None:
        """Still answering, memory within ``may_grow_mb`` of the start, no leaked fds."""
        answer = self.process.request("codestral/stats", {}, timeout=60)
        assert "result" in answer, answer
        assert self.process.proc.poll() is None, "the server exited"
        grown = (rss_kb(self.pid) - self.rss_kb) / 1024
        assert grown <= may_grow_mb, f"RSS grew by {grown:.0f} MB"
        assert open_fds(self.pid) <= self.fds + POOL


@pytest.fixture
def server(fake: FakeMistral) -> Iterator[Server]:
    process = LspProcess(environment(fake.base_url))
    try:
        process.initialize({"debounceMs": 0}, capabilities=UTF8_CLIENT)
        process.request("codestral/stats", {})
        yield Server(process)
        process.shutdown_and_exit()
    finally:
        if process.proc.poll() is None:
            process.proc.kill()


def change(uri: str, version: int, start: int, end: int, text: str) -> dict[str, Any]:
    span = {"start": {"line": 0, "character": start}, "end": {"line": 0, "character": end}}
    return {
        "textDocument": {"uri": uri, "version": version},
        "contentChanges": [{"range": span, "text": text}],
    }


# -- long lines ----------------------------------------------------------------------------


def test_a_megabyte_line_with_one_accent_is_typed_on_without_a_completion(
    server: Server, fake: FakeMistral
) -> None:
    """Ten keys at the end of a 1 MB minified line with one "é" (utf-8 columns): each
    keystroke's conversion used to walk the line in Python (1 s each); a completion there
    sent the line and answered it whole. Past the window: nothing is sent, nothing shown."""
    uri = "file:///hostile/min.js"
    line = "é" + "var a=b+c;" * 100_000
    end = len(line.encode("utf-8"))
    server.process.open(uri, line + "\n", language="javascript")
    for i in range(10):
        server.process.notify("textDocument/didChange", change(uri, i + 2, end + i, end + i, "x"))
    answer = server.process.inline(uri, 0, end + 10)
    assert answer.get("result") in (None, {"items": []}), str(answer)[:200]
    assert fake.fim_requests == []
    text = server.process.request("codestral/stats", {})
    assert text["result"]["requests"] == 0  # refused before the engine: no scan, no call
    server.assert_healthy(may_grow_mb=40)
    # A short line in the same file still completes.
    server.process.notify(
        "textDocument/didChange",
        {
            "textDocument": {"uri": uri, "version": 20},
            "contentChanges": [{"text": "def add(a, b):\n    "}],
        },
    )
    answer = server.process.inline(uri, 1, 4)
    assert answer["result"]["items"], answer
