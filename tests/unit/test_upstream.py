"""The one owner of the HTTP client: when it is kept, rebuilt and closed, and its deadlines."""

from __future__ import annotations

import asyncio
import dataclasses

from codestral_ls.config import Settings
from codestral_ls.endpoint import Endpoint
from codestral_ls.mistral_api import FimRequest, Timeouts
from codestral_ls.upstream import Upstream, timeouts
from tests.fake_mistral import FakeMistral

SETTINGS = Settings(completion_timeout_ms=4000, connect_timeout_ms=1500, chat_timeout_ms=60000)


def endpoint_of(fake: FakeMistral) -> Endpoint:
    return Endpoint(fake.base_url, "test-key", "test")


def test_connecting_never_gets_longer_than_the_whole_call() -> None:
    assert timeouts(4000, 1500) == Timeouts(connect=1.5, read=4.0, total=4.0)
    assert timeouts(800, 3000) == Timeouts(connect=0.8, read=0.8, total=0.8)


def test_completions_and_chat_have_their_own_deadlines(fake: FakeMistral) -> None:
    upstream = Upstream(SETTINGS, endpoint_of(fake))
    assert upstream.completion_timeouts() == Timeouts(connect=1.5, read=4.0, total=4.0)
    assert upstream.chat_timeouts() == Timeouts(connect=1.5, read=60.0, total=60.0)
    assert upstream.client.timeouts == upstream.completion_timeouts()


async def test_completions_and_chat_share_one_client_and_connection(fake: FakeMistral) -> None:
    fake.fim_responder = lambda body: "return a + b"
    upstream = Upstream(SETTINGS, endpoint_of(fake))
    try:
        client = upstream.client
        await client.fim(FimRequest(model="codestral-latest", prompt="x = ", suffix=""))
        answer = [d async for d in upstream.chat_stream([{"role": "user", "content": "hi"}])]
        assert answer and upstream.client is client
        assert fake.connections_accepted == 1
        assert fake.chat_requests[-1].body["model"] == SETTINGS.chat_model
    finally:
        await upstream.aclose()


async def test_settings_that_do_not_touch_the_client_keep_it(fake: FakeMistral) -> None:
    upstream = Upstream(SETTINGS, endpoint_of(fake))
    client = upstream.client
    changed = dataclasses.replace(SETTINGS, max_tokens=12, chat_timeout_ms=5000)
    assert upstream.configure(changed, endpoint_of(fake)) is False
    assert upstream.is_current(client) and upstream.client is client
    assert upstream.chat_timeouts().total == 5.0  # read per call, no rebuild needed
    await upstream.aclose()


async def test_new_deadlines_or_endpoint_replace_the_client_and_close_the_old(
    fake: FakeMistral,
) -> None:
    upstream = Upstream(SETTINGS, endpoint_of(fake))
    first = upstream.client
    slower = dataclasses.replace(SETTINGS, completion_timeout_ms=9000)
    assert upstream.configure(slower, endpoint_of(fake)) is False
    assert not upstream.is_current(first)
    second = upstream.client
    assert second is not first and second.timeouts.total == 9.0
    moved = Endpoint(fake.base_url + "/v2", "test-key", "test")
    assert upstream.configure(slower, moved) is True
    assert not upstream.is_current(second) and upstream.client.endpoint == moved
    await asyncio.sleep(0)  # the replaced clients close in the background
    assert first._http.is_closed and second._http.is_closed
    await upstream.aclose()


def test_warm_up_builds_no_client_without_a_usable_endpoint() -> None:
    upstream = Upstream(
        SETTINGS, Endpoint("https://codestral.mistral.ai/v1", None, "none", problem="no key")
    )
    upstream.warm_up()
    assert upstream._client is None


# -- the connection opened ahead ------------------------------------------------------------


async def _connected_ahead(upstream: Upstream) -> None:
    """Wait for the background connect (a signal: the task ends), not for a time."""
    task = upstream._connecting
    assert task is not None, "no connection was being opened ahead"
    await task


async def test_warm_up_opens_the_connection_the_first_completion_uses(fake: FakeMistral) -> None:
    fake.fim_responder = lambda body: "return a + b"
    upstream = Upstream(SETTINGS, endpoint_of(fake))
    try:
        upstream.warm_up()
        await _connected_ahead(upstream)
        assert len(fake.models_requests) == 1 and fake.connections_accepted == 1
        await upstream.client.fim(FimRequest(model="codestral-latest", prompt="x = ", suffix=""))
        assert fake.connections_accepted == 1  # the first completion found it open
        upstream.connect_ahead()  # an edit right after: the connection is warm, no request
        assert upstream._connecting is None and len(fake.models_requests) == 1
    finally:
        await upstream.aclose()


async def test_an_edit_after_the_keep_alive_opens_a_connection_again(fake: FakeMistral) -> None:
    upstream = Upstream(SETTINGS, endpoint_of(fake))
    try:
        upstream.warm_up()
        await _connected_ahead(upstream)
        upstream.client.warm_until = 0.0  # as when the last answer is older than the keep-alive
        upstream.connect_ahead()
        upstream.connect_ahead()  # one at a time
        await _connected_ahead(upstream)
        assert len(fake.models_requests) == 2
    finally:
        await upstream.aclose()


async def test_a_connection_is_kept_longer_than_httpx_default_keep_alive(
    fake: FakeMistral,
) -> None:
    """httpx closes idle connections after 5 s by default: a typing pause. This one waits
    5.5 s (longer is fine: the assertion is about the pool, not about speed)."""
    fake.fim_responder = lambda body: "return a + b"
    upstream = Upstream(SETTINGS, endpoint_of(fake))
    request = FimRequest(model="codestral-latest", prompt="x = ", suffix="")
    try:
        await upstream.client.fim(request)
        await asyncio.sleep(5.5)
        await upstream.client.fim(request)
        assert fake.connections_accepted == 1
    finally:
        await upstream.aclose()


async def test_an_unreachable_endpoint_is_not_asked_again_on_every_edit(
    fake: FakeMistral,
) -> None:
    from tests.fake_mistral import closed_port_url

    upstream = Upstream(SETTINGS, Endpoint(closed_port_url(), "test-key", "test"))
    try:
        upstream.warm_up()
        await _connected_ahead(upstream)
        upstream.connect_ahead()
        assert upstream._connecting is None
    finally:
        await upstream.aclose()
