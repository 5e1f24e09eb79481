"""A fake Mistral/Codestral API server for tests and benchmarks.

Why a real server: the language server's HTTP client (pooling, keep-alive, timeouts, streaming,
cancellation by closing the socket) is exactly what we need to test, so the fake speaks
HTTP/1.1 over TCP on 127.0.0.1 instead of mocking httpx.

It implements the documented wire format of ``POST /v1/fim/completions``,
``POST /v1/chat/completions`` and ``GET /v1/models`` (schemas that forbid unknown fields,
Bearer auth, SSE streams ending in ``data: [DONE]``) and lets tests script one-shot faults
(errors, hangs, cut streams, bad JSON, trickling bytes, delays) while recording what the
client sent and how much of each stream it actually received.

Usage::

    with FakeMistral() as fake:
        fake.fim_responder = lambda body: "return a + b"
        fake.script(Error(429, headers={"Retry-After": "2"}), Reply("x"))
        ...  # point the client at fake.base_url with api key "test-key"

Order of events for a FIM/chat request: it is read and recorded, the next scripted behaviour
(if any) is taken, ``latency`` passes, then ``Delay``/``Hang``/``Error`` act *before* the auth and
schema checks (as a gateway or overloaded upstream would); ``Reply``/``CutStream``/``BadJSON``/
``Trickle`` go through the checks first (a bad key is still a 401) and only shape a 200 answer.
Counters that depend on noticing a disconnect (``aborted_streams``, ``abandoned_requests``,
``open_connections``, ``in_flight``) settle asynchronously: assert them via ``wait_for``.

CLI (for editor tests in other processes)::

    python -m tests.fake_mistral --port 0 --answer "return a + b"

prints the base URL on its first stdout line and serves until killed.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import json
import re
import select
import signal
import socket
import struct
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

FIXTURES_DIR = Path(__file__).resolve().parents[1] / "fixtures" / "api"
FIM_PATH = "/v1/fim/completions"
CHAT_PATH = "/v1/chat/completions"
MODELS_PATH = "/v1/models"
DEFAULT_MODEL = "codestral-latest"

Responder = Callable[[dict[str, Any]], str]

# Runs of whitespace, words, or single punctuation characters: deterministic and lossless
# (joining the pieces gives the text back), which is all the tests need from "tokens".
_TOKEN_RE = re.compile(r"\s+|\w+|[^\w\s]")
# How often blocking waits look at the client socket and the stop flag.
_POLL_STEP = 0.05
_BAD_JSON_BODY = b'{"id": "cmpl-bad", "object": "chat.completion", "choices": [{not json'
_BAD_JSON_EVENT = b"data: {not json\n\n"
_DONE_EVENT = b"data: [DONE]\n\n"


def tokenize(text: str) -> list[str]:
    """Split ``text`` into the fake's "tokens"; ``"".join(tokenize(t)) == t`` always holds."""
    return _TOKEN_RE.findall(text)


# --------------------------------------------------------------------------- behaviours


@dataclass(frozen=True)
class Reply:
    """Answer with ``text`` (still cut by the request's ``stop`` / ``max_tokens``).

    ``finish_reason`` is reported when neither cut applies; ``status`` lets a test send a
    well-formed completion with an unusual status code.
    """

    text: str
    finish_reason: str = "stop"
    status: int = 200


@dataclass(frozen=True)
class Error:
    """Answer with an HTTP error before any request checks (like a gateway would).

    ``body=None`` uses the recorded template ``fixtures/api/error_<status>.*``; a dict/list is
    sent as JSON, a str as text/plain, bytes as-is. ``headers`` (e.g. ``Retry-After``) are
    added and override the defaults.
    """

    status: int
    body: Any = None
    headers: dict[str, str] | None = None


@dataclass(frozen=True)
class Hang:
    """Read the request and never answer, until the client leaves or the fake stops."""


@dataclass(frozen=True)
class CutStream:
    """Start the answer normally, then drop the connection after ``after_tokens`` tokens.

    Streams never get ``[DONE]``; a non-stream answer is cut halfway through its body.
    ``reset=True`` sends a TCP RST (client sees a reset) instead of a FIN (client sees an
    incomplete body).
    """

    after_tokens: int = 3
    reset: bool = False


@dataclass(frozen=True)
class BadJSON:
    """200 with a body that is not JSON, or a stream with a ``data: {not json`` event.

    In a stream the bad event follows ``after_tokens`` good token chunks and is followed by
    ``data: [DONE]``, so clients must cope with garbage in an otherwise complete stream.
    """

    after_tokens: int = 0


@dataclass(frozen=True)
class Trickle:
    """Send the status line and headers at once, then the body one byte at a time.

    Models a slow-loris upstream: every read returns data, so only an overall deadline on the
    client side catches it. Stops when the client goes away.
    """

    bytes_per_second: float = 1.0


