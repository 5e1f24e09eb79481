"""The one owner of the connection to the API: the HTTP client, its life and its deadlines.

Completions (``engine.py``) and code actions (``actions/service.py``) talk to the same
endpoint through the same pooled client, so a chat answer and the next completion share the
kept-alive connection. The server creates one :class:`Upstream`, hands it to both, and calls
:meth:`Upstream.configure` when the settings change; only that rebuilds the client.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Sequence

from codestral_ls.config import Settings
from codestral_ls.endpoint import Endpoint
from codestral_ls.mistral_api import ApiError, MistralClient, Timeouts, preload_network_backend

log = logging.getLogger(__name__)

#: After a failed attempt to connect ahead, the next attempt waits this long (the
#: completions themselves report an unreachable endpoint).
_RETRY_SECONDS = 30.0


def timeouts(total_ms: int, connect_ms: int) -> Timeouts:
    """Deadlines for a call of at most ``total_ms``: connecting never gets longer than that."""
    total = total_ms / 1000
    return Timeouts(connect=min(connect_ms / 1000, total), read=total, total=total)


class Upstream:
    """The HTTP client for the configured endpoint, rebuilt only when the endpoint or the
    completion deadlines change (a rebuilt client means new TCP and TLS handshakes)."""

    def __init__(self, settings: Settings, endpoint: Endpoint) -> None:
        self.settings = settings
        self.endpoint = endpoint
        self._client: MistralClient | None = None
        self._connecting: asyncio.Task[None] | None = None

    def configure(self, settings: Settings, endpoint: Endpoint) -> bool:
        """Apply new settings; returns whether the endpoint changed.

        A client replaced here is closed in the background: a call still running on it
        fails, and :meth:`is_current` tells its caller that was the settings, not an outage.
        """
        old = self.settings
        endpoint_changed = endpoint != self.endpoint
        new_deadlines = settings.completion_timeout_ms, settings.connect_timeout_ms
        old_deadlines = old.completion_timeout_ms, old.connect_timeout_ms
        if (endpoint_changed or new_deadlines != old_deadlines) and self._client is not None:
            _close_later(self._client)
            self._client = None
        self.settings = settings
        self.endpoint = endpoint
        return endpoint_changed

    @property
    def client(self) -> MistralClient:
        """The client, built on first use (its TLS context costs tens of milliseconds);
        :class:`ApiError` while the CA bundle the environment names cannot be loaded (built
        again at the next use: the file may have been fixed)."""
        if self._client is None:
            self._client = MistralClient(self.endpoint, timeouts=self.completion_timeouts())
        return self._client

    def is_current(self, client: MistralClient) -> bool:
        """Whether ``client`` is still the one in use (else the settings replaced it)."""
        return client is self._client

    def completion_timeouts(self) -> Timeouts:
        s = self.settings
        return timeouts(s.completion_timeout_ms, s.connect_timeout_ms)

    def chat_timeouts(self) -> Timeouts:
        """A chat answer may take far longer to start and to finish than a completion."""
        s = self.settings
        return timeouts(s.chat_timeout_ms, s.connect_timeout_ms)

    def chat_stream(self, messages: Sequence[dict[str, str]]) -> AsyncIterator[str]:
        """The chat answer's text deltas, with the chat settings (model, tokens, deadlines)."""
        s = self.settings
        return self.client.chat_stream(
            messages,
            model=s.chat_model,
            max_tokens=s.chat_max_tokens,
            temperature=s.chat_temperature,
            timeouts=self.chat_timeouts(),
            stream=s.stream,
        )

    def warm_up(self) -> None:
        """Build the client (its TLS context) and import its network backend now, not
        during the first completion, and open the connection ahead."""
        if self.endpoint.usable:
            try:
                _ = self.client
            except ApiError as error:  # the first completion tells the user, once
                log.warning("no HTTP client: %s", error)
                return
            preload_network_backend()
            self.connect_ahead()

    def connect_ahead(self) -> None:
        """Open a connection to the endpoint in the background, unless one is believed open.

        Called at start-up and when the user edits a document: after a pause longer than
        the keep-alive, the connection is opened again during the debounce, and the first
        completion does not pay for the handshakes (on a real network, TCP and TLS are
        several round trips). At most one request (``GET models``, free) per idle period.
        """
        if not self.endpoint.usable or self._connecting is not None:
            return
        try:
            client = self.client
        except ApiError:  # a completion reports it (and pauses the calls)
            return
        if time.monotonic() < client.warm_until:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        client.warm_until = time.monotonic() + 1.0  # not again while this one is on its way
        self._connecting = loop.create_task(self._connect(client), name="codestral-ls connect")

    async def _connect(self, client: MistralClient) -> None:
        try:
            await client.open_connection()
        except ApiError as error:
            log.debug("could not open a connection ahead: %s", error)
            client.warm_until = time.monotonic() + _RETRY_SECONDS
        finally:
            self._connecting = None

    async def aclose(self) -> None:
        if self._connecting is not None:
            self._connecting.cancel()
        if self._client is not None:
            client, self._client = self._client, None
            await client.aclose()


#: Closing clients, held until done (the event loop keeps only weak references to tasks).
_closing: set[asyncio.Task[None]] = set()


def _close_later(client: MistralClient) -> None:
    """Close a replaced client without blocking the settings change on it."""
    with contextlib.suppress(RuntimeError):  # no loop: nothing is open either
        task = asyncio.get_running_loop().create_task(client.aclose())
        _closing.add(task)
        task.add_done_callback(_closing.discard)
