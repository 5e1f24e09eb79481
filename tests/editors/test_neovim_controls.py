"""The plugin's everyday controls in real headless Neovim 0.12: partial accept, cycling through
alternatives, :Codestral disable/enable and the statusline (nvim_controls_driver.lua types)."""

from __future__ import annotations

from pathlib import Path

import pytest

from codestral_ls import usage
from tests.editors.test_neovim import run_neovim
from tests.fake_mistral import Delay, FakeMistral

pytestmark = pytest.mark.editor

DRIVER = Path(__file__).with_name("nvim_controls_driver.lua")
SOURCE = "def add(a, b):\n    \n\ndef mul(a, b):\n    \n\n"
MUL = {None: "return a * b", 1: "return b * a", 2: "return a ** b"}


def _fim(body: dict) -> str:
    prompt = body["prompt"]
    if prompt.endswith("def add(a, b):\n    "):
        return "return a + b"
    if prompt.endswith("def mul(a, b):\n    "):
        return MUL.get(body.get("random_seed"), "")
    if prompt.endswith("x = 1"):
        return " + 1"
    return ""


def test_partial_accept_alternatives_and_toggle(fake: FakeMistral, tmp_path: Path) -> None:
    fake.fim_responder = _fim
    (tmp_path / ".env").write_text("TOKEN=abc\n", encoding="utf-8")
    usage_dir = {"CODESTRAL_LS_STATE_DIR": str(tmp_path / "usage")}
    result = run_neovim(fake, tmp_path, SOURCE, driver=DRIVER, extra_env=usage_dir)

    assert result["mappings"] == {
        "<M-Right>": "Codestral: accept word",
        "<M-C-Right>": "Codestral: accept line",
        "<M-]>": "Codestral: next",
        "<M-[>": "Codestral: prev",
        "<M-\\>": "Codestral: trigger",
        "<C-]>": "Codestral: dismiss",
    }
    # A word, then the rest of the line; the rest came from memory, with no new call.
    assert result["after_word"] == "    return"
    assert result["after_line"] == "    return a + b"
    assert result["cursor_after_line"] == [2, len("    return a + b")]
    assert result["calls_for_partial_accepts"] == 0

    # Dismissed, then asked for: the alternatives came with it, and the next key shows the
    # second one.
    assert result["dismissed"] is True
    assert "a * b" in result["ghost_triggered"] and "(1/3)" in result["ghost_triggered"]
    assert "b * a" in result["ghost_second"] and "(2/3)" in result["ghost_second"]
    assert result["accepted_alternative"] == "    return b * a"
    seeds = sorted(
        r.body.get("random_seed") or 0
        for r in fake.fim_requests
        if r.body["prompt"].endswith("def mul(a, b):\n    ")
    )
    assert seeds == [0, 1, 2]

    # Disabled: nothing asked while typing "x = "; enabled again: ghost text at "x = 1".
    assert result["enabled_after_disable"] is False
    assert result["server_state_off"] == "disabled"
    assert "off" in result["statusline_off"] and "off" not in result["statusline_on"]
    assert result["pending_while_disabled"] == 0
    assert not [r for r in fake.fim_requests if r.body["prompt"].endswith("x = ")]
    assert result["calls_after_enable"] == 1

    # Opening a file that is never sent: its statusline says Codestral is off, and why.
    assert result["env_status"]["state"] == "disabled"
    assert "excludeGlobs" in result["env_status"]["message"]
    assert result["env_statusline"] == "Codestral off"

    # Accepts reached the server's local statistics (written at exit).
    totals = usage.Counts()
    for counts in usage.read(tmp_path / "usage" / "usage.jsonl").values():
        totals.add(counts)
    assert totals.accepted == 2 and totals.accepted_partly == 1, totals


def test_the_statusline_follows_enable_and_settings(fake: FakeMistral, tmp_path: Path) -> None:
    """A tester's session: `:Codestral disable`, `status`, `enable` gave ghost text again under
    "Codestral off"; `disabledLanguages` changed by didChangeConfiguration showed only after
    `:Codestral status`. The buffer's view was asked on BufEnter only."""
    fake.fim_responder = _fim
    fake.script(Delay(0.5))  # the first answer is slow: the server tells "waiting", then idle
    result = run_neovim(fake, tmp_path, SOURCE, "statusline", driver=DRIVER)
    assert "+ 1" in result["ghost_slow"]
    assert "waiting" in result["told_while_typing"], result["told_while_typing"]
    assert result["asked_while_typing"] == 0  # no request per suggestion
    assert result["after_status_enable"] == "Codestral"
    assert result["python_disabled"] == "Codestral off"
    assert result["python_enabled"] == "Codestral"