@dataclass(frozen=True)
class Delay:
    """Wait ``seconds`` (on top of ``latency``), then behave as ``then`` (default: reply)."""

    seconds: float
    then: Behaviour | None = None


@dataclass(frozen=True)
class Raw:
    """Answer with exactly these bytes, before any request checks: a hostile endpoint.

    ``body`` is sent with a Content-Length; ``chunks`` (a function returning an iterable of
    byte strings, so one behaviour can be replayed) is sent chunked, piece by piece, until
    the client leaves. ``headers`` go out as given (``Content-Encoding: gzip`` over a bomb).
    """

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    chunks: Callable[[], Iterable[bytes]] | None = None


Behaviour = Reply | Error | Hang | CutStream | BadJSON | Trickle | Delay | Raw


@dataclass(frozen=True)
class RecordedRequest:
    """One HTTP request as the fake received it (headers with lower-case names)."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any
    raw: bytes
    received_at: float = field(default_factory=time.monotonic)

    @property
    def raw_body(self) -> bytes:
        """Alias of ``raw`` for readers who expect the longer name."""
        return self.raw


# --------------------------------------------------------------------------- fixtures


def load_fixture(name: str) -> Any:
    """Parse ``fixtures/api/<name>`` as JSON."""
    return json.loads((FIXTURES_DIR / name).read_text(encoding="utf-8"))


@cache
def fim_answers() -> dict[str, str]:
    """Cursor-line → answer table of the default FIM responder (empty if the file is gone)."""
    try:
        return dict(load_fixture("fim_answers.json"))
    except FileNotFoundError:
        return {}


@cache
def models_payload() -> dict[str, Any]:
    """The ``GET /v1/models`` answer, from the recorded fixture."""
    return load_fixture("models.json")


@cache
def error_template(status: int) -> tuple[bytes, str]:
    """Body and content type of a recorded error for ``status``.

    Falls back to FastAPI's ``{"detail": "<reason phrase>"}`` for statuses without a file.
    """
    for suffix, content_type in (
        (".json", "application/json"),
        (".html", "text/html"),
        (".txt", "text/plain; charset=utf-8"),
    ):
        path = FIXTURES_DIR / f"error_{status}{suffix}"
        if path.exists():
            return path.read_bytes(), content_type
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    return _json_bytes({"detail": phrase}), "application/json"


def _cursor_line_key(prompt: str) -> str:
    """The stripped text of the cursor line, or of the last non-blank line when it is empty.

    So ``"def add(a, b):\\n    "`` (cursor on an indented empty line) keys on the ``def``.
    """
    lines = prompt.split("\n")
    for line in reversed(lines):
        if line.strip():
            return line.strip()
    return ""


def default_fim_responder(body: dict[str, Any]) -> str:
    """Look the prompt's cursor line up in ``fim_answers.json``; answer ``"pass"`` otherwise."""
    prompt = body.get("prompt")
    key = _cursor_line_key(prompt if isinstance(prompt, str) else "")
    return fim_answers().get(key, "pass")


def default_chat_responder(body: dict[str, Any]) -> str:
    """Answer every chat request with the recorded chat fixture's content."""
    return str(load_fixture("chat_completion.json")["choices"][0]["message"]["content"])


# --------------------------------------------------------------------------- validation

_Check = Callable[[Any], bool]


