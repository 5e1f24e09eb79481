"""Upstream health: back off after failures, and tell the user once, in plain words.

When the API fails, typing must not turn into a stream of failing requests (which a rate
limit punishes further) nor into a stream of pop-ups. After a failure, automatic completions
pause (a circuit breaker): for ``Retry-After`` seconds when the API says so, otherwise for an
exponentially growing, jittered interval. When the pause is over, one request probes the API
(the others stay paused while it runs, for at most ``probe_lease`` seconds, so a cancelled
probe cannot block completions for good); a success closes the breaker and re-arms the
messages, so the next outage is reported again. Requests the user asks for explicitly
(``invoked``) are the engine's business: they may go through a paused breaker.

A single transient failure (5xx, 429, timeout, network, garbled answer) is only logged: the
message comes with the second failure in a row. Messages are grouped by what the user can do
about them (:func:`remedy_group`): a flapping network that alternates timeouts and refused
connections is one outage, told once.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable

from codestral_ls.endpoint import Endpoint
from codestral_ls.errors import ApiError, ErrorKind
from codestral_ls.messages import Notice, explain, in_brief

log = logging.getLogger(__name__)

#: First pause and cap, in seconds, per kind of failure.
_BACKOFF: dict[ErrorKind, tuple[float, float]] = {
    # A new key takes a minute or two to work; after that, 401s need the user's fix.
    ErrorKind.AUTH: (30.0, 300.0),
    ErrorKind.NOT_FOUND: (60.0, 300.0),
    ErrorKind.INVALID: (0.0, 0.0),  # about this request only; the next one may be fine
    ErrorKind.RATE_LIMITED: (2.0, 60.0),
    ErrorKind.SERVER: (1.0, 60.0),
    ErrorKind.TIMEOUT: (1.0, 30.0),
    ErrorKind.NETWORK: (2.0, 60.0),
    ErrorKind.BAD_RESPONSE: (1.0, 30.0),
    # Fixed in the user's environment; the file is read again after the pause.
    ErrorKind.CA_BUNDLE: (30.0, 300.0),
}


#: Failures that usually pass by themselves: told only when one follows another.
_TRANSIENT = frozenset(
    {
        ErrorKind.RATE_LIMITED,
        ErrorKind.SERVER,
        ErrorKind.TIMEOUT,
        ErrorKind.NETWORK,
        ErrorKind.BAD_RESPONSE,
    }
)


def remedy_group(kind: ErrorKind) -> str:
    """Kinds the user would fix the same way share one message per outage."""
    if kind in (ErrorKind.TIMEOUT, ErrorKind.NETWORK):
        return "unreachable"
    return kind.value


class UpstreamHealth:
    """The circuit breaker and the once-per-outage messages."""

    def __init__(
        self,
        notify: Callable[[Notice], None],
        *,
        clock: Callable[[], float] = time.monotonic,
        jitter: Callable[[], float] = random.random,
        probe_lease: float = 10.0,
    ) -> None:
        self._notify = notify
        self._clock = clock
        self._jitter = jitter
        #: How long one probe may run before another request may probe instead.
        self.probe_lease = probe_lease
        self._paused_until = 0.0
        self._probe_until = 0.0
        self._failures = 0
        self._told: set[str] = set()
        #: The last failure in a few words (:func:`in_brief`), for the status: a
        #: user whose explicit request found nothing asks why, and the pop-up may be long gone.
        self.last_failure = ""

    @property
    def failures(self) -> int:
        return self._failures

    def pause_remaining(self) -> float:
        return max(0.0, self._paused_until - self._clock())

    def allows(self) -> bool:
        """Whether a request may go upstream now; after a failure, one at a time (the probe)."""
        now = self._clock()
        if now < self._paused_until:
            return False
        if self._failures:
            if now < self._probe_until:
                return False  # half-open: another request is probing
            self._probe_until = now + self.probe_lease
        return True

    def release_probe(self) -> None:
        """The probing request was cancelled before it learnt anything: let the next one
        probe now, instead of every automatic request waiting out the lease."""
        self._probe_until = 0.0

    def record_success(self) -> None:
        self._failures = 0
        self._paused_until = 0.0
        self._probe_until = 0.0
        self._told.clear()
        self.last_failure = ""

    def record_failure(self, error: ApiError, endpoint: Endpoint) -> None:
        """Pause as the failure warrants, and tell the user unless already told."""
        first, cap = _BACKOFF.get(error.kind, (1.0, 60.0))
        self.last_failure = in_brief(error, endpoint)
        if first > 0:
            self._failures += 1
            if error.retry_after is not None:
                pause = min(error.retry_after, 600.0)
            else:
                # Exponent capped: a day-long outage must not overflow a float.
                pause = min(cap, first * 2 ** min(self._failures - 1, 32))
                pause *= 0.5 + 0.5 * self._jitter()  # spread the retries of many clients
            self._paused_until = max(self._paused_until, self._clock() + pause)
        self._probe_until = 0.0
        if error.kind is ErrorKind.RATE_LIMITED:
            # Often a limit shared by a whole team (a gateway's): a pop-up on every
            # developer's screen helps nobody. The pause shows in the status; an explicit
            # request that meets it is told (:meth:`tell`).
            return
        if error.kind in _TRANSIENT and self._failures < 2:
            return  # one blip is not worth a pop-up (the log has it); a second one is
        self.tell(error, endpoint)

    def tell(self, error: ApiError, endpoint: Endpoint) -> None:
        """Tell the user about ``error`` unless this kind of trouble was told already."""
        group = remedy_group(error.kind)
        if group not in self._told:
            self._told.add(group)
            self._notify(explain(error, endpoint))
