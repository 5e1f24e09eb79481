"""Tests of the fake Mistral server itself, through plain httpx over real TCP.

The rest of the suite trusts the fake to speak the documented wire format and to inject
faults precisely; these tests pin both down so a failure elsewhere points at the client.
"""

from __future__ import annotations

import asyncio
import json
import select
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.fake_mistral import (
    CHAT_PATH,
    FIM_PATH,
    FIXTURES_DIR,
    BadJSON,
    CutStream,
    Delay,
    Error,
    FakeMistral,
    Hang,
    Reply,
    Trickle,
    closed_port_url,
    shape_answer,
    tokenize,
    validate_body,
)

REPO = Path(__file__).resolve().parents[1]
AUTH = {"Authorization": "Bearer test-key"}
FIM = {"model": "codestral-latest", "prompt": "def add(a, b):\n    "}
CHAT = {"model": "codestral-latest", "messages": [{"role": "user", "content": "Add two numbers"}]}


@pytest.fixture
def fake() -> Iterator[FakeMistral]:
    with FakeMistral() as server:
        yield server
        assert server.server_errors == []


@pytest.fixture
def client(fake: FakeMistral) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=fake.base_url, headers=AUTH, timeout=5.0) as http:
        yield http


def fixture_json(name: str) -> Any:
    return json.loads((FIXTURES_DIR / name).read_text(encoding="utf-8"))


def sse_events(lines: list[str]) -> list[str]:
    """Check the exact ``data: <x>`` / blank-line framing and return the payloads."""
    assert len(lines) % 2 == 0, lines
    for data_line, separator in zip(lines[::2], lines[1::2], strict=True):
        assert data_line.startswith("data: "), data_line
        assert separator == "", separator
    return [line[len("data: ") :] for line in lines[::2]]


def stream_lines(
    client: httpx.Client, body: dict[str, Any], path: str = "/fim/completions"
) -> tuple[httpx.Response, list[str]]:
    with client.stream("POST", path, json={**body, "stream": True}) as response:
        return response, list(response.iter_lines())


def shape(obj: Any) -> Any:
    """Key structure of a JSON value (types of leaves), to compare with recorded fixtures."""
    if isinstance(obj, dict):
        return {key: shape(value) for key, value in obj.items()}
    if isinstance(obj, list):
        return [shape(value) for value in obj]
    return type(obj).__name__


# --------------------------------------------------------------------------- tokens & cuts


@given(st.text())
def test_tokenize_is_lossless(text: str) -> None:
    assert "".join(tokenize(text)) == text


def test_tokenize_pieces() -> None:
    assert tokenize("return a+b\n    x") == ["return", " ", "a", "+", "b", "\n    ", "x"]


@given(
    st.text(max_size=40),
    st.lists(st.text(min_size=1, max_size=3), max_size=3),
    st.none() | st.integers(min_value=0, max_value=20),
)
def test_shape_answer_cuts(text: str, stops: list[str], max_tokens: int | None) -> None:
    answer = shape_answer(text, {"stop": stops, "max_tokens": max_tokens})
    assert text.startswith(answer.text)
    assert not any(stop in answer.text for stop in stops)
    if max_tokens is not None:
        assert len(answer.tokens) <= max_tokens


def test_shape_answer_finish_reasons() -> None:
    assert shape_answer("return a + b", {"max_tokens": 3}).finish_reason == "length"
    assert shape_answer("return a + b", {"max_tokens": 7}).finish_reason == "stop"
    cut = shape_answer("return a + b", {"stop": ["+", "a"], "max_tokens": 50})
    assert (cut.text, cut.finish_reason) == ("return ", "stop")
    assert shape_answer("abc", {}, finish_reason="length").finish_reason == "length"


@given(st.dictionaries(st.text(min_size=1, max_size=8), st.integers(), max_size=4))
def test_every_unknown_field_is_reported(extra: dict[str, int]) -> None:
    body = {**FIM, **extra}
    reported = {
        d["loc"][1] for d in validate_body(FIM_PATH, body, b"x") if d["type"] == "extra_forbidden"
    }
    assert reported == set(body) - {
        "model",
        "prompt",
        "suffix",
        "temperature",
        "top_p",
        "max_tokens",
        "min_tokens",
        "stream",
        "stop",
        "random_seed",
        "metadata",
        "prompt_cache_key",
    }


