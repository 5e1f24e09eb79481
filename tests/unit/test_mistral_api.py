"""The API client against the fake Mistral server: what goes on the wire and the connection."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from codestral_ls.endpoint import Endpoint
from codestral_ls.errors import ApiError, ErrorKind
from codestral_ls.mistral_api import FimRequest, MistralClient, within
from tests.fake_mistral import Error, FakeMistral


@pytest_asyncio.fixture
async def client(fake: FakeMistral) -> AsyncIterator[MistralClient]:
    started = MistralClient(Endpoint(fake.base_url, "test-key", "test"))
    yield started
    await started.aclose()


def request(prompt: str) -> FimRequest:
    return FimRequest(model="codestral-latest", prompt=prompt, suffix="\n", max_tokens=32)


async def test_whole_streams_leave_the_connection_open_for_the_next_call(
    fake: FakeMistral, client: MistralClient
) -> None:
    """Reading a stream to its end (past ``[DONE]``) lets keep-alive reuse the connection:
    a new TCP (and, against Mistral, TLS) handshake per completion is latency users feel."""
    fake.fim_responder = lambda body: "return a + b"
    for prompt in ("def add(a, b):\n    ", "def plus(a, b):\n    ", "def sum2(a, b):\n    "):
        result = await client.fim(request(prompt), stream=True)
        assert result.text == "return a + b" and not result.stopped_early
    result = await client.fim(request("def f(a, b):\n    "), stream=False)
    assert result.text == "return a + b"
    assert fake.connections_accepted == 1


async def test_an_early_stop_hangs_up_and_the_next_call_reconnects(
    fake: FakeMistral, client: MistralClient
) -> None:
    fake.fim_responder = lambda body: "first line\nsecond line\nthird line"
    result = await client.fim(request("x = "), stream=True, until=lambda text: "\n" in text)
    assert result.stopped_early and result.text.startswith("first line\n")
    await client.fim(request("y = "), stream=True)
    assert fake.connections_accepted == 2


def test_a_missing_optional_module_httpcore_imports_per_request_is_remembered() -> None:
    """httpcore imports sniffio on every request; when it is not installed, each attempt
    searched sys.path again (0.2 ms, four times a request). After the warm-up's preload the
    failure is immediate, and an installed sniffio is left alone."""
    import importlib.util
    import sys

    from codestral_ls.mistral_api import preload_network_backend

    installed = (
        importlib.util.find_spec("sniffio") is not None
        if "sniffio" not in sys.modules
        else sys.modules["sniffio"] is not None
    )
    preload_network_backend()
    if installed:
        assert sys.modules["sniffio"] is not None
    else:
        assert "sniffio" in sys.modules and sys.modules["sniffio"] is None
        with pytest.raises(ImportError):
            importlib.import_module("sniffio")


async def test_a_deadline_runs_the_work_in_the_callers_task() -> None:
    """No task (and turn of the event loop) of its own per use: three uses per completion."""
    caller = asyncio.current_task()

    async def work() -> asyncio.Task[object] | None:
        return asyncio.current_task()

    if sys.version_info >= (3, 11):
        assert await within(5, work()) is caller
    with pytest.raises(asyncio.TimeoutError):
        await within(0.001, asyncio.Event().wait())  # never set: always too late
    assert await within(5, asyncio.sleep(0, "done")) == "done"


@pytest.mark.parametrize(
    ("status", "body", "reason"),
    [
        (400, {"message": "Invalid model: codestral-2599"}, "Invalid model: codestral-2599"),
        (400, {"detail": "Prompt too long"}, "Prompt too long"),
        (400, {"error": {"message": "model not\nallowed", "code": 400}}, "model not allowed"),
        (
            422,
            {"detail": [{"type": "missing", "loc": ["body", "model"], "msg": "Field required"}]},
            "Field required (body.model)",
        ),
        (400, {"message": "no such model for key test-key"}, "no such model for key <redacted>"),
        (400, rb'{"message": "key test\u002dkey"}', "key <redacted>"),  # escaped in JSON
    ],
    ids=["message", "detail", "error-message", "validation", "key", "escaped-key"],
)
async def test_a_refused_request_keeps_the_apis_reason(
    fake: FakeMistral, client: MistralClient, status: int, body: object, reason: str
) -> None:
    """A 400/422 is about what was sent; only the API's reason says what (issue: a generic
    "refused the request" left the user guessing), one line, and never the key."""
    fake.script(Error(status, body=body))
    with pytest.raises(ApiError) as raised:
        async for _piece in client.chat_stream([{"role": "user", "content": "hi"}], model="m"):
            pass
    error = raised.value
    assert (error.kind, error.status, error.reason) == (ErrorKind.INVALID, status, reason)
    assert "test-key" not in str(error)


async def test_a_long_reason_is_one_line_of_200_characters_at_most_without_the_key(
    fake: FakeMistral, client: MistralClient
) -> None:
    """The key straddles the 200th character: blanked before the cut, no start of it left."""
    message = "word\n" * 38 + "test-key " + "more " * 1000
    fake.script(Error(400, body={"message": message}))
    with pytest.raises(ApiError) as raised:
        await client.fim(request("x = "), stream=False)
    reason = raised.value.reason
    assert reason is not None and "\n" not in reason and len(reason) <= 200
    assert reason.startswith("word word") and reason.endswith("…")
    assert "test-" not in reason and "<redacted" in reason


async def test_an_error_page_over_the_read_cap_keeps_its_start(
    fake: FakeMistral, client: MistralClient
) -> None:
    """A 10 KB error page arrives in one piece, past the 8 KB read of an error body: its
    first 8 KB are kept (nothing was, reason and log detail included)."""
    page = "Gateway says: model not allowed\n" + "x" * 10_000
    fake.script(Error(400, body=page.encode()))
    with pytest.raises(ApiError) as raised:
        await client.fim(request("x = "), stream=False)
    reason = raised.value.reason
    assert reason is not None and reason.startswith("Gateway says: model not allowed xxx")