def _is_str(v: Any) -> bool:
    return isinstance(v, str)


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_num(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _is_bool(v: Any) -> bool:
    return isinstance(v, bool)


def _is_dict(v: Any) -> bool:
    return isinstance(v, dict)


def _is_list(v: Any) -> bool:
    return isinstance(v, list)


def _is_stop(v: Any) -> bool:
    return isinstance(v, str) or (isinstance(v, list) and all(isinstance(s, str) for s in v))


def _is_any(v: Any) -> bool:
    return True


# pydantic's error type and message for each check, so 422 bodies look like the real ones.
_TYPE_ERRORS: dict[_Check, tuple[str, str]] = {
    _is_str: ("string_type", "Input should be a valid string"),
    _is_int: ("int_type", "Input should be a valid integer"),
    _is_num: ("float_type", "Input should be a valid number"),
    _is_bool: ("bool_type", "Input should be a valid boolean"),
    _is_dict: ("dict_type", "Input should be a valid dictionary"),
    _is_list: ("list_type", "Input should be a valid list"),
    _is_stop: ("string_type", "Input should be a valid string or a list of strings"),
}

_COMMON_FIELDS: dict[str, _Check] = {
    "model": _is_str,
    "temperature": _is_num,
    "top_p": _is_num,
    "max_tokens": _is_int,
    "stream": _is_bool,
    "stop": _is_stop,
    "random_seed": _is_int,
    "metadata": _is_dict,
}
FIM_FIELDS: dict[str, _Check] = {
    **_COMMON_FIELDS,
    "prompt": _is_str,
    "suffix": _is_str,
    "min_tokens": _is_int,
    "prompt_cache_key": _is_str,
}
CHAT_FIELDS: dict[str, _Check] = {
    **_COMMON_FIELDS,
    "messages": _is_list,
    "response_format": _is_dict,
    "tools": _is_list,
    "tool_choice": _is_any,
    "presence_penalty": _is_num,
    "frequency_penalty": _is_num,
    "n": _is_int,
    "prediction": _is_dict,
    "parallel_tool_calls": _is_bool,
    "safe_prompt": _is_bool,
    "prompt_mode": _is_str,
}
FIM_REQUIRED = ("model", "prompt")
CHAT_REQUIRED = ("model", "messages")
# None is accepted for every optional field (the SDK sends nulls); required ones need a value.
_NOT_NULL = frozenset({"prompt", "messages"})


def _detail(kind: str, loc: list[Any], msg: str, value: Any) -> dict[str, Any]:
    return {"type": kind, "loc": loc, "msg": msg, "input": value}


def validate_body(path: str, body: Any, raw: bytes) -> list[dict[str, Any]]:
    """pydantic-style ``detail`` items for a FIM/chat body; empty when it is acceptable."""
    if body is None:
        if raw.strip():
            return [_detail("json_invalid", ["body", 0], "JSON decode error", {})]
        return [_detail("missing", ["body"], "Field required", None)]
    if not isinstance(body, dict):
        return [
            _detail(
                "model_attributes_type",
                ["body"],
                "Input should be a valid dictionary or object to extract fields from",
                body,
            )
        ]
    fields, required = (
        (FIM_FIELDS, FIM_REQUIRED) if path == FIM_PATH else (CHAT_FIELDS, CHAT_REQUIRED)
    )
    details = [
        _detail("missing", ["body", name], "Field required", body)
        for name in required
        if name not in body
    ]
    details += [
        _detail("extra_forbidden", ["body", name], "Extra inputs are not permitted", value)
        for name, value in body.items()
        if name not in fields
    ]
    for name, value in body.items():
        check = fields.get(name)
        if check is None or (value is None and name not in _NOT_NULL) or check(value):
            continue
        kind, msg = _TYPE_ERRORS.get(check, ("value_error", "Invalid"))
        details.append(_detail(kind, ["body", name], msg, value))
    return details


# --------------------------------------------------------------------------- answers


@dataclass(frozen=True)
class Answer:
    """The completion the fake will send: tokens after ``stop``/``max_tokens`` cuts."""

    tokens: tuple[str, ...]
    finish_reason: str
    prompt_tokens: int
    model: str

    @property
    def text(self) -> str:
        return "".join(self.tokens)

    def usage(self) -> dict[str, int]:
        done = len(self.tokens)
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": done,
            "total_tokens": self.prompt_tokens + done,
        }


def _stop_strings(stop: Any) -> list[str]:
    if isinstance(stop, str):
        stop = [stop]
    if not isinstance(stop, list):
        return []
    return [s for s in stop if isinstance(s, str) and s]


def _prompt_tokens(body: dict[str, Any]) -> int:
    """Count prompt+suffix (FIM) or message contents (chat) with the fake tokenizer."""
    if "messages" in body:
        parts = [m.get("content") for m in body["messages"] if isinstance(m, dict)]
        texts = [p if isinstance(p, str) else json.dumps(p) for p in parts if p is not None]
    else:
        texts = [t for t in (body.get("prompt"), body.get("suffix")) if isinstance(t, str)]
    return sum(len(tokenize(t)) for t in texts)


def shape_answer(text: str, body: dict[str, Any], finish_reason: str = "stop") -> Answer:
    """Apply the request's ``stop`` (cut before the first match) and ``max_tokens``."""
    positions = [i for i in (text.find(s) for s in _stop_strings(body.get("stop"))) if i >= 0]
    if positions:
        text, finish_reason = text[: min(positions)], "stop"
    tokens = tokenize(text)
    max_tokens = body.get("max_tokens")
    if _is_int(max_tokens) and len(tokens) > max_tokens:
        tokens, finish_reason = tokens[: max(max_tokens, 0)], "length"
    model = body.get("model")
    return Answer(
        tuple(tokens),
        finish_reason,
        _prompt_tokens(body),
        model if isinstance(model, str) else DEFAULT_MODEL,
    )


def completion_payload(answer: Answer, ident: str, created: int) -> dict[str, Any]:
    """Non-stream answer; FIM and chat share this ``chat.completion`` shape."""
    message = {"role": "assistant", "content": answer.text, "tool_calls": None}
    return {
        "id": ident,
        "object": "chat.completion",
        "model": answer.model,
        "created": created,
        "usage": answer.usage(),
        "choices": [{"index": 0, "message": message, "finish_reason": answer.finish_reason}],
    }


