"""The command line: --version, --help, the terminal mode and LSP over TCP."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
from pathlib import Path

from tests.e2e.client import server_environment
from tests.fake_mistral import Error, FakeMistral

COMMAND = [sys.executable, "-m", "codestral_ls"]


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        COMMAND + args, env=env, capture_output=True, text=True, timeout=30, check=False
    )


def test_version_and_help() -> None:
    env = server_environment(None)
    version = run(["--version"], env)
    assert version.returncode == 0 and version.stdout.startswith("codestral-ls ")
    help_text = run(["--help"], env)
    assert help_text.returncode == 0
    for option in ("--tcp", "--log-file", "complete"):
        assert option in help_text.stdout


def test_complete_prints_the_completion(fake: FakeMistral, tmp_path: Path) -> None:
    fake.fim_responder = lambda body: "return a + b"
    source = tmp_path / "calc.py"
    source.write_text("def add(a, b):\n    \n", encoding="utf-8")
    result = run(
        ["complete", str(source), "--line", "2", "--column", "5"], server_environment(fake.base_url)
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "return a + b\n"
    assert fake.fim_requests[-1].body["prompt"] == "def add(a, b):\n    "


def test_complete_explains_failures(fake: FakeMistral, tmp_path: Path) -> None:
    source = tmp_path / "calc.py"
    source.write_text("x = 1\n", encoding="utf-8")
    outside = run(
        ["complete", str(source), "--line", "9", "--column", "1"], server_environment(fake.base_url)
    )
    assert outside.returncode == 2 and "no line 9" in outside.stderr
    no_key = run(
        ["complete", str(source), "--line", "1", "--column", "5"], server_environment(None)
    )
    assert no_key.returncode == 2 and "CODESTRAL_API_KEY" in no_key.stderr
    fake.script(Error(401))
    rejected = run(
        ["complete", str(source), "--line", "1", "--column", "5"], server_environment(fake.base_url)
    )
    assert rejected.returncode == 2 and "401" in rejected.stderr
    assert "test-key" not in rejected.stderr + rejected.stdout


async def test_lsp_over_tcp(fake: FakeMistral) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = await asyncio.create_subprocess_exec(
        *COMMAND, "--tcp", f"127.0.0.1:{port}", env=server_environment(fake.base_url)
    )
    try:
        for _ in range(100):
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                break
            except OSError:
                await asyncio.sleep(0.05)
        else:
            raise AssertionError("the server never listened")
        body = b'{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"capabilities":{}}}'
        writer.write(b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
        await writer.drain()
        while True:  # skip the server's log notifications until the answer
            header = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
            length = int(header.split(b"Content-Length:")[1].split(b"\r\n")[0])
            answer = json.loads(await asyncio.wait_for(reader.readexactly(length), 10))
            if answer.get("id") == 1:
                break
        capabilities = answer["result"]["capabilities"]
        assert "completionProvider" in capabilities
        assert "inlineCompletionProvider" not in capabilities  # this client did not declare it
        writer.close()
    finally:
        process.terminate()
        await process.wait()
