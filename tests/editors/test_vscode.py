"""The VS Code extension builds, packages to a .vsix, and its Node protocol test passes.

``editors/vscode/test/protocol.test.js`` drives the server through vscode-languageserver-protocol
(what vscode-languageclient is built on) with VS Code's capabilities and the extension's own
compiled settings code, against ``python -m tests.fake_mistral``, and checks inline completions.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from lsprotocol import converters

from tests.e2e.client import editor_capabilities
from tests.editors.support import EDITORS, REPO
from tests.tools import need_tool

pytestmark = pytest.mark.editor

EXTENSION = EDITORS / "vscode"


def _npm(
    *args: str, timeout: float = 300, extra: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHON": sys.executable, "PYTHONPATH": str(REPO), **(extra or {})}
    for name in ("CODESTRAL_API_KEY", "MISTRAL_API_KEY", "CODESTRAL_API_BASE"):
        env.pop(name, None)
    run = subprocess.run(
        [need_tool("npm", "apt-get install nodejs npm; .ci/run does"), *args],
        cwd=EXTENSION,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
    assert run.returncode == 0, f"npm {' '.join(args)} failed:\n{run.stdout}\n{run.stderr}"
    return run


def test_extension_compiles_packages_and_drives_the_server(tmp_path: Path) -> None:
    _npm("ci", "--no-audit", "--no-fund")
    _npm("run", "compile")
    assert (EXTENSION / "out" / "extension.js").exists()

    capabilities = tmp_path / "vscode-capabilities.json"
    capabilities.write_text(
        json.dumps(converters.get_converter().unstructure(editor_capabilities("vscode")))
    )
    tests = _npm("test", timeout=120, extra={"VSCODE_CAPABILITIES": str(capabilities)})
    assert "# pass 5" in tests.stdout and "# fail 0" in tests.stdout, tests.stdout

    # The documented command. At a terminal vsce asks about anything it misses (a LICENSE, the
    # repository) and aborts on Enter; with stdin not a terminal it goes on after the warning.
    vsix = tmp_path / "codestral-ls.vsix"
    packaged = _npm("run", "package", "--", "--out", str(vsix))
    questions = [
        line
        for line in (packaged.stdout + packaged.stderr).splitlines()
        if "continue?" in line
        or ("WARNING" in line and ("LICENSE" in line or "repository" in line))
    ]
    assert not questions, questions
    names = set(zipfile.ZipFile(vsix).namelist())
    assert "extension/LICENSE.txt" in names
    assert "extension/out/extension.js" in names
    assert "extension/package.json" in names
    assert any(n.startswith("extension/node_modules/vscode-languageclient/") for n in names)
    assert not any(n.startswith("extension/src/") for n in names)
