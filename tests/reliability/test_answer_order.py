"""A superseded request is answered before the request that superseded it (issue 11, item 1).

Neovim applies whichever inline-completion answer arrives *last*. A request held in the
debounce, superseded by a newer one answered at once from the typed-ahead memory, used to be
answered (empty) a millisecond *after* the newer one: the empty answer won, no ghost text
showed, on the fastest path there is. The frames are read in the order the server wrote them.
"""

from __future__ import annotations

from pathlib import Path

from tests.fake_mistral import FakeMistral
from tests.reliability.lsp_process import LspProcess, environment

URI = "file:///project/calc.py"


def _inline(server: LspProcess, line: int, character: int, *, invoked: bool) -> int:
    return server.start_request(
        "textDocument/inlineCompletion",
        {
            "textDocument": {"uri": URI},
            "position": {"line": line, "character": character},
            "context": {"triggerKind": 1 if invoked else 2},
        },
    )


def _type(server: LspProcess, version: int, line: int, start: int, end: int, text: str) -> None:
    server.notify(
        "textDocument/didChange",
        {
            "textDocument": {"uri": URI, "version": version},
            "contentChanges": [
                {
                    "range": {
                        "start": {"line": line, "character": start},
                        "end": {"line": line, "character": end},
                    },
                    "text": text,
                }
            ],
        },
    )


def _answer_and_position(server: LspProcess, msg_id: int) -> tuple[dict, int]:
    """The answer to ``msg_id``, and its place among the frames the server wrote."""
    answer = server.answer(msg_id, timeout=20)
    return answer, next(i for i, frame in enumerate(server.frames) if frame.get("id") == msg_id)


def test_a_superseded_request_is_answered_before_its_successor(
    fake: FakeMistral, tmp_path: Path
) -> None:
    fake.fim_responder = lambda body: "return a + b" if body["prompt"].endswith("    ") else ""
    with LspProcess(environment(fake.base_url), stderr_path=tmp_path / "stderr") as server:
        # A long debounce: the request typed after "x" is surely still held when the next comes.
        server.initialize({"debounceMs": 5000, "debounceMaxMs": 5000, "adaptiveDebounce": False})
        server.open(URI, "def add(a, b):\n    \n")
        shown = server.answer(_inline(server, 1, 4, invoked=True), timeout=20)
        assert shown["result"]["items"], "no suggestion to type into"
        _type(server, 2, 1, 4, 4, "r")  # typed into the suggestion
        _type(server, 3, 1, 5, 5, "x")  # diverged from it
        held = _inline(server, 1, 6, invoked=False)  # held in the debounce
        _type(server, 4, 1, 5, 6, "")  # and deleted again at once
        newer = _inline(server, 1, 5, invoked=False)  # answered from the typed-ahead memory
        newer_answer, newer_at = _answer_and_position(server, newer)
        _held_answer, held_at = _answer_and_position(server, held)
        assert newer_answer["result"]["items"], "the newer request is not answered"
        assert held_at < newer_at, "the older, empty answer came last: Neovim would show it"
        assert server.shutdown_and_exit() == 0
