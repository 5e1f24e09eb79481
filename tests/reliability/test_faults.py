"""The upstream fault matrix, end to end: LSP client -> codestral-ls -> fake Mistral API.

For every fault the issue lists, the server must
- answer every completion request (with an empty result) well within a deadline,
- stay responsive to other requests while a faulty call is still running,
- tell the user once, in plain words, however often the fault repeats,
- and give completions again by itself once the API is healthy.

Deadlines are generous (10 s for a configured 1 s completion timeout): they prove "answered,
not hung", not speed.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass
from typing import Any

import pytest

from tests.fake_mistral import (
    BadJSON,
    Behaviour,
    CutStream,
    Error,
    FakeMistral,
    Hang,
    Trickle,
    closed_port_url,
)
from tests.reliability.lsp_process import LspProcess, environment

URI = "file:///project/calc.py"
TEXT = "def add(a, b):\n    \n"
ANSWER = "return a + b"
#: Short deadlines so that hanging faults resolve quickly; no debounce to keep tests short.
OPTIONS = {
    "completionTimeoutMs": 1000,
    "connectTimeoutMs": 500,
    "debounceMs": 0,
    "adaptiveDebounce": False,
    "debounceMinMs": 0,
    "debounceMaxMs": 0,
}
DEADLINE = 10.0
#: How long automatic completions may take to come back after the API recovers: a few
#: backoff steps of the kinds that resume on their own (at most ~4 s here), with margin.
RESUME_WITHIN = 20.0


def items(answer: dict[str, Any]) -> list[dict[str, Any]]:
    assert "error" not in answer, answer
    result = answer["result"]
    if result is None:
        return []
    return result["items"] if isinstance(result, dict) else result


@dataclass(frozen=True)
class Fault:
    """One row of the matrix: how to make the API fail, and how it comes back."""

    name: str
    behaviour: Behaviour | None = None  # scripted on the fake; None: a socket-level fault
    #: Whether automatic completions come back within RESUME_WITHIN (auth and not-found
    #: faults pause them for 30-60 s: they need the user; an explicit request still works).
    resumes_automatically: bool = True


SCRIPTED = [
    Fault("401", Error(401), resumes_automatically=False),
    Fault("403", Error(403), resumes_automatically=False),
    Fault("404", Error(404), resumes_automatically=False),
    Fault("422", Error(422)),
    Fault("429 Retry-After", Error(429, headers={"Retry-After": "1"})),
    Fault("500", Error(500)),
    Fault("502", Error(502)),
    Fault("503", Error(503)),
    Fault("hang", Hang()),
    Fault("cut stream", CutStream(after_tokens=2)),
    Fault("malformed JSON", BadJSON(after_tokens=1)),
    Fault("trickle", Trickle(bytes_per_second=1.0)),
]


@contextmanager
def running_server(base_url: str, **env: str) -> Iterator[LspProcess]:
    with LspProcess(environment(base_url, **env)) as server:
        server.initialize(OPTIONS)
        server.open(URI, TEXT)
        yield server
        assert server.shutdown_and_exit() == 0


def assert_fails_quietly(server: LspProcess, times: int = 2) -> None:
    """``times`` explicit requests fail: each answered empty, other requests meanwhile too."""
    for _ in range(times):
        pending = server.start_request(
            "textDocument/inlineCompletion",
            {
                "textDocument": {"uri": URI},
                "position": {"line": 1, "character": 4},
                "context": {"triggerKind": 1},
            },
        )
        # The server answers other requests while the faulty call runs.
        assert "result" in server.request("codestral/stats", {}, timeout=DEADLINE)
        assert items(server.answer(pending, timeout=DEADLINE)) == []


def assert_told_once(server: LspProcess) -> str:
    assert server.wait_for(lambda: server.messages(), timeout=DEADLINE)
    # A second message would be sent with the second failure, before that request's answer;
    # one more answer proves everything sent before it has arrived (one ordered stream).
    assert "result" in server.request("codestral/stats", {}, timeout=DEADLINE)
    messages = server.messages()
    assert len(messages) == 1, messages
    [message] = messages
    assert "Codestral" in message
    for jargon in ("Traceback", "Exception", "Error(", "httpx", "httpcore"):
        assert jargon not in message
    return message


def assert_resumes(server: LspProcess, automatic: bool) -> None:
    """Completions come back without any action from the user (or at once when asked)."""
    deadline = time.monotonic() + RESUME_WITHIN
    while True:
        got = items(server.inline(URI, 1, 4, invoked=not automatic, timeout=DEADLINE))
        if got:
            assert got[0]["insertText"] == ANSWER
            return
        assert time.monotonic() < deadline, "completions did not come back"
        time.sleep(0.25)


@pytest.fixture
def fake() -> Iterator[FakeMistral]:
    with FakeMistral() as server:
        server.fim_responder = lambda body: ANSWER
        yield server


@pytest.mark.parametrize("fault", SCRIPTED, ids=[f.name for f in SCRIPTED])
def test_scripted_fault(fake: FakeMistral, fault: Fault) -> None:
    assert fault.behaviour is not None
    with running_server(fake.base_url) as server:
        fake.script(fault.behaviour, fault.behaviour)
        if fault.name == "404":  # the server asks chat once: a missing FIM route, or no API?
            fake.script(fault.behaviour)
        assert_fails_quietly(server, times=2)
        assert_told_once(server)
        assert fake.script_left == 0
        assert_resumes(server, automatic=fault.resumes_automatically)


def test_connection_refused_then_the_api_starts() -> None:
    url = closed_port_url()
    port = int(url.rsplit(":", 1)[1].split("/")[0])
    with running_server(url) as server:
        assert_fails_quietly(server)
        assert "Cannot reach Codestral" in assert_told_once(server)
        with FakeMistral(port=port) as fake:
            fake.fim_responder = lambda body: ANSWER
            assert_resumes(server, automatic=True)


@contextmanager
def full_backlog() -> Iterator[int]:
    """A port whose connections never complete: a listener with a full accept queue.

    Linux drops SYNs to a listener whose accept queue is full, so ``connect`` neither succeeds
    nor is refused: the client's connect timeout is the only way out, deterministically and
    without leaving loopback.
    """
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    fillers = []
    for _ in range(4):  # backlog 0 still queues one; a few more make sure it is full
        filler = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        filler.setblocking(False)
        with suppress(BlockingIOError):
            filler.connect(listener.getsockname())
        fillers.append(filler)
    try:
        yield listener.getsockname()[1]
    finally:
        for sock in [*fillers, listener]:
            sock.close()


def test_connect_timeout_then_the_api_answers() -> None:
    with ExitStack() as stack:
        blocked = ExitStack()
        port = blocked.enter_context(full_backlog())
        server = stack.enter_context(running_server(f"http://127.0.0.1:{port}/v1"))
        assert_fails_quietly(server)
        assert "timed out connecting" in assert_told_once(server)
        blocked.close()  # the listener goes away; the API comes up on the same port
        fake = stack.enter_context(FakeMistral(port=port))
        fake.fim_responder = lambda body: ANSWER
        assert_resumes(server, automatic=True)


def test_short_outage_costs_no_more_calls_than_the_backoff_allows(fake: FakeMistral) -> None:
    """Typing through a 5 s outage (a request every 100 ms): the breaker lets few through.

    With jitter at its minimum, the pauses after 503s are 0.5, 1, 2, 4 s: in 5 s at most
    5 calls can go out (one per pause, plus the first). Explicit requests are not counted
    here: automatic ones (typing) are what the breaker paces.
    """
    with running_server(fake.base_url) as server:
        fake.script(*[Error(503)] * 200)
        started = time.monotonic()
        sent = 0
        while time.monotonic() - started < 5.0 or sent < 10:  # at least 10, however slow
            assert items(server.inline(URI, 1, 4, invoked=False)) == []
            sent += 1
            time.sleep(0.1)
        elapsed = time.monotonic() - started
        calls = len(fake.fim_requests)
        # The earliest a call can go out: at 0, then after each pause (0.5, 1, 2, 4, 8 s).
        earliest = (0.0, 0.5, 1.5, 3.5, 7.5, 15.5, 31.5)
        allowed = sum(1 for start in earliest if start <= elapsed)
        assert 1 <= calls <= allowed, (calls, f"{elapsed:.1f} s")
        assert len(server.messages()) == 1
        fake.reset()
        fake.fim_responder = lambda body: ANSWER
        assert_resumes(server, automatic=True)
