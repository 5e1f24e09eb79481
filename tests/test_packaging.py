"""Packaging as a new user meets it: the license the metadata names, and install instructions
that work from a clone (the package is not on any index yet).

``.ci/run`` builds the sdist and wheel and runs ``twine check``; ``test_vscode.py`` packages
the extension with the documented command. These checks are the static half.
"""

from __future__ import annotations

import re
from pathlib import Path

from tests.tools import tomllib

REPO = Path(__file__).resolve().parents[1]

#: Everything that tells a user how to install the server.
INSTRUCTIONS = [
    REPO / "README.md",
    *sorted((REPO / "editors").rglob("README.md")),
    REPO / "editors" / "vscode" / "src" / "extension.ts",
    REPO / "editors" / "nvim" / "lua" / "codestral" / "health.lua",
]


def _pyproject() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))


def test_the_license_is_an_spdx_expression_with_its_text_shipped() -> None:
    pyproject = _pyproject()
    project = pyproject["project"]
    # The table form ({text = ...}) is deprecated and warns on every build (PEP 639).
    assert project["license"] == "Apache-2.0"
    assert project["license-files"] == ["LICENSE"]
    assert (REPO / "LICENSE").read_text(encoding="utf-8").lstrip().startswith("Apache License")
    # PEP 639 metadata needs setuptools 77 or newer to build.
    [setuptools] = [r for r in pyproject["build-system"]["requires"] if "setuptools" in r]
    match = re.fullmatch(r"setuptools>=(\d+)(\.\d+)*", setuptools.replace(" ", ""))
    assert match and int(match.group(1)) >= 77, setuptools
    # The VS Code extension ships the same text (vsce asks, and aborts, without one).
    extension_license = REPO / "editors" / "vscode" / "LICENSE"
    assert extension_license.read_text(encoding="utf-8") == (REPO / "LICENSE").read_text(
        encoding="utf-8"
    )


def test_install_instructions_work_from_a_clone() -> None:
    """No package of this name is on PyPI: ``pip install codestral-ls`` installs nothing (or
    someone else's package). Every instruction installs the clone."""
    for path in INSTRUCTIONS:
        text = path.read_text(encoding="utf-8")
        for wrong in re.findall(r"(?:pipx?|uv tool) install codestral-ls\b", text):
            raise AssertionError(f"{path.relative_to(REPO)} says {wrong!r}")
    readme = (REPO / "editors" / "README.md").read_text(encoding="utf-8")
    assert "pipx install ." in readme and "uv tool install ." in readme
    assert "code --install-extension codestral-ls.vsix" in readme
