"""httpx's direct connections on plain asyncio (codestral_ls/asyncio_network.py): installed
where it should be, the errors httpcore expects, a flood held back by TCP, an idle
connection the server closed noticed. TLS through it is covered by tests/reliability/test_tls.py
and the fault matrix by tests/reliability/."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

import httpcore
import httpx
import pytest

from codestral_ls import asyncio_network
from codestral_ls.asyncio_network import AsyncioBackend, AsyncioStream
from codestral_ls.endpoint import Endpoint
from codestral_ls.fim import FimRequest
from codestral_ls.mistral_api import MistralClient
from tests.fake_mistral import FakeMistral
from tests.tools import eventually

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@contextlib.asynccontextmanager
async def _serve(handler: Handler) -> AsyncIterator[int]:
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()


def _closing_when(event: asyncio.Event) -> Handler:
    """A server that takes the connection, neither reads nor answers, and closes its side
    once ``event`` is set."""

    async def handler(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await event.wait()
        writer.close()

    return handler


def test_the_client_s_direct_connections_use_it_and_proxies_keep_anyio() -> None:
    """Pins the httpx and httpcore attributes it is installed through."""
    client = httpx.AsyncClient(mounts={"http://proxied.example": httpx.AsyncHTTPTransport()})

    assert asyncio_network.use_for_direct_connections(client) is True
    assert isinstance(client._transport._pool._network_backend, AsyncioBackend)
    [proxied] = client._mounts.values()
    assert not isinstance(proxied._pool._network_backend, AsyncioBackend)
    assert asyncio_network.use_for_direct_connections(object()) is False  # type: ignore[arg-type]


async def test_streamed_completions_reuse_one_connection() -> None:
    with FakeMistral(api_key="k") as fake:
        fake.fim_responder = lambda body: "return total"
        client = MistralClient(Endpoint(fake.base_url, "k", "test"))
        try:
            request = FimRequest(model="codestral-latest", prompt="def f():\n    ", suffix="")
            texts = [(await client.fim(request, stream=True)).text for _ in range(3)]
            texts.append((await client.fim(request, stream=False)).text)
        finally:
            await client.aclose()
        assert texts == ["return total"] * 4
        assert fake.connections_accepted == 1


async def test_reads_hand_over_what_arrived_at_most_max_bytes_at_a_time() -> None:
    async def handler(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"0123456789" * 10)
        await writer.drain()
        writer.close()

    async with _serve(handler) as port:
        stream = await AsyncioBackend().connect_tcp("127.0.0.1", port, timeout=5)
        received = [await stream.read(30, timeout=5)]
        while received[-1]:
            received.append(await stream.read(30, timeout=5))
        assert all(len(piece) <= 30 for piece in received)
        assert b"".join(received) == b"0123456789" * 10  # then b"": the server closed
        await stream.aclose()


async def test_a_flood_is_held_back_by_tcp_not_in_memory() -> None:
    flood = 16 * 1024 * 1024
    sent = asyncio.Event()

    async def handler(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"x" * flood)
        await writer.drain()  # returns only once the client has taken most of it
        sent.set()
        writer.close()

    async with _serve(handler) as port:
        stream = await AsyncioBackend().connect_tcp("127.0.0.1", port, timeout=5)
        assert isinstance(stream, AsyncioStream)
        receiver = stream._receiver
        await eventually(lambda: receiver.reading_paused, "reading paused at the high water")
        # Nobody reads: the socket is no longer read, the rest waits in the kernel.
        assert receiver.buffered < asyncio_network._HIGH_WATER + 256 * 1024
        assert not sent.is_set()
        total = 0
        while piece := await stream.read(65536, timeout=5):
            total += len(piece)
        assert total == flood and sent.is_set()
        await stream.aclose()


async def test_errors_are_the_ones_httpcore_expects() -> None:
    silent_close = asyncio.Event()

    async with _serve(_closing_when(silent_close)) as port:
        stream = await AsyncioBackend().connect_tcp("127.0.0.1", port, timeout=5)
        with pytest.raises(httpcore.ReadTimeout):
            await stream.read(100, timeout=0.01)
        assert stream.get_extra_info("is_readable") is False  # idle and open: reusable
        silent_close.set()
        await eventually(lambda: stream.get_extra_info("is_readable"), "the server's close seen")
        assert await stream.read(100, timeout=5) == b""
        await stream.aclose()
        with pytest.raises(httpcore.WriteError):
            await stream.write(b"GET / HTTP/1.1\r\n\r\n")
        with pytest.raises(httpcore.ConnectTimeout):
            await AsyncioBackend().connect_tcp("127.0.0.1", port, timeout=0)

    # Nothing listens there any more: refused.
    with pytest.raises(httpcore.ConnectError):
        await AsyncioBackend().connect_tcp("127.0.0.1", port, timeout=5)


async def test_addresses_are_what_httpcore_asks_for() -> None:
    async def handler(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    async with _serve(handler) as port:
        stream = await AsyncioBackend().connect_tcp("127.0.0.1", port, timeout=5)
        assert stream.get_extra_info("server_addr") == ("127.0.0.1", port)
        assert stream.get_extra_info("client_addr")[0] == "127.0.0.1"
        assert stream.get_extra_info("ssl_object") is None
        assert stream.get_extra_info("socket") is not None
        await stream.aclose()


async def test_closing_frees_the_socket_even_with_a_request_not_yet_sent() -> None:
    """A server that stops reading: the request's rest waits in the transport. Closing must
    not keep the socket (and the body) until the server reads again."""
    stop = asyncio.Event()

    async with _serve(_closing_when(stop)) as port:
        stream = await AsyncioBackend().connect_tcp("127.0.0.1", port, timeout=5)
        assert isinstance(stream, AsyncioStream)
        with pytest.raises(httpcore.WriteTimeout):
            await stream.write(b"x" * 64 * 1024 * 1024, timeout=0.01)
        await stream.aclose()
        receiver = stream._receiver
        await eventually(lambda: receiver.eof, "the connection gone, not draining")
        assert stream._transport.get_write_buffer_size() == 0
        stop.set()


class _GoneTransport:
    """Stands for Python 3.10's TLS transport once its connection is lost."""

    def __init__(self) -> None:
        self.paused = False

    def pause_reading(self) -> None:
        self.paused = True

    def resume_reading(self) -> None:
        raise AttributeError("'NoneType' object has no attribute 'resume_reading'")


async def test_what_arrived_before_the_end_is_read_after_it() -> None:
    receiver = asyncio_network._Receiver(asyncio.get_running_loop())
    transport = _GoneTransport()
    receiver.connection_made(transport)  # type: ignore[arg-type]
    receiver.data_received(b"x" * asyncio_network._HIGH_WATER)
    assert transport.paused and receiver.reading_paused
    receiver.connection_lost(None)  # the server answered and closed (TLS close_notify)
    received = 0
    while receiver.chunks:
        received += len(receiver.take(65536))
    assert received == asyncio_network._HIGH_WATER and receiver.eof
