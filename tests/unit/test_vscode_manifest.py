"""The VS Code extension's manifest: a repository's ``.vscode/settings.json`` cannot choose
the command VS Code launches or the endpoint the code is sent to (issue 13)."""

from __future__ import annotations

import json
from pathlib import Path

MANIFEST = Path(__file__).resolve().parents[2] / "editors" / "vscode" / "package.json"
#: Settings that run a program or decide where the code goes: user (machine) scope only.
MACHINE_ONLY = ("codestral.serverPath", "codestral.apiBase")


def manifest() -> dict:
    return json.loads(MANIFEST.read_text(encoding="utf-8"))


def test_the_command_and_the_endpoint_cannot_be_set_by_a_workspace() -> None:
    properties = manifest()["contributes"]["configuration"]["properties"]
    for name in MACHINE_ONLY:
        # "machine" and "application" are the scopes VS Code never reads from a workspace.
        assert properties[name].get("scope") in ("machine", "application"), name


def test_every_endpoint_or_command_setting_is_machine_scoped() -> None:
    """A setting added later that names a path, a URL or a key gets the same treatment."""
    properties = manifest()["contributes"]["configuration"]["properties"]
    risky = [
        name
        for name in properties
        if any(word in name.lower() for word in ("path", "base", "url", "endpoint", "key"))
    ]
    assert set(MACHINE_ONLY) <= set(risky)
    for name in risky:
        assert properties[name].get("scope") in ("machine", "application"), name


def test_restricted_mode_is_declared_and_limits_those_settings() -> None:
    untrusted = manifest()["capabilities"]["untrustedWorkspaces"]
    assert untrusted["supported"] == "limited"
    assert untrusted["description"]
    assert set(MACHINE_ONLY) <= set(untrusted["restrictedConfigurations"])
