"""Scheduling rules found unpinned by ``python -m bench.mutation scheduling``."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from codestral_ls.documents import Cursor, Document
from codestral_ls.scheduling import (
    KeystrokeRhythm,
    LatestRequest,
    RunningCalls,
    SharedCalls,
    context_factor,
)
from tests.unit.test_running_calls import URI, Fetch, settled, started_call
from tests.unit.test_scheduling import Clock


def test_without_debounce_bounds_a_pause_is_one_second() -> None:
    assert KeystrokeRhythm(base=0, minimum=0, maximum=0).pause_threshold() == 1.0


def test_five_gaps_are_enough_to_learn_the_rhythm() -> None:
    clock = Clock()
    rhythm = KeystrokeRhythm(base=0.15, minimum=0.06, maximum=0.4, clock=clock)
    rhythm.note_edit("doc")
    for gaps in range(1, 6):
        clock.now += 0.1
        rhythm.note_edit("doc")
        learnt = rhythm.delay() == pytest.approx(0.14)
        assert learnt is (gaps == 5), gaps


def test_inside_a_word_the_debounce_is_half_again_as_long() -> None:
    assert context_factor("x = comput") == 1.5
    assert context_factor("x = f(") == 1.0 and context_factor("") == 1.0


async def test_finishing_an_older_request_leaves_the_newest_current() -> None:
    latest = LatestRequest(KeystrokeRhythm(base=0, minimum=0, maximum=0))
    first = latest.begin("doc")
    second = latest.begin("doc")
    latest.finish(first)
    third = latest.begin("doc")  # still supersedes the second: it was the current one
    assert not second.alive and third.alive
    latest.finish(third)
    assert latest.begin("doc").alive and third.alive  # nothing left to supersede


async def test_abandoning_a_call_someone_waits_for_or_none_at_all_does_nothing() -> None:
    calls: SharedCalls[str] = SharedCalls()
    answer: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    waiting = asyncio.ensure_future(calls.call("k", lambda: answer))
    await asyncio.sleep(0)
    calls.abandon("k")  # a request waits for it
    calls.abandon("no such call")
    await settled()
    assert not answer.cancelled()
    answer.set_result("done")
    assert await waiting == "done"


async def test_a_cancelled_call_nobody_waited_for_reports_nothing() -> None:
    loop = asyncio.get_running_loop()
    reported: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _loop, context: reported.append(context))
    try:
        calls: SharedCalls[str] = SharedCalls()
        never: asyncio.Future[str] = loop.create_future()
        waiting = asyncio.ensure_future(calls.call("k", lambda: never))
        await asyncio.sleep(0)
        waiting.cancel()  # the last waiter leaves: the call is cancelled
        await settled()
        assert reported == []
    finally:
        loop.set_exception_handler(None)


async def test_the_join_anchor_is_the_last_400_characters_and_200_may_be_typed() -> None:
    calls, fetch = RunningCalls(), Fetch()
    document = Document(URI, "#" * 1000 + "\ny = \n")
    cursor = Cursor(1, 4)
    task = started_call(calls, document, cursor, fetch)
    await asyncio.sleep(0)
    prompt = "#" * 1000 + "\ny = "
    changed_above_the_anchor = prompt[:-401] + "!" + prompt[-400:]
    assert calls.join(URI, changed_above_the_anchor, "\n") is not None
    changed_in_it = prompt[:-400] + "!" + prompt[-399:]
    assert calls.join(URI, changed_in_it, "\n") is None
    assert calls.join(URI, prompt + "x" * 200, "\n") is not None
    assert calls.join(URI, prompt + "x" * 201, "\n") is None
    fetch.answer.set_result("1")
    await task


def rhythm_after(gaps: list[float], maximum: float = 1.0) -> KeystrokeRhythm:
    clock = Clock()
    rhythm = KeystrokeRhythm(base=0.15, minimum=0.0, maximum=maximum, clock=clock)
    rhythm.note_edit("doc")
    for gap in gaps:
        clock.now += gap
        rhythm.note_edit("doc")
    return rhythm


def test_the_delay_is_the_85th_percentile_gap_and_a_bit() -> None:
    assert rhythm_after([0.1] * 4 + [0.3]).delay() == pytest.approx(0.42)  # 5 gaps: the top
    assert rhythm_after([0.1] * 18 + [0.3] * 2).delay() == pytest.approx(0.14)
    assert rhythm_after([0.1] * 17 + [0.3] * 3).delay() == pytest.approx(0.42)


def test_simultaneous_edits_and_pauses_are_not_gaps() -> None:
    assert rhythm_after([0.0] * 6).delay() == 0.15  # same instant: no gap, still the base
    assert rhythm_after([1.0] * 6, maximum=0.4).delay() == 0.15  # exactly a pause (2.5 x 0.4)


async def test_a_document_quiet_for_exactly_the_delay_is_quiet() -> None:
    clock = Clock()
    rhythm = KeystrokeRhythm(base=0.5, minimum=0, maximum=1, adaptive=False, clock=clock)
    latest = LatestRequest(rhythm)
    rhythm.note_edit("doc")
    clock.now += 0.5
    await asyncio.wait_for(latest.wait_until_quiet(latest.begin("doc")), 5)


async def test_edits_without_a_running_call_or_typed_ahead_of_it() -> None:
    calls = RunningCalls()
    calls.edited(URI)  # no call for the document: just counted
    assert calls.edits(URI) == 1
    fetch = Fetch()
    document = Document(URI, "y = \n")
    task = started_call(calls, document, Cursor(0, 4), fetch)
    await asyncio.sleep(0)
    document.apply_edit((0, 4), (0, 4), "1")
    calls.edited(URI)  # typed ahead of the call: it goes on
    await settled()
    assert not fetch.cancelled
    fetch.answer.set_result("1")
    await task


async def test_a_short_anchor_must_be_the_whole_text_before_the_cursor() -> None:
    calls, fetch = RunningCalls(), Fetch()
    task = started_call(calls, Document(URI, "y = \n"), Cursor(0, 4), fetch)
    await asyncio.sleep(0)
    assert calls.join(URI, "#y = ", "\n") is None  # one character more in front: another text
    fetch.answer.set_result("1")
    await task