# --------------------------------------------------------------------------- plain answers


def test_fim_answer_shape(fake: FakeMistral, client: httpx.Client) -> None:
    fake.fim_responder = lambda body: "return a + b"
    response = client.post("/fim/completions", json=FIM)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    data = response.json()
    assert data["object"] == "chat.completion"
    assert data["model"] == "codestral-latest"
    assert isinstance(data["created"], int) and data["id"]
    assert data["choices"] == [
        {
            "index": 0,
            "finish_reason": "stop",
            "message": {"role": "assistant", "content": "return a + b", "tool_calls": None},
        }
    ]
    assert data["usage"] == {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18}
    assert shape(data) == shape(fixture_json("fim_completion.json"))


def test_chat_answer_shape(fake: FakeMistral, client: httpx.Client) -> None:
    fake.chat_responder = lambda body: body["messages"][-1]["content"].upper()
    data = client.post("/chat/completions", json=CHAT).json()
    assert data["choices"][0]["message"]["content"] == "ADD TWO NUMBERS"
    assert shape(data) == shape(fixture_json("chat_completion.json"))


def test_default_responders(client: httpx.Client) -> None:
    def fim(prompt: str) -> str:
        body = {**FIM, "prompt": prompt}
        return client.post("/fim/completions", json=body).json()["choices"][0]["message"]["content"]

    assert fim("def add(a, b):\n    ") == "return a + b"
    assert fim("x = 1\ndef is_odd(n):") == "return n % 2 == 1"
    assert fim("something unknown") == "pass"
    chat = client.post("/chat/completions", json=CHAT).json()
    recorded = fixture_json("chat_completion.json")
    assert chat["choices"][0]["message"]["content"] == recorded["choices"][0]["message"]["content"]


def test_all_documented_fields_are_accepted(client: httpx.Client) -> None:
    fim = {
        **FIM,
        "suffix": "\n",
        "temperature": 0.2,
        "top_p": 1,
        "max_tokens": 64,
        "min_tokens": 0,
        "stream": False,
        "stop": ["\n\n"],
        "random_seed": 7,
        "metadata": {"k": "v"},
        "prompt_cache_key": "doc-1",
    }
    assert client.post("/fim/completions", json=fim).status_code == 200
    chat = {
        **CHAT,
        "temperature": 0.1,
        "top_p": 0.9,
        "max_tokens": 10,
        "stream": False,
        "stop": "x",
        "random_seed": 1,
        "metadata": {},
        "response_format": {"type": "text"},
        "tools": [],
        "tool_choice": "auto",
        "presence_penalty": 0,
        "frequency_penalty": 0,
        "n": 1,
        "prediction": {"type": "content", "content": ""},
        "parallel_tool_calls": True,
        "safe_prompt": False,
        "prompt_mode": "reasoning",
    }
    assert client.post("/chat/completions", json=chat).status_code == 200
    nulls = {**FIM, "suffix": None, "max_tokens": None, "stop": None}
    assert client.post("/fim/completions", json=nulls).status_code == 200


def test_max_tokens_and_stop(fake: FakeMistral, client: httpx.Client) -> None:
    fake.fim_responder = lambda body: "return a + b"

    def answer(**extra: Any) -> tuple[str, str, int]:
        data = client.post("/fim/completions", json={**FIM, **extra}).json()
        choice = data["choices"][0]
        return (
            choice["message"]["content"],
            choice["finish_reason"],
            data["usage"]["completion_tokens"],
        )

    assert answer(max_tokens=3) == ("return a", "length", 3)
    assert answer(stop="+") == ("return a ", "stop", 4)
    assert answer(stop=["b", " a"]) == ("return", "stop", 1)
    assert answer(stop="zzz", max_tokens=100) == ("return a + b", "stop", 7)


def test_models(client: httpx.Client) -> None:
    listing = client.get("/models").json()
    assert "codestral-latest" in [model["id"] for model in listing["data"]]
    assert client.get("/models/codestral-latest").json()["id"] == "codestral-latest"
    assert client.get("/models/nope").status_code == 404


def test_unknown_path_and_wrong_method(client: httpx.Client) -> None:
    missing = client.get("/nothing")
    assert (missing.status_code, missing.json()) == (404, {"detail": "Not Found"})
    wrong = client.get("/fim/completions")
    assert wrong.status_code == 405 and wrong.headers["allow"] == "POST"


