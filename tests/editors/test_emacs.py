"""Emacs 28 + eglot, in ``emacs --batch``, with the shipped editors/emacs/codestral-eglot.el.

The init is the snippet editors/README.md gives eglot users, after the package setup Emacs does
before a user's init file (``-Q`` skips it). ``emacs_driver.el`` opens a Python file, lets eglot
connect through the mode hook, runs ``completion-at-point`` after "ret", then the Refactor code
action through ``eglot-code-actions``, and writes what it saw.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.editors.support import editor_environment, readme_snippet, run_bounded, run_driver
from tests.fake_mistral import FakeMistral
from tests.tools import need_tool

pytestmark = pytest.mark.editor

DRIVER = Path(__file__).with_name("emacs_driver.el")
ELPA = Path("/usr/share/emacs/site-lisp/elpa")
# What Emacs does before init.el (package-initialize, with Debian's elpa-* packages visible).
REFACTORED = 'def double(total: float) -> float:\n    """Twice the total."""\n    return total * 2'
PACKAGES = f'(add-to-list \'package-directory-list "{ELPA}")\n(package-initialize)\n'


def _emacs_with_eglot() -> str:
    """Emacs, if it has eglot (Emacs 29 built in, Emacs 28 from Debian's elpa-eglot)."""
    emacs = need_tool("emacs", "apt-get install emacs-nox elpa-eglot; .ci/run does")
    probe = f'(progn {PACKAGES} (kill-emacs (if (locate-library "eglot") 0 1)))'
    run = run_bounded([emacs, "--batch", "-Q", "--eval", probe], {}, Path.cwd(), 60)
    if run.returncode != 0:
        pytest.skip("emacs has no eglot (apt-get install elpa-eglot; .ci/run does)")
    return emacs


def run_emacs(
    emacs: str,
    fake: FakeMistral,
    tmp_path: Path,
    driver: Path,
    extra_env: dict[str, str] | None = None,
) -> dict:
    """Run ``driver`` in ``emacs --batch`` with the README's eglot snippet, on ``calc.py``
    holding "    ret" in a function; return what it saw."""
    init = tmp_path / "init.el"
    init.write_text(PACKAGES + readme_snippet("emacs-eglot"), encoding="utf-8")
    source = tmp_path / "calc.py"
    source.write_text("def double(total):\n    ret\n", encoding="utf-8")
    env = editor_environment(fake.base_url)
    env["CODESTRAL_TEST_RESULT"] = str(tmp_path / "result.json")
    env["CODESTRAL_TEST_FILE"] = str(source)
    env["HOME"] = str(tmp_path)  # no user config, no eglot state from elsewhere
    env.update(extra_env or {})
    command = [emacs, "--batch", "-Q", "-l", str(init), "-l", str(driver)]
    return run_driver(command, env, tmp_path, timeout=60)


def test_eglot_completion_at_point_inserts_the_completion(
    fake: FakeMistral, tmp_path: Path
) -> None:
    emacs = _emacs_with_eglot()
    fake.fim_responder = lambda body: "urn total * 2" if body["prompt"].endswith("ret") else ""
    signal = tmp_path / "command-answered"

    def chat(body: dict) -> str:
        # Held back until eglot's executeCommand call returned (the driver writes the file):
        # answered only with the edit, eglot stayed frozen and timed out after 10 s.
        deadline = time.monotonic() + 30
        while not signal.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        return f"```python\n{REFACTORED}\n```"

    fake.chat_responder = chat
    result = run_emacs(emacs, fake, tmp_path, DRIVER, {"CODESTRAL_TEST_SIGNAL": str(signal)})

    assert result["mode"] == "python-mode"
    assert result["server"] == "codestral-eglot-server"
    assert result["inline"] is False  # eglot has no inline completion: completion items
    assert result["prefix"] == "ret"
    assert result["candidates"] == ["return total * 2"]
    assert result["completed"] == "def double(total):\n    return total * 2\n"
    assert result["point"] == [2, len("    return total * 2")]
    assert fake.fim_requests[0].body["prompt"] == "def double(total):\n    ret"

    # eglot-code-actions: the refactor action, run through workspace/executeCommand and applied
    # from the server's workspace/applyEdit.
    assert result["actions"] == ["Codestral: Refactor / Improve"]
    assert result["unchanged-after-command"] is True  # answered before the edit was ready
    print(f"executeCommand answered in {result['command-seconds'] * 1000:.0f} ms")
    assert result["after-action"] == REFACTORED + "\n"
    assert "asked" not in result, result["asked"]  # no y/n to eat the keys typed meanwhile


def test_a_chat_file_gets_its_mode_eglot_and_reply(fake: FakeMistral, tmp_path: Path) -> None:
    """A *.codestral.md file opened in Fundamental mode, where eglot could not start
    ("couldn't guess for 'fundamental-mode'") and Reply was out of reach in Emacs."""
    emacs = _emacs_with_eglot()
    fake.chat_responder = lambda body: "Four."
    chat = tmp_path / "notes.codestral.md"
    chat.write_text("## You\n\nWhat is 2 + 2?\n", encoding="utf-8")
    driver = Path(__file__).with_name("emacs_chat_driver.el")
    result = run_emacs(emacs, fake, tmp_path, driver, {"CODESTRAL_TEST_FILE": str(chat)})
    assert result["ok"] is True, result.get("error")
    assert result["mode"] == "codestral-chat-mode"
    assert result["actions"] == ["Codestral: Reply"]
    assert "## Codestral\n\nFour.\n" in result["after"], result["after"]
    assert fake.chat_requests[-1].body["messages"][-1]["content"].startswith("What is 2 + 2?")
