"""What the real-editor tests share: the shipped snippets, the environment, bounded runs."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from tests.e2e.client import server_environment

REPO = Path(__file__).resolve().parents[2]
EDITORS = REPO / "editors"


def readme_snippet(marker: str) -> str:
    """The code block right after ``<!-- marker ... -->`` in editors/README.md, with the
    README's placeholder path replaced by this checkout's path."""
    readme = (EDITORS / "README.md").read_text(encoding="utf-8")
    match = re.search(rf"<!-- {re.escape(marker)}\b.*?-->\s*```\w*\n(.*?)```", readme, re.S)
    assert match, f"editors/README.md has no snippet marked {marker!r}"
    return match.group(1).replace("/path/to/codestral-ls", str(REPO))


def editor_environment(base_url: str) -> dict[str, str]:
    """The environment a user's editor has: the key and base URL exported, and the
    ``codestral-ls`` of this Python first on PATH (as ``pip install`` puts it)."""
    env = server_environment(base_url)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env.pop("NVIM", None)
    env.pop("NVIM_LISTEN_ADDRESS", None)
    return env


def run_bounded(
    command: list[str], env: dict[str, str], cwd: Path, timeout: float
) -> subprocess.CompletedProcess[str]:
    """Run an editor, killing it (and failing the test) if it outlives ``timeout``."""
    try:
        return subprocess.run(
            command,
            env=env,
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired as expired:
        raise AssertionError(
            f"{command[0]} did not finish in {timeout} s; stderr: {expired.stderr!r}"
        ) from None


def run_driver(command: list[str], env: dict[str, str], cwd: Path, timeout: float) -> dict:
    """Run an editor with a driver script that writes what it saw as JSON to
    ``env["CODESTRAL_TEST_RESULT"]``; return that, failing the test with the driver's error,
    its steps and the editor's stderr when it did not finish its scenario."""
    run = run_bounded(command, env, cwd, timeout)
    result_file = Path(env["CODESTRAL_TEST_RESULT"])
    assert result_file.exists(), (
        f"{command[0]} wrote no result; exit {run.returncode}: {run.stderr}"
    )
    result = json.loads(result_file.read_text(encoding="utf-8"))
    assert result["ok"] is True, (
        f"{result.get('error')} after {result.get('steps')}; buffer {result.get('buffer')!r}\n"
        f"{run.stderr}"
    )
    return result