def test_chunked_request_body_is_read(fake: FakeMistral, client: httpx.Client) -> None:
    pieces = [b'{"model": "codestral-latest", ', b'"prompt": "def add(a, b):\\n    "}']
    response = client.post(
        "/fim/completions", content=iter(pieces), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 200
    assert fake.fim_requests[0].body == FIM


# --------------------------------------------------------------------------- auth & 422


def test_missing_or_wrong_key_is_401(fake: FakeMistral) -> None:
    with httpx.Client(base_url=fake.base_url) as http:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "test-key"}):
            for response in (
                http.post("/fim/completions", json=FIM, headers=headers),
                http.post("/chat/completions", json=CHAT, headers=headers),
                http.get("/models", headers=headers),
            ):
                assert response.status_code == 401
                assert response.json() == {"detail": "Unauthorized"}


def test_auth_can_be_disabled() -> None:
    with FakeMistral(api_key=None) as fake:
        assert httpx.post(fake.base_url + "/fim/completions", json=FIM).status_code == 200


def test_extra_field_is_422(client: httpx.Client) -> None:
    response = client.post("/fim/completions", json={**FIM, "n": 2})
    assert response.status_code == 422
    assert (
        response.json()
        == fixture_json("error_422.json")
        == {
            "detail": [
                {
                    "type": "extra_forbidden",
                    "loc": ["body", "n"],
                    "msg": "Extra inputs are not permitted",
                    "input": 2,
                }
            ]
        }
    )
    chat = client.post("/chat/completions", json={**CHAT, "suffix": "x"})
    assert chat.status_code == 422
    assert chat.json()["detail"][0]["loc"] == ["body", "suffix"]


def test_missing_fields_are_422(client: httpx.Client) -> None:
    fim = client.post("/fim/completions", json={"model": "codestral-latest"})
    assert fim.status_code == 422
    assert [(d["type"], d["loc"]) for d in fim.json()["detail"]] == [
        ("missing", ["body", "prompt"])
    ]
    chat = client.post("/chat/completions", json={"model": "codestral-latest"})
    assert [(d["type"], d["loc"]) for d in chat.json()["detail"]] == [
        ("missing", ["body", "messages"])
    ]


def test_bad_bodies_are_422(client: httpx.Client) -> None:
    def detail(content: bytes) -> list[dict[str, Any]]:
        response = client.post("/fim/completions", content=content)
        assert response.status_code == 422
        return response.json()["detail"]

    assert detail(b"{oops")[0]["type"] == "json_invalid"
    assert detail(b"")[0]["type"] == "missing"
    assert detail(b"[1]")[0]["type"] == "model_attributes_type"
    typed = client.post("/fim/completions", json={**FIM, "stop": {"x": 1}, "stream": "yes"})
    assert {(d["loc"][1], d["type"]) for d in typed.json()["detail"]} == {
        ("stop", "string_type"),
        ("stream", "bool_type"),
    }


# --------------------------------------------------------------------------- streaming


def test_stream_format_line_by_line(fake: FakeMistral, client: httpx.Client) -> None:
    fake.fim_responder = lambda body: "return a + b"
    response, lines = stream_lines(client, FIM)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/event-stream"
    assert response.headers["transfer-encoding"] == "chunked"
    events = sse_events(lines)
    assert events[-1] == "[DONE]"
    chunks = [json.loads(event) for event in events[:-1]]
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert {c["id"] for c in chunks} == {chunks[0]["id"]}
    assert all(
        c["object"] == "chat.completion.chunk" and c["model"] == "codestral-latest" for c in chunks
    )
    contents = [c["choices"][0]["delta"]["content"] for c in chunks[1:]]
    assert contents == ["return", " ", "a", " ", "+", " ", "b"]
    assert [c["choices"][0]["finish_reason"] for c in chunks] == [None] * 7 + ["stop"]
    assert "usage" not in chunks[-2]
    assert chunks[-1]["usage"] == {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18}
    assert (fake.tokens_sent, fake.completed_streams, fake.aborted_streams) == (7, 1, 0)


def test_stream_matches_recorded_fixture(client: httpx.Client) -> None:
    _, lines = stream_lines(client, FIM)
    recorded = (FIXTURES_DIR / "fim_stream.sse").read_text(encoding="utf-8").split("\n")
    ours, theirs = sse_events(lines), sse_events(recorded[:-1])
    assert ours[-1] == theirs[-1] == "[DONE]"
    for mine, recorded_event in zip(ours[:-1], theirs[:-1], strict=True):
        assert shape(json.loads(mine)) == shape(json.loads(recorded_event))


