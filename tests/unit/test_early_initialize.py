"""The ``initialize`` answer written before pygls is loaded (codestral_ls.early_initialize).

It must be exactly what the full server answers, for every client: the answer pygls computes
for the same parameters is the reference. Then the session must go on as if pygls had answered
(its negotiated encoding and the editor's settings apply), and messages the editor sent right
behind ``initialize`` must not be lost.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from pygls.protocol import default_converter
from pytest_lsp import client_capabilities

from codestral_ls.early_initialize import initialize_result
from codestral_ls.server import create_server
from tests.e2e.client import editor_capabilities
from tests.fake_mistral import FakeMistral
from tests.reliability.lsp_process import LspProcess, environment, frame

REPO = Path(__file__).resolve().parents[2]

_RECORDED = (
    "emacs@v29.1",
    "neovim@v0.6.1",
    "neovim@v0.7.0",
    "neovim@v0.8.0",
    "neovim@v0.9.1",
    "neovim@v0.10.0",
    "neovim@v0.11.0",
    "visual-studio-code@v1.65.2",
)


def _json(capabilities: types.ClientCapabilities) -> dict[str, Any]:
    return default_converter().unstructure(capabilities)


CLIENTS: dict[str, dict[str, Any]] = {
    **{name: _json(client_capabilities(name)) for name in _RECORDED},
    **{
        f"{name} (as in tests/e2e)": _json(editor_capabilities(name))
        for name in ("neovim", "vscode", "helix")
    },
    "nothing declared": {},
    "general without encodings": {"general": {}},
    "utf-32 only": {"general": {"positionEncodings": ["utf-32"]}},
    "unknown encodings only": {"general": {"positionEncodings": ["utf-7", "latin-1"]}},
    "unknown, then utf-8": {"general": {"positionEncodings": ["utf-7", "utf-8", "utf-16"]}},
    "empty encoding list": {"general": {"positionEncodings": []}},
    "inline completion, nothing else": {"textDocument": {"inlineCompletion": {}}},
    "inline completion null": {"textDocument": {"inlineCompletion": None}},
    "will-save both ways": {
        "textDocument": {"synchronization": {"willSave": True, "willSaveWaitUntil": False}}
    },
    "notebooks and file operations": {
        "notebookDocument": {"synchronization": {"dynamicRegistration": True}},
        "workspace": {"fileOperations": {"didCreate": True, "willRename": True}},
    },
}


def _pygls_answer(params: dict[str, Any]) -> dict[str, Any]:
    """What the pygls server itself answers to ``initialize`` with ``params`` (wire JSON)."""
    server = create_server({})
    protocol = server.protocol
    written: list[bytes] = []
    protocol.set_writer(type("Capture", (), {"write": lambda _self, data: written.append(data)})())
    message = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": params}
    protocol.handle_message(protocol.structure_message(message))
    answers = [m for m in (_body(w) for w in written) if m.get("id") == 1]
    assert len(answers) == 1, written
    return answers[0]["result"]


def _body(data: bytes) -> dict[str, Any]:
    return json.loads(data.split(b"\r\n\r\n", 1)[-1])


@pytest.mark.parametrize("client", sorted(CLIENTS))
def test_early_answer_is_what_pygls_answers(client: str) -> None:
    params = {"processId": None, "rootUri": None, "capabilities": CLIENTS[client]}
    early = initialize_result(params)
    assert early is not None
    pygls = _pygls_answer(params)
    # Capability by capability, for a readable diff when a feature is added to the server
    # and not to early_initialize.initialize_result.
    for name in sorted(set(early["capabilities"]) | set(pygls["capabilities"])):
        assert early["capabilities"].get(name) == pygls["capabilities"].get(name), name
    assert early == pygls


def test_inline_completion_and_encoding_follow_the_client() -> None:
    """Not only equal to pygls: the two client-dependent parts really vary across clients."""
    neovim = initialize_result({"capabilities": CLIENTS["neovim (as in tests/e2e)"]})
    helix = initialize_result({"capabilities": CLIENTS["helix (as in tests/e2e)"]})
    assert neovim and helix
    assert neovim["capabilities"]["positionEncoding"] == "utf-8"
    assert "inlineCompletionProvider" in neovim["capabilities"]
    assert "inlineCompletionProvider" not in helix["capabilities"]


@pytest.mark.parametrize(
    "params",
    [
        None,
        [],
        {},
        {"capabilities": []},
        {"capabilities": {"general": {"positionEncodings": "utf-8"}}},
        {"capabilities": {"general": {"positionEncodings": [8]}}},
        {"capabilities": {"textDocument": {"inlineCompletion": True}}},
        {"capabilities": {"textDocument": 3}},
    ],
)
def test_unusual_parameters_are_left_to_pygls(params: Any) -> None:
    assert initialize_result(params) is None


_PROBE = """
import json, sys
from codestral_ls import cli, early_initialize
start = early_initialize.answer_from_stdin()
loaded = sorted(m for m in ("lsprotocol", "pygls", "httpx", "cattrs") if m in sys.modules)
print(json.dumps({"answered": start.message is not None, "loaded": loaded}), file=sys.stderr)
"""


def test_answer_is_written_before_the_heavy_imports() -> None:
    """The start-up win is not importing lsprotocol/pygls before answering: pin it."""
    message = {"jsonrpc": "2.0", "id": 7, "method": "initialize", "params": {"capabilities": {}}}
    run = subprocess.run(
        [sys.executable, "-c", _PROBE],
        input=frame(message),
        capture_output=True,
        cwd=REPO,
        timeout=60,
        check=True,
    )
    assert json.loads(run.stderr.decode().strip().splitlines()[-1]) == {
        "answered": True,
        "loaded": [],
    }
    answer = _body(run.stdout)
    assert answer["id"] == 7 and answer["result"]["capabilities"]["positionEncoding"] == "utf-16"


NEOVIM_LIKE = {
    "general": {"positionEncodings": ["utf-8", "utf-16"]},
    "textDocument": {"inlineCompletion": {}, "synchronization": {"didSave": True}},
}


def test_pygls_goes_on_as_if_it_had_answered(fake: FakeMistral) -> None:
    """Everything in one write, as a fast editor sends it: initialize, initialized, the first
    file and a completion. The completion must use the negotiated utf-8 columns and the
    settings from initializationOptions, which only pygls's own initialize applies."""
    fake.fim_responder = lambda body: "rest()"
    line = "x = 'é' + "  # 11 characters, 12 bytes in utf-8
    initialize = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "processId": None,
            "capabilities": NEOVIM_LIKE,
            "initializationOptions": {"maxTokens": 17},
        },
    }
    document = {"uri": "file:///t.py", "languageId": "python", "version": 1, "text": line}
    burst = [
        initialize,
        {"jsonrpc": "2.0", "method": "initialized", "params": {}},
        {"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": document}},
        {
            "jsonrpc": "2.0",
            "id": 2,
            "method": "textDocument/inlineCompletion",
            "params": {
                "textDocument": {"uri": "file:///t.py"},
                "position": {"line": 0, "character": len(line.encode())},
                "context": {"triggerKind": 1},
            },
        },
    ]
    with LspProcess(environment(fake.base_url)) as server:
        server.send_bytes(b"".join(frame(m) for m in burst))
        answered = server.answer(1, timeout=30)["result"]
        completion = server.answer(2, timeout=30)["result"]
        assert answered == initialize_result(initialize["params"])
        assert [item["insertText"] for item in completion["items"]] == ["rest()"]
        assert fake.fim_requests[-1].body["prompt"] == line
        assert fake.fim_requests[-1].body["max_tokens"] == 17
        assert not [m for m in server.messages() if "differs" in m]
        assert server.shutdown_and_exit() == 0


def test_a_first_message_that_is_not_initialize_goes_to_pygls(fake: FakeMistral) -> None:
    with LspProcess(environment(fake.base_url)) as server:
        server.send_bytes(b"Content-Length: 9\r\n\r\n{not json")
        answer = server.initialize(capabilities=NEOVIM_LIKE)
        assert answer["result"] == initialize_result({"capabilities": NEOVIM_LIKE})
        assert server.shutdown_and_exit() == 0
