"""The command line: --version, --help, the terminal mode and LSP over TCP."""

from __future__ import annotations

import asyncio
import json
import os
import pty
import select
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.e2e.client import server_environment
from tests.fake_mistral import BadJSON, Behaviour, Error, FakeMistral, Hang, closed_port_url

COMMAND = [sys.executable, "-m", "codestral_ls"]


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        COMMAND + args, env=env, capture_output=True, text=True, timeout=60, check=False
    )


def complete(source: Path, env: dict[str, str], *options: str) -> subprocess.CompletedProcess[str]:
    """``codestral-ls complete`` at the end of ``source``'s second line, column 5."""
    return run(["complete", str(source), "--line", "2", "--column", "5", *options], env)


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    """The one line a failure prints on stderr, in words for a person at a terminal."""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    [line] = lines
    assert line.startswith("codestral-ls: "), line
    for editor_words in ("editor", "restart the server", "Traceback", "WARNING"):
        assert editor_words not in line, line
    assert "test-key" not in result.stderr + result.stdout
    return line


@pytest.fixture
def source(tmp_path: Path) -> Path:
    path = tmp_path / "calc.py"
    path.write_text("def add(a, b):\n    \n", encoding="utf-8")
    return path


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


@pytest.mark.parametrize("where", ["before", "after"])
def test_complete_logs_at_the_level_asked_before_or_after_the_command(
    fake: FakeMistral, source: Path, where: str
) -> None:
    fake.fim_responder = lambda body: "return a + b"
    env = server_environment(fake.base_url)
    place = ["complete", str(source), "--line", "2", "--column", "5"]
    level = ["--log-level", "info"]
    result = run(level + place if where == "before" else place + level, env)
    assert result.returncode == 0 and result.stdout == "return a + b\n", result.stderr
    assert "INFO codestral_ls.engine: completion:" in result.stderr  # as the README says
    quiet = run(place, env)
    assert quiet.returncode == 0 and quiet.stderr == ""


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


#: (what the API does, exit status, words the line must have). 2: change something; 3: retry.
FAILURES: list[tuple[str, tuple[Behaviour, ...], int, str]] = [
    ("429", (Error(429, headers={"Retry-After": "7"}),), 3, "try again in 7 s"),
    ("500", (Error(500),), 3, "try again later"),
    ("malformed", (BadJSON(),), 3, "not a completion"),
    ("hang", (Hang(),), 3, "no answer from"),
    ("401", (Error(401),), 2, "rejected the key from CODESTRAL_API_KEY"),
    ("404", (Error(404), Error(404)), 2, "check the base URL"),  # chat is not there either
    ("404-fim-only", (Error(404),), 2, "has no FIM route"),  # chat works: a chat-only gateway
    ("422", (Error(422),), 2, "check the model"),
]


@pytest.mark.parametrize(
    ("behaviour", "status", "words"),
    [failure[1:] for failure in FAILURES],
    ids=[failure[0] for failure in FAILURES],
)
def test_complete_exit_status_and_one_line_per_failure(
    fake: FakeMistral, source: Path, behaviour: tuple[Behaviour, ...], status: int, words: str
) -> None:
    """Scripts tell "fix the setup" (2) from "try again later" (3); people read one line with
    the URL and what to do."""
    fake.script(*behaviour)
    # A hang waits for the deadline, whatever it is: a short one keeps the test short.
    result = complete(source, server_environment(fake.base_url), "--settings", _QUICK)
    assert result.returncode == status, result.stderr
    line = one_line(result)
    assert f"{fake.base_url}/fim/completions" in line and words in line, line
    assert result.stdout == ""


_QUICK = '{"completionTimeoutMs": 1000}'


def test_complete_unreachable_api_and_no_completion(fake: FakeMistral, source: Path) -> None:
    refused = complete(source, server_environment(closed_port_url()))
    assert refused.returncode == 3
    assert "cannot reach http://127.0.0.1:" in one_line(refused)

    fake.fim_responder = lambda body: ""
    nothing = complete(source, server_environment(fake.base_url))
    assert (nothing.returncode, nothing.stdout, nothing.stderr) == (1, "", "")


#: (file name, its text, --settings, line, column, the reason on stderr) for exit status 4.
NOT_ASKED: list[tuple[str, str, str, int, str]] = [
    ("calc.py", "def add(a, b):\n    \n", '{"enable": false}', 2, "Codestral is off (the enable"),
    (
        "calc.py",
        "def add(a, b):\n    \n",
        '{"disabledLanguages": ["python"]}',
        2,
        "Codestral is off for python (disabledLanguages)",
    ),
    (".env", "DEBUG=1\nPORT=\n", "{}", 2, "This file is never sent to Codestral (excludeGlobs)"),
    ("config.py", 'TOKEN = "ghp_\n', "{}", 1, "The cursor is in a secret"),
]


