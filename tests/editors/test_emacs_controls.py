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
    # Then the key is refused once, then the API is back.
    fake.script(Reply("urn total * 2"), Error(401), Reply("urn total * 2"))
    result = run_emacs(emacs, fake, tmp_path, DRIVER)

    assert result["first-mode-line"] == " Codestral"
    assert result["off-mode-line"] == " Codestral:off"
    assert result["off-candidates"] == []
    assert result["on-mode-line"] == " Codestral"
    assert result["on-candidates"] == ["return total * 2"]
    assert result["in-mode-line"] is True
    assert len(fake.fim_requests) == 3  # none while off
    # C-M-i says why it found nothing at once, where "No match" would be all a user saw, and
    # the reason stays after minibuffer-message clears it:
    off = "Codestral is off (M-x codestral-enable turns it back on)"
    assert result["off-explained"] == [off, off]
    assert result["on-explained"] == ["No match"]  # nothing to explain
    this_file = "Codestral is off for this file (M-x codestral-enable)"  # asked of the server
    assert result["buffer-off-explained"] == [this_file, this_file]
    assert result["buffer-off-mode-line"] == " Codestral"  # the global state, not clobbered
    assert result["refused-candidates"] == []
    assert result["paused-mode-line"] == " Codestral⏸"
    shown = result["paused-explained"]
    assert len(shown) == 2 and shown[0] == shown[1], shown
    assert shown[0].startswith("Codestral paused after 1 failure(s): 127.0.0.1 rejected the key")
    assert "; retrying at " in shown[0], shown
    assert result["recovered-candidates"] == ["return total * 2"]
    assert result["recovered-explained"] == []  # no stale "paused" after a completion
    assert result["scratch-mode-line"] == ""
    assert result["shut-down-mode-line"] == ""  # it said " Codestral:✗key" after shutdown
