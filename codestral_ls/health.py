"""Upstream health: back off after failures, and tell the user once, in plain words.

When the API fails, typing must not turn into a stream of failing requests (which a rate
limit punishes further) nor into a stream of pop-ups. After a failure, automatic completions
pause (a circuit breaker): for ``Retry-After`` seconds when the API says so, otherwise for an
exponentially growing, jittered interval. When the pause is over, one request probes the API;
a success closes the breaker and re-arms the messages, so the next outage is reported again.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable

from codestral_ls.mistral_api import ApiError, ErrorKind

#: First pause and cap, in seconds, per kind of failure.
_BACKOFF: dict[ErrorKind, tuple[float, float]] = {
    ErrorKind.AUTH: (300.0, 300.0),
    ErrorKind.NOT_FOUND: (60.0, 300.0),
    ErrorKind.INVALID: (0.0, 0.0),  # about this request only; the next one may be fine
    ErrorKind.RATE_LIMITED: (2.0, 60.0),
    ErrorKind.SERVER: (1.0, 60.0),
    ErrorKind.TIMEOUT: (1.0, 30.0),
    ErrorKind.NETWORK: (2.0, 60.0),
    ErrorKind.BAD_RESPONSE: (1.0, 30.0),
}


def explain(error: ApiError, base_url: str) -> str:
    """What happened and what to do, for a ``window/showMessage``."""
    reason = str(error)
    if error.kind is ErrorKind.AUTH:
        return (
            f"Codestral rejected the API key ({reason}). Check CODESTRAL_API_KEY (keys for "
            "codestral.mistral.ai and api.mistral.ai are different) and restart the server."
        )
    if error.kind is ErrorKind.RATE_LIMITED:
        return f"Codestral is rate-limiting requests ({reason}); completions pause and resume."
    if error.kind is ErrorKind.SERVER:
        return f"The Codestral API is failing ({reason}); completions resume when it recovers."
    if error.kind is ErrorKind.NOT_FOUND:
        return f"No Codestral API at {base_url} ({reason}): check the apiBase and model settings."
    if error.kind is ErrorKind.INVALID:
        return f"Codestral refused the request ({reason}): check the model and settings."
    if error.kind in (ErrorKind.TIMEOUT, ErrorKind.NETWORK):
        return f"Cannot reach Codestral at {base_url}: {reason}. Completions resume when it does."
    return f"Codestral answered something unexpected ({reason}); retrying later."


class UpstreamHealth:
    """The circuit breaker and the once-per-outage messages."""

    def __init__(
        self,
        notify: Callable[[str], None],
        *,
        clock: Callable[[], float] = time.monotonic,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self._notify = notify
        self._clock = clock
        self._jitter = jitter
        self._paused_until = 0.0
        self._failures = 0
        self._told: set[ErrorKind] = set()

    @property
    def failures(self) -> int:
        return self._failures

    def pause_remaining(self) -> float:
        return max(0.0, self._paused_until - self._clock())

    def allows(self) -> bool:
        """Whether a request may go upstream now."""
        return self._clock() >= self._paused_until

    def record_success(self) -> None:
        self._failures = 0
        self._paused_until = 0.0
        self._told.clear()

    def record_failure(self, error: ApiError, base_url: str) -> None:
        """Pause as the failure warrants, and tell the user unless already told."""
        first, cap = _BACKOFF.get(error.kind, (1.0, 60.0))
        if first > 0:
            self._failures += 1
            if error.retry_after is not None:
                pause = min(error.retry_after, 600.0)
            else:
                pause = min(cap, first * 2 ** (self._failures - 1))
                pause *= 0.5 + 0.5 * self._jitter()  # spread the retries of many clients
            self._paused_until = max(self._paused_until, self._clock() + pause)
        if error.kind not in self._told:
            self._told.add(error.kind)
            self._notify(explain(error, base_url))