@pytest.mark.parametrize(
    ("name", "text", "settings", "line", "reason"),
    NOT_ASKED,
    ids=["enable", "disabledLanguages", "excludeGlobs", "maskSecrets"],
)
def test_complete_says_why_nothing_was_asked(
    fake: FakeMistral, tmp_path: Path, name: str, text: str, settings: str, line: int, reason: str
) -> None:
    """Not asking the model is not the model having nothing to add: a script gets 4, not 1,
    and a person the reason, in the words of the editor's statusline."""
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    column = str(len(text.splitlines()[line - 1]) + 1)
    place = ["complete", str(path), "--line", str(line), "--column", column, "--settings", settings]
    env = server_environment(fake.base_url)
    quiet = run(place, env)
    assert (quiet.returncode, quiet.stdout) == (4, ""), quiet.stderr
    assert one_line(quiet).startswith(f"codestral-ls: {path}: {reason}")
    logged = run([*place, "--log-level", "info"], env)  # the tester's second try
    assert logged.returncode == 4
    assert f"codestral-ls: {path}: {reason}" in logged.stderr
    assert not fake.fim_requests


def test_complete_help_lists_the_exit_statuses() -> None:
    result = run(["complete", "--help"], server_environment(None))
    assert result.returncode == 0
    statuses = result.stdout.split("exit status:")[1]
    for status in "01234":
        assert f"\n  {status}  " in statuses


def test_complete_without_a_key_on_an_excluded_file_asks_for_the_key(tmp_path: Path) -> None:
    """As the server's status ranks them: a missing key outranks one file's exclusion (the
    next file would need the key), but Codestral turned off outranks a missing key."""
    path = tmp_path / ".env"
    path.write_text("A=1\n", encoding="utf-8")
    place = ["complete", str(path), "--line", "1", "--column", "3"]
    no_key = run(place, server_environment(None))
    assert no_key.returncode == 2 and "CODESTRAL_API_KEY" in one_line(no_key)
    off = run([*place, "--settings", '{"enable": false}'], server_environment(None))
    assert off.returncode == 4 and "the enable setting is false" in one_line(off)


def test_complete_configuration_problems_exit_2(fake: FakeMistral, source: Path) -> None:
    env = server_environment(fake.base_url)
    for settings, words in (
        ('{"maxTokens": "many"}', "'maxTokens'"),
        ('{"modle": "x"}', "unknown setting 'modle' (fix and try again; nothing was asked)"),
        ("{not json", "not valid JSON"),
        ("/no/such/settings.json", "cannot read /no/such/settings.json"),
        ("[1, 2]", "must be a JSON object"),
    ):
        result = complete(source, env, "--settings", settings)
        assert result.returncode == 2, (settings, result.stderr)
        line = one_line(result)
        assert words in line
        # It stopped: the line must not say it carried on, as the server's message does.
        assert "using the default" not in line and "(ignored)" not in line, line
    no_key = complete(source, server_environment(None))
    assert no_key.returncode == 2
    assert "CODESTRAL_API_KEY" in one_line(no_key)
    assert not fake.fim_requests  # none of these asked the API


def test_complete_through_a_gateway_with_settings(tmp_path: Path, source: Path) -> None:
    """A gateway from a shell: the base URL from --settings (JSON text or file), its own key
    from the settings or the environment; the user's Mistral key is not sent to it unless the
    environment allows the host, and the message says which of the two to do."""
    with FakeMistral(api_key="gateway-key", prefix="/mistral/eu") as gateway:
        gateway.fim_responder = lambda body: "return a + b"
        proxy = {"HTTP_PROXY": f"http://127.0.0.1:{gateway.port}", "NO_PROXY": "", "no_proxy": ""}
        env = server_environment(None, **proxy, CODESTRAL_ALLOW_INSECURE_HTTP="1")
        env["CODESTRAL_API_KEY"] = "mistral-key"
        base = "http://gateway.example/mistral/eu/v1"
        settings = {"apiBase": base, "model": "codestral-2501", "maxTokens": 40}

        withheld = complete(source, env, "--settings", json.dumps(settings))
        assert withheld.returncode == 2
        line = one_line(withheld)
        assert "CODESTRAL_API_KEY was not sent" in line
        assert "CODESTRAL_ALLOWED_HOSTS=gateway.example" in line
        assert "CODESTRAL_SELF_HOSTED_API_KEY" in line
        assert "authorization" not in gateway.fim_requests[-1].headers

        settings_file = tmp_path / "codestral.json"
        settings_file.write_text(json.dumps({**settings, "selfHostedApiKey": "gateway-key"}))
        from_file = complete(source, env, "--settings", str(settings_file))
        assert (from_file.returncode, from_file.stdout) == (0, "return a + b\n"), from_file.stderr
        request = gateway.fim_requests[-1]
        assert request.path == f"{base}/fim/completions"
        assert request.headers["authorization"] == "Bearer gateway-key"
        assert request.body["model"] == "codestral-2501" and request.body["max_tokens"] == 40

        env["CODESTRAL_SELF_HOSTED_API_KEY"] = "gateway-key"
        from_env = complete(source, env, "--settings", json.dumps(settings))
        assert from_env.returncode == 0, from_env.stderr
        assert gateway.fim_requests[-1].headers["authorization"] == "Bearer gateway-key"
        assert "gateway-key" not in from_file.stderr + from_env.stderr
        assert all("mistral-key" not in r.raw.decode() for r in gateway.fim_requests)


