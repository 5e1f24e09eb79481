"""Per-call overhead: an inline completion through LSP against the same FIM call made directly.

Each sample edits the cursor's line (so neither the cache nor typed-ahead reuse can answer),
then makes three calls, in an order that alternates from one sample to the next:

* **through LSP**: an *invoked* inline completion (no debounce), timed request -> answer at
  the client;
* **direct, httpx**: the body the server sent last (read back from the fake's records) with a
  pooled httpx client, streamed and read to the end of the body;
* **direct, minimal**: the same body with :class:`RawClient`, a keep-alive HTTP/1.1 client on
  asyncio streams that writes each request at once and reads the chunked SSE answer (what the
  call costs without a general-purpose HTTP library).

The overhead figures are percentiles of the *per-pair* differences (each LSP call minus the
direct call made next to it), never one distribution's percentile minus another's. The
first request of each (a new connection, first use of every code path) is reported apart and
not mixed into the rest. The same comparison with the fake answering after a realistic time to
first token (200 ms) is given as the median per-pair ratio: what the overhead means to a user.
"""

from __future__ import annotations

import asyncio
import json
import sysconfig
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from bench.lsp import NEOVIM_CAPABILITIES, LspProcess, inline_text, server_environment
from bench.stats import Row, ms, percentile
from tests.fake_mistral import FakeMistral

ANSWER = "compute(alpha, beta)  # a single-line answer"
URI = "file:///bench/latency.py"
KEY = "test-key"


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


class RawClient:
    """A minimal keep-alive HTTP/1.1 client for one endpoint, on asyncio streams.

    One write per request (headers and body together), the status line and headers read
    line by line, the chunked (or sized) body read to its end, the SSE ``data:`` lines parsed
    as JSON. No pool, no TLS, no proxies, no redirects: the floor a real client sits above.
    """

    def __init__(self, base_url: str, key: str) -> None:
        url = urlsplit(base_url)
        self._host, self._port = url.hostname or "127.0.0.1", url.port or 80
        self._prefix = url.path.rstrip("/")
        self._key = key
        self._streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def fim_stream(self, body: dict[str, Any]) -> str:
        """POST ``body`` to ``fim/completions``; the streamed answer's text."""
        if self._streams is None:
            self._streams = await asyncio.open_connection(self._host, self._port)
        reader, writer = self._streams
        payload = json.dumps(body).encode("utf-8")
        head = (
            f"POST {self._prefix}/fim/completions HTTP/1.1\r\n"
            f"Host: {self._host}:{self._port}\r\n"
            f"Authorization: Bearer {self._key}\r\n"
            "Content-Type: application/json\r\nAccept: text/event-stream\r\n"
            f"Content-Length: {len(payload)}\r\n\r\n"
        )
        writer.write(head.encode("ascii") + payload)
        status = await reader.readline()
        if not status.startswith(b"HTTP/1.1 200"):
            raise RuntimeError(f"raw client: {status!r}")
        headers: dict[bytes, bytes] = {}
        while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
            name, _, value = line.partition(b":")
            headers[name.strip().lower()] = value.strip()
        if headers.get(b"transfer-encoding", b"").lower() == b"chunked":
            parts = []
            while size := int((await reader.readline()).split(b";")[0], 16):
                parts.append(await reader.readexactly(size))
                await reader.readexactly(2)
            await reader.readline()  # the empty trailer
            data = b"".join(parts)
        else:
            data = await reader.readexactly(int(headers[b"content-length"]))
        if headers.get(b"connection", b"").lower() == b"close":
            await self.aclose()
        text = []
        for line in data.split(b"\n"):
            if line.startswith(b"data:") and line[5:].strip() != b"[DONE]":
                delta = json.loads(line[5:])["choices"][0].get("delta") or {}
                text.append(delta.get("content") or "")
        return "".join(text)

    async def aclose(self) -> None:
        if self._streams is not None:
            writer = self._streams[1]
            self._streams = None
            writer.close()


async def _httpx_call(http: httpx.AsyncClient, body: dict[str, Any]) -> float:
    """The same call as a good httpx client makes it: streamed, read to the end of the body
    (so the kept-alive connection is reused), timed to the last byte."""
    started = time.perf_counter()
    async with http.stream("POST", "fim/completions", json=body) as response:
        async for _line in response.aiter_lines():
            pass
    return time.perf_counter() - started


async def raw_call(raw: RawClient, body: dict[str, Any]) -> float:
    """Seconds for one call of the minimal client (also the control in bench/startup.py)."""
    started = time.perf_counter()
    await raw.fim_stream(body)
    return time.perf_counter() - started


class Samples:
    """Timings of one run: the first call of each kind apart, then the pairs."""

    def __init__(self) -> None:
        self.first: dict[str, float] = {}
        self.lsp: list[float] = []
        self.httpx: list[float] = []
        self.raw: list[float] = []

    def minus(self, a: list[float], b: list[float]) -> list[float]:
        return [x - y for x, y in zip(a, b, strict=True)]

    def ratio(self, a: list[float], b: list[float]) -> list[float]:
        return [x / y for x, y in zip(a, b, strict=True)]