def chunk_payload(
    answer: Answer, ident: str, created: int, delta: dict[str, Any], last: bool = False
) -> dict[str, Any]:
    """One ``chat.completion.chunk``; the last one carries finish_reason and usage."""
    choice = {"index": 0, "delta": delta, "finish_reason": answer.finish_reason if last else None}
    chunk: dict[str, Any] = {
        "id": ident,
        "object": "chat.completion.chunk",
        "created": created,
        "model": answer.model,
        "choices": [choice],
    }
    if last:
        chunk["usage"] = answer.usage()
    return chunk


def _json_bytes(obj: Any) -> bytes:
    """Compact JSON, as the real API sends it."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _sse(obj: Any) -> bytes:
    return b"data: " + _json_bytes(obj) + b"\n\n"


def _chunk_frame(data: bytes) -> bytes:
    """HTTP/1.1 chunked transfer-encoding frame for one piece of the body."""
    return b"%x\r\n%s\r\n" % (len(data), data)


def closed_port_url() -> str:
    """A base URL on which nothing listens (connect refused), for connection-error tests."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


# --------------------------------------------------------------------------- HTTP handler


class _ClientGone(Exception):
    """The client closed its side; stop writing to it."""


class _Stopping(Exception):
    """The fake is shutting down; drop the connection."""


class _StreamContext:
    """Per-stream id/timestamp so every chunk of one stream agrees."""

    def __init__(self, answer: Answer, trickle: float | None) -> None:
        self.answer = answer
        self.trickle = trickle
        self.ident = uuid.uuid4().hex
        self.created = int(time.time())

    def chunk(self, delta: dict[str, Any], last: bool = False) -> bytes:
        return _sse(chunk_payload(self.answer, self.ident, self.created, delta, last))