def _frame(body: bytes) -> bytes:
    return b"Content-Length: %d\r\n\r\n%s" % (len(body), body)


def test_a_reader_that_stops_early_ends_it_quietly(tmp_path: Path) -> None:
    """``codestral-ls stats | head -1``: the reader is gone before the table is written."""
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path)}
    usage_file = tmp_path / "usage.jsonl"
    usage_file.write_text("")  # an empty report, not a missing file
    command = ["stats", "--file", str(usage_file)]
    read_end, write_end = os.pipe()
    os.close(read_end)  # gone before the first write, as head after its first line
    try:
        result = subprocess.run(
            COMMAND + command, stdout=write_end, stderr=subprocess.PIPE, env=env, timeout=60
        )
    finally:
        os.close(write_end)
    assert result.stderr.decode() == ""
    assert result.returncode == 141  # 128 + SIGPIPE, what a shell shows for any such tool


def test_stats_on_a_folder_says_so_in_one_line(tmp_path: Path) -> None:
    """``codestral-ls stats --file /tmp``: one line naming the file, exit 2, no traceback."""
    result = run(["stats", "--file", str(tmp_path)], server_environment(None))
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == f"codestral-ls stats: cannot read {tmp_path}: Is a directory\n"


def test_started_by_hand_it_says_what_it_is() -> None:
    """At a terminal, with no editor, one line says what this is and what to run instead."""
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        COMMAND,
        stdin=terminal,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=server_environment(None),
    )
    os.close(terminal)
    try:
        # Waits for the line, however long start-up takes (the bound only stops a hang).
        ready, _, _ = select.select([process.stderr], [], [], 120)
        assert ready, "nothing on stderr"
        line = process.stderr.readline().decode()
        assert line.startswith("codestral-ls ") and "language server" in line, line
        assert "editors/README.md" in line and "codestral-ls complete FILE" in line, line
    finally:
        os.write(controller, b"\x04")  # Ctrl-D: the end of the input
        os.close(controller)
        out, err = process.communicate(timeout=120)
    assert err.decode().strip() == "", err.decode()  # the one line, then nothing
    assert out == b""


def test_piped_input_gets_no_greeting_and_bad_bodies_one_line_each() -> None:
    """An editor's stdin is a pipe: no greeting. A body that is not JSON, or not a message,
    is logged in one line, not as pygls tracebacks."""
    bad = [
        b"{bad json",
        b'{"jsonrpc":"2.0","method":"textDocument/didOpen","params":{"x":1}}',
        b"[1, 2]",
    ]
    initialize = b'{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"capabilities":{}}}'
    stdin = _frame(initialize) + b"".join(_frame(body) for body in bad)
    env = server_environment(closed_port_url())  # a key: no "completions are off" line
    result = subprocess.run(COMMAND, input=stdin, capture_output=True, timeout=120, env=env)
    log = result.stderr.decode()
    assert "Traceback" not in log and " pygls." not in log, log
    about_bodies = [line for line in log.splitlines() if "protocol error" in line]
    assert len(about_bodies) == len(bad), log
    assert b'{"id": 1, ' in result.stdout  # and it still answered the editor


async def test_lsp_over_tcp(fake: FakeMistral) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = await asyncio.create_subprocess_exec(
        *COMMAND, "--tcp", f"127.0.0.1:{port}", env=server_environment(fake.base_url)
    )
    try:
        # Ready is when it accepts: wait for that as long as the process lives, however slow
        # the machine (the deadline only stops a hang).
        deadline = time.monotonic() + 120
        while True:
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                break
            except OSError:
                assert process.returncode is None, f"the server exited {process.returncode}"
                assert time.monotonic() < deadline, "the server never listened"
                await asyncio.sleep(0.05)
        body = b'{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"capabilities":{}}}'
        writer.write(_frame(body))
        await writer.drain()
        while True:  # skip the server's log notifications until the answer
            header = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 120)
            length = int(header.split(b"Content-Length:")[1].split(b"\r\n")[0])
            answer = json.loads(await asyncio.wait_for(reader.readexactly(length), 120))
            if answer.get("id") == 1:
                break
        capabilities = answer["result"]["capabilities"]
        assert "completionProvider" in capabilities
        assert "inlineCompletionProvider" not in capabilities  # this client did not declare it
        writer.close()
    finally:
        process.terminate()
        await process.wait()
