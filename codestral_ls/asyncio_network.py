"""httpx's connections to the endpoint on plain asyncio, without anyio's per-read cost.

httpx talks to the network through httpcore, and httpcore through anyio. On asyncio, anyio's
socket stream starts reading before each read and stops after it (``resume_reading`` /
``pause_reading``: two ``epoll_ctl`` system calls and a future per read) and wraps each read
and write in a cancel scope. A streamed completion is read in one piece per SSE chunk (the
API sends a token at a time), so this was paid 14 times per completion on the bench's tiny
answer: ~40 system calls and 1 ms of the 3 ms httpx added over a minimal client (profiled).

:class:`AsyncioBackend` is an httpcore network backend on an :class:`asyncio.Protocol` that
keeps reading while the connection is open (up to :data:`_HIGH_WATER` bytes not yet read by
httpcore, then it pauses, so a flood is held back by TCP rather than in memory) and hands
over what arrived. It gives httpcore the same errors anyio's backend does (``ConnectError``,
``ReadTimeout`` ...), so httpx and :mod:`codestral_ls.mistral_api` see no difference.

It is installed on the client's direct connections only (:func:`use_for_direct_connections`),
through httpx's and httpcore's attributes (``_transport._pool._network_backend``), the one
place that relies on them: if a release renames them, the client keeps anyio (as before) and
``tests/unit/test_asyncio_network.py`` fails so that the upgrade notices. Connections through
a proxy keep anyio's backend: TLS inside a TLS connection to an ``https://`` proxy is
something asyncio's ``start_tls`` cannot do on Python 3.10.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import select
import socket
import ssl
from collections.abc import Iterable
from typing import Any

import httpcore
import httpx

log = logging.getLogger(__name__)

#: Bytes received and not yet read by httpcore above which the socket is no longer read
#: (httpcore reads 64 KB at a time; our answers are capped far below this anyway).
_HIGH_WATER = 256 * 1024
#: RFC 8305's delay before trying the next address (anyio's default too).
_HAPPY_EYEBALLS_DELAY = 0.25


def use_for_direct_connections(client: httpx.AsyncClient) -> bool:
    """Make ``client``'s direct connections use :class:`AsyncioBackend`; whether it could."""
    pool = getattr(getattr(client, "_transport", None), "_pool", None)
    if isinstance(getattr(pool, "_network_backend", None), httpcore.AsyncNetworkBackend):
        pool._network_backend = AsyncioBackend()  # type: ignore[union-attr]
        return True
    log.debug("httpx's connection pool not found: connections stay on anyio")
    return False


class AsyncioBackend(httpcore.AsyncNetworkBackend):
    """Opens connections as :class:`AsyncioStream`."""

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        connecting = loop.create_connection(
            lambda: _Receiver(loop),
            host,
            port,
            local_addr=(local_address, 0) if local_address else None,
            happy_eyeballs_delay=_HAPPY_EYEBALLS_DELAY,
        )
        return await _connected(connecting, timeout, socket_options)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        connecting = loop.create_unix_connection(lambda: _Receiver(loop), path)
        return await _connected(connecting, timeout, socket_options)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


async def _connected(connecting: Any, timeout: float | None, options: Any) -> AsyncioStream:
    try:
        transport, receiver = await asyncio.wait_for(connecting, timeout)
    except asyncio.TimeoutError as error:  # the builtin TimeoutError on 3.11+
        raise httpcore.ConnectTimeout(str(error) or "connect timed out") from None
    except OSError as error:
        raise httpcore.ConnectError(str(error)) from error
    stream = AsyncioStream(transport, receiver)
    try:
        raw = transport.get_extra_info("socket")
        for option in options or ():
            raw.setsockopt(*option)
    except OSError as error:
        await stream.aclose()
        raise httpcore.ConnectError(str(error)) from error
    return stream


