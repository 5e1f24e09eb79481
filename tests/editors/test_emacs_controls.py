"""M-x codestral-disable / codestral-enable and the mode line, in Emacs 28 + eglot (batch)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.editors.test_emacs import _emacs_with_eglot, run_emacs
from tests.fake_mistral import Error, FakeMistral, Reply

pytestmark = pytest.mark.editor

DRIVER = Path(__file__).with_name("emacs_controls_driver.el")


def test_toggle_and_mode_line(fake: FakeMistral, tmp_path: Path) -> None:
    emacs = _emacs_with_eglot()
    fake.fim_responder = lambda body: "urn total * 2" if body["prompt"].endswith("ret") else ""
    fake.script(Reply("urn total * 2"), Error(401))  # then the key is refused
    result = run_emacs(emacs, fake, tmp_path, DRIVER)

    assert result["first-mode-line"] == " Codestral"
    assert result["off-mode-line"] == " Codestral:off"
    assert result["off-candidates"] == []
    assert result["on-mode-line"] == " Codestral"
    assert result["on-candidates"] == ["return total * 2"]
    assert result["in-mode-line"] is True
    assert len(fake.fim_requests) == 2  # none while off
    # C-M-i says why it found nothing at once, where "No match" would be all a user saw, and
    # the reason stays after minibuffer-message clears it:
    off = "Codestral is off (M-x codestral-enable turns it back on)"
    assert result["off-explained"] == [off, off]
    assert result["on-explained"] == ["No match"]  # nothing to explain
    assert result["refused-candidates"] == []
    assert result["paused-mode-line"] == " Codestral⏸"
    shown = result["paused-explained"]
    assert len(shown) == 2 and shown[0] == shown[1], shown
    assert shown[0].startswith("Codestral paused after 1 failure(s): 127.0.0.1 rejected the key")
    assert "; retrying at " in shown[0], shown
