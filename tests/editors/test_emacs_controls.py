"""M-x codestral-disable / codestral-enable and the mode line, in Emacs 28 + eglot (batch)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.editors.support import editor_environment, readme_snippet, run_driver
from tests.editors.test_emacs import PACKAGES, _emacs_with_eglot
from tests.fake_mistral import FakeMistral

pytestmark = pytest.mark.editor

DRIVER = Path(__file__).with_name("emacs_controls_driver.el")


def test_toggle_and_mode_line(fake: FakeMistral, tmp_path: Path) -> None:
    emacs = _emacs_with_eglot()
    fake.fim_responder = lambda body: "urn total * 2" if body["prompt"].endswith("ret") else ""
    init = tmp_path / "init.el"
    init.write_text(PACKAGES + readme_snippet("emacs-eglot"), encoding="utf-8")
    source = tmp_path / "calc.py"
    source.write_text("def double(total):\n    ret\n", encoding="utf-8")
    env = editor_environment(fake.base_url)
    env["CODESTRAL_TEST_RESULT"] = str(tmp_path / "result.json")
    env["CODESTRAL_TEST_FILE"] = str(source)
    env["HOME"] = str(tmp_path)

    command = [emacs, "--batch", "-Q", "-l", str(init), "-l", str(DRIVER)]
    result = run_driver(command, env, tmp_path, timeout=60)

    assert result["first-mode-line"] == " Codestral"
    assert result["off-mode-line"] == " Codestral:off"
    assert result["off-candidates"] == []
    assert result["on-mode-line"] == " Codestral"
    assert result["on-candidates"] == ["return total * 2"]
    assert result["in-mode-line"] is True
    assert len(fake.fim_requests) == 1  # none while off
