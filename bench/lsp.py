"""A small raw JSON-RPC/LSP client over a subprocess's stdio, as an editor talks.

The benchmarks use plain dictionaries and ``json`` rather than pygls's client: an editor's own
(de)serialisation is not ours to measure, and a thin client adds the least noise to the
server's figures. One reader task resolves request futures by id; notifications from the
server (``window/logMessage`` …) are counted and dropped.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import sys
import time
from collections.abc import Mapping
from typing import Any

SERVER_COMMAND = [sys.executable, "-m", "codestral_ls"]

#: Capabilities close to what Neovim 0.12 sends (utf-8 first, inline completion).
NEOVIM_CAPABILITIES: dict[str, Any] = {
    "general": {"positionEncodings": ["utf-8", "utf-16", "utf-32"]},
    "textDocument": {
        "synchronization": {"didSave": True, "dynamicRegistration": False},
        "completion": {"completionItem": {"snippetSupport": True}},
        "inlineCompletion": {"dynamicRegistration": False},
    },
    "window": {"workDoneProgress": True},
}
#: VS Code: utf-16 only, inline completion.
VSCODE_CAPABILITIES: dict[str, Any] = {
    "general": {"positionEncodings": ["utf-16"]},
    "textDocument": {
        "synchronization": {"didSave": True, "dynamicRegistration": True},
        "completion": {"completionItem": {"snippetSupport": True}},
        "inlineCompletion": {"dynamicRegistration": True},
    },
    "workspace": {"configuration": True},
}


#: Left out of the server's environment: real keys and endpoints, and a shell's
#: ``PYTHONDONTWRITEBYTECODE``: an installed server has its bytecode (pip compiles it, an
#: editable install writes it at its first start), while with bytecode off every start would
#: compile our sources again (90 ms of each start on this machine), which no user pays.
_NOT_PASSED = (
    "CODESTRAL_API_KEY",
    "MISTRAL_API_KEY",
    "CODESTRAL_API_BASE",
    "PYTHONDONTWRITEBYTECODE",
)


def server_environment(base_url: str | None) -> dict[str, str]:
    """This environment minus any real key, pointed at the fake with the fake key."""
    env = {k: v for k, v in os.environ.items() if k not in _NOT_PASSED}
    if base_url is not None:
        env["CODESTRAL_API_BASE"] = base_url
        env["CODESTRAL_API_KEY"] = "test-key"
    return env


class LspError(Exception):
    """An error response (``code`` is the JSON-RPC error code)."""

    def __init__(self, error: Mapping[str, Any]) -> None:
        super().__init__(error.get("message", "error"))
        self.code = error.get("code")


class LspProcess:
    """One server subprocess and the client side of its LSP connection."""

    def __init__(self, process: asyncio.subprocess.Process, started: float) -> None:
        self.process = process
        self.started = started
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self.notifications = 0
        self._reader = asyncio.ensure_future(self._read())

    @classmethod
    async def spawn(cls, env: Mapping[str, str], command: list[str] | None = None) -> LspProcess:
        started = time.perf_counter()
        process = await asyncio.create_subprocess_exec(
            *(command or SERVER_COMMAND),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
            env=dict(env),
            limit=64 * 1024 * 1024,
        )
        return cls(process, started)

    @property
    def pid(self) -> int:
        return self.process.pid

    async def initialize(
        self,
        capabilities: Mapping[str, Any],
        options: Mapping[str, Any] | None = None,
        root_uri: str | None = None,
        client_info: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        params: dict[str, Any] = {
            "processId": os.getpid(),
            "rootUri": root_uri,
            "capabilities": dict(capabilities),
            "initializationOptions": dict(options or {}),
        }
        if client_info is not None:
            params["clientInfo"] = dict(client_info)
        result = await self.request("initialize", params)
        self.notify("initialized", {})
        return result

    # -- messages --------------------------------------------------------------------------

    def _send(self, message: dict[str, Any]) -> None:
        body = json.dumps(message, ensure_ascii=False).encode("utf-8")
        assert self.process.stdin is not None
        self.process.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)

    def notify(self, method: str, params: Any) -> None:
        self._send({"jsonrpc": "2.0", "method": method, "params": params})

    def send_request(self, method: str, params: Any) -> tuple[int, asyncio.Future[Any]]:
        """Send a request now; returns its id (to cancel it) and a future for its result."""
        ident = next(self._ids)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[ident] = future
        self._send({"jsonrpc": "2.0", "id": ident, "method": method, "params": params})
        return ident, future

    async def request(self, method: str, params: Any, timeout: float = 30) -> Any:
        _ident, future = self.send_request(method, params)
        return await asyncio.wait_for(future, timeout)

    def cancel(self, ident: int) -> None:
        self.notify("$/cancelRequest", {"id": ident})

    async def _read(self) -> None:
        stream = self.process.stdout
        assert stream is not None
        while True:
            length = None
            while True:
                line = await stream.readline()
                if not line:
                    self._fail_all()
                    return
                line = line.strip()
                if not line:
                    break
                name, _, value = line.partition(b":")
                if name.lower() == b"content-length":
                    length = int(value)
            if length is None:
                continue
            message = json.loads(await stream.readexactly(length))
            ident = message.get("id")
            if "method" in message:
                self.notifications += 1
                if ident is not None:  # a server→client request: answer it empty
                    self._send({"jsonrpc": "2.0", "id": ident, "result": None})
                continue
            future = self._pending.pop(ident, None)
            if future is None or future.done():
                continue
            if "error" in message:
                future.set_exception(LspError(message["error"]))
            else:
                future.set_result(message.get("result"))

    def _fail_all(self) -> None:
        for future in self._pending.values():
            if not future.done():
                future.set_exception(ConnectionError("the server exited"))
        self._pending.clear()

    # -- documents -------------------------------------------------------------------------

    def did_open(self, uri: str, text: str, language: str = "python", version: int = 1) -> None:
        self.notify(
            "textDocument/didOpen",
            {
                "textDocument": {
                    "uri": uri,
                    "languageId": language,
                    "version": version,
                    "text": text,
                }
            },
        )

    def did_close(self, uri: str) -> None:
        self.notify("textDocument/didClose", {"textDocument": {"uri": uri}})

    def did_change(
        self, uri: str, version: int, start: tuple[int, int], end: tuple[int, int], text: str
    ) -> None:
        self.notify(
            "textDocument/didChange",
            {
                "textDocument": {"uri": uri, "version": version},
                "contentChanges": [
                    {
                        "range": {
                            "start": {"line": start[0], "character": start[1]},
                            "end": {"line": end[0], "character": end[1]},
                        },
                        "text": text,
                    }
                ],
            },
        )

    def inline_request(
        self, uri: str, line: int, character: int, *, invoked: bool = False
    ) -> tuple[int, asyncio.Future[Any]]:
        return self.send_request(
            "textDocument/inlineCompletion",
            {
                "textDocument": {"uri": uri},
                "position": {"line": line, "character": character},
                "context": {"triggerKind": 1 if invoked else 2},
            },
        )

    # -- process ---------------------------------------------------------------------------

    def rss_kb(self) -> int:
        """Resident set size of the server process, from /proc (Linux)."""
        with open(f"/proc/{self.pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        raise RuntimeError("no VmRSS")

    async def close(self) -> None:
        try:
            await self.request("shutdown", None, timeout=10)
            self.notify("exit", None)
            await asyncio.wait_for(self.process.wait(), 5)
        except Exception:
            if self.process.returncode is None:
                self.process.kill()
                await self.process.wait()
        finally:
            self._reader.cancel()


def inline_text(result: Any) -> str:
    """The first inline item's text ("" for none), from a raw JSON result."""
    if isinstance(result, dict):
        items = result.get("items") or []
    elif isinstance(result, list):
        items = result
    else:
        items = []
    if not items:
        return ""
    text = items[0].get("insertText", "")
    return text if isinstance(text, str) else text.get("value", "")
