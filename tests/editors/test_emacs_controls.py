"""M-x codestral-disable / codestral-enable and the mode line, in Emacs 28 + eglot (batch)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.editors.test_emacs import _emacs_with_eglot, run_emacs
from tests.fake_mistral import FakeMistral

pytestmark = pytest.mark.editor

DRIVER = Path(__file__).with_name("emacs_controls_driver.el")


def test_toggle_and_mode_line(fake: FakeMistral, tmp_path: Path) -> None:
    emacs = _emacs_with_eglot()
    fake.fim_responder = lambda body: "urn total * 2" if body["prompt"].endswith("ret") else ""
    result = run_emacs(emacs, fake, tmp_path, DRIVER)

    assert result["first-mode-line"] == " Codestral"
    assert result["off-mode-line"] == " Codestral:off"
    assert result["off-candidates"] == []
    assert result["on-mode-line"] == " Codestral"
    assert result["on-candidates"] == ["return total * 2"]
    assert result["in-mode-line"] is True
    assert len(fake.fim_requests) == 1  # none while off
