"""Property tests: random edits and requests from a sloppy client, against a reference model.

Hypothesis drives one server process (per position encoding) with random sequences of
``didOpen``/``didChange`` (incremental edits with multi-byte text, CRLF, lone CR, emoji whose
UTF-16 halves a position can split), completion, inline completion, code action and
``$/cancelRequest``, at valid and invalid positions (negative, past the end, mid-character),
on unknown URIs and with stale versions. After every sequence the server's text (read
through the test-only ``codestral/documentText`` request) must equal the reference model's,
every request must have had a well-formed answer, and the process must still be running.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fake_mistral import FakeMistral
from tests.reliability.lsp_process import VSCODE_LIKE, LspProcess, environment

PIECES = ["a", "b", " ", "é", "中", "😀", "𝄞", "\n", "\r\n", "\r", "\t", "\u200b", "'"]
texts = st.lists(st.sampled_from(PIECES), max_size=24).map("".join)
initial_texts = st.lists(st.sampled_from(PIECES), min_size=4, max_size=40).map("".join)
small = st.integers(min_value=0, max_value=6)  # mostly inside small documents
coordinates = st.one_of(
    small,
    small,
    small,
    small,
    st.integers(min_value=0, max_value=200),  # past the end
    st.integers(min_value=-3, max_value=-1),  # invalid: the request must still be answered
)
positions = st.tuples(coordinates, coordinates)

edit = st.tuples(st.just("edit"), positions, positions, texts)
replace_all = st.tuples(st.just("replace"), texts)
request = st.tuples(
    st.sampled_from(["inline", "completion", "codeAction"]), positions, st.booleans()
)
elsewhere = st.tuples(st.just("unknown-uri"), positions, texts)
operations = st.lists(
    st.one_of(edit, edit, edit, edit, replace_all, request, elsewhere), min_size=1, max_size=12
)

_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n|$)")
_counter = itertools.count()


class Reference:
    """The document as plain text, positions resolved as LSP says (clamped, rounding down)."""

    def __init__(self, text: str, encoding: str) -> None:
        self.text = text
        self.encoding = encoding

    def _units(self, char: str) -> int:
        if self.encoding == "utf-16":
            return 2 if ord(char) > 0xFFFF else 1
        return len(char.encode("utf-8"))

    def offset(self, line: int, column: int) -> int:
        lines = [m for m in _LINE.findall(self.text)]
        lines = lines[:-1] if len(lines) > 1 and lines[-1] == "" else lines
        if line >= len(lines):
            return len(self.text)
        start = sum(len(x) for x in lines[:line])
        content = lines[line].rstrip("\r\n")
        seen = 0
        for index, char in enumerate(content):
            seen += self._units(char)
            if seen > column:
                return start + index
        return start + len(content)

    def apply(self, start: tuple[int, int], end: tuple[int, int], new: str) -> None:
        a, b = sorted((self.offset(*start), self.offset(*end)))
        self.text = self.text[:a] + new + self.text[b:]


def valid(*points: tuple[int, int]) -> bool:
    return all(v >= 0 for point in points for v in point)


def pos(point: tuple[int, int]) -> dict[str, int]:
    return {"line": point[0], "character": point[1]}


def well_formed(method: str, answer: dict[str, Any], invalid: bool) -> None:
    assert answer.get("jsonrpc") == "2.0"
    if "error" in answer:
        # Invalid parameters, or cancelled by the client: anything else is a server bug.
        assert answer["error"]["code"] in (-32602, -32603, -32800), answer
        assert invalid or answer["error"]["code"] == -32800, answer
        return
    result = answer["result"]
    if method == "textDocument/inlineCompletion":
        assert result is None or isinstance(result, (list, dict))
        items = result.get("items", []) if isinstance(result, dict) else (result or [])
        assert all(isinstance(item.get("insertText"), (str, dict)) for item in items)
    elif method == "textDocument/completion":
        assert result is None or isinstance(result, (list, dict))
    else:
        assert result is None or isinstance(result, list)


@pytest.fixture(scope="module", params=["utf-16", "utf-8"])
def server(request: pytest.FixtureRequest) -> Iterator[tuple[LspProcess, str]]:
    encoding = request.param
    with FakeMistral() as fake:
        fake.fim_responder = lambda body: "x = 1"
        env = environment(fake.base_url, CODESTRAL_LS_TEST_HOOKS="1")
        with LspProcess(env) as process:
            capabilities = {**VSCODE_LIKE, "general": {"positionEncodings": [encoding]}}
            answer = process.initialize({"debounceMs": 0}, capabilities=capabilities)
            assert answer["result"]["capabilities"]["positionEncoding"] == encoding
            yield process, encoding
            assert process.shutdown_and_exit() == 0


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(initial=initial_texts, ops=operations)
def test_random_sessions(server: tuple[LspProcess, str], initial: str, ops: list) -> None:
    process, encoding = server
    uri = f"file:///project/doc{next(_counter)}.py"
    process.open(uri, initial)
    model = Reference(initial, encoding)
    version = 1
    pending: list[tuple[str, int, bool]] = []
    for op in ops:
        kind = op[0]
        if kind == "edit":
            _, start, end, new = op
            version += 1
            process.notify(
                "textDocument/didChange",
                {
                    "textDocument": {"uri": uri, "version": version},
                    "contentChanges": [
                        {"range": {"start": pos(start), "end": pos(end)}, "text": new}
                    ],
                },
            )
            if valid(start, end):  # an invalid notification is dropped (logged)
                model.apply(start, end, new)
        elif kind == "replace":
            version -= 3  # stale (decreasing) versions are applied all the same
            process.notify(
                "textDocument/didChange",
                {
                    "textDocument": {"uri": uri, "version": version},
                    "contentChanges": [{"text": op[1]}],
                },
            )
            model.text = op[1]
        elif kind == "unknown-uri":
            _, point, new = op
            process.notify(
                "textDocument/didChange",
                {
                    "textDocument": {"uri": "file:///nowhere.py", "version": 1},
                    "contentChanges": [
                        {"range": {"start": pos(point), "end": pos(point)}, "text": new}
                    ],
                },
            )
            msg_id = process.start_request(
                "textDocument/inlineCompletion",
                {
                    "textDocument": {"uri": "file:///nowhere.py"},
                    "position": pos(point),
                    "context": {"triggerKind": 1},
                },
            )
            pending.append(("textDocument/inlineCompletion", msg_id, not valid(point)))
        else:
            _, point, cancel = op
            method, params = _request(kind, uri, point)
            msg_id = process.start_request(method, params)
            if cancel:
                process.notify("$/cancelRequest", {"id": msg_id})
            pending.append((method, msg_id, not valid(point)))
    for method, msg_id, invalid in pending:
        well_formed(method, process.answer(msg_id, timeout=15), invalid)
    answer = process.request("codestral/documentText", {"uri": uri})
    assert answer["result"] == model.text
    process.notify("textDocument/didClose", {"textDocument": {"uri": uri}})
    assert process.proc.poll() is None


def _request(kind: str, uri: str, point: tuple[int, int]) -> tuple[str, dict[str, Any]]:
    document = {"uri": uri}
    if kind == "inline":
        return "textDocument/inlineCompletion", {
            "textDocument": document,
            "position": pos(point),
            "context": {"triggerKind": 1},
        }
    if kind == "completion":
        return "textDocument/completion", {"textDocument": document, "position": pos(point)}
    return "textDocument/codeAction", {
        "textDocument": document,
        "range": {"start": pos(point), "end": pos(point)},
        "context": {"diagnostics": []},
    }


def test_the_text_hook_is_off_by_default() -> None:
    with FakeMistral() as fake, LspProcess(environment(fake.base_url)) as process:
        process.initialize()
        answer = process.request("codestral/documentText", {"uri": "file:///a.py"})
        assert answer["error"]["code"] == -32601
        assert process.shutdown_and_exit() == 0
