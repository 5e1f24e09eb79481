"""The run-time switches (``codestral.toggle``) and the status a statusline shows."""

from __future__ import annotations

from typing import Any

import pytest

from codestral_ls.status import (
    STATUS_NOTIFICATION,
    Inputs,
    Status,
    StatusBoard,
    describe,
    document_status,
)
from codestral_ls.switches import Switches, parse_arguments
from tests.unit.test_pygls_compat import server_with_output, settled

READY = Inputs(
    enabled_setting=True,
    switched_off=False,
    endpoint_problem=None,
    pause_remaining=0.0,
    failures=0,
    calls_running=0,
)


def test_toggle_global_and_per_document():
    switches = Switches()
    switches.apply("toggle", None)
    assert not switches.allows("file:///a.py")
    switches.apply("toggle", None)
    switches.apply("disable", "file:///a.py")
    assert not switches.allows("file:///a.py") and switches.allows("file:///b.py")
    switches.apply("toggle", "file:///a.py")
    assert switches.allows("file:///a.py")
    switches.apply("disable", "file:///b.py")
    switches.forget("file:///b.py")
    assert switches.allows("file:///b.py")
    switches.apply("status", None)
    assert switches == Switches()
    with pytest.raises(ValueError, match="unknown action"):
        switches.apply("explode", None)


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ([{"action": "disable", "uri": "file:///a.py"}], ("disable", "file:///a.py")),
        ([{"action": "status"}], ("status", None)),
        (["enable"], ("enable", None)),
        ([], ("toggle", None)),
        (None, ("toggle", None)),
    ],
)
def test_command_arguments_as_editors_send_them(arguments, expected):
    assert parse_arguments(arguments) == expected


@pytest.mark.parametrize("arguments", [[{"action": 3}], [{"uri": 5}], [7]])
def test_bad_command_arguments_are_a_clear_error(arguments):
    with pytest.raises(ValueError, match="expected"):
        parse_arguments(arguments)


@pytest.mark.parametrize(
    ("change", "state"),
    [
        ({}, "idle"),
        ({"calls_running": 1}, "waiting"),
        ({"pause_remaining": 5.0, "failures": 2, "calls_running": 1}, "backoff"),
        ({"endpoint_problem": "no API key", "pause_remaining": 5.0}, "no-key"),
        ({"switched_off": True, "endpoint_problem": "no API key"}, "disabled"),
        ({"enabled_setting": False}, "disabled"),
    ],
)
def test_the_most_severe_state_wins(change, state):
    inputs = Inputs(**{**READY.__dict__, **change})
    assert describe(inputs, now=1000.0).state == state


def test_backoff_says_when_it_ends():
    status = describe(
        Inputs(**{**READY.__dict__, "pause_remaining": 30.0, "failures": 1}), now=10.0
    )
    assert status.until == 40.0 and "retrying at" in status.message
    assert status.to_json()["until"] == 40.0
    assert "until" not in describe(READY, now=0).to_json()


def test_backoff_says_why():
    """What stopped completions, where an editor shows the status (``:Codestral status``,
    Emacs's echo area after a completion found nothing)."""
    paused = {"pause_remaining": 30.0, "failures": 2}
    status = describe(
        Inputs(**{**READY.__dict__, **paused, "last_failure": "Cannot reach Codestral at x"}),
        now=10.0,
    )
    assert status.message.startswith(
        "Codestral paused after 2 failure(s): Cannot reach Codestral at x; retrying at "
    )
    assert "failure(s); retrying" in describe(Inputs(**{**READY.__dict__, **paused}), now=1).message


def test_a_file_can_be_off_while_the_server_is_fine():
    idle = Status("idle", "ready")
    assert (
        document_status(idle, switched_off=True, language_disabled=None, excluded=False).state
        == "disabled"
    )
    assert (
        "disabledLanguages"
        in document_status(
            idle, switched_off=False, language_disabled="markdown", excluded=False
        ).message
    )
    assert (
        "excludeGlobs"
        in document_status(idle, switched_off=False, language_disabled=None, excluded=True).message
    )
    no_key = Status("no-key", "not set up")
    assert (
        document_status(no_key, switched_off=True, language_disabled=None, excluded=True) == no_key
    )


def test_the_board_tells_only_changes():
    inputs = [READY]
    sent: list[Status] = []
    board = StatusBoard(lambda: inputs[0], sent.append, clock=lambda: 0.0)
    board.refresh()
    board.refresh()
    inputs[0] = Inputs(**{**READY.__dict__, "calls_running": 2})
    board.refresh()
    inputs[0] = Inputs(**{**READY.__dict__, "calls_running": 1})
    board.refresh()
    inputs[0] = READY
    board.refresh()
    assert [status.state for status in sent] == ["idle", "waiting", "idle"]


def _told_states(output: Any) -> list[str]:
    return [m["params"]["state"] for m in output.sent if m.get("method") == STATUS_NOTIFICATION]


def _started_without_delays() -> tuple[Any, Any]:
    """A started server whose status timers are due at once (they still wait a loop turn)."""
    server, output = server_with_output()
    server.controls.waiting_shown_after = 0.0
    server.controls.call_end_told_after = 0.0
    server.controls.start()
    return server, output


def _calls_now(server: Any, running: int) -> None:
    """``running`` upstream calls are running now, as the engine tells the controls."""
    server.engine.calls_running = running
    server.controls.calls_changed()


async def test_a_call_shorter_than_the_delay_tells_nothing() -> None:
    """Two notifications per keystroke's call would cost a redraw each: a call that ends
    before ``waiting_shown_after`` leaves the statusline alone (even a timer due at once
    comes too late)."""
    server, output = _started_without_delays()
    _calls_now(server, 1)
    _calls_now(server, 0)
    await settled()
    assert _told_states(output) == ["idle"]


async def test_a_call_still_running_after_the_delay_shows_waiting_then_idle() -> None:
    server, output = _started_without_delays()
    _calls_now(server, 1)
    server.controls.calls_changed()  # a second call starting does not schedule a second timer
    await settled()
    assert _told_states(output) == ["idle", "waiting"]
    _calls_now(server, 0)
    await settled()
    assert _told_states(output) == ["idle", "waiting", "idle"]


async def test_the_end_of_a_call_is_told_after_its_answer() -> None:
    """The "ready" notification waits ``call_end_told_after``: written at once, it went out
    before the completion the call brought, on the path the user waits on."""
    server, output = _started_without_delays()
    _calls_now(server, 1)
    await settled()
    _calls_now(server, 0)
    assert _told_states(output) == ["idle", "waiting"]  # the answer goes out first
    _calls_now(server, 1)  # another call started meanwhile: still waiting
    await settled()
    assert _told_states(output) == ["idle", "waiting"]
    _calls_now(server, 0)
    await settled()
    assert _told_states(output) == ["idle", "waiting", "idle"]


def test_a_credentials_file_says_so() -> None:
    """A file that is mostly secrets gets nothing sent (engine.wants); its status says why,
    so an editor can explain an empty completion there (Emacs's echo area, the CLI)."""
    idle = Status("idle", "ready")
    status = document_status(
        idle, switched_off=False, language_disabled=None, excluded=False, credentials=True
    )
    assert status.state == "disabled" and "credentials" in status.message
