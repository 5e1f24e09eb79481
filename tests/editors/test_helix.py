"""Helix: the shipped editors/helix/languages.toml, and the server as Helix talks to it.

Helix itself cannot run here, so the test reads the file Helix would read (it must be TOML, name a
command that exists, and attach codestral for completion and code actions after each
language's own servers), starts that very command with the file's ``config`` as
initializationOptions, and asks for completion with Helix's capabilities: utf-8 positions, no
inline completion.
"""

from __future__ import annotations

import shutil

import pytest
from lsprotocol import types

from codestral_ls.documents import PositionEncoding
from tests.e2e.client import EditorSession, split_marker
from tests.editors.support import EDITORS, editor_environment
from tests.fake_mistral import FakeMistral
from tests.tools import tomllib

pytestmark = pytest.mark.editor

LANGUAGES = EDITORS / "helix" / "languages.toml"
URI = "file:///project/calc.py"


def _config() -> dict:
    return tomllib.loads(LANGUAGES.read_text(encoding="utf-8"))


def test_languages_toml_adds_codestral_to_common_languages() -> None:
    config = _config()
    server = config["language-server"]["codestral"]
    assert server["command"] == "codestral-ls"
    assert "apiKey" not in server.get("config", {}), "the key belongs in the environment"
    languages = {entry["name"]: entry["language-servers"] for entry in config["language"]}
    assert {"python", "rust", "go", "typescript", "javascript", "c", "cpp"} <= set(languages)
    # Chat files are a language of their own, served by codestral alone (Reply only).
    [chat] = [entry for entry in config["language"] if entry["name"] == "codestral-chat"]
    assert chat["file-types"] == [{"glob": "*.codestral.md"}] and chat["grammar"] == "markdown"
    assert languages.pop("codestral-chat") == [
        {"name": "codestral", "only-features": ["code-action"]}
    ]
    for name, servers in languages.items():
        *usual, ours = servers
        assert usual and all(isinstance(s, str) for s in usual), name
        assert ours == {"name": "codestral", "only-features": ["completion", "code-action"]}, name


async def test_helix_gets_completion_from_the_configured_command(fake: FakeMistral) -> None:
    server = _config()["language-server"]["codestral"]
    env = editor_environment(fake.base_url)
    command = shutil.which(server["command"], path=env["PATH"])
    assert command, f"{server['command']} is not on PATH (pip install -e .)"
    fake.fim_responder = lambda body: "urn 'é' + total  # 😀"
    session = await EditorSession.start(
        "helix",
        env,
        options=server.get("config"),
        server_command=[command, *server.get("args", [])],
    )
    try:
        capabilities = session.result.capabilities
        assert session.encoding is PositionEncoding.UTF8
        assert capabilities.inline_completion_provider is None
        assert capabilities.completion_provider is not None
        assert capabilities.code_action_provider

        text, line, index = split_marker("def f(total):\n    s = '😀é'; ret|\n")
        session.open(URI, text)
        result = await session.complete(URI, line, index)
        [item] = result.items
        assert isinstance(item.text_edit, types.TextEdit)
        assert item.text_edit.new_text == "return 'é' + total  # 😀"
        # Columns in utf-8 bytes: the emoji is 4, "é" 2.
        start = "    s = '😀é'; "
        assert item.text_edit.range.start.character == len(start.encode())
        assert item.text_edit.range.end.character == len((start + "ret").encode())
        body = fake.fim_requests[-1].body
        assert body["prompt"].endswith("ret") and body["model"] == "codestral-latest"
        assert body["max_tokens"] == 128
        assert session.client.messages == [], "the server complained about the config"
    finally:
        await session.stop()
