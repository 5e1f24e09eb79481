"""Debounce, supersession and shared upstream calls, on a real event loop."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Coroutine
from typing import Any

import pytest

from codestral_ls.scheduling import (
    MID_WORD_FACTOR,
    TURNS_FOR_OLDER,
    KeystrokeRhythm,
    LatestRequest,
    SharedCalls,
    Superseded,
    context_factor,
)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_rhythm_starts_at_the_base_then_learns_the_typing_gaps() -> None:
    clock = Clock()
    rhythm = KeystrokeRhythm(base=0.15, minimum=0.06, maximum=0.4, clock=clock)
    assert rhythm.delay() == 0.15
    for _ in range(20):
        clock.now += 0.03
        rhythm.note_edit("doc")
    assert rhythm.delay() == pytest.approx(0.06)  # 30 ms gaps: clamped to the minimum
    for _ in range(40):
        clock.now += 0.2
        rhythm.note_edit("doc")
    assert rhythm.delay() == pytest.approx(0.28)  # just above a 200 ms rhythm
    clock.now += 5  # a pause is not part of the rhythm
    rhythm.note_edit("doc")
    assert rhythm.delay() == pytest.approx(0.28)


def test_rhythm_measures_quiet_time_per_document() -> None:
    clock = Clock()
    rhythm = KeystrokeRhythm(base=0.1, minimum=0, maximum=1, clock=clock)
    assert rhythm.quiet_for("a") == float("inf")
    rhythm.note_edit("a")
    clock.now += 0.5
    assert rhythm.quiet_for("a") == pytest.approx(0.5)


async def test_a_newer_request_supersedes_a_waiting_one_at_once() -> None:
    rhythm = KeystrokeRhythm(base=30.0, minimum=0, maximum=60, adaptive=False)
    latest = LatestRequest(rhythm)
    rhythm.note_edit("doc")
    first = latest.begin("doc")
    waiting = asyncio.ensure_future(latest.wait_until_quiet(first))
    await asyncio.sleep(0)
    latest.begin("doc")
    with pytest.raises(Superseded):
        await asyncio.wait_for(waiting, 5)


async def test_no_wait_when_the_document_is_already_quiet() -> None:
    rhythm = KeystrokeRhythm(base=30.0, minimum=0, maximum=60, adaptive=False)
    latest = LatestRequest(rhythm)
    await asyncio.wait_for(latest.wait_until_quiet(latest.begin("never-edited")), 1)


async def supersede_while_running(work: Coroutine[Any, Any, str], started: asyncio.Event) -> None:
    """Run ``work`` for a request, and once it has started, supersede the request."""
    latest = LatestRequest(KeystrokeRhythm(base=0, minimum=0, maximum=0))
    running = asyncio.ensure_future(latest.run(latest.begin("doc"), work))
    await started.wait()
    latest.begin("doc")
    with pytest.raises(Superseded):
        await running


async def test_superseded_work_is_cancelled() -> None:
    started, cancelled = asyncio.Event(), asyncio.Event()

    async def slow() -> str:
        started.set()
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return "late"

    await supersede_while_running(slow(), started)
    await asyncio.wait_for(cancelled.wait(), 1)


async def test_an_error_raised_while_superseded_work_stops_is_not_left_unretrieved() -> None:
    """Closing an HTTP stream can raise; nobody awaits the task then, so the scheduler must
    read the error itself or asyncio logs "Task exception was never retrieved"."""
    loop = asyncio.get_running_loop()
    unretrieved: list[dict] = []
    loop.set_exception_handler(lambda _loop, context: unretrieved.append(context))
    started, stopped = asyncio.Event(), asyncio.Event()

    async def fails_when_cancelled() -> str:
        started.set()
        try:
            await asyncio.sleep(30)
        finally:
            stopped.set()
            raise RuntimeError("connection reset while closing")

    await supersede_while_running(fails_when_cancelled(), started)
    await stopped.wait()
    await asyncio.sleep(0)
    gc.collect()  # an unretrieved exception is reported when its task is collected
    await asyncio.sleep(0)
    loop.set_exception_handler(None)
    assert unretrieved == []


async def test_shared_calls_run_once_and_cancel_when_nobody_waits() -> None:
    calls: SharedCalls[str] = SharedCalls()
    runs = 0
    release = asyncio.Event()

    async def fetch() -> str:
        nonlocal runs
        runs += 1
        await release.wait()
        return "answer"

    first = asyncio.ensure_future(calls.call("k", fetch))
    second = asyncio.ensure_future(calls.call("k", fetch))
    await asyncio.sleep(0)
    release.set()
    assert await first == await second == "answer"
    assert runs == 1

    release.clear()
    lone = asyncio.ensure_future(calls.call("k2", fetch))
    await asyncio.sleep(0)
    lone.cancel()
    with pytest.raises(asyncio.CancelledError):
        await lone
    await asyncio.sleep(0)
    assert len(calls) == 0  # the abandoned call was cancelled and forgotten


def test_a_pause_is_long_relative_to_the_debounce_bounds() -> None:
    clock = Clock()
    rhythm = KeystrokeRhythm(base=0.015, minimum=0.006, maximum=0.04, clock=clock)
    assert rhythm.pause_threshold() == pytest.approx(0.1)
    for _ in range(20):
        clock.now += 0.012
        rhythm.note_edit("doc")
    learnt = rhythm.delay()
    for _ in range(5):
        clock.now += 0.2  # long pauses at this scale: not part of the rhythm
        rhythm.note_edit("doc")
    assert rhythm.delay() == learnt
    assert KeystrokeRhythm(base=0.15, minimum=0.06, maximum=0.4).pause_threshold() == 1.0


async def test_joining_a_running_call_keeps_it_alive_when_its_first_waiter_leaves() -> None:
    calls: SharedCalls[str] = SharedCalls()
    release = asyncio.Event()

    async def fetch() -> str:
        await release.wait()
        return "answer"

    first = asyncio.ensure_future(calls.call("k", fetch))
    await asyncio.sleep(0)
    joined = calls.join("k")
    assert joined is not None
    assert calls.join("other") is None
    first.cancel()  # the older request is superseded
    await asyncio.sleep(0)
    release.set()
    assert await joined == "answer"

    release.clear()
    lone = asyncio.ensure_future(calls.call("k2", fetch))
    await asyncio.sleep(0)
    second = calls.join("k2")
    assert second is not None
    lone.cancel()
    second.cancel()  # the last one gives up too: the call is cancelled and forgotten
    for _ in range(5):
        await asyncio.sleep(0)
    assert len(calls) == 0


def test_the_debounce_is_longer_inside_a_word_than_where_a_suggestion_is_wanted() -> None:
    assert context_factor("    resu") == MID_WORD_FACTOR > 1
    assert context_factor("    total_") == MID_WORD_FACTOR
    for before in ("", "    ", "x = ", "print(", "items[", "def f(a, b):", "x = 1 "):
        assert context_factor(before) == 1.0, before


async def test_waiting_inside_a_word_takes_the_factor_longer() -> None:
    clock = Clock()
    rhythm = KeystrokeRhythm(base=0.1, minimum=0, maximum=1, adaptive=False, clock=clock)
    latest = LatestRequest(rhythm)
    rhythm.note_edit("doc")
    clock.now += 0.12  # quiet for longer than the delay, shorter than 1.5 times it
    await asyncio.wait_for(latest.wait_until_quiet(latest.begin("doc")), 1)
    inside = asyncio.ensure_future(latest.wait_until_quiet(latest.begin("doc"), 1.5))
    await asyncio.sleep(0.01)
    assert not inside.done()  # still waiting (the fake clock does not move)
    clock.now += 0.1
    await asyncio.wait_for(inside, 1)


async def _turns_until_done(task: asyncio.Future[Any], most: int) -> int | None:
    """Loop turns until ``task`` is done (``None`` if not within ``most``)."""
    for turn in range(most + 1):
        if task.done():
            return turn
        await asyncio.sleep(0)
    return None


async def test_a_request_answered_first_waits_a_few_turns_for_the_one_it_superseded() -> None:
    latest = LatestRequest(KeystrokeRhythm(base=0, minimum=0, maximum=0))
    older = latest.begin("doc")
    newer = latest.begin("doc")
    waiting = latest.finish(newer)
    assert waiting is older  # not answered yet: the newer one lets it go first
    after = asyncio.ensure_future(LatestRequest.after_older(waiting))
    assert await _turns_until_done(after, 2) is None  # still waiting for the older one
    assert latest.finish(older) is None
    assert await _turns_until_done(after, 3) is not None  # then one turn to write it


async def test_an_older_request_already_answered_costs_no_wait() -> None:
    latest = LatestRequest(KeystrokeRhythm(base=0, minimum=0, maximum=0))
    older = latest.begin("doc")
    newer = latest.begin("doc")
    latest.finish(older)
    assert latest.finish(newer) is None
    done = asyncio.ensure_future(LatestRequest.after_older(older))
    assert await _turns_until_done(done, 2) is not None  # ended, then its answer's turn
    nothing = asyncio.ensure_future(LatestRequest.after_older(None))
    assert await _turns_until_done(nothing, 1) is not None


async def test_an_older_request_that_never_ends_is_not_waited_for() -> None:
    latest = LatestRequest(KeystrokeRhythm(base=0, minimum=0, maximum=0))
    latest.begin("doc")
    waiting = latest.finish(latest.begin("doc"))
    assert waiting is not None
    after = asyncio.ensure_future(LatestRequest.after_older(waiting))
    # a few turns (its start, its bound, one for its answer), never a wait on it
    assert await _turns_until_done(after, 20) == TURNS_FOR_OLDER + 2


async def test_waiting_says_whether_there_was_anything_to_wait_for() -> None:
    rhythm = KeystrokeRhythm(base=0.01, minimum=0, maximum=1, adaptive=False)
    latest = LatestRequest(rhythm)
    assert await latest.wait_until_quiet(latest.begin("never-edited")) is False
    rhythm.note_edit("doc")
    assert await asyncio.wait_for(latest.wait_until_quiet(latest.begin("doc")), 5) is True
