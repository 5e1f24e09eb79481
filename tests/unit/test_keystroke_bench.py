"""The keystroke bench times real edits of the document model (its figures are in the
README): it broke silently once when ``Document.apply_edit`` lost its version argument, and
``python -m bench`` stopped at that section."""

from __future__ import annotations

from bench import keystroke


def test_the_timed_edits_run_on_the_current_document_model() -> None:
    text = keystroke.document_text(2_000)
    timings = keystroke.store_timings(text, 4)
    assert len(timings) == 4 and all(t >= 0 for t in timings)
    assert len(keystroke.pygls_timings(text, 4)) == 4
