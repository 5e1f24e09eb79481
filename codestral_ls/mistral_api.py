"""The Codestral / Mistral HTTP API: FIM and chat completions over one pooled httpx client.

One ``httpx.AsyncClient`` lives as long as the endpoint does, so consecutive completions reuse
a kept-alive connection instead of paying a TCP and TLS handshake each. Streams are read
event by event; the caller's ``until`` predicate can end a FIM stream the moment the answer is
whole, which closes the response and tells the API to stop generating (and billing) tokens.

Every failure becomes an :class:`ApiError` with a kind the server can explain to the user.
The key goes into the ``Authorization`` header of requests to the configured base URL and
nowhere else: it is not logged, not part of any error text, and redirects are not followed
(a redirect would carry the header to a host the user never chose).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import importlib.util
import json
import logging
import sys
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx

from codestral_ls import __version__, asyncio_network, tls
from codestral_ls.endpoint import Endpoint
from codestral_ls.errors import ApiError, ErrorKind
from codestral_ls.fim import FimRequest, sendable
from codestral_ls.http_body import (
    ACCEPT_ENCODING,
    BodyTooLarge,
    SseLines,
    UnsupportedEncoding,
    iter_body,
    read_body,
)

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class Timeouts:
    """Deadlines in seconds: to connect, between two bytes, and for the whole call."""

    connect: float = 3.0
    read: float = 5.0
    total: float = 5.0


@dataclass
class FimResult:
    """What the model wrote, and what it cost."""

    text: str
    finish_reason: str | None
    #: Content chunks received (≈ tokens when streaming), and whether we hung up early.
    chunks: int = 0
    stopped_early: bool = False
    usage: dict[str, Any] = field(default_factory=dict)
    elapsed: float = 0.0


#: How long an idle connection is kept for the next call. httpx's default (5 s) closed it in
#: most typing pauses, and the next completion paid a new TCP and TLS handshake; servers keep
#: theirs open longer (nginx 75 s, AWS load balancers 60 s), and one the server closed first
#: is noticed before it is reused (httpcore looks at the socket).
KEEPALIVE_SECONDS = 55.0
#: Most bytes of the ``GET models`` answer read when opening a connection ahead.
_MODELS_LIMIT = 256 * 1024
#: Connections to the endpoint at once (httpx's pool size, and the calls let through).
_CONNECTIONS = 8


class MistralClient:
    """Talks to one endpoint. Create one per endpoint, close it with :meth:`aclose`.
    Creating one raises :class:`ApiError` (``CA_BUNDLE``) when the CA bundle the
    environment names cannot be loaded (see codestral_ls/tls.py)."""

    def __init__(
        self,
        endpoint: Endpoint,
        *,
        timeouts: Timeouts | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.timeouts = timeouts or Timeouts()
        self._free_connections = asyncio.Semaphore(_CONNECTIONS)
        #: Whether chat answered here, once a FIM 404 made it worth asking (None: not asked).
        self._chat_probe: bool | None = None
        #: Until when (``time.monotonic``) a connection to the endpoint is believed to be
        #: open and idle in the pool: the last answer was read to its end that long ago.
        self.warm_until = 0.0
        self._urls: dict[str, httpx.URL] = {}
        headers = {
            "Accept": "application/json, text/event-stream",
            "Accept-Encoding": ACCEPT_ENCODING,
            "User-Agent": f"codestral-ls/{__version__}",
        }
        if endpoint.api_key:
            headers["Authorization"] = f"Bearer {endpoint.api_key}"
        try:
            verify = tls.context()  # built while the server started (codestral_ls/tls.py)
        except tls.BundleError as error:
            raise ApiError(ErrorKind.CA_BUNDLE, str(error)) from None
        self._http = httpx.AsyncClient(
            base_url=endpoint.base_url + "/",
            headers=headers,
            timeout=_http_timeout(self.timeouts),
            limits=httpx.Limits(
                max_connections=_CONNECTIONS,
                max_keepalive_connections=4,
                keepalive_expiry=KEEPALIVE_SECONDS,
            ),
            follow_redirects=False,
            trust_env=True,  # HTTPS_PROXY/NO_PROXY (the CA bundle: see codestral_ls/tls.py)
            verify=verify,
        )
        asyncio_network.use_for_direct_connections(self._http)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def open_connection(self) -> None:
        """Open a connection to the endpoint ahead of the first call (TCP, TLS, and the
        gateway's own first-request work), with a request that costs no tokens: ``GET
        models``. Its answer is read (to at most 256 KB) so that the connection stays in the
        pool; its status does not matter here, a completion reports its own errors."""
        with _translate_transport_errors():
            async with self._http.stream("GET", self._url("models")) as response:
                received = 0
                async for chunk in response.aiter_raw():
                    received += len(chunk)
                    if received > _MODELS_LIMIT:
                        return  # closed with the response: not worth keeping
        self._mark_warm()

    def _url(self, path: str) -> httpx.URL:
        """The absolute URL of ``path``, parsed once: given a path, httpx parses it and merges
        it with the base URL on every request (0.3 ms a request, profiled)."""
        url = self._urls.get(path)
        if url is None:
            url = self._urls[path] = httpx.URL(self.endpoint.base_url + "/" + path)
        return url

    def _mark_warm(self) -> None:
        """An answer was read to its end: its connection went back to the pool."""
        self.warm_until = time.monotonic() + KEEPALIVE_SECONDS

    # -- FIM -------------------------------------------------------------------------------

    async def fim(
        self,
        request: FimRequest,
        *,
        stream: bool = True,
        until: Callable[[str], bool] | None = None,
        timeouts: Timeouts | None = None,
    ) -> FimResult:
        """Run one FIM completion; with ``stream``, stop reading once ``until(text)`` holds.

        The deadline starts once a connection is free (see :meth:`_connection`): a call that
        waited for one has not been failed by the API.
        """
        deadline = (timeouts or self.timeouts).total
        async with self._connection(timeouts):
            started = time.monotonic()
            try:
                call = self._fim_stream(request, until) if stream else self._fim_json(request)
                result = await within(deadline, call)
            except asyncio.TimeoutError:
                message = f"no complete answer within {deadline:g} s"
                raise ApiError(ErrorKind.TIMEOUT, message) from None
            except ApiError as error:
                if error.status == 404 and await self._chat_works(request.model):
                    raise self._no_fim_route(error) from None
                raise
        result.elapsed = time.monotonic() - started
        return result

    @contextlib.asynccontextmanager
    async def _connection(self, timeouts: Timeouts | None) -> AsyncIterator[None]:
        """Hold one of the pool's connections for a call, waiting at most the connect
        deadline for one to be free; else :data:`ErrorKind.BUSY` (our load, not an outage).

        httpx would queue the call inside its pool, and a call that waited there ran out of
        its deadline as if the API had stopped answering: 200 requests at once against a
        healthy API logged half of them as failures and showed several outage messages.
        """
        wait = (timeouts or self.timeouts).connect
        try:
            await within(wait, self._free_connections.acquire())
        except asyncio.TimeoutError:
            message = "no free connection to the API in time (too many requests at once)"
            raise ApiError(ErrorKind.BUSY, message) from None
        try:
            yield
        finally:
            self._free_connections.release()

    async def _chat_works(self, model: str) -> bool:
        """Whether ``chat/completions`` answers here (a one-token request, asked once per
        client): a gateway that serves chat but not FIM (LiteLLM's OpenAI routes) answers
        FIM with a 404 that, alone, reads like a wrong base URL."""
        if self._chat_probe is None:
            body = {
                "model": model,
                "messages": [{"role": "user", "content": "ping"}],
                "max_tokens": 1,
                "stream": False,
            }
            try:
                with _translate_transport_errors():
                    status, _headers, _body = await self._post("chat/completions", body, 1)
                self._chat_probe = status == 200
            except ApiError:
                return False  # unknown, not "no": ask again next time
        return self._chat_probe

    def _no_fim_route(self, error: ApiError) -> ApiError:
        base = self.endpoint.base_url
        root = base.removesuffix("/v1")
        message = (
            f"{base}/fim/completions answers 404 while {base}/chat/completions works: this "
            "gateway serves chat but has no FIM route, which completions need. With LiteLLM, "
            f"use its Mistral pass-through ({root}/mistral/v1) as apiBase, or serve "
            "/v1/fim/completions from its config (README, 'Teams and gateways')"
        )
        return ApiError(ErrorKind.NOT_FOUND, message, status=404, missing_route="/fim/completions")

    async def _fim_json(self, request: FimRequest) -> FimResult:
        body = request.body(stream=False)
        with _translate_transport_errors():
            status, headers, raw = await self._post("fim/completions", body, request.max_tokens)
        if status != 200:
            raise self._error(status, headers, raw)
        self._mark_warm()  # read to its end: the connection went back to the pool
        payload = _parse_json(raw)
        text, finish = _message_content(payload)
        _check_length(text, request.max_tokens)
        return FimResult(text, finish, chunks=1, usage=payload.get("usage") or {})

    async def _fim_stream(
        self, request: FimRequest, until: Callable[[str], bool] | None
    ) -> FimResult:
        parts: list[str] = []
        received = 0
        result = FimResult("", None)
        events = self._events("fim/completions", request.body(stream=True), request.max_tokens)
        async with contextlib.aclosing(events):  # leaving early closes the HTTP stream now
            async for delta, finish, usage in events:
                if delta:
                    parts.append(delta)
                    result.chunks += 1
                    received += len(delta)
                    _check_length(received, request.max_tokens)
                if finish:
                    result.finish_reason = finish
                if usage:
                    result.usage = usage
                if delta and until is not None and until("".join(parts)):
                    result.stopped_early = finish is None
                    break
        result.text = "".join(parts)
        return result

    # -- chat ------------------------------------------------------------------------------

    async def chat_stream(
        self,
        messages: Sequence[dict[str, str]],
        *,
        model: str,
        max_tokens: int | None = None,
        temperature: float | None = None,
        timeouts: Timeouts | None = None,
        stream: bool = True,
    ) -> AsyncIterator[str]:
        """Yield the answer's text deltas as they arrive. Closing the iterator closes the stream.

        No overall deadline here: chat answers are long, the caller bounds the whole call.
        ``timeouts`` replaces the client's connect/read deadlines for this call (a chat answer
        may take far longer to start than a completion). Without ``stream`` the whole JSON
        answer is awaited and yielded as one piece (for endpoints without SSE).
        """
        body: dict[str, Any] = {
            "model": model,
            "messages": [{**m, "content": sendable(m.get("content", ""))} for m in messages],
            "stream": stream,
        }
        if max_tokens is not None:
            body["max_tokens"] = max_tokens
        if temperature is not None:
            body["temperature"] = temperature
        timeout = _http_timeout(timeouts) if timeouts else httpx.USE_CLIENT_DEFAULT
        if not stream:
            async with self._connection(timeouts):
                with _translate_transport_errors():
                    status, headers, raw = await self._post(
                        "chat/completions", body, max_tokens, timeout
                    )
            if status != 200:
                raise self._error(status, headers, raw)
            text, _finish = _message_content(_parse_json(raw))
            _check_length(text, max_tokens)
            if text:
                yield text
            return
        events = self._events("chat/completions", body, max_tokens, timeout)
        received = 0
        async with self._connection(timeouts), contextlib.aclosing(events):
            async for delta, _finish, _usage in events:
                if delta:
                    received += len(delta)
                    _check_length(received, max_tokens)
                    yield delta

    # -- wire format -----------------------------------------------------------------------

    async def _post(
        self,
        path: str,
        body: dict[str, Any],
        max_tokens: int | None,
        timeout: Any = httpx.USE_CLIENT_DEFAULT,
    ) -> tuple[int, httpx.Headers, str]:
        """POST ``body``; (status, headers, body text), the body read up to its cap: the
        JSON answer's for a 200 (:func:`answer_cap`), a few KB of an error's."""
        url = self._url(path)
        async with self._http.stream("POST", url, json=body, timeout=timeout) as response:
            if response.status_code != 200:
                return response.status_code, response.headers, await _error_body(response)
            raw = await read_body(response, answer_cap(max_tokens, streamed=False))
            return response.status_code, response.headers, raw.decode("utf-8", "replace")

    async def _events(
        self,
        path: str,
        body: dict[str, Any],
        max_tokens: int | None,
        timeout: Any = httpx.USE_CLIENT_DEFAULT,
    ) -> AsyncIterator[tuple[str, str | None, dict[str, Any] | None]]:
        """POST ``body`` and yield (delta text, finish_reason, usage) per SSE event.

        The stream is read raw, its bytes counted against :func:`answer_cap` as they arrive,
        and split into lines at CR/LF only (:class:`SseLines`).
        """
        url = self._url(path)
        with _translate_transport_errors():
            async with self._http.stream("POST", url, json=body, timeout=timeout) as response:
                if response.status_code != 200:
                    raw = await _error_body(response)
                    raise self._error(response.status_code, response.headers, raw)
                done = False
                lines = _sse_lines(response, answer_cap(max_tokens, streamed=True))
                async for line in lines:
                    if not line.startswith("data:"):
                        continue  # blank separators, comments (":"), event names
                    data = line[5:].strip()
                    if data == "[DONE]":
                        done = True
                        if await _read_to_end(lines):
                            self._mark_warm()
                        break
                    chunk = _parse_json(data)
                    yield _delta(chunk)
                if not done:
                    # The body ended without [DONE]: the stream was cut.
                    raise ApiError(ErrorKind.NETWORK, "the answer stream ended before [DONE]")

    def _error(self, status: int, headers: httpx.Headers, body: str) -> ApiError:
        """The error for a non-200 answer; a key the API echoes back is blanked out of it."""
        return _http_error(status, headers, body, self.endpoint.api_key)


#: Tokens assumed when a request sets no ``max_tokens`` (the API's own limit is the model's).
_DEFAULT_TOKENS = 4096
#: Most characters one token can stand for (long whitespace runs are single tokens).
CHARS_PER_TOKEN = 32
#: On the wire, per token: a JSON answer escapes each character in at most 6 bytes; a
#: streamed event wraps each token in ~250 bytes of JSON (id, model, choices ...).
_JSON_BYTES_PER_TOKEN = 6 * CHARS_PER_TOKEN
_STREAM_BYTES_PER_TOKEN = 1024
#: Room for everything around the text (usage, ids, a role chunk, keep-alive comments).
_ANSWER_OVERHEAD = 16 * 1024
#: How much of an error body is read: its reason is in the first lines, never further.
ERROR_BODY_BYTES = 8 * 1024


def answer_cap(max_tokens: int | None, *, streamed: bool) -> int:
    """Most bytes an answer of ``max_tokens`` may take on the wire; past it, reading stops.

    With the defaults: 128 tokens -> 40 KB as JSON, 144 KB streamed; chat's 2,048 -> 400 KB
    and 2 MB. Far above what a real answer uses, far below what a broken endpoint can send.
    """
    per_token = _STREAM_BYTES_PER_TOKEN if streamed else _JSON_BYTES_PER_TOKEN
    return _ANSWER_OVERHEAD + per_token * (max_tokens or _DEFAULT_TOKENS)


def _check_length(text: str | int, max_tokens: int | None) -> None:
    """Raise if an answer's text (or its length) is beyond what ``max_tokens`` can produce:
    an endpoint that ignores the limit gets no completion shown or cached."""
    length = text if isinstance(text, int) else len(text)
    limit = CHARS_PER_TOKEN * (max_tokens or _DEFAULT_TOKENS)
    if length > limit:
        raise ApiError(
            ErrorKind.BAD_RESPONSE,
            f"the answer is longer than max_tokens allows ({length:,} characters, at most "
            f"{limit:,})",
        )


async def _error_body(response: httpx.Response) -> str:
    """The first :data:`ERROR_BODY_BYTES` of an error answer, as text."""
    try:
        raw = await read_body(response, ERROR_BODY_BYTES, truncate=True)
    except UnsupportedEncoding:
        return ""
    return raw.decode("utf-8", "replace")


async def _sse_lines(response: httpx.Response, cap: int) -> AsyncIterator[str]:
    splitter = SseLines()
    async for data in iter_body(response, cap):
        for line in splitter.feed(data):
            yield line
    for line in splitter.close():
        yield line


#: How long to wait for the end of the body after ``data: [DONE]``.
_DRAIN_SECONDS = 0.05


async def _read_to_end(lines: AsyncIterator[str]) -> bool:
    """Read what follows ``[DONE]`` (normally only the chunked body's terminator); whether
    the body ended.

    httpx returns a connection to the keep-alive pool only when its response was read to
    the end; closing it right after ``[DONE]`` costs a new TCP and TLS handshake on the next
    completion. A server that keeps the body open after ``[DONE]`` gets a moment, then the
    connection is closed as before.
    """

    async def drain() -> None:
        async for _line in lines:
            pass

    with contextlib.suppress(asyncio.TimeoutError, httpx.HTTPError, BodyTooLarge):
        await within(_DRAIN_SECONDS, drain())
        return True
    return False


if sys.version_info >= (3, 11):

    async def within(seconds: float, work: Coroutine[Any, Any, T]) -> T:
        """``await work``, or :class:`asyncio.TimeoutError` after ``seconds``.

        ``asyncio.wait_for`` runs ``work`` as a task of its own: one more task and turn of
        the event loop per use, three uses per completion (a free connection, the deadline,
        the end of the body). ``asyncio.timeout`` (3.11) runs it in the caller's task.
        """
        async with asyncio.timeout(seconds):
            return await work

else:

    async def within(seconds: float, work: Coroutine[Any, Any, T]) -> T:
        """``await work``, or :class:`asyncio.TimeoutError` after ``seconds``."""
        return await asyncio.wait_for(work, seconds)


#: What httpcore imports on its first request (its asyncio network backend, through anyio).
_IMPORTED_ON_FIRST_REQUEST = ("httpcore._backends.anyio", "anyio._backends._asyncio")


#: Optional modules httpcore imports on every request (to tell asyncio from trio): when one
#: is not installed, Python does not remember the failure and searches sys.path again each
#: time, four times a request (0.2 ms each, measured with timeit; 5 ms a call under cProfile).
_OPTIONAL_PER_REQUEST = ("sniffio",)


def preload_network_backend() -> None:
    """Import now what httpx would import during the first request.

    httpcore picks its network backend on first use, and importing it cost the first
    completion 25-35 ms (measured: first call 34 ms, the next ones 3-4 ms; with this done
    ahead, 9 ms). These are httpcore's and anyio's module names, not an API: if they
    change, the first request imports whatever it needs, as before. An optional module that
    is missing is marked missing in ``sys.modules``, so importing it fails at once, as it
    would anyway.
    """
    for name in _IMPORTED_ON_FIRST_REQUEST:
        with contextlib.suppress(ImportError):
            importlib.import_module(name)
    for name in _OPTIONAL_PER_REQUEST:
        if name not in sys.modules and importlib.util.find_spec(name) is None:
            sys.modules[name] = None  # type: ignore[assignment]


def _http_timeout(timeouts: Timeouts) -> httpx.Timeout:
    return httpx.Timeout(
        connect=timeouts.connect, read=timeouts.read, write=timeouts.read, pool=timeouts.connect
    )


class _translate_transport_errors:
    """Context manager turning every httpx exception into :class:`ApiError`."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type | None, error: BaseException | None, _tb: object) -> bool:
        if error is None or isinstance(error, ApiError):
            return False
        if isinstance(error, BodyTooLarge):
            raise ApiError(ErrorKind.BAD_RESPONSE, f"{error}: reading stopped") from None
        if isinstance(error, UnsupportedEncoding):
            raise ApiError(ErrorKind.BAD_RESPONSE, str(error)) from None
        if isinstance(error, httpx.PoolTimeout):
            message = "no free connection to the API in time (too many requests at once)"
            raise ApiError(ErrorKind.BUSY, message) from None
        if isinstance(error, httpx.TimeoutException):
            raise ApiError(ErrorKind.TIMEOUT, _describe_timeout(error)) from None
        if isinstance(error, (httpx.TransportError, httpx.StreamError)):
            raise ApiError(ErrorKind.NETWORK, _describe_network(error)) from None
        if isinstance(error, httpx.DecodingError):  # e.g. "gzip" over a body that is not
            raise ApiError(ErrorKind.BAD_RESPONSE, "the answer's encoding is broken") from None
        if isinstance(error, (httpx.HTTPError, httpx.InvalidURL)):
            raise ApiError(ErrorKind.BAD_RESPONSE, type(error).__name__) from None
        return False


def _describe_timeout(error: httpx.TimeoutException) -> str:
    if isinstance(error, httpx.ConnectTimeout):
        return "timed out connecting to the API"
    return "the API stopped answering (read timeout)"


def _describe_network(error: Exception) -> str:
    if isinstance(error, httpx.ConnectError):
        return "could not connect to the API (connection refused or host unreachable)"
    if isinstance(error, httpx.RemoteProtocolError):
        return "the API closed the connection mid-answer"
    return f"network error ({type(error).__name__})"


def _http_error(status: int, headers: httpx.Headers, body: str, key: str | None = None) -> ApiError:
    """The error for an answer of ``status``; ``key`` (the one sent) never appears in it."""
    detail = _error_detail(body, key)
    retry_after = _retry_after(headers.get("retry-after"))
    if status in (401, 403):
        kind = ErrorKind.AUTH
    elif status == 404:
        kind = ErrorKind.NOT_FOUND
    elif status == 429:
        kind = ErrorKind.RATE_LIMITED
    elif status >= 500:
        kind = ErrorKind.SERVER
    elif status in (400, 422):
        kind = ErrorKind.INVALID
    elif 300 <= status < 400:
        # Not followed: the Authorization header would go along to wherever it points.
        target = urlsplit(headers.get("location", "")).hostname or "another address"
        message = f"HTTP {status}: the API redirects to {target}; redirects are not followed"
        return ApiError(ErrorKind.NOT_FOUND, message, status=status)
    else:
        kind = ErrorKind.BAD_RESPONSE
    message = f"HTTP {status}" + (f": {detail}" if detail else "")
    return ApiError(kind, message, status=status, retry_after=retry_after, reason=detail or None)


#: Where error bodies keep their reason, most telling first (Mistral, OpenAI/LiteLLM, others).
_REASON_KEYS = ("message", "error", "detail", "msg", "error_description", "errors", "reason")
_DETAIL_CHARS = 200


def _error_detail(body: str, key: str | None = None) -> str:
    """One readable sentence from an error body of any shape, nested or not.

    Mistral sends ``{"message": ...}`` or ``{"detail": [{"loc", "msg"}]}``; gateways wrap
    those as ``{"error": {"message": ...}}``, sometimes with the upstream's JSON as a string
    inside; what has no recognisable reason is shown as compact JSON, never as Python text.
    ``key`` is blanked out of the decoded text too (JSON may escape it in the body), before
    the sentence is cut, so no start of it is left either.
    """
    return _one_line(_redacted(_reason(body.strip(), depth=0), key))


def _redacted(text: str, key: str | None) -> str:
    """``text`` with ``key`` blanked out, as the log scrubber blanks it."""
    return text.replace(key, "<redacted>") if key else text


def _reason(value: Any, depth: int) -> str:
    if depth > 6:
        return ""
    if isinstance(value, str):
        text = value.strip()
        if text[:1] in ("{", "[", '"'):
            with contextlib.suppress(ValueError):
                return _reason(json.loads(text), depth + 1) or text
        return text
    if isinstance(value, dict):
        if "msg" in value and "loc" in value:  # a validation error (FastAPI/Mistral 422)
            location = ".".join(str(part) for part in value.get("loc") or [])
            return f"{_reason(value['msg'], depth + 1)} ({location})" if location else ""
        for key in _REASON_KEYS:
            reason = _reason(value.get(key), depth + 1) if key in value else ""
            if reason:
                return reason
        return json.dumps(value, ensure_ascii=False, separators=(",", ":")) if value else ""
    if isinstance(value, list):
        reasons = [r for r in (_reason(item, depth + 1) for item in value[:3]) if r]
        return "; ".join(reasons)
    if value is None or isinstance(value, bool):
        return ""
    return str(value)


def _one_line(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _DETAIL_CHARS else text[: _DETAIL_CHARS - 1] + "…"


def _retry_after(value: str | None) -> float | None:
    """``Retry-After`` in seconds (the API sends seconds; HTTP dates are not worth parsing)."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if seconds >= 0 else None


def _parse_json(text: str) -> dict[str, Any]:
    try:
        payload = json.loads(text)
    except ValueError:
        raise ApiError(ErrorKind.BAD_RESPONSE, "the API answered with malformed JSON") from None
    if not isinstance(payload, dict):
        raise ApiError(ErrorKind.BAD_RESPONSE, "the API answered with unexpected JSON")
    return payload


def _first_choice(payload: dict[str, Any]) -> dict[str, Any] | None:
    """The first choice, ``None`` for ``"choices": []`` (a usage-only or keep-alive chunk)."""
    choices = payload.get("choices")
    if isinstance(choices, list) and not choices:
        return None
    if not isinstance(choices, list) or not isinstance(choices[0], dict):
        raise ApiError(ErrorKind.BAD_RESPONSE, "the API answer has no choices")
    return choices[0]


def _text_of(choice: dict[str, Any], field_name: str) -> str:
    """The text of a choice, in any of the shapes gateways use.

    ``message``/``delta`` ``.content`` (chat and Mistral's FIM), ``text`` (OpenAI-style
    completions, as LiteLLM's ``text-completion-codestral`` answers), and ``content`` as a list
    of ``{"type": "text", "text": ...}`` parts.
    """
    part = choice.get(field_name)
    content = part.get("content") if isinstance(part, dict) else None
    if content is None:
        content = choice.get("text")
    if content is None:
        return ""
    if isinstance(content, list):
        pieces = [p.get("text") for p in content if isinstance(p, dict) and p.get("type") == "text"]
        if all(isinstance(p, str) for p in pieces):
            return "".join(pieces)  # type: ignore[arg-type]
    if not isinstance(content, str):
        raise ApiError(ErrorKind.BAD_RESPONSE, "the API answer has no text content")
    return content


def _message_content(payload: dict[str, Any]) -> tuple[str, str | None]:
    choice = _first_choice(payload)
    if choice is None:
        raise ApiError(ErrorKind.BAD_RESPONSE, "the API answer has no choices")
    return _text_of(choice, "message"), choice.get("finish_reason")


def _delta(chunk: dict[str, Any]) -> tuple[str, str | None, dict[str, Any] | None]:
    usage = chunk.get("usage")
    usage = usage if isinstance(usage, dict) else None
    choice = _first_choice(chunk)
    if choice is None:
        return "", None, usage  # skipped: it carries no text (at most the usage)
    return _text_of(choice, "delta"), choice.get("finish_reason"), usage
