"""The warm-up after ``initialized`` runs one step per turn of the event loop, so that a
request arriving meanwhile waits for one step, not for all of them."""

from __future__ import annotations

import asyncio
import sys

import pytest

from codestral_ls.server import run_one_per_loop_turn
from tests.tools import eventually


async def _turns(count: int) -> None:
    for _ in range(count):
        await asyncio.sleep(0)


async def test_what_becomes_ready_between_two_steps_runs_between_them() -> None:
    seen: list[str] = []
    loop = asyncio.get_running_loop()

    def first() -> None:
        seen.append("first")
        loop.call_soon(seen.append, "request")  # e.g. a completion read meanwhile

    run_one_per_loop_turn([first, lambda: seen.append("second"), lambda: seen.append("third")])
    assert seen == []  # nothing runs before the loop turns
    await _turns(5)
    assert seen == ["first", "request", "second", "third"]


async def test_a_failing_step_is_reported_and_the_next_ones_still_run() -> None:
    seen: list[str] = []
    reported: list[BaseException] = []
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(lambda _loop, context: reported.append(context["exception"]))

    def broken() -> None:
        raise RuntimeError("no TLS bundle")

    run_one_per_loop_turn([broken, lambda: seen.append("after")])
    await _turns(4)
    assert seen == ["after"]
    assert [str(error) for error in reported] == ["no TLS bundle"]


async def test_no_steps_is_nothing_to_do() -> None:
    run_one_per_loop_turn([])
    await _turns(1)


def test_steps_need_a_running_loop() -> None:
    with pytest.raises(RuntimeError):
        run_one_per_loop_turn([lambda: None])


@pytest.fixture
def actions_not_imported():
    """``codestral_ls.actions.service`` out of ``sys.modules`` during the test, put back after
    (other tests hold its classes)."""
    import codestral_ls.actions as package

    name = "codestral_ls.actions.service"
    saved = sys.modules.pop(name, None)
    yield name
    if saved is not None:
        sys.modules[name] = saved
        package.service = saved


async def test_what_no_completion_needs_waits_past_the_first_requests(
    actions_not_imported: str,
) -> None:
    import gc

    from codestral_ls.server import create_server

    server = create_server({})
    server.later_warm_up_after = 3600.0
    frozen_before = gc.get_freeze_count()
    server.warm_up()
    await _turns(10)  # the completion's steps (client, messages, globs) and then some
    assert actions_not_imported not in sys.modules
    assert gc.get_freeze_count() == frozen_before


async def test_then_the_code_actions_are_imported_and_start_up_is_frozen(
    actions_not_imported: str,
) -> None:
    import gc

    from codestral_ls.server import create_server

    server = create_server({})
    server.later_warm_up_after = 0.0
    try:
        server.warm_up()
        # The later steps, each in a turn of its own.
        await eventually(lambda: gc.get_freeze_count() > 0, "start-up frozen")
        assert actions_not_imported in sys.modules
        assert gc.get_freeze_count() > 10_000  # the modules and lsprotocol's classes
    finally:
        gc.unfreeze()


class _Compiles:
    """Counts what Python compiles (cattrs compiles a reader or writer per type on first use)
    while :attr:`counting` is set. An audit hook cannot be removed: it stays, idle, for
    the rest of the test session."""

    counting = False
    count = 0

    @classmethod
    def hook(cls, event: str, _args: object) -> None:
        if cls.counting and event == "compile":
            cls.count += 1


sys.addaudithook(_Compiles.hook)


def _compiles_while_answering(warm: bool) -> int:
    """What the server compiles to write a first inline answer and its log line."""
    from lsprotocol import types

    from codestral_ls.server import create_server
    from tests.unit.test_pygls_compat import Capture

    server = create_server({"CODESTRAL_API_KEY": "test-key"})
    server.protocol.set_writer(Capture(), include_headers=False)
    if warm:
        server._warm_up_messages()
    answer = types.InlineCompletionList(
        items=[types.InlineCompletionItem(insert_text="total += value")]
    )
    _Compiles.count, _Compiles.counting = 0, True
    try:
        server.protocol._send_response(1, answer)
        server.send_log(20, "completion in 2 ms")
    finally:
        _Compiles.counting = False
    return _Compiles.count


def test_after_the_warm_up_the_first_answer_compiles_nothing() -> None:
    """The warm-up covered the results but not pygls's envelopes around them: the first
    completion's answer and log line compiled two writers (~1 ms, measured)."""
    assert _compiles_while_answering(warm=False) > 0  # what the warm-up is for
    assert _compiles_while_answering(warm=True) == 0
