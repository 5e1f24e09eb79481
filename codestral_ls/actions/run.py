"""Streaming an answer while the editor shows progress, and stopping when the user cancels.

An answer can take a minute, so it is streamed and the editor is told how it goes through
``window/workDoneProgress`` (a server-created, cancellable token, when the client supports
them). Three things end the wait early, and each closes the HTTP stream at once, so the API
stops generating (and billing) the answer: the user cancelling the progress, the client
cancelling the request (``$/cancelRequest``), and the overall deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

from lsprotocol import types

from codestral_ls.errors import ApiError, ErrorKind

log = logging.getLogger(__name__)

#: Progress is reported when this many more characters have arrived since the last report.
REPORT_EVERY_CHARS = 200
#: How long a client may take to accept a progress token before we go on without one.
_CREATE_TIMEOUT = 5.0


class ActionCancelled(Exception):
    """The user cancelled the action's progress; nothing is to be applied or reported."""


async def collect_answer(
    chunks: AsyncIterator[str],
    *,
    deadline: float,
    cancelled: asyncio.Future[Any] | None = None,
    on_progress: Callable[[int], None] = lambda _chars: None,
) -> str:
    """Read ``chunks`` to the end and return the whole text.

    Raises :class:`ActionCancelled` when ``cancelled`` completes first, and a TIMEOUT
    :class:`ApiError` after ``deadline`` seconds; in both cases, and when this coroutine is
    itself cancelled, ``chunks`` is closed (which closes the HTTP stream) before returning.
    """
    received = 0

    async def read_all() -> str:
        nonlocal received
        parts: list[str] = []
        async with contextlib.aclosing(chunks):
            async for piece in chunks:
                parts.append(piece)
                received += len(piece)
                on_progress(received)
        return "".join(parts)

    reader = asyncio.ensure_future(read_all())
    waiting: set[asyncio.Future[Any]] = {reader}
    if cancelled is not None:
        waiting.add(cancelled)
    try:
        done, _pending = await asyncio.wait(
            waiting, timeout=deadline, return_when=asyncio.FIRST_COMPLETED
        )
    except asyncio.CancelledError:
        await _stop(reader)
        raise
    if reader in done:
        return reader.result()
    await _stop(reader)
    if cancelled is not None and cancelled.done():
        raise ActionCancelled()
    raise ApiError(ErrorKind.TIMEOUT, f"no complete answer within {deadline:g} s")


async def _stop(task: asyncio.Future[Any]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError, ApiError):
        await task


class WorkProgress:
    """One server-created work-done progress, or nothing when the client cannot show one.

    ``cancelled`` is a future that completes when the user cancels it in the editor.
    """

    def __init__(self, server: Any, title: str) -> None:
        self._server = server
        self._title = title
        self._token: str | None = None
        self._reported = 0
        self.cancelled: asyncio.Future[Any] | None = None

    async def begin(self, note: str = "") -> None:
        """Show the progress; ``note`` goes beside the title ("Codestral: Reply (older 4
        turns left out)"), for what the user should know from the start."""
        if not self._server.client_features.work_done_progress:
            return
        token = f"codestral-{uuid.uuid4()}"
        progress = self._server.work_done_progress
        try:
            await asyncio.wait_for(progress.create_async(token), _CREATE_TIMEOUT)
        except Exception as error:  # a client that refuses the token gets no progress
            log.info("the client refused a progress token: %s", error)
            return
        self._token = token
        self.cancelled = asyncio.wrap_future(progress.tokens[token])
        progress.begin(
            token,
            types.WorkDoneProgressBegin(
                title=f"{self._title} ({note})" if note else self._title,
                cancellable=True,
                message="waiting for Codestral…",
            ),
        )

    def received(self, chars: int) -> None:
        """Report how much has arrived (every :data:`REPORT_EVERY_CHARS` characters)."""
        if self._token is None or (self._reported and chars - self._reported < REPORT_EVERY_CHARS):
            return
        self._reported = chars
        self._server.work_done_progress.report(
            self._token, types.WorkDoneProgressReport(message=f"{chars} characters received")
        )

    def report(self, message: str) -> None:
        """Say what the action is doing, in words (shown beside the title)."""
        if self._token is not None:
            self._server.work_done_progress.report(
                self._token, types.WorkDoneProgressReport(message=message)
            )

    def end(self, message: str) -> None:
        if self._token is None:
            return
        progress = self._server.work_done_progress
        progress.end(self._token, types.WorkDoneProgressEnd(message=message))
        progress.tokens.pop(self._token, None)
        self._token = None


__all__ = ["REPORT_EVERY_CHARS", "ActionCancelled", "WorkProgress", "collect_answer"]
