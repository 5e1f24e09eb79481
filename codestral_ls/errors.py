"""How an API call fails, in terms of what the user can do about it.

Apart from the HTTP client (``mistral_api.py``), so that what only reacts to failures (the
circuit breaker in ``health.py``, the user messages in ``messages.py``, code actions) does
not depend on httpx and the wire format.
"""

from __future__ import annotations

from enum import Enum


class ErrorKind(str, Enum):
    """What went wrong, in the terms the user's remedy depends on."""

    AUTH = "auth"  # 401/403: the key
    NOT_FOUND = "not-found"  # 404: the base URL or model
    INVALID = "invalid-request"  # 400/422: what we sent
    RATE_LIMITED = "rate-limited"  # 429
    SERVER = "server"  # 5xx
    TIMEOUT = "timeout"
    #: All pooled connections busy for the whole wait: our own load, not the API's failure.
    BUSY = "busy"
    NETWORK = "network"  # refused, reset, DNS, cut stream
    BAD_RESPONSE = "bad-response"  # not the documented format
    #: The CA bundle the environment names (SSL_CERT_FILE, ...) cannot be loaded: nothing
    #: was sent; the user's environment needs fixing.
    CA_BUNDLE = "ca-bundle"


class ApiError(Exception):
    """A failed API call. ``str()`` is safe to show: it never contains the key."""

    def __init__(
        self,
        kind: ErrorKind,
        message: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
        missing_route: str | None = None,
        reason: str | None = None,
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.status = status
        self.retry_after = retry_after
        #: The API route this endpoint lacks (``/fim/completions`` on a chat-only gateway).
        self.missing_route = missing_route
        #: Why the API says it failed, in its own words from the error body: one line of at
        #: most 200 characters, the key blanked out. A 400/422 is about what was sent (a
        #: prompt over the model's context, a model the key may not use), which only this
        #: reason tells the user.
        self.reason = reason
