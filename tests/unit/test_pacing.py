"""Which clients the server's debounce applies to (scheduling.ClientPacing): one that asks
on every edit is debounced; Neovim, which asks after a pause of its own, is not, as long as
it behaves so."""

from __future__ import annotations

from lsprotocol import types

from codestral_ls.client_features import ClientFeatures
from codestral_ls.scheduling import COMPLETION, INLINE, PACING_EVIDENCE, ClientPacing

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
