"""The user's controls around completion, as LSP commands every editor can bind.

* ``codestral.toggle`` switches completions off and on, globally or for one file, and
  answers the status (:mod:`codestral_ls.switches`, :mod:`codestral_ls.status`);
* ``codestral/status`` tells the editor when the server's state changes, for a statusline;
* ``codestral.accepted`` is the ``command`` every inline item carries (LSP 3.18: the editor
  runs it when the user accepts), and the Neovim plugin's partial accepts call it too; with
  the suggestions shown and the calls made it feeds the local usage statistics
  (:mod:`codestral_ls.usage`), which never leave the machine.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams

from codestral_ls import privacy, usage
from codestral_ls.status import STATUS_NOTIFICATION, Inputs, Status, StatusBoard, document_status
from codestral_ls.switches import TOGGLE_COMMAND, Switches, parse_arguments

if TYPE_CHECKING:
    from codestral_ls.completion import Completion
    from codestral_ls.documents import Document
    from codestral_ls.server import CodestralServer

log = logging.getLogger(__name__)

ACCEPTED_COMMAND = "codestral.accepted"
#: How often counted usage is appended to the file (and at exit).
FLUSH_SECONDS = 60.0
#: "Waiting for the API" is told only for a call still running after this long: most calls
#: end sooner, and two notifications per keystroke's call would cost the editor a redraw each
#: (a statusline flicker) and the server two writes on the completion's own path.
WAITING_SHOWN_AFTER = 0.1
#: The end of a call is told this long after it, so that the answer it brought is written
#: first: told at once, the "ready" notification of every call that showed "waiting" (any
#: call of 0.1 s or more: all real ones) was written on the answer's own path, 0.3-2.7 ms
#: before it (measured). A statusline 20 ms late is not seen.
CALL_END_TOLD_AFTER = 0.02


class Controls:
    """Switches, status and usage counting for one server."""

    def __init__(self, server: CodestralServer) -> None:
        self._server = server
        self.switches = Switches()
        self.usage = usage.UsageRecorder(None)
        self.board = StatusBoard(self._inputs, self._send_status)
        self._flusher: asyncio.TimerHandle | None = None
        self._status_timer: asyncio.TimerHandle | None = None
        self._waiting_timer: asyncio.TimerHandle | None = None
        self._end_timer: asyncio.TimerHandle | None = None
        self.waiting_shown_after = WAITING_SHOWN_AFTER
        self.call_end_told_after = CALL_END_TOLD_AFTER
        #: Status notifications wait for ``initialized`` (none before the initialize answer).
        self._started = False

    # -- switches and status -----------------------------------------------------------------

    def allows(self, uri: str) -> bool:
        return self.switches.allows(uri)

    def toggle(self, arguments: object) -> dict[str, Any]:
        try:
            action, uri = parse_arguments(arguments)
            self.switches.apply(action, uri)
        except ValueError as error:
            raise JsonRpcInvalidParams.of(error) from None
        self.refresh_status()
        return self.status_of(uri).to_json()

    def status_of(self, uri: str | None) -> Status:
        """The status as the statusline of ``uri``'s window should show it."""
        board = self.board.status()
        document = self._server.documents.get(uri) if uri else None
        if uri is None:
            return board
        settings = self._server.settings
        language = document.language_id if document is not None else ""
        return document_status(
            board,
            switched_off=not self.switches.allows(uri),
            language_disabled=language if language in settings.disabled_languages else None,
            excluded=privacy.is_excluded(uri, settings.exclude_globs),
            credentials=document is not None
            and settings.mask_secrets
            and privacy.mostly_secrets(document.lines),  # its first lines only: bounded
        )

    def refresh_status(self) -> None:
        """Tell the editor if the state changed; when paused, look again when the pause
        ends, so the statusline shows the recovery without a keystroke."""
        if not self._started:
            return
        status = self.board.refresh()
        if self._status_timer is not None:
            self._status_timer.cancel()
            self._status_timer = None
        if status.state == "backoff":
            with contextlib.suppress(RuntimeError):
                remaining = self._server.engine.health.pause_remaining()
                self._status_timer = asyncio.get_running_loop().call_later(
                    remaining + 0.05, self.refresh_status
                )

    def calls_changed(self) -> None:
        """An upstream call started or ended: a start is told only once the call has run for
        ``waiting_shown_after`` seconds, an end ``call_end_told_after`` seconds later (after
        the answer it brought), unless another call is running by then."""
        if self._server.engine.calls_running == 0:
            if self._waiting_timer is not None:
                self._waiting_timer.cancel()
                self._waiting_timer = None
            if self._end_timer is None:
                try:
                    self._end_timer = asyncio.get_running_loop().call_later(
                        self.call_end_told_after, self._tell_end
                    )
                except RuntimeError:  # no loop: nothing to write first
                    self.refresh_status()
        elif self._waiting_timer is None:
            with contextlib.suppress(RuntimeError):  # no loop: nothing to schedule
                self._waiting_timer = asyncio.get_running_loop().call_later(
                    self.waiting_shown_after, self._show_waiting
                )

    def failed(self, _error: object) -> None:
        """A call failed: the pause is told now, before the (empty) answer, not with the call's
        end: an editor that explains an empty answer reads why as the answer arrives (Emacs's
        echo area, instead of "No match"), and there is no text whose answer it would delay."""
        self.refresh_status()

    def _tell_end(self) -> None:
        self._end_timer = None
        if self._server.engine.calls_running == 0:  # else that call's end will tell
            self.refresh_status()

    def _show_waiting(self) -> None:
        self._waiting_timer = None
        self.refresh_status()

    def _inputs(self) -> Inputs:
        server = self._server
        engine = server.engine
        return Inputs(
            enabled_setting=server.settings.enable,
            switched_off=self.switches.globally_off,
            endpoint_problem=server.endpoint.problem,
            pause_remaining=engine.health.pause_remaining(),
            failures=engine.health.failures,
            calls_running=engine.calls_running,
            last_failure=engine.health.last_failure,
        )

    def _send_status(self, status: Status) -> None:
        with contextlib.suppress(Exception):  # no editor yet (before initialize) or gone
            self._server.protocol.notify(STATUS_NOTIFICATION, status.to_json())

    # -- usage -------------------------------------------------------------------------------

    def configure(self, enabled: bool) -> None:
        """``usageStats``: count to the file, or count in memory only."""
        self.usage.path = usage.usage_file(self._server.environ) if enabled else None

    def start(self) -> None:
        """Begin the periodic flush (after ``initialized``)."""
        loop = asyncio.get_running_loop()
        if self._flusher is None:
            self._flusher = loop.call_later(FLUSH_SECONDS, self._flush_periodically)
        self._started = True
        self.refresh_status()

    def _flush_periodically(self) -> None:
        loop = asyncio.get_running_loop()
        loop.run_in_executor(None, self.usage.flush)
        self._flusher = loop.call_later(FLUSH_SECONDS, self._flush_periodically)

    def close(self) -> None:
        """Write what is counted (at shutdown and exit)."""
        if self._flusher is not None:
            self._flusher.cancel()
            self._flusher = None
        self.usage.flush()

    def shown(self, document: Document, completion: Completion) -> types.Command:
        """Count a suggestion reaching the editor; the command its item carries."""
        cursor = completion.cursor
        line_before = document.line_text(cursor.line)[max(0, cursor.index - 2000) : cursor.index]
        suggestion = usage.suggestion_id(document.uri, cursor.line, line_before, completion.text)
        typed_since = completion.source in ("typed-ahead", "in-flight")
        if completion.source != "alternative":  # shown only if the user cycles to it
            self.usage.shown(document.language_id, suggestion, typed_since=typed_since)
        return types.Command(
            title="Codestral: accepted",
            command=ACCEPTED_COMMAND,
            arguments=[{"id": suggestion, "language": document.language_id}],
        )

    def accepted(self, arguments: object) -> None:
        first = arguments[0] if isinstance(arguments, (list, tuple)) and arguments else None
        if not isinstance(first, Mapping):
            raise JsonRpcInvalidParams.of(ValueError('expected {"id": ..., "language": ...}'))
        suggestion, language = first.get("id"), first.get("language")
        self.usage.accepted(
            language if isinstance(language, str) else "",
            suggestion if isinstance(suggestion, str) else None,
            partly=first.get("partly") is True,
        )

    def called(self, language: str, prompt: str, answer: str, reported: Mapping[str, Any]) -> None:
        """One upstream call: the API's token counts when it gave them, else estimates."""
        prompt_tokens = reported.get("prompt_tokens")
        completion_tokens = reported.get("completion_tokens")
        self.usage.call(
            language,
            prompt_tokens if isinstance(prompt_tokens, int) else usage.estimate_tokens(prompt),
            completion_tokens
            if isinstance(completion_tokens, int)
            else usage.estimate_tokens(answer),
        )


def register(server: CodestralServer) -> None:
    """The commands; the handlers stay one line each (``ls`` is untyped: pygls resolves
    handler annotations at run time, and the server class would be an import cycle)."""

    @server.command(TOGGLE_COMMAND)
    def toggle(ls: Any, *arguments: Any) -> dict[str, Any]:
        return ls.controls.toggle(list(arguments))

    @server.command(ACCEPTED_COMMAND)
    def accepted(ls: Any, *arguments: Any) -> None:
        ls.controls.accepted(list(arguments))