def test_stream_max_tokens_and_empty_answer(fake: FakeMistral, client: httpx.Client) -> None:
    fake.script(Reply("return a + b"), Reply(""))
    chunks = [
        json.loads(e) for e in sse_events(stream_lines(client, {**FIM, "max_tokens": 2})[1])[:-1]
    ]
    assert "".join(c["choices"][0]["delta"]["content"] for c in chunks) == "return "
    assert chunks[-1]["choices"][0]["finish_reason"] == "length"
    empty = [json.loads(e) for e in sse_events(stream_lines(client, FIM)[1])[:-1]]
    assert len(empty) == 2 and empty[-1]["choices"][0]["delta"] == {"content": ""}
    assert empty[-1]["usage"]["completion_tokens"] == 0


def test_stream_events_arrive_as_written(fake: FakeMistral, client: httpx.Client) -> None:
    fake.token_delay = 0.05
    fake.fim_responder = lambda body: "a b c d e f"
    arrivals = []
    with client.stream("POST", "/fim/completions", json={**FIM, "stream": True}) as response:
        for line in response.iter_lines():
            if line:
                arrivals.append(time.monotonic())
    assert len(arrivals) == 13
    assert arrivals[-1] - arrivals[1] > 0.4  # 11 token delays between first and last token


def test_early_client_close_is_aborted(fake: FakeMistral, client: httpx.Client) -> None:
    fake.token_delay = 0.01
    fake.fim_responder = lambda body: "x " * 50
    with client.stream("POST", "/fim/completions", json={**FIM, "stream": True}) as response:
        events: list[str] = []
        for line in response.iter_lines():
            events.extend([line] if line else [])
            if len(events) == 4:
                break
    assert fake.wait_for(lambda f: f.aborted_streams == 1, timeout=60)
    assert fake.tokens_sent < 100 and fake.completed_streams == 0
    assert fake.abandoned_requests == 1
    assert fake.wait_for(lambda f: f.open_connections == 0, timeout=60)


def test_chat_streams_too(fake: FakeMistral, client: httpx.Client) -> None:
    fake.chat_responder = lambda body: "hi there"
    _, lines = stream_lines(client, CHAT, path="/chat/completions")
    chunks = [json.loads(e) for e in sse_events(lines)[:-1]]
    assert "".join(c["choices"][0]["delta"]["content"] for c in chunks) == "hi there"


# --------------------------------------------------------------------------- connections


def test_keep_alive_reuses_one_connection(fake: FakeMistral, client: httpx.Client) -> None:
    assert client.post("/fim/completions", json=FIM).status_code == 200
    stream_lines(client, FIM)
    assert client.post("/chat/completions", json=CHAT).status_code == 200
    assert client.get("/models").status_code == 200
    assert client.post("/fim/completions", json={**FIM, "n": 1}).status_code == 422
    assert client.post("/fim/completions", json=FIM).status_code == 200
    assert fake.connections_accepted == 1
    assert fake.open_connections == 1
    client.close()
    assert fake.wait_for(lambda f: f.open_connections == 0, timeout=60)


def test_async_client_keep_alive_and_concurrency(fake: FakeMistral) -> None:
    fake.latency = 0.1

    async def run() -> list[int]:
        async with httpx.AsyncClient(base_url=fake.base_url, headers=AUTH) as http:
            first = await http.post("/fim/completions", json=FIM)
            async with http.stream(
                "POST", "/fim/completions", json={**FIM, "stream": True}
            ) as response:
                lines = [line async for line in response.aiter_lines()]
            assert sse_events(lines)[-1] == "[DONE]"
            assert fake.connections_accepted == 1
            many = await asyncio.gather(
                *(http.post("/fim/completions", json=FIM) for _ in range(8))
            )
            return [first.status_code] + [r.status_code for r in many]

    started = time.monotonic()
    assert asyncio.run(run()) == [200] * 9
    assert time.monotonic() - started < 0.8  # the 8 concurrent ones overlapped
    assert fake.max_in_flight >= 2


