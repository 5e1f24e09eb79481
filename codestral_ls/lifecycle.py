"""How the server process ends: on ``exit``, when stdin closes, or when the editor dies.

The LSP spec says: ``exit`` after ``shutdown`` ends with code 0, ``exit`` without it with 1.
Editors do not always say goodbye: a crashed or killed editor leaves its language servers
running unless they notice, so the server watches the ``processId`` the editor gave in
``initialize`` and leaves when that process is gone.

Leaving goes through :func:`finish`, which flushes the logs and ends the process at once
(``os._exit``): pygls reads stdin on a worker thread that a normal interpreter exit would
wait for, and that thread only returns when the editor closes the pipe, which a dead or
misbehaving editor may never do. HTTP connections are closed with the process.

When the editor goes away first, writes to stdout fail; :class:`QuietWriter` turns those
failures into one debug line instead of pygls's "Error sending data" tracebacks, and the
server ends as soon as stdin reaches its end.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import inspect
import logging
import os
import sys
from collections.abc import Awaitable, Callable
from typing import Any

log = logging.getLogger(__name__)

#: How often the editor's process is looked at, in seconds.
PARENT_POLL_SECONDS = 1.0


def exit_code(shutdown_received: bool) -> int:
    """The spec's exit code: 0 after a ``shutdown`` request, 1 without one."""
    return 0 if shutdown_received else 1


def finish(code: int) -> None:
    """Flush what was written and end the process now, with ``code``."""
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code)


def process_alive(pid: int) -> bool:
    """Whether process ``pid`` exists (signal 0 checks without sending anything)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process, but alive
    except OSError as error:
        return error.errno != errno.ESRCH
    return True


def watch_parent(
    pid: int | None,
    on_gone: Callable[[], Awaitable[None] | None],
    *,
    interval: float = PARENT_POLL_SECONDS,
    alive: Callable[[int], bool] = process_alive,
) -> asyncio.Task[None] | None:
    """Call ``on_gone`` once ``pid`` has ended; ``None`` when there is nothing to watch.

    A pid that is not alive right away is not watched: the editor may run in another pid
    namespace (a container, a remote host), where its pid means nothing here.
    """
    if pid is None or not alive(pid):
        if pid is not None:
            log.info("editor process %s is not visible from here; not watching it", pid)
        return None

    async def watch() -> None:
        while alive(pid):
            await asyncio.sleep(interval)
        log.info("the editor (process %s) is gone; exiting", pid)
        result = on_gone()
        if inspect.isawaitable(result):
            await result

    return asyncio.get_running_loop().create_task(watch(), name="codestral-ls parent watch")


class QuietWriter:
    """Wraps pygls's writer: once the editor's end of the pipe is gone, writes are dropped."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.lost = False

    def write(self, data: bytes) -> Any:
        if self.lost:
            return None
        try:
            result = self._inner.write(data)
        except (OSError, ValueError):  # broken pipe, or "I/O operation on closed file"
            self._lose()
            return None
        if inspect.isawaitable(result):
            return self._await_write(result)
        return None

    async def _await_write(self, pending: Awaitable[Any]) -> None:
        try:
            await pending
        except (OSError, ValueError, ConnectionError):
            self._lose()

    def close(self) -> Any:
        self.lost = True
        with contextlib.suppress(OSError, ValueError):
            return self._inner.close()
        return None

    def _lose(self) -> None:
        if not self.lost:
            self.lost = True
            log.debug("the editor closed its end of the connection; dropping further output")
