"""The server through a real LiteLLM proxy (from PyPI), started here on loopback, upstream =
the fake. The two setups of the README's "Teams and gateways" section, as written:

* LiteLLM's Mistral pass-through: ``apiBase = <proxy>/mistral/v1``;
* a LiteLLM config that serves ``/v1/fim/completions`` (a ``pass_through_endpoints`` entry),
  chat through LiteLLM's own ``/v1/chat/completions`` (OpenAI-shaped answers):
  ``apiBase = <proxy>/v1``.

The proxy's master key reaches it as ``selfHostedApiKey``; the proxy holds the upstream key.
LiteLLM is installed by ``.ci/run`` into its own venv (``.litellm-venv``, pinned with hashes in
``requirements.txt`` beside this file); ``CODESTRAL_LITELLM`` may name another ``litellm``.
Under ``CI=true`` a missing LiteLLM fails the tests instead of skipping them.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from lsprotocol import types

from tests.actions_client import ActionEditor, capabilities
from tests.fake_mistral import FakeMistral
from tests.reliability.lsp_process import LspProcess, environment

ROOT = Path(__file__).resolve().parents[2]
UPSTREAM_KEY = "upstream-key-held-by-the-proxy"
MASTER_KEY = "sk-litellm-master-test"
URI = "file:///project/calc.py"
#: How long the proxy may take to start (importing LiteLLM takes 10-40 s on a busy machine):
#: a bound on waiting for its signal, not a timing under test.
START_BOUND = 240.0

CONFIG = """\
model_list:
  - model_name: codestral-latest
    litellm_params:
      model: mistral/codestral-latest
      api_base: os.environ/UPSTREAM_V1
      api_key: os.environ/MISTRAL_API_KEY
general_settings:
  master_key: {master}
  pass_through_endpoints:
    - path: /v1/fim/completions
      target: os.environ/UPSTREAM_FIM
      headers:
        Authorization: "Bearer os.environ/MISTRAL_API_KEY"
"""


def litellm_command() -> str:
    candidate = os.environ.get("CODESTRAL_LITELLM") or str(ROOT / ".litellm-venv/bin/litellm")
    if shutil.which(candidate):
        return candidate
    message = f"LiteLLM is not installed at {candidate} (.ci/run installs it)"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def upstream() -> Iterator[FakeMistral]:
    with FakeMistral(api_key=UPSTREAM_KEY) as fake:
        fake.fim_responder = lambda body: "return a + b"
        fake.chat_responder = lambda body: "```python\ndef add(a, b):\n    return a + b\n```"
        yield fake


@pytest.fixture(scope="module")
def proxy(upstream: FakeMistral, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The proxy's root URL, once it answers its liveness check."""
    command = litellm_command()
    workdir = tmp_path_factory.mktemp("litellm")
    config = workdir / "config.yaml"
    config.write_text(CONFIG.format(master=MASTER_KEY), encoding="utf-8")
    port = free_port()
    root = upstream.base_url.removesuffix("/v1")
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(workdir),
        "MISTRAL_API_BASE": root,  # the /mistral pass-through appends the request's /v1/...
        "MISTRAL_API_KEY": UPSTREAM_KEY,
        "UPSTREAM_V1": upstream.base_url,
        "UPSTREAM_FIM": upstream.base_url + "/fim/completions",
        "LITELLM_LOG": "ERROR",
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",  # no download of its price list at start
        "NO_PROXY": "*",
    }
    log = (workdir / "litellm.log").open("wb")
    process = subprocess.Popen(
        [command, "--config", str(config), "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=workdir,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_BOUND
        while not _live(url):
            if process.poll() is not None or time.monotonic() > deadline:
                text = (workdir / "litellm.log").read_text(errors="replace")[-3000:]
                pytest.fail(f"LiteLLM did not start (exit {process.poll()}):\n{text}")
            time.sleep(0.25)  # polling for the signal, not a timing
        yield url
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def _live(url: str) -> bool:
    try:
        return httpx.get(url + "/health/liveliness", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def complete(base: str, tmp_path: Path, **options: object) -> tuple[list[str], list[str]]:
    """One completion through a fresh server: the texts shown and the messages told."""
    settings = {"selfHostedApiKey": MASTER_KEY, "debounceMs": 0, "completionTimeoutMs": 10000}
    server = LspProcess(environment(base), stderr_path=tmp_path / "stderr")
    with server:
        server.initialize({**settings, **options})
        server.open(URI, "def add(a, b):\n    \n")
        items = server.inline(URI, 1, 4, timeout=30)["result"]["items"]
        server.wait_for(lambda: server.messages(), timeout=1)
        assert server.shutdown_and_exit() == 0
    return [item["insertText"] for item in items], server.messages()


SETUPS = {"mistral-pass-through": "/mistral/v1", "config-fim-route": "/v1"}


@pytest.mark.parametrize("stream", [True, False], ids=["streaming", "json"])
@pytest.mark.parametrize("setup", list(SETUPS))
def test_completion_through_litellm(
    proxy: str, upstream: FakeMistral, tmp_path: Path, setup: str, stream: bool
) -> None:
    upstream.reset()
    texts, messages = complete(proxy + SETUPS[setup], tmp_path, stream=stream)
    assert texts == ["return a + b"] and messages == []
    requests = upstream.fim_requests  # the proxy forwarded them, with its own key
    assert requests
    for request in requests:
        assert request.headers["authorization"] == f"Bearer {UPSTREAM_KEY}"
        assert request.body["stream"] is stream
        assert request.body["prompt"] == "def add(a, b):\n    "
        assert MASTER_KEY not in request.raw.decode()


@pytest.mark.parametrize("setup", list(SETUPS))
async def test_a_code_action_through_litellm(proxy: str, upstream: FakeMistral, setup: str) -> None:
    upstream.reset()
    editor = await ActionEditor.start(
        proxy + SETUPS[setup],
        capabilities(encoding="utf-8", resolve=True, create_files=False),
        {"selfHostedApiKey": MASTER_KEY},
    )
    try:
        uri = "file:///project/calc.py"
        editor.open(uri, "def add(a, b):\n    pass\n")
        where = types.Range(types.Position(0, 0), types.Position(1, 8))
        action = await editor.action(uri, where, "Codestral: Refactor")
        await editor.run(action)
        assert "return a + b" in editor.texts[uri]
    finally:
        await editor.stop()
    [request] = upstream.chat_requests
    assert request.headers["authorization"] == f"Bearer {UPSTREAM_KEY}"


def test_litellm_without_a_fim_route_is_told_as_such(proxy: str, tmp_path: Path) -> None:
    """LiteLLM serves chat at ``/chat/completions`` but has no ``/fim/completions`` of its
    own: with the proxy's root as the base, completions 404 while chat works. The message
    names the missing route instead of "no API here"."""
    texts, messages = complete(proxy, tmp_path)
    assert texts == []
    [message] = messages
    assert "/fim/completions" in message and "chat works" in message