def test_a_responder_that_raises_fails_the_test_that_used_it() -> None:
    def buggy(body: dict[str, Any]) -> str:
        return body["no such field"]

    with pytest.raises(AssertionError, match="KeyError"), FakeMistral() as fake:
        fake.fim_responder = buggy
        response = httpx.post(fake.base_url + "/fim/completions", json=FIM, headers=AUTH)
        assert response.status_code == 500  # all the client sees: the test body passes


def test_connection_refused() -> None:
    with pytest.raises(httpx.ConnectError):
        httpx.post(closed_port_url() + "/fim/completions", json=FIM, timeout=2.0)


def test_stop_is_quick_with_hung_and_idle_connections() -> None:
    fake = FakeMistral()
    idle = httpx.Client(base_url=fake.base_url, headers=AUTH)
    idle.get("/models")
    fake.script(Hang())
    outcome: list[type[BaseException]] = []

    def hung_request() -> None:
        try:
            httpx.post(fake.base_url + "/fim/completions", json=FIM, headers=AUTH, timeout=10)
        except httpx.HTTPError as exc:
            outcome.append(type(exc))

    thread = threading.Thread(target=hung_request)
    thread.start()
    assert fake.wait_for(lambda f: f.in_flight == 1, timeout=60)
    started = time.monotonic()
    fake.stop()
    assert time.monotonic() - started < 1.0
    thread.join(timeout=2.0)
    assert outcome == [httpx.RemoteProtocolError]
    assert fake.open_connections == 0
    idle.close()
    fake.stop()  # idempotent


def test_disconnects_leave_stderr_clean(
    fake: FakeMistral, client: httpx.Client, capfd: pytest.CaptureFixture[str]
) -> None:
    fake.fim_responder = lambda body: "y " * 200
    fake.script(CutStream(2), CutStream(2, reset=True), Hang())
    for _ in range(2):
        with pytest.raises(httpx.TransportError):
            stream_lines(client, FIM)
    with pytest.raises(httpx.ReadTimeout):
        client.post("/fim/completions", json=FIM, timeout=0.2)
    # Slow enough that the stream cannot end before the client leaves (at full speed all 200
    # tokens could be in the socket buffers by then, and the stream would count as complete).
    fake.token_delay = 0.005
    with client.stream("POST", "/fim/completions", json={**FIM, "stream": True}) as response:
        next(response.iter_raw())
    assert fake.wait_for(lambda f: f.aborted_streams == 1 and f.open_connections == 0, 60)
    assert client.post("/fim/completions", json=FIM).status_code == 200
    assert capfd.readouterr().err == ""


# --------------------------------------------------------------------------- behaviours


def test_script_is_fifo_then_falls_back(fake: FakeMistral, client: httpx.Client) -> None:
    fake.fim_responder = lambda body: "fallback"
    fake.script(Error(429, headers={"Retry-After": "2"}), Reply("x"))
    limited = client.post("/fim/completions", json=FIM)
    assert limited.status_code == 429
    assert limited.headers["retry-after"] == "2"
    assert limited.json() == {
        "object": "error",
        "message": "Requests rate limit exceeded",
        "type": "rate_limited",
        "param": None,
        "code": "1300",
    }
    assert fake.script_left == 1
    assert (
        client.post("/chat/completions", json=CHAT).json()["choices"][0]["message"]["content"]
        == "x"
    )
    assert client.get("/models").status_code == 200  # does not consume the script
    assert (
        client.post("/fim/completions", json=FIM).json()["choices"][0]["message"]["content"]
        == "fallback"
    )


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422, 429, 500, 503])
def test_error_bodies_come_from_fixtures(
    status: int, fake: FakeMistral, client: httpx.Client
) -> None:
    fake.script(Error(status))
    response = client.post("/fim/completions", json=FIM)
    assert response.status_code == status
    assert response.json() == fixture_json(f"error_{status}.json")


def test_error_variants(fake: FakeMistral, client: httpx.Client) -> None:
    fake.script(
        Error(502),
        Error(500, body={"message": "boom"}),
        Error(503, body="busy"),
        Error(401, headers={"Content-Type": "text/plain"}),
    )
    proxy = client.post("/fim/completions", json=FIM)
    assert proxy.status_code == 502 and proxy.headers["content-type"] == "text/html"
    assert "502 Bad Gateway" in proxy.text
    assert client.post("/fim/completions", json=FIM).json() == {"message": "boom"}
    assert client.post("/fim/completions", json=FIM).text == "busy"
    assert client.post("/fim/completions", json=FIM).headers["content-type"] == "text/plain"
    # An error for a stream request is a plain JSON error, not an event stream.
    fake.script(Error(429))
    response, _ = stream_lines(client, FIM)
    assert response.status_code == 429
    assert response.headers["content-type"] == "application/json"


