"""Gateway-shaped setups end to end: the server over LSP, the fake behind a gateway's path.

The gateway host (``api.langdock.com``) is reached through the fake acting as the HTTP proxy
(``HTTP_PROXY``), so the server resolves, trusts and addresses the real host name while the
bytes land on 127.0.0.1; plain http is allowed for that (``CODESTRAL_ALLOW_INSECURE_HTTP``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fake_mistral import FakeMistral
from tests.reliability.lsp_process import LspProcess, environment

KEY = "ld-workspace-LEAKCANARY-5e6f"
URI = "file:///project/calc.py"
GATEWAY = "http://api.langdock.com/mistral/eu/v1"
FAST = {"completionTimeoutMs": 2000, "connectTimeoutMs": 1000, "debounceMs": 0}


@pytest.fixture
def langdock() -> Iterator[FakeMistral]:
    with FakeMistral(api_key=KEY, prefix="/mistral/eu") as server:
        server.fim_responder = lambda body: "return a + b"
        yield server


def through(fake: FakeMistral, **extra: str) -> dict[str, str]:
    env = environment(None, CODESTRAL_API_KEY=KEY, **extra)
    for proxy in ("HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "no_proxy"):
        env.pop(proxy, None)
    env.update(HTTP_PROXY=f"http://127.0.0.1:{fake.port}", NO_PROXY="")
    env["CODESTRAL_ALLOW_INSECURE_HTTP"] = "1"
    return env


def complete(
    env: dict[str, str], tmp_path: Path, options: dict | None = None
) -> tuple[LspProcess, list[str]]:
    """One completion through a fresh server; the server (for its messages) and the texts."""
    server = LspProcess(
        env, args=["--log-file", str(tmp_path / "server.log")], stderr_path=tmp_path / "stderr"
    )
    with server:
        server.initialize({**FAST, **(options or {})})
        server.open(URI, "def add(a, b):\n    \n")
        items = server.inline(URI, 1, 4)["result"]["items"]
        server.wait_for(lambda: server.messages(), timeout=2)
        assert server.shutdown_and_exit() == 0
    return server, [item["insertText"] for item in items]


def test_a_gateway_from_the_environment_with_its_key_completes(
    langdock: FakeMistral, tmp_path: Path
) -> None:
    """The README's Langdock setup, as written: base URL and key both exported."""
    server, texts = complete(through(langdock, CODESTRAL_API_BASE=GATEWAY), tmp_path)
    assert texts == ["return a + b"]
    requests = langdock.fim_requests  # one, or more with alternatives
    assert requests and all(r.path == GATEWAY + "/fim/completions" for r in requests)
    assert all(r.headers["authorization"] == f"Bearer {KEY}" for r in requests)
    assert server.messages() == []


def test_a_gateway_from_settings_says_the_key_was_withheld_not_rejected(
    langdock: FakeMistral, tmp_path: Path
) -> None:
    server, _texts = complete(through(langdock), tmp_path, {"apiBase": GATEWAY})
    requests = langdock.fim_requests
    assert requests and all("authorization" not in r.headers for r in requests)  # no key...
    [message] = server.messages()
    assert "withheld" in message and "api.langdock.com" in message  # ...and the user is told
    assert "CODESTRAL_ALLOWED_HOSTS" in message and "selfHostedApiKey" in message
    assert "reject" not in message.lower() and len(message) <= 100


def test_allowing_the_host_sends_the_key_through_the_settings_base(
    langdock: FakeMistral, tmp_path: Path
) -> None:
    env = through(langdock, CODESTRAL_ALLOWED_HOSTS="api.langdock.com")
    server, texts = complete(env, tmp_path, {"apiBase": GATEWAY})
    assert texts == ["return a + b"]
    assert server.messages() == []


def test_a_chat_only_gateway_is_told_as_a_missing_fim_route(tmp_path: Path) -> None:
    """LiteLLM's OpenAI routes serve chat but not FIM: say which route is missing, not
    "no API here" (code actions work there, which made the old message confusing)."""
    with FakeMistral(api_key=KEY, fim_route=False) as chat_only:
        env = environment(chat_only.base_url, CODESTRAL_API_KEY=KEY)
        server, texts = complete(env, tmp_path)
        assert texts == []
        assert len(chat_only.chat_requests) == 1  # one probe, one token
        assert chat_only.chat_requests[0].body["max_tokens"] == 1
    [message] = server.messages()
    assert "/fim/completions" in message and "chat works" in message
    log = (tmp_path / "server.log").read_text(encoding="utf-8")
    assert "/mistral/v1" in log  # the way out (LiteLLM's pass-through) is in the log
