"""The key and the code go where the user said, and nowhere else (end to end).

Every test runs the real server against the fake API with a recognisable key and scans what
the server wrote: its stdout frames (messages, logMessage, answers), its stderr and its log
file (at debug level, where pygls logs every message in full).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from lsprotocol import types

from tests.e2e.client import SERVER_COMMAND as E2E_SERVER_COMMAND
from tests.e2e.client import EditorSession
from tests.fake_mistral import Error, FakeMistral, Hang, Reply
from tests.reliability.lsp_process import LspProcess, environment
from tests.tools import eventually

KEY = "sk-codestral-LEAKCANARY-4f3a9b2c7d1e"
SELF_HOSTED_KEY = "selfhosted-LEAKCANARY-77aa"
URI = "file:///project/calc.py"
#: One upstream call per request (no alternatives for invoked requests): the tests count
#: and read each request sent.
FAST = {"completionTimeoutMs": 800, "connectTimeoutMs": 500, "debounceMs": 0, "alternatives": 1}


def key_environment(base_url: str | None, **extra: str) -> dict[str, str]:
    env = environment(base_url, **extra)
    env["CODESTRAL_API_KEY"] = KEY
    for proxy in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        env.pop(proxy, None)
    env.update(extra)
    return env


def assert_nothing_leaked(server: LspProcess, tmp_path: Path, *secrets: str) -> None:
    written = {
        "stdout": bytes(server.raw_stdout),
        "stderr": (tmp_path / "stderr").read_bytes(),
        "log file": (tmp_path / "server.log").read_bytes(),
    }
    assert written["log file"], "the log file was written"
    for secret in secrets:
        for where, data in written.items():
            assert secret.encode() not in data, f"the key leaked into {where}"


@pytest.fixture
def fake() -> Iterator[FakeMistral]:
    with FakeMistral(api_key=KEY) as server:
        server.fim_responder = lambda body: "return a + b"
        yield server


def start(env: dict[str, str], tmp_path: Path, options: dict | None = None) -> LspProcess:
    server = LspProcess(
        env,
        args=["--log-file", str(tmp_path / "server.log"), "--log-level", "debug"],
        stderr_path=tmp_path / "stderr",
    )
    server.initialize({**FAST, **(options or {})})
    return server


def test_key_only_in_the_authorization_header_through_use_and_faults(
    fake: FakeMistral, tmp_path: Path
) -> None:
    fake.script(
        Reply("return a + b"),
        Error(401, body={"message": f"Invalid API key {KEY}"}),  # an API echoing the key
        Error(500, body=f"upstream said: Bearer {KEY}"),
        Hang(),
        Error(429, headers={"Retry-After": "0"}),
    )
    with start(key_environment(fake.base_url), tmp_path) as server:
        for i in range(6):  # one file each: no answer comes from the cache
            server.open(f"file:///project/m{i}.py", f"def add{i}(a, b):\n    \n")
            server.inline(f"file:///project/m{i}.py", 1, 4)
        server.request("codestral/stats", {})
        assert server.shutdown_and_exit() == 0
    assert_nothing_leaked(server, tmp_path, KEY)
    assert len(server.messages()) >= 2  # the 401 and the outage were told, without the key
    for request in fake.requests:
        assert request.headers["authorization"] == f"Bearer {KEY}"
        assert KEY.encode() not in request.raw


def test_key_from_the_settings_is_scrubbed_too(fake: FakeMistral, tmp_path: Path) -> None:
    fake.script(Error(401, body={"detail": f"bad key {KEY}"}))
    env = key_environment(fake.base_url)
    del env["CODESTRAL_API_KEY"]
    with start(env, tmp_path, {"apiKey": KEY, "maxTokens": "lots"}) as server:
        server.open(URI, "def add(a, b):\n    \n")
        server.inline(URI, 1, 4)
        assert server.shutdown_and_exit() == 0
    # The initialize frame itself carries the key (the test sent it); what the server wrote
    # must not.
    assert_nothing_leaked(server, tmp_path, KEY)
    assert fake.fim_requests[0].headers["authorization"] == f"Bearer {KEY}"


def test_redirects_are_not_followed_with_the_key(fake: FakeMistral, tmp_path: Path) -> None:
    with FakeMistral(api_key=None) as elsewhere:
        fake.script(Error(307, headers={"Location": elsewhere.base_url + "/fim/completions"}))
        with start(key_environment(fake.base_url), tmp_path) as server:
            server.open(URI, "def add(a, b):\n    \n")
            assert server.inline(URI, 1, 4)["result"]["items"] == []
            assert server.wait_for(lambda: server.messages())
            assert "redirect" in server.messages()[0]
            assert server.shutdown_and_exit() == 0
        assert elsewhere.requests == []


def test_plain_http_to_a_remote_host_is_refused(tmp_path: Path) -> None:
    env = key_environment("http://codestral.example.com/v1")
    with start(env, tmp_path) as server:
        assert server.wait_for(lambda: server.messages())
        message = server.messages()[0]
        assert "plain http" in message and "https" in message
        server.open(URI, "def add(a, b):\n    \n")
        assert server.inline(URI, 1, 4)["result"]["items"] == []
        assert server.shutdown_and_exit() == 0
    assert_nothing_leaked(server, tmp_path, KEY)


@pytest.mark.parametrize("allowed", [False, True])
def test_a_project_cannot_steer_the_key_to_another_host(
    fake: FakeMistral, tmp_path: Path, allowed: bool
) -> None:
    """``apiBase`` from the project's settings names a foreign host: the Mistral key is not
    sent there unless the user's own environment lists it in CODESTRAL_ALLOWED_HOSTS.

    The foreign host is reached through the fake acting as an HTTP proxy (``HTTP_PROXY``),
    which also shows that the standard proxy variables are honoured.
    """
    proxy = f"http://127.0.0.1:{fake.port}"
    extra = {"HTTP_PROXY": proxy, "NO_PROXY": "", "no_proxy": ""}
    extra["CODESTRAL_ALLOW_INSECURE_HTTP"] = "1"  # plain http only to reach the fake
    if allowed:
        extra["CODESTRAL_ALLOWED_HOSTS"] = "attacker.example"
    options = {"apiBase": "http://attacker.example/v1"}
    with start(key_environment(None, **extra), tmp_path, options) as server:
        server.open(URI, "def add(a, b):\n    \n")
        server.inline(URI, 1, 4)
        assert server.shutdown_and_exit() == 0
    [request] = fake.fim_requests
    assert request.path.startswith("http://attacker.example/")  # it went through the proxy
    if allowed:
        assert request.headers.get("authorization") == f"Bearer {KEY}"
    else:
        assert "authorization" not in request.headers
        assert KEY.encode() not in request.raw


def test_self_hosted_endpoints_take_their_own_key(fake: FakeMistral, tmp_path: Path) -> None:
    proxy = f"http://127.0.0.1:{fake.port}"
    extra = {"HTTP_PROXY": proxy, "NO_PROXY": "", "CODESTRAL_ALLOW_INSECURE_HTTP": "1"}
    options = {"apiBase": "http://llm.internal/v1", "selfHostedApiKey": SELF_HOSTED_KEY}
    with start(key_environment(None, **extra), tmp_path, options) as server:
        server.open(URI, "def add(a, b):\n    \n")
        server.inline(URI, 1, 4)
        assert server.shutdown_and_exit() == 0
    assert fake.fim_requests[0].headers["authorization"] == f"Bearer {SELF_HOSTED_KEY}"
    assert_nothing_leaked(server, tmp_path, KEY, SELF_HOSTED_KEY)


def test_excluded_files_are_never_sent(fake: FakeMistral, tmp_path: Path) -> None:
    with start(key_environment(fake.base_url), tmp_path) as server:
        for uri in ("file:///project/.env", "file:///project/.git/COMMIT_EDITMSG"):
            server.open(uri, "TOKEN=abc\n\n")
            assert server.inline(uri, 1, 0)["result"]["items"] == []
        server.open("file:///project/notes.txt", "TOKEN=abc\n\n", language="plaintext")
        server.inline("file:///project/notes.txt", 1, 0)
        assert server.shutdown_and_exit() == 0
    assert len(fake.fim_requests) == 1, "only the ordinary file was sent"


def test_secrets_are_masked_before_they_leave(fake: FakeMistral, tmp_path: Path) -> None:
    aws = "AKIA" + "Q" * 16
    # Enough ordinary code that the file is not "mostly credentials" (privacy.mostly_secrets
    # withholds such a file whole): these secrets must be masked, not the file withheld.
    code = "import os\nimport json\nimport logging\n\nlog = logging.getLogger(__name__)\n"
    text = (
        code + f'AWS_KEY = "{aws}"\nDB_PASSWORD = "correct-horse-battery"\ndef connect():\n    \n'
    )
    with start(key_environment(fake.base_url), tmp_path) as server:
        server.open(URI, text)
        server.inline(URI, 8, 4)
        server.notify(
            "workspace/didChangeConfiguration", {"settings": {"codestral": {"maskSecrets": False}}}
        )
        server.inline(URI, 8, 4)
        assert server.shutdown_and_exit() == 0
    masked, unmasked = (r.body["prompt"] for r in fake.fim_requests)
    assert aws not in masked and "correct-horse-battery" not in masked
    assert masked.endswith('DB_PASSWORD = "<secret>"\ndef connect():\n    ')
    assert aws in unmasked, "the switch works"


async def test_a_key_pulled_through_workspace_configuration_stays_out_of_the_debug_log(
    fake: FakeMistral, tmp_path: Path
) -> None:
    """VS Code answers workspace/configuration with the key; pygls logs that answer at debug
    level before the server has read it (and so before the key is registered for scrubbing)."""
    log = tmp_path / "server.log"
    session = await EditorSession.start(
        "vscode",
        key_environment(fake.base_url),
        server_command=[*E2E_SERVER_COMMAND, "--log-file", str(log), "--log-level", "debug"],
    )
    try:
        session.client.set_configuration({"apiKey": SELF_HOSTED_KEY}, section="codestral")
        session.client.workspace_did_change_configuration(
            types.DidChangeConfigurationParams(settings=None)
        )

        def answer_logged() -> bool:  # pygls logs the client's answer, key and all
            text = log.read_text(encoding="utf-8") if log.exists() else ""
            asked = text.find("workspace/configuration ConfigurationParams")
            return asked >= 0 and "Received result for message" in text[asked:]

        await eventually(answer_logged, "the server to log the configuration answer")
    finally:
        await session.stop()
    text = log.read_text(encoding="utf-8")
    [answer] = [
        line for line in text.splitlines() if "Received result" in line and "apiKey" in line
    ]
    assert "<redacted>" in answer  # the answer was logged...
    assert SELF_HOSTED_KEY not in text  # ...without the key