def test_reply_status_and_finish_reason(fake: FakeMistral, client: httpx.Client) -> None:
    fake.script(Reply("abc", finish_reason="model_length", status=201))
    response = client.post("/fim/completions", json=FIM)
    assert response.status_code == 201
    assert response.json()["choices"][0]["finish_reason"] == "model_length"


def test_hang_times_out_and_is_noticed(fake: FakeMistral, client: httpx.Client) -> None:
    fake.script(Hang())
    with pytest.raises(httpx.ReadTimeout):
        client.post("/fim/completions", json=FIM, timeout=0.3)
    assert fake.wait_for(lambda f: f.abandoned_requests == 1 and f.in_flight == 0, 60)
    assert len(fake.fim_requests) == 1  # it was read and recorded


def test_hang_does_not_block_other_connections(fake: FakeMistral) -> None:
    fake.script(Hang())
    outcome: list[type[BaseException]] = []

    def hung_request(http: httpx.Client) -> None:
        try:
            http.post("/fim/completions", json=FIM, timeout=1.0)
        except httpx.HTTPError as exc:
            outcome.append(type(exc))

    with (
        httpx.Client(base_url=fake.base_url, headers=AUTH) as hung,
        httpx.Client(base_url=fake.base_url, headers=AUTH) as other,
    ):
        thread = threading.Thread(target=hung_request, args=(hung,))
        thread.start()
        assert fake.wait_for(lambda f: f.in_flight == 1, 60)
        started = time.monotonic()
        assert other.post("/fim/completions", json=FIM).status_code == 200
        assert time.monotonic() - started < 0.5
        thread.join()
    assert outcome == [httpx.ReadTimeout]


def test_cut_stream_fin(fake: FakeMistral, client: httpx.Client) -> None:
    fake.fim_responder = lambda body: "return a + b"
    fake.script(CutStream(after_tokens=3))
    received: list[str] = []
    with (
        pytest.raises(httpx.RemoteProtocolError),
        client.stream("POST", "/fim/completions", json={**FIM, "stream": True}) as response,
    ):
        received.extend(response.iter_lines())
    events = sse_events(received)
    assert "[DONE]" not in events
    assert [json.loads(e)["choices"][0]["delta"]["content"] for e in events[1:]] == [
        "return",
        " ",
        "a",
    ]
    assert (fake.tokens_sent, fake.cut_streams, fake.completed_streams) == (3, 1, 0)
    assert fake.aborted_streams == 0


def test_cut_stream_reset_and_non_stream(fake: FakeMistral, client: httpx.Client) -> None:
    fake.script(CutStream(after_tokens=1, reset=True), CutStream())
    with pytest.raises(httpx.ReadError):
        stream_lines(client, FIM)
    with pytest.raises(httpx.RemoteProtocolError):
        client.post("/fim/completions", json=FIM)
    assert fake.cut_streams == 2
    assert client.post("/fim/completions", json=FIM).status_code == 200


def test_cut_stream_after_all_tokens_still_lacks_done(
    fake: FakeMistral, client: httpx.Client
) -> None:
    fake.script(CutStream(after_tokens=100))
    received: list[str] = []
    with (
        pytest.raises(httpx.RemoteProtocolError),
        client.stream("POST", "/fim/completions", json={**FIM, "stream": True}) as response,
    ):
        received.extend(response.iter_lines())
    events = sse_events(received)
    assert json.loads(events[-1])["choices"][0]["finish_reason"] == "stop"
    assert "[DONE]" not in events


def test_bad_json(fake: FakeMistral, client: httpx.Client) -> None:
    fake.script(BadJSON(), BadJSON(after_tokens=2))
    response = client.post("/fim/completions", json=FIM)
    assert response.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        response.json()
    events = sse_events(stream_lines(client, FIM)[1])
    assert events[-2:] == ["{not json", "[DONE]"]
    assert len(events) == 5  # role chunk, two tokens, garbage, DONE
    assert fake.tokens_sent == 2


