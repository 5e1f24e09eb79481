"""A raw LSP client over a real ``codestral-ls`` subprocess, for reliability tests.

pytest-lsp's client validates what it sends, which is exactly what these tests must not do:
they send negative positions, truncated frames, wrong lengths and unknown methods. This client
writes bytes to the server's stdin, reads its stdout frames on a thread, and keeps everything
the server wrote (frames, stderr) so security tests can scan it afterwards.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from tests.tools import HANG

SERVER_COMMAND = [sys.executable, "-m", "codestral_ls"]

#: Capabilities of a client with inline completion and utf-16 positions (as VS Code).
VSCODE_LIKE: dict[str, Any] = {
    "general": {"positionEncodings": ["utf-16"]},
    "textDocument": {
        "completion": {"completionItem": {"snippetSupport": True}},
        "inlineCompletion": {},
        "codeAction": {"codeActionLiteralSupport": {"codeActionKind": {"valueSet": [""]}}},
        "synchronization": {"didSave": True},
    },
    "workspace": {"applyEdit": True, "workspaceEdit": {"documentChanges": True}},
    "window": {"workDoneProgress": True},
}


def frame(payload: Any) -> bytes:
    """``payload`` as one LSP frame (JSON body with its Content-Length header)."""
    body = json.dumps(payload).encode("utf-8")
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def did_open(uri: str, text: str, version: int = 1, language: str = "python") -> dict[str, Any]:
    """A ``textDocument/didOpen`` notification."""
    document = {"uri": uri, "languageId": language, "version": version, "text": text}
    params = {"textDocument": document}
    return {"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": params}


def environment(base_url: str | None, **extra: str) -> dict[str, str]:
    """This environment minus real keys and proxies, pointed at ``base_url`` with test-key."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("CODESTRAL_API_KEY", "MISTRAL_API_KEY", "CODESTRAL_API_BASE")
    }
    if base_url is not None:
        env["CODESTRAL_API_BASE"] = base_url
        env["CODESTRAL_API_KEY"] = "test-key"
    env.update(extra)
    return env


class LspProcess:
    """One server subprocess; ``request`` waits for the answer, frames are kept in order."""

    def __init__(
        self,
        env: Mapping[str, str],
        *,
        args: Sequence[str] = (),
        stderr_path: Path | None = None,
    ) -> None:
        self._stderr_file = open(stderr_path, "wb") if stderr_path else None  # noqa: SIM115
        self.proc = subprocess.Popen(
            [*SERVER_COMMAND, *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr_file or subprocess.DEVNULL,
            env=dict(env),
        )
        self.frames: list[dict[str, Any]] = []
        self.raw_stdout = bytearray()
        self._answers: dict[Any, queue.Queue[dict[str, Any]]] = {}
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._ids = itertools.count(1)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    # -- sending ---------------------------------------------------------------------------

    def send_bytes(self, data: bytes) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def send(self, payload: Any) -> None:
        self.send_bytes(frame(payload))

    def notify(self, method: str, params: Any = None) -> None:
        message: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            message["params"] = params
        self.send(message)

    def start_request(self, method: str, params: Any = None) -> int:
        """Send a request and return its id (answered later, see :meth:`answer`)."""
        msg_id = next(self._ids)
        with self._lock:
            self._answers[msg_id] = queue.Queue()
        message: dict[str, Any] = {"jsonrpc": "2.0", "id": msg_id, "method": method}
        if params is not None:
            message["params"] = params
        self.send(message)
        return msg_id

    def answer(self, msg_id: Any, timeout: float = HANG) -> dict[str, Any]:
        """The response frame for ``msg_id``; AssertionError if none arrives in ``timeout``."""
        with self._lock:
            box = self._answers.setdefault(msg_id, queue.Queue())
        try:
            return box.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no answer to request {msg_id} within {timeout} s") from None

    def request(self, method: str, params: Any = None, timeout: float = HANG) -> dict[str, Any]:
        return self.answer(self.start_request(method, params), timeout)

    # -- the usual conversation ------------------------------------------------------------

    def initialize(
        self,
        options: dict[str, Any] | None = None,
        capabilities: dict[str, Any] | None = None,
        process_id: int | None = None,
    ) -> dict[str, Any]:
        answer = self.request(
            "initialize",
            {
                "processId": os.getpid() if process_id is None else process_id,
                "rootUri": None,
                "capabilities": VSCODE_LIKE if capabilities is None else capabilities,
                "initializationOptions": options or {},
            },
            timeout=20,
        )
        self.notify("initialized", {})
        return answer

    def open(self, uri: str, text: str, version: int = 1, language: str = "python") -> None:
        self.send(did_open(uri, text, version, language))

    def inline(
        self, uri: str, line: int, character: int, *, invoked: bool = True, timeout: float = HANG
    ) -> dict[str, Any]:
        return self.request(
            "textDocument/inlineCompletion",
            {
                "textDocument": {"uri": uri},
                "position": {"line": line, "character": character},
                "context": {"triggerKind": 1 if invoked else 2},
            },
            timeout=timeout,
        )

    def shutdown_and_exit(self, timeout: float = HANG) -> int:
        self.request("shutdown", timeout=timeout)
        self.notify("exit")
        return self.wait(timeout)

    # -- what the server wrote -------------------------------------------------------------

    def notifications(self, method: str) -> list[dict[str, Any]]:
        with self._lock:
            return [f.get("params") or {} for f in self.frames if f.get("method") == method]

    def messages(self) -> list[str]:
        """Texts of every ``window/showMessage`` so far."""
        return [p.get("message", "") for p in self.notifications("window/showMessage")]

    def wait_for(self, predicate: Any, timeout: float = 60.0) -> bool:
        deadline = time.monotonic() + timeout
        with self._changed:
            while not predicate():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._changed.wait(min(left, 0.1))
        return True

    def wait(self, timeout: float = HANG) -> int:
        """The exit code, once the process has ended (TimeoutExpired if it does not)."""
        code = self.proc.wait(timeout)
        self._reader.join(timeout)
        return code

    def close(self) -> None:
        """End the process if a test left it running, and release the pipes."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
        if self._stderr_file is not None:
            self._stderr_file.close()

    def __enter__(self) -> LspProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reading ---------------------------------------------------------------------------

    def _read(self) -> None:
        with contextlib.suppress(ValueError, OSError):  # the test closed the pipe itself
            self._read_frames()

    def _read_frames(self) -> None:
        stdout = self.proc.stdout
        assert stdout is not None
        while True:
            length = None
            while True:
                line = stdout.readline()
                if not line:
                    return
                self.raw_stdout += line
                if line in (b"\r\n", b"\n"):
                    break
                name, _, value = line.decode("ascii", "replace").partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value.strip())
            if length is None:
                continue
            body = stdout.read(length)
            self.raw_stdout += body
            message = json.loads(body)
            with self._changed:
                self.frames.append(message)
                if "id" in message and "method" not in message:
                    self._answers.setdefault(message["id"], queue.Queue()).put(message)
                self._changed.notify_all()
            if "id" in message and "method" in message:
                self._answer_server_request(message)

    def _answer_server_request(self, message: dict[str, Any]) -> None:
        """Answer what the server asks (progress tokens, configuration, applyEdit)."""
        method = message["method"]
        result: Any = None
        if method == "workspace/configuration":
            result = [None for _ in message.get("params", {}).get("items", [])]
        elif method == "workspace/applyEdit":
            result = {"applied": True}
        with contextlib.suppress(BrokenPipeError, ValueError, OSError):
            self.send({"jsonrpc": "2.0", "id": message["id"], "result": result})
