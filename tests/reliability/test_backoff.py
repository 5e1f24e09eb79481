"""The circuit breaker over a simulated minute (health.py with an injected clock)."""

from __future__ import annotations

import itertools

import pytest

from codestral_ls.endpoint import Endpoint
from codestral_ls.errors import ApiError, ErrorKind
from codestral_ls.health import UpstreamHealth

ENDPOINT = Endpoint("https://codestral.mistral.ai/v1", "key", "CODESTRAL_API_KEY")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def outage(
    error: ApiError, *, seconds: float = 60.0, every: float = 0.05, jitter: float = 0.0
) -> tuple[list[float], list[str]]:
    """Ask every ``every`` s through an outage of ``seconds``; the times calls went out."""
    clock, told = Clock(), []
    health = UpstreamHealth(told.append, clock=clock, jitter=lambda: jitter)
    start, calls = clock.now, []
    while clock.now - start < seconds:
        if health.allows():
            calls.append(clock.now - start)
            health.record_failure(error, ENDPOINT)
        clock.now += every
    return calls, told


@pytest.mark.parametrize("jitter", [0.0, 0.5, 1.0])
def test_one_minute_of_5xx_costs_at_most_the_backoff_schedule(jitter: float) -> None:
    calls, told = outage(ApiError(ErrorKind.SERVER, "HTTP 503"), jitter=jitter)
    # Shortest pauses (jitter 0): 0.5, 1, 2, 4, 8, 16, 30 s -> calls at 0, .5, 1.5, 3.5,
    # 7.5, 15.5, 31.5: seven in the minute instead of 1200 keystroke requests.
    assert 5 <= len(calls) <= 7, calls
    gaps = [b - a for a, b in itertools.pairwise(calls)]
    assert gaps == sorted(gaps), "the pauses grow"
    assert len(told) == 1


def test_retry_after_is_honoured_exactly() -> None:
    calls, _ = outage(ApiError(ErrorKind.RATE_LIMITED, "HTTP 429", retry_after=10.0))
    assert len(calls) == 6
    assert all(abs((b - a) - 10.0) < 0.1 for a, b in itertools.pairwise(calls))


def test_a_rate_limit_pauses_completions_without_a_pop_up() -> None:
    """A gateway's limit is shared by a team: a minute of 429s must not put a pop-up on
    every developer's screen (the pause shows in the status; an explicit request is told)."""
    calls, told = outage(ApiError(ErrorKind.RATE_LIMITED, "HTTP 429", retry_after=10.0))
    assert len(calls) == 6 and told == []


def test_network_and_timeout_faults_are_one_outage_for_the_user() -> None:
    told: list[str] = []
    health = UpstreamHealth(told.append, clock=Clock())
    health.record_failure(ApiError(ErrorKind.TIMEOUT, "timed out connecting"), ENDPOINT)
    health.record_failure(ApiError(ErrorKind.NETWORK, "refused"), ENDPOINT)
    assert len(told) == 1
    health.record_success()
    health.record_failure(ApiError(ErrorKind.NETWORK, "refused"), ENDPOINT)
    assert len(told) == 1, "one blip is only logged"
    health.record_failure(ApiError(ErrorKind.NETWORK, "refused"), ENDPOINT)
    assert len(told) == 2, "a new outage is told again"


def test_after_the_pause_one_request_probes_and_a_lost_probe_expires() -> None:
    clock = Clock()
    health = UpstreamHealth(lambda _m: None, clock=clock, jitter=lambda: 1.0, probe_lease=5.0)
    health.record_failure(ApiError(ErrorKind.SERVER, "HTTP 500"), ENDPOINT)
    assert not health.allows()
    clock.now += 1.0
    assert health.allows(), "the probe"
    assert not health.allows(), "others wait for the probe"
    clock.now += 5.0
    assert health.allows(), "a probe that never reported (cancelled) does not block forever"
    health.record_success()
    assert health.allows() and health.allows()


def test_a_day_long_outage_does_not_overflow() -> None:
    health = UpstreamHealth(lambda _m: None, clock=Clock())
    for _ in range(5000):
        health.record_failure(ApiError(ErrorKind.SERVER, "HTTP 500"), ENDPOINT)
    assert 0 < health.pause_remaining() <= 60.0


def test_invalid_requests_do_not_pause() -> None:
    health = UpstreamHealth(lambda _m: None, clock=Clock())
    health.record_failure(ApiError(ErrorKind.INVALID, "HTTP 422"), ENDPOINT)
    assert health.allows()


def test_the_status_can_say_why_completions_are_paused() -> None:
    """Even when no pop-up is shown (a rate limit, a failure already told), the pause's
    reason is kept for the status; a success forgets it."""
    health = UpstreamHealth(lambda _notice: None, clock=Clock())
    health.record_failure(ApiError(ErrorKind.RATE_LIMITED, "HTTP 429", status=429), ENDPOINT)
    assert health.last_failure == "Codestral is rate-limiting requests (HTTP 429)"
    health.record_failure(ApiError(ErrorKind.SERVER, "HTTP 503", status=503), ENDPOINT)
    assert health.last_failure == "The Codestral API is failing (HTTP 503)"
    health.record_success()
    assert health.last_failure == ""
