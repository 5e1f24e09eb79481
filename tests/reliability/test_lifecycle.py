"""How the server process ends, and what it leaves behind (a real subprocess each)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fake_mistral import FIM_PATH, FakeMistral, Hang
from tests.reliability.lsp_process import (
    SERVER_COMMAND,
    VSCODE_LIKE,
    LspProcess,
    did_open,
    environment,
    frame,
)

URI = "file:///project/calc.py"
INLINE = {
    "textDocument": {"uri": URI},
    "position": {"line": 1, "character": 4},
    "context": {"triggerKind": 1},
}


@pytest.fixture
def fake() -> Iterator[FakeMistral]:
    with FakeMistral() as server:
        yield server


def quiet(stderr: Path) -> None:
    text = stderr.read_text(encoding="utf-8", errors="replace")
    for noise in ("Traceback", "Error sending data", "I/O operation on closed file"):
        assert noise not in text, text


def test_exit_after_shutdown_is_0(fake: FakeMistral, tmp_path: Path) -> None:
    with LspProcess(environment(fake.base_url), stderr_path=tmp_path / "err") as server:
        server.initialize()
        assert server.shutdown_and_exit() == 0
    quiet(tmp_path / "err")


def test_exit_without_shutdown_is_1(fake: FakeMistral) -> None:
    with LspProcess(environment(fake.base_url)) as server:
        server.initialize()
        server.notify("exit")
        assert server.wait(10) == 1


def test_requests_after_shutdown_are_not_served_and_exit_still_works(fake: FakeMistral) -> None:
    with LspProcess(environment(fake.base_url)) as server:
        server.initialize()
        server.request("shutdown")
        server.notify("exit")
        assert server.wait(10) == 0


def test_stdin_closed_ends_the_server(fake: FakeMistral, tmp_path: Path) -> None:
    with LspProcess(environment(fake.base_url), stderr_path=tmp_path / "err") as server:
        server.initialize()
        assert server.proc.stdin is not None
        server.proc.stdin.close()
        assert server.wait(5) == 1  # no shutdown came first
    quiet(tmp_path / "err")


def test_exit_with_a_call_in_flight_is_quiet_and_closes_the_connection(
    fake: FakeMistral, tmp_path: Path
) -> None:
    fake.script(Hang())
    with LspProcess(environment(fake.base_url), stderr_path=tmp_path / "err") as server:
        server.initialize()
        server.open(URI, "def f():\n    \n")
        server.start_request("textDocument/inlineCompletion", INLINE)
        assert fake.wait_for_requests(1, path=FIM_PATH)
        server.notify("exit")
        assert server.wait(10) == 1
    assert fake.wait_for(lambda f: f.open_connections == 0, timeout=60)
    quiet(tmp_path / "err")


def test_editor_gone_mid_call_is_quiet(fake: FakeMistral, tmp_path: Path) -> None:
    """The editor closes both pipes while an answer is on its way: no traceback, exit.

    Driven without LspProcess: its reader thread would hold stdout while the test closes it.
    """
    fake.script(Hang())
    with open(tmp_path / "err", "wb") as stderr:
        proc = subprocess.Popen(
            SERVER_COMMAND,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
            env=environment(fake.base_url),
        )
        assert proc.stdin is not None and proc.stdout is not None
        initialize = {"processId": None, "capabilities": VSCODE_LIKE}
        initialize["initializationOptions"] = {"completionTimeoutMs": 500}
        for message in (
            {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": initialize},
            {"jsonrpc": "2.0", "method": "initialized", "params": {}},
            did_open(URI, "def f():\n    \n"),
            {
                "jsonrpc": "2.0",
                "id": 2,
                "method": "textDocument/inlineCompletion",
                "params": INLINE,
            },
        ):
            proc.stdin.write(frame(message))
        proc.stdin.flush()
        assert fake.wait_for_requests(1, timeout=60, path=FIM_PATH)
        proc.stdout.close()  # nobody reads the answer (the timeout's) or the message
        proc.stdin.close()
        try:
            assert proc.wait(10) == 1
        finally:
            proc.kill()
    assert fake.wait_for(lambda f: f.open_connections == 0, timeout=60)
    quiet(tmp_path / "err")


def test_editor_process_dying_ends_the_server(fake: FakeMistral, tmp_path: Path) -> None:
    """The ``processId`` given at initialize is watched; when it dies, the server leaves."""
    editor = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        with LspProcess(environment(fake.base_url), stderr_path=tmp_path / "err") as server:
            server.initialize(process_id=editor.pid)
            server.open(URI, "def f():\n    \n")
            assert server.proc.poll() is None
            editor.kill()
            editor.wait(10)
            server.proc.wait(15)  # TimeoutExpired if the server stayed
    finally:
        editor.kill()
    quiet(tmp_path / "err")


def test_an_invisible_editor_pid_is_not_mistaken_for_a_dead_editor(fake: FakeMistral) -> None:
    """An editor in another pid namespace (container) gives a pid that means nothing here."""
    with LspProcess(environment(fake.base_url)) as server:
        server.initialize(process_id=2**22 + 12345)
        assert "result" in server.request("codestral/stats", {})
        assert server.shutdown_and_exit() == 0
