"""Which clients the server's debounce applies to (scheduling.ClientPacing): one that asks
on every edit is debounced; Neovim, which asks after a pause of its own, is not, as long as
it behaves so."""

from __future__ import annotations

from lsprotocol import types

from codestral_ls.client_features import ClientFeatures
from codestral_ls.scheduling import (
    COMPLETION,
    INLINE,
    PACING_EVIDENCE,
    PACING_WINDOW,
    ClientPacing,
)

DOC = "file:///x.py"


def ask_after(pacing: ClientPacing, edits: list[int], kind: str = INLINE) -> None:
    """For each number in ``edits``: that many didChange, then one automatic request."""
    for count in edits:
        for _ in range(count):
            pacing.note_edit(DOC)
        pacing.note_request(kind, DOC)


#: Neovim typing a few words between pauses: a batch of keys per didChange every 150 ms,
#: a request after each 200 ms pause; some requests after one batch (a slow key, an accepted
#: suggestion) or none (the cursor moved).
NEOVIM_TYPING = [4, 3, 1, 6, 2, 0, 5, 1, 3, 4, 2, 1, 7, 3]
#: VS Code: a request after every keystroke; now and then one after a paste and a formatting.
PER_KEYSTROKE = [1] * 6 + [2] + [1] * 9 + [0, 1, 1]


def test_the_client_name_declares_self_pacing_only_for_neovim() -> None:
    caps = types.ClientCapabilities()
    assert ClientFeatures.of(caps, types.ClientInfo(name="Neovim")).waits_for_pauses
    for other in (None, types.ClientInfo(name="Visual Studio Code"), types.ClientInfo("helix")):
        assert not ClientFeatures.of(caps, other).waits_for_pauses


def test_a_client_not_declared_is_always_debounced() -> None:
    pacing = ClientPacing()
    assert not pacing.paces_itself(INLINE)
    ask_after(pacing, NEOVIM_TYPING)  # even when it asks like Neovim
    assert not pacing.paces_itself(INLINE)


def test_neovim_is_trusted_before_and_while_it_asks_after_pauses() -> None:
    pacing = ClientPacing({INLINE})
    assert pacing.paces_itself(INLINE)
    for count in NEOVIM_TYPING:
        ask_after(pacing, [count])
        assert pacing.paces_itself(INLINE), count


def test_a_declared_client_asking_on_every_edit_is_debounced_until_it_stops() -> None:
    pacing = ClientPacing({INLINE})
    ask_after(pacing, [1] * (PACING_EVIDENCE - 1))
    assert pacing.paces_itself(INLINE)  # too few requests to judge: taken at its word
    ask_after(pacing, [1])
    assert not pacing.paces_itself(INLINE)
    ask_after(pacing, PER_KEYSTROKE)
    assert not pacing.paces_itself(INLINE)
    ask_after(pacing, NEOVIM_TYPING)  # back to asking after pauses
    assert pacing.paces_itself(INLINE)


def test_each_kind_of_request_is_judged_on_its_own() -> None:
    """Neovim's inline completion paces itself; a completion plugin in the same Neovim that
    asks on every keystroke is debounced, and does not make the inline requests wait."""
    pacing = ClientPacing({INLINE})
    for count in NEOVIM_TYPING:
        for _ in range(count):
            pacing.note_edit(DOC)
            pacing.note_request(COMPLETION, DOC)  # the plugin, after each key
        pacing.note_request(INLINE, DOC)
    assert pacing.paces_itself(INLINE) and not pacing.paces_itself(COMPLETION)


def test_edits_are_counted_per_document() -> None:
    """Edits to another document (a rename across files, a formatter) do not make a client
    that asks on every edit of the document it asks about look self-paced."""
    pacing = ClientPacing({INLINE})
    for _ in range(PACING_EVIDENCE * 2):
        for other in range(5):
            pacing.note_edit(f"file:///other{other}.py")
        ask_after(pacing, [1])
    assert not pacing.paces_itself(INLINE)


