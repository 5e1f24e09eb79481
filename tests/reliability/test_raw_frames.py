"""Garbage on stdin: the server logs it, answers what it can, and keeps serving."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fake_mistral import FakeMistral
from tests.reliability.lsp_process import LspProcess, did_open, environment, frame

URI = "file:///project/calc.py"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LspProcess]:
    with FakeMistral() as fake:
        fake.fim_responder = lambda body: "return a + b"
        with LspProcess(environment(fake.base_url), stderr_path=tmp_path / "err") as process:
            process.initialize()
            process.open(URI, "def add(a, b):\n    \n")
            yield process
            assert process.shutdown_and_exit() == 0
            assert process.messages() == [], "protocol garbage is logged, not popped up"


def still_serving(server: LspProcess) -> None:
    """A few requests back to back (garbage may swallow the first frames that follow it,
    until the framing lines up again); the last one must be answered, with a completion."""
    ids = [server.start_request("codestral/stats", {}) for _ in range(3)]
    ids.append(
        server.start_request(
            "textDocument/inlineCompletion",
            {
                "textDocument": {"uri": URI},
                "position": {"line": 1, "character": 4},
                "context": {"triggerKind": 1},
            },
        )
    )
    answer = server.answer(ids[-1], timeout=10)
    assert answer["result"]["items"][0]["insertText"] == "return a + b"


BODY = json.dumps({"jsonrpc": "2.0", "id": 999, "method": "codestral/stats", "params": {}})


@pytest.mark.parametrize(
    "garbage",
    [
        pytest.param(b"Content-Length: 11\r\n\r\nnot json at", id="non-JSON body"),
        pytest.param(b"Content-Length: 17\r\n\r\n" + BODY.encode()[:17], id="truncated JSON"),
        pytest.param(
            b"Content-Length: %d\r\n\r\n" % (len(BODY) - 9) + BODY.encode(), id="length too short"
        ),
        pytest.param(
            b"Content-Length: %d\r\n\r\n" % (len(BODY) + 40) + BODY.encode(), id="length too long"
        ),
        pytest.param(b"Content-Type: application/json\r\n\r\n" + BODY.encode(), id="no length"),
        pytest.param(b"\r\n\r\n\x00\xff\xfe garbage \r\n", id="binary noise"),
        pytest.param(frame([1, 2, 3]), id="JSON array"),
        pytest.param(frame({"jsonrpc": "2.0", "method": "unknown/notification"}), id="unknown"),
        pytest.param(frame({"jsonrpc": "2.0", "id": 5}), id="response to nothing"),
        pytest.param(frame({"hello": "world"}), id="not JSON-RPC"),
    ],
)
def test_garbage_then_business_as_usual(server: LspProcess, garbage: bytes) -> None:
    server.send_bytes(garbage)
    still_serving(server)


def test_unknown_request_gets_method_not_found(server: LspProcess) -> None:
    answer = server.request("no/such/method", {"x": 1})
    assert answer["error"]["code"] == -32601
    still_serving(server)


@pytest.mark.parametrize(
    "position",
    [{"line": -1, "character": 0}, {"line": 0, "character": -5}, {"line": "one"}, None],
)
def test_invalid_params_with_an_id_get_an_error_answer(
    server: LspProcess, position: object
) -> None:
    answer = server.request(
        "textDocument/inlineCompletion",
        {"textDocument": {"uri": URI}, "position": position, "context": {"triggerKind": 1}},
    )
    assert answer["error"]["code"] in (-32602, -32603)
    still_serving(server)


def test_huge_messages(server: LspProcess) -> None:
    big = "x = 1  # " + "é😀" * 40 + "\n"
    text = big * 40_000 + "def add(a, b):\n    \n"  # ~8 MB of utf-8
    server.open("file:///project/big.py", text)
    line = text.count("\n") - 1
    answer = server.inline("file:///project/big.py", line, 4, timeout=30)
    assert answer["result"]["items"][0]["insertText"] == "return a + b"
    # And a huge frame of an unknown method, answered with an error.
    answer = server.request("no/such/method", {"blob": "z" * 5_000_000}, timeout=30)
    assert answer["error"]["code"] == -32601
    still_serving(server)


def test_frames_trickled_byte_by_byte_through_the_event_loop_reader(tmp_path: Path) -> None:
    """Under an editor stdin is a pipe, read by the event loop (no thread hop per read):
    a message arriving in pieces must still be read whole."""
    log_file = tmp_path / "server.log"
    with FakeMistral() as fake:
        fake.fim_responder = lambda body: "return a + b"
        with LspProcess(
            environment(fake.base_url), args=["--log-file", str(log_file), "--log-level", "debug"]
        ) as process:
            process.initialize()
            for byte in frame(did_open(URI, "def add(a, b):\n    \n")):
                process.send_bytes(bytes([byte]))
            still_serving(process)
            assert process.shutdown_and_exit() == 0
    assert "stdin is read by the event loop" in log_file.read_text(encoding="utf-8")


def test_a_file_with_bytes_that_are_not_utf8_is_still_served(
    server: LspProcess, tmp_path: Path
) -> None:
    """Neovim's ``++bad=keep`` sends a file's bytes as they are, invalid UTF-8 inside the
    JSON: the document is opened (those bytes read as U+FFFD) and completed, not dropped
    with a traceback and then warned about at every keystroke."""
    uri = "file:///project/latin1.py"
    text = b"# caf\xe9 \xff\xfe\\ndef add(a, b):\\n    \\n"  # \\n: newlines as JSON writes them
    body = json.dumps(did_open(uri, "TEXT")).encode().replace(b"TEXT", text)
    server.send_bytes(b"Content-Length: %d\r\n\r\n" % len(body) + body)
    answer = server.inline(uri, 2, 4, timeout=10)
    assert answer["result"]["items"][0]["insertText"] == "return a + b"
    assert "Unable to handle message" not in (tmp_path / "err").read_text(encoding="utf-8")


def test_changes_to_a_document_never_opened_are_warned_about_once(server: LspProcess) -> None:
    uri = "file:///project/never-opened.py"
    for version in range(2, 7):
        server.notify(
            "textDocument/didChange",
            {
                "textDocument": {"uri": uri, "version": version},
                "contentChanges": [{"text": f"x = {version}\n"}],
            },
        )
    still_serving(server)

    def logged(text: str) -> list[str]:
        lines = [p.get("message", "") for p in server.notifications("window/logMessage")]
        return [line for line in lines if text in line]

    # The editor's log gets lines in order: once the completion's is there, so is the rest.
    assert server.wait_for(lambda: logged("completion: "), timeout=10)
    assert len(logged("not open")) == 1, logged("not open")