class _Handler(BaseHTTPRequestHandler):
    """Routes one connection's requests; all socket errors become quiet control flow."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # small SSE writes must not wait for delayed ACKs
    server: _Server

    @property
    def fake(self) -> FakeMistral:
        return self.server.fake

    def log_message(self, *args: Any) -> None:
        """Silence the per-request stderr log: a test run's output must stay clean."""

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def do_PATCH(self) -> None:
        self._dispatch()

    # ---- request side

    def _dispatch(self) -> None:
        try:
            raw = self._read_body()
        except (ValueError, OSError):
            self.close_connection = True
            return
        record = self.fake._record(self.command, self.path, self.headers.items(), raw)
        try:
            self._route(record)
        except (_ClientGone, _Stopping):
            self.close_connection = True

    def _read_body(self) -> bytes:
        length = self.headers.get("Content-Length")
        if length is not None:
            return self.rfile.read(int(length))
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked()
        return b""

    def _read_chunked(self) -> bytes:
        parts = []
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(parts)
            parts.append(self.rfile.read(size))
            self.rfile.readline()

    def _route(self, record: RecordedRequest) -> None:
        path = urlsplit(record.path).path.rstrip("/")
        prefix = self.fake.prefix
        path = path[len(prefix) :] if path.startswith(prefix + "/") else "/" if prefix else path
        if path == FIM_PATH and not self.fake.fim_route:
            self._pause(self.fake.latency)
            self._send_template(404)  # a chat-only gateway (LiteLLM's OpenAI routes)
        elif path in (FIM_PATH, CHAT_PATH):
            if self.command != "POST":
                self._pause(self.fake.latency)
                self._send_template(405, {"Allow": "POST"})
                return
            self._serve_api(path, record)
        elif path == MODELS_PATH or path.startswith(MODELS_PATH + "/"):
            self._pause(self.fake.latency)
            self._serve_models(path)
        else:
            self._pause(self.fake.latency)
            self._send_template(404)

    def _authorized(self) -> bool:
        key = self.fake.api_key
        if key is None:
            return True
        scheme, _, token = self.headers.get("Authorization", "").partition(" ")
        return scheme.lower() == "bearer" and token.strip() == key

    def _serve_models(self, path: str) -> None:
        if self.command != "GET":
            self._send_template(405, {"Allow": "GET"})
        elif not self._authorized():
            self._send_template(401)
        elif path == MODELS_PATH:
            self._send_json(200, models_payload())
        else:
            wanted = path[len(MODELS_PATH) + 1 :]
            found = [m for m in models_payload()["data"] if m["id"] == wanted]
            if found:
                self._send_json(200, found[0])
            else:
                self._send_template(404)

    # ---- API requests

    def _serve_api(self, path: str, record: RecordedRequest) -> None:
        fake = self.fake
        behaviour = fake._pop_behaviour()
        body = record.body
        stream = isinstance(body, dict) and body.get("stream") is True
        fake._flight(+1)
        try:
            self._pause(fake.latency)
            self._run(behaviour, path, record, stream)
        except _ClientGone:
            self.close_connection = True
            fake._count(abandoned_requests=1, aborted_streams=1 if stream else 0)
        except _Stopping:
            self.close_connection = True
        finally:
            fake._flight(-1)

    def _run(
        self, behaviour: Behaviour | None, path: str, record: RecordedRequest, stream: bool
    ) -> None:
        while isinstance(behaviour, Delay):
            self._pause(behaviour.seconds)
            behaviour = behaviour.then
        if isinstance(behaviour, Hang):
            self._hang()
        if isinstance(behaviour, Error):
            self._send_error(behaviour)
            return
        if isinstance(behaviour, Raw):
            self._send_raw(behaviour)
            return
        trickle = behaviour.bytes_per_second if isinstance(behaviour, Trickle) else None
        if not self._authorized():
            self._send_template(401, trickle=trickle)
            return
        details = validate_body(path, record.body, record.raw)
        if details:
            self._send_json(422, {"detail": details}, trickle=trickle)
            return
        self._answer(behaviour, path, record.body, stream, trickle)

    def _answer(
        self,
        behaviour: Behaviour | None,
        path: str,
        body: dict[str, Any],
        stream: bool,
        trickle: float | None,
    ) -> None:
        if isinstance(behaviour, Reply):
            text, finish, status = behaviour.text, behaviour.finish_reason, behaviour.status
        else:
            responder = self.fake.fim_responder if path == FIM_PATH else self.fake.chat_responder
            try:
                text, finish, status = str(responder(body)), "stop", 200
            except Exception:
                self.fake._note_server_error(traceback.format_exc())
                self._send_template(500, trickle=trickle)
                return
        answer = shape_answer(text, body, finish)
        if stream:
            self._send_stream(status, _StreamContext(answer, trickle), behaviour)
        else:
            self._send_completion(status, answer, behaviour, trickle)

    def _hang(self) -> None:
        """Wait until ``_pause`` notices the client left or the fake stops (it raises)."""
        while True:
            self._pause(3600.0)

    # ---- response side

    def _send_head(self, status: int, headers: dict[str, str]) -> None:
        try:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
        except OSError as exc:
            raise self._gone() from exc

    def _send_body(
        self,
        status: int,
        payload: bytes,
        content_type: str,
        extra: dict[str, str] | None = None,
        trickle: float | None = None,
    ) -> None:
        headers = {"Content-Type": content_type, "Content-Length": str(len(payload))}
        self._send_head(status, _merge_headers(headers, extra))
        self._write(payload, chunked=False, trickle=trickle)

    def _send_json(
        self,
        status: int,
        obj: Any,
        extra: dict[str, str] | None = None,
        trickle: float | None = None,
    ) -> None:
        self._send_body(status, _json_bytes(obj), "application/json", extra, trickle)

    def _send_template(
        self, status: int, extra: dict[str, str] | None = None, trickle: float | None = None
    ) -> None:
        payload, content_type = error_template(status)
        self._send_body(status, payload, content_type, extra, trickle)

    def _send_error(self, error: Error) -> None:
        if error.body is None:
            payload, content_type = error_template(error.status)
        elif isinstance(error.body, bytes):
            payload, content_type = error.body, "application/octet-stream"
        elif isinstance(error.body, str):
            payload, content_type = error.body.encode("utf-8"), "text/plain; charset=utf-8"
        else:
            payload, content_type = _json_bytes(error.body), "application/json"
        self._send_body(error.status, payload, content_type, error.headers)

    def _send_raw(self, raw: Raw) -> None:
        if raw.chunks is None:
            self._send_head(raw.status, {**raw.headers, "Content-Length": str(len(raw.body))})
            self._write(raw.body, chunked=False, trickle=None)
            return
        self._send_head(raw.status, {**raw.headers, "Transfer-Encoding": "chunked"})
        for piece in raw.chunks():
            self._write(piece, chunked=True, trickle=None)
        self._write(b"0\r\n\r\n", chunked=False, trickle=None)

    def _send_completion(
        self, status: int, answer: Answer, behaviour: Behaviour | None, trickle: float | None
    ) -> None:
        payload = _json_bytes(completion_payload(answer, uuid.uuid4().hex, int(time.time())))
        if isinstance(behaviour, BadJSON):
            payload = _BAD_JSON_BODY
        if not isinstance(behaviour, CutStream):
            self._send_body(status, payload, "application/json", trickle=trickle)
            return
        self._send_head(
            status, {"Content-Type": "application/json", "Content-Length": str(len(payload))}
        )
        self._write(payload[: len(payload) // 2], chunked=False, trickle=trickle)
        self._cut(behaviour.reset)

    def _send_stream(self, status: int, ctx: _StreamContext, behaviour: Behaviour | None) -> None:
        self._send_head(
            status,
            {
                "Content-Type": "text/event-stream",
                "Cache-Control": "no-cache",
                "Transfer-Encoding": "chunked",
            },
        )
        self._event(ctx, ctx.chunk({"role": "assistant", "content": ""}))
        tokens = ctx.answer.tokens
        if isinstance(behaviour, CutStream):
            limit = max(behaviour.after_tokens, 0)
            self._stream_tokens(ctx, tokens[:limit], final=limit >= len(tokens))
            self._cut(behaviour.reset)
            return
        if isinstance(behaviour, BadJSON):
            self._stream_tokens(ctx, tokens[: max(behaviour.after_tokens, 0)], final=False)
            self._event(ctx, _BAD_JSON_EVENT)
        else:
            self._stream_tokens(ctx, tokens, final=True)
        self._event(ctx, _DONE_EVENT)
        # Counted before the terminating chunk, so a client that has read the whole response
        # always sees the final counters (no race with this thread).
        self.fake._count(completed_streams=1)
        self._write(b"0\r\n\r\n", chunked=False, trickle=ctx.trickle)

    def _stream_tokens(self, ctx: _StreamContext, tokens: tuple[str, ...], final: bool) -> None:
        """One chunk per token, pausing ``token_delay`` before each; counts what was written.

        The count goes up before the write (and back down if it fails) so it is never behind
        what the client has already read.
        """
        for i, token in enumerate(tokens):
            self._pause(self.fake.token_delay)
            last = final and i == len(tokens) - 1
            self.fake._count(tokens_sent=1)
            try:
                self._event(ctx, ctx.chunk({"content": token}, last=last))
            except (_ClientGone, _Stopping):
                self.fake._count(tokens_sent=-1)
                raise
        if final and not tokens:
            self._event(ctx, ctx.chunk({"content": ""}, last=True))

    def _event(self, ctx: _StreamContext, event: bytes) -> None:
        self._write(event, chunked=True, trickle=ctx.trickle)

    def _write(self, data: bytes, chunked: bool, trickle: float | None) -> None:
        """Write (and flush) ``data``; with ``trickle`` one byte per 1/rate seconds."""
        if trickle is None:
            pieces: Iterator[bytes] = iter((data,))
        else:
            pieces = (data[i : i + 1] for i in range(len(data)))
        for piece in pieces:
            if trickle:
                self._pause(1.0 / trickle)
            if self._peer_gone(0.0):
                raise self._gone()
            try:
                self.wfile.write(_chunk_frame(piece) if chunked else piece)
            except OSError as exc:
                raise self._gone() from exc

    def _cut(self, reset: bool) -> None:
        """Drop the connection mid-body: FIN (after this request) or RST (right now)."""
        self.close_connection = True
        self.fake._count(cut_streams=1)
        if reset:
            with contextlib.suppress(OSError):
                self.connection.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                )
                self.connection.close()  # the real close (RST) happens when rfile closes

    # ---- waiting

    def _gone(self) -> Exception:
        return _Stopping() if self.fake._stopping.is_set() else _ClientGone()

    def _pause(self, seconds: float) -> None:
        """Sleep, but raise as soon as the client leaves or the fake stops."""
        deadline = time.monotonic() + seconds
        while True:
            if self.fake._stopping.is_set():
                raise _Stopping()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            if self._peer_gone(min(remaining, _POLL_STEP)):
                raise self._gone()

    def _peer_gone(self, wait: float) -> bool:
        """True when the client has closed its side (readable with EOF) within ``wait`` s."""
        sock = self.connection
        try:
            if not _readable(sock, wait):
                return False
            if sock.recv(1, socket.MSG_PEEK) == b"":
                return True
        except (OSError, ValueError):
            return True
        self.fake._stopping.wait(wait)  # pipelined bytes: don't spin on a readable socket
        return False


def _readable(sock: socket.socket, wait: float) -> bool:
    """Poll (not select: no FD_SETSIZE limit in long benchmark runs) for input or hang-up."""
    if not hasattr(select, "poll"):
        return bool(select.select([sock], [], [], wait)[0])
    poller = select.poll()
    poller.register(sock, select.POLLIN | select.POLLHUP | select.POLLERR)
    return bool(poller.poll(wait * 1000.0))


def _merge_headers(base: dict[str, str], extra: dict[str, str] | None) -> dict[str, str]:
    """``extra`` wins over ``base`` case-insensitively (so Content-Type can be overridden)."""
    merged = dict(base)
    for name, value in (extra or {}).items():
        for existing in [k for k in merged if k.lower() == name.lower()]:
            del merged[existing]
        merged[name] = value
    return merged


class _Server(ThreadingHTTPServer):
    """Threaded server that tracks client sockets so ``stop()`` can close them."""

    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], fake: FakeMistral) -> None:
        self.fake = fake
        super().__init__(address, _Handler)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        self.fake._register(request)
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.fake._unregister(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Disconnects are normal; anything else is kept for tests, never printed."""
        exc = sys.exc_info()[1]
        if isinstance(exc, OSError):
            return
        self.fake._note_server_error(traceback.format_exc())


# --------------------------------------------------------------------------- public API

_COUNTERS = (
    "tokens_sent",
    "completed_streams",
    "aborted_streams",
    "abandoned_requests",
    "cut_streams",
    "connections_accepted",
    "max_in_flight",
)


class FakeMistral:
    """The fake API server; starts listening on construction, stops on ``stop()``/``with``.

    Records are guarded by one lock; every change notifies ``wait_for`` waiters.
    """

    def __init__(
        self,
        api_key: str | None = "test-key",
        latency: float = 0.0,
        token_delay: float = 0.0,
        host: str = "127.0.0.1",
        port: int = 0,
        prefix: str = "",
        fim_route: bool = True,
    ) -> None:
        self.api_key = api_key
        #: A gateway's path before ``/v1`` (``/mistral/eu`` for Langdock): requests outside it
        #: get a 404, and ``base_url`` includes it.
        self.prefix = prefix.rstrip("/")
        #: False: ``/v1/fim/completions`` answers 404, as on a gateway that serves chat only.
        self.fim_route = fim_route
        self.latency = latency
        self.token_delay = token_delay
        self.fim_responder: Responder = default_fim_responder
        self.chat_responder: Responder = default_chat_responder
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._stopping = threading.Event()
        self._sockets: set[socket.socket] = set()
        self._clear()
        self._server = _Server((host, port), self)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": _POLL_STEP},
            name="fake-mistral",
            daemon=True,
        )
        self._thread.start()

    # ---- lifecycle

    def __enter__(self) -> FakeMistral:
        return self

    def __exit__(self, kind: type[BaseException] | None, *_exc: object) -> None:
        """Stop; then fail the test if a responder raised (or the fake had a bug).

        The client only saw an HTTP 500, which a test of error handling may well accept: a
        test whose responder raises ``KeyError`` must not pass for that. A test that makes a
        responder raise on purpose clears the record with :meth:`reset`.
        """
        self.stop()
        errors = self.server_errors
        if kind is None and errors:
            raise AssertionError(
                f"the fake Mistral server failed {len(errors)} time(s), a responder raised "
                f"or the fake has a bug; the first:\n{errors[0]}"
            )

    def stop(self) -> None:
        """Stop quickly (< 1 s) even with hung or idle keep-alive connections. Idempotent."""
        if self._stopping.is_set():
            return
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        with self._lock:
            sockets = list(self._sockets)
        for sock in sockets:
            _shutdown_quietly(sock)
        self._thread.join(timeout=1.0)
        self.wait_for(lambda f: f.open_connections == 0, timeout=0.5)

    close = stop

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>/v1``, the value a client uses as its API base."""
        return f"http://{self._server.server_address[0]}:{self.port}{self.prefix}/v1"

    # ---- scripting

    def script(self, *behaviours: Behaviour) -> None:
        """Queue one-shot behaviours, consumed FIFO by FIM and chat requests."""
        with self._lock:
            self._script.extend(behaviours)

    @property
    def script_left(self) -> int:
        """Scripted behaviours not consumed yet."""
        with self._lock:
            return len(self._script)

    def reset(self) -> None:
        """Forget records, the script queue and counters; keep responders and settings."""
        with self._lock:
            self._clear()
            self._changed.notify_all()

    # ---- records

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    @property
    def fim_requests(self) -> list[RecordedRequest]:
        return self._requests_to(FIM_PATH)

    @property
    def chat_requests(self) -> list[RecordedRequest]:
        return self._requests_to(CHAT_PATH)

    @property
    def paid_requests(self) -> list[RecordedRequest]:
        """FIM and chat requests: what costs tokens. Not ``GET /v1/models``, which the server
        sends after start-up to open its connection ahead."""
        return [r for r in self.requests if r.path in (FIM_PATH, CHAT_PATH)]

    @property
    def models_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.method == "GET" and r.path == MODELS_PATH]

    @property
    def open_connections(self) -> int:
        """Client TCP connections currently open (for leak tests)."""
        with self._lock:
            return len(self._sockets)

    @property
    def in_flight(self) -> int:
        """FIM/chat requests being answered right now."""
        with self._lock:
            return self._in_flight

    @property
    def server_errors(self) -> list[str]:
        """Tracebacks of unexpected exceptions (a responder raising, a bug in the fake)."""
        with self._lock:
            return list(self._errors)

    def _counter(self, name: str) -> int:
        with self._lock:
            return self._counters[name]

    @property
    def tokens_sent(self) -> int:
        """Content tokens actually written to stream sockets (fewer when clients leave)."""
        return self._counter("tokens_sent")

    @property
    def completed_streams(self) -> int:
        """Streams whose ``data: [DONE]`` was written."""
        return self._counter("completed_streams")

    @property
    def aborted_streams(self) -> int:
        """Stream requests whose client left before ``[DONE]`` (at any point after the request)."""
        return self._counter("aborted_streams")

    @property
    def abandoned_requests(self) -> int:
        """FIM/chat requests (stream or not) whose client left before the whole answer."""
        return self._counter("abandoned_requests")

    @property
    def cut_streams(self) -> int:
        """Answers the fake itself cut with ``CutStream``."""
        return self._counter("cut_streams")

    @property
    def connections_accepted(self) -> int:
        """TCP connections accepted so far (1 for N requests means keep-alive worked)."""
        return self._counter("connections_accepted")

    @property
    def max_in_flight(self) -> int:
        """Highest number of FIM/chat requests answered at the same time."""
        return self._counter("max_in_flight")

    def wait_for(self, predicate: Callable[[FakeMistral], bool], timeout: float = 60.0) -> bool:
        """Block until ``predicate(self)`` holds (re-checked on every change) or timeout (a
        bound on a hang, so generous: a loaded machine stalls for seconds)."""
        with self._changed:
            return self._changed.wait_for(lambda: predicate(self), timeout)

    def wait_for_requests(self, n: int, timeout: float = 60.0, path: str | None = None) -> bool:
        """Block until ``n`` requests (to ``path``, e.g. ``FIM_PATH``, if given) arrived."""
        if path is None:
            return self.wait_for(lambda f: len(f._requests) >= n, timeout)
        return self.wait_for(lambda f: len(f._requests_to(path)) >= n, timeout)

    # ---- internals used by the handler

    def _clear(self) -> None:
        self._requests: list[RecordedRequest] = []
        self._script: collections.deque[Behaviour] = collections.deque()
        self._counters = dict.fromkeys(_COUNTERS, 0)
        self._errors: list[str] = []
        self._in_flight = 0

    def _requests_to(self, path: str) -> list[RecordedRequest]:
        with self._lock:
            return [
                r
                for r in self._requests
                if r.method == "POST" and urlsplit(r.path).path.rstrip("/") == self.prefix + path
            ]

    def _record(self, method: str, path: str, headers: Any, raw: bytes) -> RecordedRequest:
        lowered: dict[str, str] = {}
        for name, value in headers:
            key = name.lower()
            lowered[key] = f"{lowered[key]}, {value}" if key in lowered else value
        try:
            body = json.loads(raw) if raw.strip() else None
        except ValueError:
            body = None
        record = RecordedRequest(method, path, lowered, body, raw)
        with self._lock:
            self._requests.append(record)
            self._changed.notify_all()
        return record

    def _pop_behaviour(self) -> Behaviour | None:
        with self._lock:
            return self._script.popleft() if self._script else None

    def _count(self, **deltas: int) -> None:
        with self._lock:
            for name, delta in deltas.items():
                self._counters[name] += delta
            self._changed.notify_all()

    def _flight(self, delta: int) -> None:
        with self._lock:
            self._in_flight += delta
            self._counters["max_in_flight"] = max(self._counters["max_in_flight"], self._in_flight)
            self._changed.notify_all()

    def _register(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.add(sock)
            self._counters["connections_accepted"] += 1
            self._changed.notify_all()
        if self._stopping.is_set():  # accepted during stop(): don't let it linger
            _shutdown_quietly(sock)

    def _unregister(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.discard(sock)
            self._changed.notify_all()

    def _note_server_error(self, text: str) -> None:
        with self._lock:
            self._errors.append(text)
            self._changed.notify_all()


def _shutdown_quietly(sock: socket.socket) -> None:
    """Wake any thread blocked on ``sock`` (close alone does not on Linux)."""
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


# --------------------------------------------------------------------------- CLI


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tests.fake_mistral", description="Serve a fake Mistral API until killed."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument(
        "--answer",
        default=None,
        help="fixed answer for FIM and chat (default: fim_answers.json / pass)",
    )
    parser.add_argument("--api-key", default="test-key")
    parser.add_argument("--no-auth", action="store_true", help="accept any or no key")
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--token-delay", type=float, default=0.0)
    parser.add_argument("--prefix", default="", help="a gateway's path before /v1")
    parser.add_argument("--no-fim", action="store_true", help="no FIM route (chat-only gateway)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Print the base URL on the first stdout line, then serve until SIGINT/SIGTERM."""
    args = _parse_args(argv)
    fake = FakeMistral(
        api_key=None if args.no_auth else args.api_key,
        latency=args.latency,
        token_delay=args.token_delay,
        host=args.host,
        port=args.port,
        prefix=args.prefix,
        fim_route=not args.no_fim,
    )
    if args.answer is not None:
        answer: str = args.answer
        fake.fim_responder = fake.chat_responder = lambda body: answer
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    print(fake.base_url, flush=True)
    try:
        while not done.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        fake.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