class _Receiver(asyncio.Protocol):
    """Keeps what the connection received until :class:`AsyncioStream` reads it."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.transport: asyncio.Transport | None = None
        self.chunks: collections.deque[bytes] = collections.deque()
        self.buffered = 0
        self.eof = False
        self.error: BaseException | None = None
        self.reading_paused = False
        self.waiter: asyncio.Future[None] | None = None
        self.writable: asyncio.Future[None] | None = None  # set while writing is paused

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.chunks.append(data)
        self.buffered += len(data)
        if self.buffered >= _HIGH_WATER and not self.reading_paused and self.transport:
            self.transport.pause_reading()
            self.reading_paused = True
        self._wake()

    def eof_received(self) -> bool:
        self.eof = True
        self._wake()
        return False  # close our side too: HTTP/1.1 has nothing more to say on it

    def connection_lost(self, error: Exception | None) -> None:
        self.eof = True
        self.error = error
        self.transport = None  # gone: Python 3.10's TLS transport fails on resume_reading
        self._wake()
        if self.writable is not None and not self.writable.done():
            self.writable.set_result(None)

    def pause_writing(self) -> None:
        self.writable = self.loop.create_future()

    def resume_writing(self) -> None:
        if self.writable is not None and not self.writable.done():
            self.writable.set_result(None)
        self.writable = None

    def _wake(self) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)

    def take(self, max_bytes: int) -> bytes:
        data = self.chunks.popleft()
        if len(data) > max_bytes:
            data, rest = data[:max_bytes], data[max_bytes:]
            self.chunks.appendleft(rest)
        self.buffered -= len(data)
        if self.reading_paused and self.buffered < _HIGH_WATER // 2:
            self.reading_paused = False
            if self.transport is not None and not self.eof:  # after the end: nothing to read
                self.transport.resume_reading()
        return data


class AsyncioStream(httpcore.AsyncNetworkStream):
    """One connection: reads hand over what :class:`_Receiver` kept, writes go straight to
    the transport (which sends at once when the socket takes them, as anyio does)."""

    def __init__(self, transport: asyncio.Transport, receiver: _Receiver) -> None:
        self._transport = transport
        self._receiver = receiver

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        receiver = self._receiver
        if not receiver.chunks and not receiver.eof:
            await self._wait(timeout)
        if receiver.chunks:
            return receiver.take(max_bytes)
        if receiver.error is not None:
            raise httpcore.ReadError(str(receiver.error) or type(receiver.error).__name__)
        return b""  # the other side closed: httpcore makes sense of it

    async def _wait(self, timeout: float | None) -> None:
        receiver = self._receiver
        loop = receiver.loop
        waiter = receiver.waiter = loop.create_future()
        expiry = None
        if timeout is not None:
            expiry = loop.call_later(timeout, _expire, waiter)
        try:
            await waiter
        except TimeoutError:  # only _expire sets it
            raise httpcore.ReadTimeout("timed out waiting for the server") from None
        finally:
            receiver.waiter = None
            if expiry is not None:
                expiry.cancel()

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        receiver = self._receiver
        if receiver.error is not None or self._transport.is_closing():
            raise httpcore.WriteError("the connection is closed")
        self._transport.write(buffer)
        if receiver.writable is not None:  # the kernel's buffer is full: wait for room
            try:
                await asyncio.wait_for(asyncio.shield(receiver.writable), timeout)
            except asyncio.TimeoutError:
                raise httpcore.WriteTimeout("timed out sending the request") from None
            if receiver.error is not None:
                raise httpcore.WriteError(str(receiver.error))

    async def aclose(self) -> None:
        """Close now, dropping what was not sent yet.

        ``close()`` would keep the socket open until the transport's buffer is sent: a
        request body the server stopped reading stayed in memory with its socket, and was
        delivered whole if the server read on (a completion nobody waits for). Over TLS there
        is no close_notify exchange either, as with anyio's backend.
        """
        self._transport.abort()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        receiver = self._receiver
        upgrading = receiver.loop.start_tls(
            self._transport, receiver, ssl_context, server_hostname=server_hostname
        )
        try:
            secure = await asyncio.wait_for(upgrading, timeout)
        except asyncio.TimeoutError:
            self._transport.abort()
            raise httpcore.ConnectTimeout("timed out in the TLS handshake") from None
        except (OSError, ssl.SSLError) as error:  # SSLError is an OSError; said for clarity
            self._transport.abort()
            raise httpcore.ConnectError(str(error)) from error
        if secure is None:  # the connection closed during the handshake
            raise httpcore.ConnectError("the connection closed during the TLS handshake")
        receiver.transport = secure  # type: ignore[assignment]
        return AsyncioStream(secure, receiver)  # type: ignore[arg-type]

    def get_extra_info(self, info: str) -> Any:
        transport = self._transport
        if info == "ssl_object":
            return transport.get_extra_info("ssl_object")
        if info == "client_addr":
            return transport.get_extra_info("sockname")
        if info == "server_addr":
            return transport.get_extra_info("peername")
        if info == "socket":
            return transport.get_extra_info("socket")
        if info == "is_readable":  # an idle connection the server closed, or is closing
            receiver = self._receiver
            if receiver.chunks or receiver.eof:
                return True
            return _readable(transport.get_extra_info("socket"))
        return None


def _expire(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_exception(TimeoutError())


def _readable(sock: socket.socket | None) -> bool:
    """Whether ``sock`` has something to read (or is gone), without reading it."""
    if sock is None or sock.fileno() < 0:
        return True
    try:
        if hasattr(select, "poll"):  # no limit on the descriptor's number, unlike select()
            poller = select.poll()
            poller.register(sock, select.POLLIN)
            return bool(poller.poll(0))
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)