def test_neovim_is_debounced_while_its_pauses_are_the_users_hesitations() -> None:
    """Neovim's 200 ms are a hesitation for a typist whose keys are often further apart: its
    requests that needed the API were mostly overtaken by the next keys. The server's
    debounce then applies again, until most requests are answered before the user types on."""
    pacing = ClientPacing({INLINE})
    ask_after(pacing, NEOVIM_TYPING)
    for overtaken in [False, True, False] * (PACING_EVIDENCE // 3):
        pacing.note_outcome(INLINE, overtaken=overtaken)
    assert pacing.paces_itself(INLINE)  # two in three requests answered: pauses
    for _ in range(PACING_EVIDENCE):
        pacing.note_outcome(INLINE, overtaken=True)
    assert not pacing.paces_itself(INLINE)
    for _ in range(PACING_EVIDENCE + 2):
        pacing.note_outcome(INLINE, overtaken=False)
    assert pacing.paces_itself(INLINE)


def test_too_few_outcomes_say_nothing() -> None:
    pacing = ClientPacing({INLINE})
    for _ in range(PACING_EVIDENCE - 1):
        pacing.note_outcome(INLINE, overtaken=True)
    assert pacing.paces_itself(INLINE)
    pacing.note_outcome(INLINE, overtaken=True)
    assert not pacing.paces_itself(INLINE) and not pacing.paces_itself(COMPLETION)


def _declared() -> ClientPacing:
    return ClientPacing(declared=[INLINE])


def test_two_edits_since_the_last_request_count_as_a_pause_one_does_not() -> None:
    paced = _declared()
    for number in range(PACING_EVIDENCE):  # fresh documents: counting starts at zero
        for _ in range(2):
            paced.note_edit(f"file:///two{number}.py")
        paced.note_request(INLINE, f"file:///two{number}.py")
    assert paced.paces_itself(INLINE)
    eager = _declared()
    for number in range(PACING_EVIDENCE):
        eager.note_edit(f"file:///one{number}.py")
        eager.note_request(INLINE, f"file:///one{number}.py")
    assert not eager.paces_itself(INLINE)


def test_a_request_before_any_edit_counts_from_zero_edits() -> None:
    pacing = _declared()
    for number in range(PACING_EVIDENCE):
        document = f"file:///d{number}.py"
        pacing.note_request(INLINE, document)  # opened and asked at once: no edit yet
        pacing.note_edit(document)
        pacing.note_edit(document)
        pacing.note_request(INLINE, document)  # two edits since: a pause
    # the samples: half "no edit" (False), half "two edits" (True): at least half
    assert pacing.paces_itself(INLINE)


def test_the_name_is_believed_until_the_evidence_is_in() -> None:
    pacing = _declared()
    ask_after(pacing, [1] * (PACING_EVIDENCE - 1))
    assert pacing.paces_itself(INLINE)
    ask_after(pacing, [1])
    assert not pacing.paces_itself(INLINE)


def test_exactly_half_after_pauses_is_enough_and_only_the_window_counts() -> None:
    pacing = _declared()
    ask_after(pacing, [1] + [1, 2] * (PACING_WINDOW // 2))
    # the oldest (one edit) fell out of the window: 8 of 16 after a pause
    assert pacing.paces_itself(INLINE)
    ask_after(pacing, [1, 1])
    assert not pacing.paces_itself(INLINE)  # 7 of 16


def test_exactly_half_overtaken_is_still_self_paced() -> None:
    pacing = _declared()
    ask_after(pacing, [3] * PACING_EVIDENCE)
    for overtaken in [True, False] * (PACING_EVIDENCE // 2):
        pacing.note_outcome(INLINE, overtaken=overtaken)
    assert pacing.paces_itself(INLINE)
    pacing.note_outcome(INLINE, overtaken=True)
    assert not pacing.paces_itself(INLINE)


def test_forgetting_a_document_starts_its_count_again_and_keeps_the_others() -> None:
    pacing = _declared()
    other = "file:///other.py"
    for _ in range(3):
        pacing.note_edit(DOC)
        pacing.note_edit(other)
    pacing.note_request(INLINE, DOC)
    pacing.note_request(INLINE, other)
    pacing.forget(DOC)
    for _ in range(2):
        pacing.note_edit(DOC)
    for _ in range(PACING_EVIDENCE):
        pacing.note_request(INLINE, DOC)  # 2 edits since the count restarted, then 0
        pacing.note_edit(other)
        pacing.note_edit(other)
        pacing.note_request(INLINE, other)  # 2 edits since its last request each time
    # DOC: one True then five False; other: True, then six True: at least half
    assert pacing.paces_itself(INLINE)
