"""The API client against the fake Mistral server: what goes on the wire and the connection."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from codestral_ls.endpoint import Endpoint
from codestral_ls.mistral_api import FimRequest, MistralClient, within
from tests.fake_mistral import FakeMistral


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