#: Longer than the server's delay before the lines it writes after an answer
#: (``logs.EditorLogHandler``, ``controls.CALL_END_TOLD_AFTER``: 20 ms).
AFTER_ANSWER_SECONDS = 0.05


async def measure(text: str, cursor_line: int, samples: int, ttft: float = 0.0) -> Samples:
    """``samples`` triples (LSP, httpx, raw) after one first call of each, seconds."""
    with FakeMistral(api_key=KEY) as fake:
        fake.fim_responder = lambda body: ANSWER
        fake.latency = ttft
        server = await LspProcess.spawn(server_environment(fake.base_url))
        http = httpx.AsyncClient(
            base_url=fake.base_url + "/", headers={"Authorization": f"Bearer {KEY}"}
        )
        raw = RawClient(fake.base_url, KEY)
        try:
            await server.initialize(NEOVIM_CAPABILITIES, {"debounceMs": 0, "alternatives": 1})
            server.did_open(URI, text)
            await server.request("codestral/stats", {})  # started: imports done
            old = text.split("\n")[cursor_line]
            result = Samples()

            async def through_lsp(i: int) -> float:
                nonlocal old
                new = f"    value_{i} = "
                server.did_change(URI, i + 2, (cursor_line, 0), (cursor_line, len(old)), new)
                old = new
                started = time.perf_counter()
                _ident, future = server.inline_request(URI, cursor_line, len(new), invoked=True)
                answer = await future
                took = time.perf_counter() - started
                if not inline_text(answer):
                    raise RuntimeError(f"no completion in sample {i}")
                # The server writes its log line (and a status) 20 ms after an answer; let
                # them arrive now, not during the next timed call (a direct one half the
                # time, which they slowed: the difference came out smaller than it is).
                await asyncio.sleep(AFTER_ANSWER_SECONDS)
                return took

            result.first["lsp"] = await through_lsp(0)
            body = fake.fim_requests[-1].body
            result.first["httpx"] = await _httpx_call(http, body)
            result.first["raw"] = await raw_call(raw, body)
            for i in range(1, samples + 1):
                if i % 2:
                    lsp = await through_lsp(i)
                    body = fake.fim_requests[-1].body
                    direct = await _httpx_call(http, body)
                    floor = await raw_call(raw, body)
                else:  # the other order: the directs first, with the last body sent
                    floor = await raw_call(raw, body)
                    direct = await _httpx_call(http, body)
                    lsp = await through_lsp(i)
                    body = fake.fim_requests[-1].body
                result.lsp.append(lsp)
                result.httpx.append(direct)
                result.raw.append(floor)
            return result
        finally:
            await raw.aclose()
            await http.aclose()
            await server.close()


def _large_case(text: str) -> tuple[str, str, int]:
    lines = text.count("\n")
    name = f"{lines:,} lines ({len(text.encode()) / 1e6:.1f} MB) of standard-library Python"
    return name, text, lines // 2


def _p50_99(values: list[float]) -> str:
    return f"{ms(percentile(values, 50))} / {ms(percentile(values, 99))} ms"


async def run(samples: int, slow_samples: int = 40) -> list[Row]:
    rows: list[Row] = []
    for name, text, line in (
        ("small file (24 lines)", small_file(), 22),
        _large_case(large_file()),
    ):
        s = await measure(text, line, samples)
        over_raw = s.minus(s.lsp, s.raw)
        p50, p99 = percentile(over_raw, 50), percentile(over_raw, 99)
        rows += [
            Row(
                "per-call overhead",
                f"{name}: through LSP / direct httpx / direct minimal client, p50 / p99 "
                f"({samples} alternating triples)",
                " ; ".join(_p50_99(x) for x in (s.lsp, s.httpx, s.raw)),
            ),
            Row(
                "per-call overhead",
                f"{name}: through LSP minus the minimal client, per pair, p50 / p99",
                _p50_99(over_raw),
                "≤ 5 / ≤ 10 ms",
                p50 <= 0.005 and p99 <= 0.010,
            ),
            Row(
                "per-call overhead",
                f"{name}: of which httpx over the minimal client / the server over httpx, "
                "per pair, p50 / p99",
                f"{_p50_99(s.minus(s.httpx, s.raw))} ; {_p50_99(s.minus(s.lsp, s.httpx))}",
            ),
            Row(
                "per-call overhead",
                f"{name}: first call apart (new connection, first use): LSP / httpx / minimal",
                " / ".join(f"{ms(s.first[k])}" for k in ("lsp", "httpx", "raw")) + " ms",
            ),
        ]
        slow = await measure(text, line, slow_samples, ttft=0.2)
        ratio = percentile(slow.ratio(slow.lsp, slow.raw), 50)
        rows.append(
            Row(
                "per-call overhead",
                f"{name}: with 200 ms to the first token, through LSP / minimal client, median "
                f"per-pair ratio ({slow_samples} pairs; p50 difference "
                f"{ms(percentile(slow.minus(slow.lsp, slow.raw), 50))} ms)",
                f"{ratio:.3f}",
                "≤ 1.02",
                ratio <= 1.02,
            )
        )
    return rows