def test_trickle_sends_one_byte_at_a_time(fake: FakeMistral, client: httpx.Client) -> None:
    fake.script(Trickle(bytes_per_second=1000.0))
    started = time.monotonic()
    with client.stream("POST", "/fim/completions", json=FIM) as response:
        pieces = list(response.iter_raw())
    body = b"".join(pieces)
    assert json.loads(body)["choices"][0]["message"]["content"] == "return a + b"
    assert time.monotonic() - started >= 0.8 * len(body) / 1000.0
    assert len(pieces) > 20


def test_trickle_stops_when_client_leaves(fake: FakeMistral, client: httpx.Client) -> None:
    fake.script(Trickle(bytes_per_second=20.0))
    with client.stream("POST", "/fim/completions", json={**FIM, "stream": True}) as response:
        assert response.headers["content-type"] == "text/event-stream"
        next(response.iter_raw())
    assert fake.wait_for(lambda f: f.aborted_streams == 1 and f.open_connections == 0, 60)


def test_delay_and_latency(fake: FakeMistral, client: httpx.Client) -> None:
    fake.script(Delay(0.3), Delay(0.05, then=Error(503)))
    started = time.monotonic()
    assert client.post("/fim/completions", json=FIM).status_code == 200
    assert time.monotonic() - started >= 0.3
    assert client.post("/fim/completions", json=FIM).status_code == 503
    fake.latency = 0.2
    for call in (lambda: client.get("/models"), lambda: client.post("/fim/completions", json=FIM)):
        started = time.monotonic()
        assert call().status_code == 200
        assert time.monotonic() - started >= 0.2


def test_responder_exception_is_500_and_kept(fake: FakeMistral, client: httpx.Client) -> None:
    def broken(body: dict[str, Any]) -> str:
        raise RuntimeError("responder bug")

    fake.fim_responder = broken
    response = client.post("/fim/completions", json=FIM)
    assert response.status_code == 500
    assert response.json()["type"] == "internal_server_error"
    assert len(fake.server_errors) == 1 and "responder bug" in fake.server_errors[0]
    fake.reset()


# --------------------------------------------------------------------------- records


def test_requests_are_recorded(fake: FakeMistral, client: httpx.Client) -> None:
    before = time.monotonic()
    client.post("/fim/completions", json=FIM, headers={"X-Trace": "1"})
    client.post("/chat/completions", json=CHAT)
    client.get("/models?x=1")
    assert fake.wait_for_requests(3, timeout=60)
    assert not fake.wait_for_requests(4, timeout=0.05)
    fim, chat, models = fake.requests
    assert (fim.method, fim.path, fim.body) == ("POST", "/v1/fim/completions", FIM)
    assert json.loads(fim.raw) == FIM and fim.raw_body == fim.raw
    assert fim.headers["authorization"] == "Bearer test-key"
    assert fim.headers["x-trace"] == "1"
    assert before <= fim.received_at <= chat.received_at <= time.monotonic()
    assert (models.method, models.path, models.body, models.raw) == (
        "GET",
        "/v1/models?x=1",
        None,
        b"",
    )
    assert fake.fim_requests == [fim] and fake.chat_requests == [chat]
    assert fake.wait_for_requests(1, path=CHAT_PATH, timeout=60)


def test_reset_keeps_responders(fake: FakeMistral, client: httpx.Client) -> None:
    fake.fim_responder = lambda body: "kept"
    stream_lines(client, FIM)
    fake.script(Error(500))
    fake.reset()
    assert (fake.requests, fake.script_left, fake.tokens_sent, fake.completed_streams) == (
        [],
        0,
        0,
        0,
    )
    assert (
        client.post("/fim/completions", json=FIM).json()["choices"][0]["message"]["content"]
        == "kept"
    )


# --------------------------------------------------------------------------- CLI


def test_cli_prints_url_and_serves() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.fake_mistral", "--port", "0", "--answer", "return a + b"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        ready, _, _ = select.select([process.stdout], [], [], 10.0)
        assert ready, "the CLI printed no URL"
        base_url = process.stdout.readline().strip()
        assert base_url.startswith("http://127.0.0.1:") and base_url.endswith("/v1")
        response = httpx.post(base_url + "/fim/completions", json=FIM, headers=AUTH)
        assert response.json()["choices"][0]["message"]["content"] == "return a + b"
    finally:
        process.terminate()
        assert process.wait(timeout=5.0) == 0
