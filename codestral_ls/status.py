"""What the server is doing, in one word, for a statusline or mode line.

The server sends a ``codestral/status`` notification whenever its state changes, and
answers the same object to ``codestral.toggle`` (with action ``status``):

    {"state": "idle" | "waiting" | "backoff" | "no-key" | "disabled",
     "message": "one line for a tooltip or :Codestral status",
     "until": 1764573000.0}          # backoff only: when requests resume (Unix time)

``disabled`` can be global (the ``enable`` setting, ``:Codestral disable``) or about one
file (switched off, its language disabled, or a file that is never sent, such as ``.env``);
the per-file forms are answered for a ``uri`` and are not broadcast. Editors draw it: the
Neovim plugin's ``require('codestral').statusline()``, the Emacs mode line (see
``editors/``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

STATUS_NOTIFICATION = "codestral/status"
#: A file that is mostly secrets (a ``.env`` under another name): completions and actions
#: skip it whole.
CREDENTIALS_FILE = "This file looks like credentials and is never sent to Codestral (maskSecrets)"


@dataclass(frozen=True)
class Status:
    state: str
    message: str
    until: float | None = None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        if self.until is None:
            del data["until"]
        return data


@dataclass(frozen=True)
class Inputs:
    """Everything the global state depends on, read from the server at one moment."""

    enabled_setting: bool
    switched_off: bool
    endpoint_problem: str | None
    pause_remaining: float
    failures: int
    calls_running: int
    #: What the last failure was, in one short line ("" when unknown).
    last_failure: str = ""


def describe(inputs: Inputs, *, now: float) -> Status:
    """The state, most severe first: what stops completions outranks what delays them."""
    if not inputs.enabled_setting:
        return Status("disabled", "Codestral is off (the enable setting is false)")
    if inputs.switched_off:
        return Status("disabled", "Codestral is off (:Codestral enable turns it back on)")
    if inputs.endpoint_problem:
        return Status("no-key", f"Codestral is not set up: {inputs.endpoint_problem}")
    if inputs.pause_remaining > 0:
        until = now + inputs.pause_remaining
        clock = time.strftime("%H:%M:%S", time.localtime(until))
        why = f": {inputs.last_failure}" if inputs.last_failure else ""
        return Status(
            "backoff",
            f"Codestral paused after {inputs.failures} failure(s){why}; retrying at {clock}",
            until=round(until, 1),
        )
    if inputs.calls_running:
        return Status("waiting", "Codestral is writing a suggestion")
    return Status("idle", "Codestral is ready")


def document_status(
    board: Status,
    *,
    switched_off: bool,
    language_disabled: str | None,
    excluded: bool,
    credentials: bool = False,
) -> Status:
    """The status as seen from one file: a global problem first, then the file's own.
    ``credentials``: the file is mostly secrets, which ``maskSecrets`` never sends."""
    if board.state in ("disabled", "no-key"):
        return board
    if switched_off:
        return Status("disabled", "Codestral is off for this file (:Codestral enable)")
    if language_disabled:
        return Status("disabled", f"Codestral is off for {language_disabled} (disabledLanguages)")
    if excluded:
        return Status("disabled", "This file is never sent to Codestral (excludeGlobs)")
    if credentials:
        return Status("disabled", CREDENTIALS_FILE)
    return board


class StatusBoard:
    """Keeps the last status told and tells the editor only when it changes."""

    def __init__(
        self,
        read: Callable[[], Inputs],
        send: Callable[[Status], None],
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._read = read
        self._send = send
        self._clock = clock
        self.current: Status | None = None

    def status(self) -> Status:
        return describe(self._read(), now=self._clock())

    def refresh(self) -> Status:
        """Recompute; notify if the state or message changed (a backoff's ``until`` moving
        by itself is not news)."""
        status = self.status()
        previous = self.current
        if previous is None or (previous.state, previous.message) != (
            status.state,
            status.message,
        ):
            self.current = status
            self._send(status)
        return status
