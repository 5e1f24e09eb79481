"""Code actions end to end, around the edit: listing for free, progress, cancellation,
stale documents and API failures, each ending in one message and no edit."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pytest_lsp import client_capabilities

from tests.actions_client import ActionEditor, capabilities
from tests.fake_mistral import CutStream, Delay, Error, FakeMistral, Hang, Reply
from tests.tools import HANG

SOURCE = (Path(__file__).resolve().parents[1] / "fixtures" / "actions" / "calc.py").read_text(
    encoding="utf-8"
)
URI = "file:///work/project/calc.py"
LONG_ANSWER = "```python\n" + "x = 1  # «é» 😀\n" * 200 + "```"


@pytest_asyncio.fixture
async def editor(fake: FakeMistral) -> AsyncIterator[ActionEditor]:
    started = await ActionEditor.start(fake.base_url, capabilities(encoding="utf-16"))
    started.open(URI, SOURCE)
    yield started
    await started.stop()


def at(editor: ActionEditor, needle: str) -> types.Range:
    position = editor.position_of(URI, needle)
    return types.Range(start=position, end=position)


def at_start() -> types.Range:
    start = types.Position(line=0, character=0)
    return types.Range(start=start, end=start)


def diagnostic(editor: ActionEditor) -> types.Diagnostic:
    return types.Diagnostic(range=at(editor, "return total"), message="possible division by zero")


async def no_edit_and_one_message(editor: ActionEditor, action: types.CodeAction) -> str:
    """Resolve ``action``: no edit comes back, one message does, the text stays as it was."""
    before = editor.texts[URI]
    resolved = await editor.resolve(action)
    assert resolved.edit is None
    await editor.until(lambda: len(editor.client.messages) >= 1)
    await editor.settled()  # a second message would have arrived before this
    [message] = editor.client.messages
    assert editor.texts[URI] == before
    return message.message


# -- listing -----------------------------------------------------------------------------------


async def test_listing_actions_makes_no_api_request(
    fake: FakeMistral, editor: ActionEditor
) -> None:
    everywhere = [
        at(editor, "import math"),
        at(editor, "total = 0"),
        at(editor, "# codestral:"),
        editor.range_of(URI, "def mean", "len(xs)"),
        editor.range_of(URI, "str(value)"),
        types.Range(
            start=types.Position(line=0, character=0), end=types.Position(line=20, character=0)
        ),
    ]
    titles = []
    for where in everywhere:
        for diagnostics in ([], [diagnostic(editor)]):
            titles += [a.title for a in await editor.actions(URI, where, diagnostics=diagnostics)]
    assert len(titles) > 20
    # Listing started no call: the first request the API gets is the one an action makes.
    await editor.run(await editor.action(URI, at(editor, "total = 0"), "Codestral: Explain"))
    assert len(fake.paid_requests) == len(fake.chat_requests) == 1


async def test_what_is_offered_where(editor: ActionEditor) -> None:
    plain = await editor.actions(URI, at(editor, "total = 0"))
    assert [a.title for a in plain] == [
        "Codestral: Refactor / Improve",
        "Codestral: Explain",
        "Codestral: Add docstring / documentation comment",
        "Codestral: Write tests",
    ]
    assert all(isinstance(a, types.CodeAction) and a.data for a in plain)
    fixes = await editor.actions(URI, at(editor, "total = 0"), diagnostics=[diagnostic(editor)])
    assert fixes[0].title == "Codestral: Fix" and fixes[0].kind == "quickfix.codestral"
    assert fixes[0].diagnostics[0].message == "possible division by zero"
    custom = await editor.actions(URI, at(editor, "# codestral:"))
    assert custom[0].title == "Codestral: return an f-string with the unit «°C»"
    blank = types.Position(line=editor.position_of(URI, "class Stats").line - 1, character=0)
    assert await editor.actions(URI, types.Range(start=blank, end=blank)) == []
    only = await editor.actions(
        URI, at(editor, "total"), only=[types.CodeActionKind.RefactorRewrite]
    )
    assert [a.title for a in only] == [
        "Codestral: Refactor / Improve",
        "Codestral: Add docstring / documentation comment",
    ]


async def test_the_server_advertises_code_actions_and_the_command(editor: ActionEditor) -> None:
    provider = editor.server_capabilities.code_action_provider
    assert isinstance(provider, types.CodeActionOptions) and provider.resolve_provider
    assert "quickfix" in provider.code_action_kinds and "refactor" in provider.code_action_kinds
    assert sorted(editor.server_capabilities.execute_command_provider.commands) == [
        "codestral.accepted",
        "codestral.runAction",
        "codestral.toggle",
    ]


async def test_code_actions_setting_limits_what_is_offered(fake: FakeMistral) -> None:
    editor = await ActionEditor.start(
        fake.base_url, capabilities(), options={"codestral": {"codeActions": ["explain"]}}
    )
    try:
        editor.open(URI, SOURCE)
        offered = await editor.actions(URI, at(editor, "total"), diagnostics=[diagnostic(editor)])
        assert [a.title for a in offered] == ["Codestral: Explain"]
    finally:
        await editor.stop()


async def test_clients_without_code_action_literals_get_commands(fake: FakeMistral) -> None:
    editor = await ActionEditor.start(fake.base_url, capabilities(literals=False, resolve=False))
    try:
        editor.open(URI, SOURCE)
        fake.chat_responder = lambda body: "```python\nreturn sum(xs) / len(xs)\n```"
        [command] = [
            a
            for a in await editor.actions(URI, editor.range_of(URI, "return total / len(xs)"))
            if a.title.startswith("Codestral: Refactor")
        ]
        assert isinstance(command, types.Command) and command.command == "codestral.runAction"
        await editor.run(command)
        assert "    return sum(xs) / len(xs)\n" in editor.texts[URI]
        assert len(editor.applied) == 1
    finally:
        await editor.stop()


async def test_no_actions_without_an_api_key(fake: FakeMistral) -> None:
    editor = await ActionEditor.start(None, capabilities())
    try:
        editor.open(URI, SOURCE)
        assert await editor.actions(URI, at(editor, "total")) == []
    finally:
        await editor.stop()


# -- resolve and executeCommand as real editors do ----------------------------------------------


async def test_neovim_resolves_and_applies_the_edit(fake: FakeMistral) -> None:
    caps = client_capabilities("neovim@v0.11.0")
    caps.general = types.GeneralClientCapabilities(
        position_encodings=[types.PositionEncodingKind.Utf8]
    )
    editor = await ActionEditor.start(fake.base_url, caps)
    try:
        editor.open(URI, SOURCE)
        fake.chat_responder = lambda body: (
            "```python\ndef mean(xs):\n    return sum(xs) / len(xs)\n```"
        )
        action = await editor.action(URI, at(editor, "total = 0"), "Codestral: Refactor")
        assert action.data is not None and action.command is None
        resolved = await editor.resolve(action)
        [change] = resolved.edit.document_changes
        assert change.text_document.version == 1
        await editor.run(resolved)
        assert "def mean(xs):\n    return sum(xs) / len(xs)\n\n\ndef label" in editor.texts[URI]
        # Neovim runs the command when it cannot resolve: the same edit arrives by applyEdit.
        fake.chat_responder = lambda body: "```python\nreturn f'{value} °C'\n```"
        action = await editor.action(URI, at(editor, "# codestral"), "Codestral: return")
        await editor.execute_and_settle(
            types.Command(
                title=action.title, command="codestral.runAction", arguments=[action.data]
            )
        )
        assert "    return f'{value} °C'\n" in editor.texts[URI]
        assert "# codestral" not in editor.texts[URI]
    finally:
        await editor.stop()


async def test_an_edit_the_editor_refuses_is_reported(fake: FakeMistral) -> None:
    editor = await ActionEditor.start(fake.base_url, capabilities(resolve=False))
    try:
        editor.open(URI, SOURCE)
        fake.chat_responder = lambda body: "```python\npass\n```"
        action = await editor.action(URI, at(editor, "total = 0"), "Codestral: Refactor")
        editor.versions[URI] = 99  # the editor's buffer moved on without telling the server
        await editor.execute(action.command)
        await editor.until(lambda: bool(editor.client.messages))
        assert "the editor did not apply the edit" in editor.client.messages[0].message
        assert editor.texts[URI] == SOURCE
    finally:
        await editor.stop()


async def test_garbage_arguments_are_answered_with_a_message(editor: ActionEditor) -> None:
    await editor.execute(types.Command(title="x", command="codestral.runAction", arguments=[{}]))
    await editor.until(lambda: bool(editor.client.messages))
    assert "codestral.runAction" in editor.client.messages[0].message


# -- progress and cancellation -----------------------------------------------------------------


async def test_progress_is_reported_while_the_answer_streams(
    fake: FakeMistral, editor: ActionEditor
) -> None:
    fake.chat_responder = lambda body: LONG_ANSWER
    action = await editor.action(URI, at(editor, "total = 0"), "Codestral: Refactor")
    resolved = await editor.resolve(action)
    assert resolved.edit is not None
    token = editor.progress_token()
    kinds = editor.progress_kinds(token)
    assert kinds[0] == "begin" and kinds[-1] == "end" and "report" in kinds
    begin, end = editor.client.progress_reports[token][0], editor.client.progress_reports[token][-1]
    assert begin.cancellable and begin.title == "Codestral: Refactor / Improve"
    assert end.message == "done"


async def test_cancelling_the_progress_stops_the_stream(
    fake: FakeMistral, editor: ActionEditor
) -> None:
    fake.token_delay = 0.02
    fake.chat_responder = lambda body: LONG_ANSWER
    action = await editor.action(URI, at(editor, "total = 0"), "Codestral: Refactor")
    _id, pending = editor.request(types.CODE_ACTION_RESOLVE, action)
    await editor.until(lambda: len(editor.client.progress_reports) == 1 and fake.tokens_sent >= 3)
    token = editor.progress_token()
    editor.cancel_progress(token)
    resolved = await asyncio.wait_for(pending, HANG)
    assert resolved.edit is None
    await editor.until(lambda: fake.aborted_streams == 1)
    assert fake.tokens_sent < 400  # far from the whole answer
    assert editor.progress_kinds(token)[-1] == "end"
    assert editor.client.progress_reports[token][-1].message == "cancelled"
    assert editor.client.messages == []  # the user asked for it: no error message
    assert editor.texts[URI] == SOURCE


async def test_cancelling_the_request_stops_the_stream(
    fake: FakeMistral, editor: ActionEditor
) -> None:
    fake.token_delay = 0.02
    fake.chat_responder = lambda body: LONG_ANSWER
    action = await editor.action(URI, at(editor, "total = 0"), "Codestral: Refactor")
    msg_id, pending = editor.request(types.CODE_ACTION_RESOLVE, action)
    await editor.until(lambda: fake.tokens_sent >= 3)
    editor.cancel_request(msg_id)
    with pytest.raises(JsonRpcException):
        await asyncio.wait_for(pending, HANG)
    await editor.until(lambda: fake.aborted_streams == 1)
    token = editor.progress_token()
    await editor.until(lambda: editor.progress_kinds(token)[-1] == "end")


async def test_an_executed_command_is_answered_before_the_chat_answer(fake: FakeMistral) -> None:
    """Issue 11 item 3: eglot and Helix wait for the executeCommand answer with the editor
    frozen (eglot gives up after 10 s): it comes at once, the edit later by applyEdit."""
    editor = await ActionEditor.start(fake.base_url, capabilities(resolve=False))
    answer_may_come = threading.Event()

    def chat(body: dict) -> str:
        assert answer_may_come.wait(20), "the test never let the answer come"
        return "```python\nreturn sum(xs) / len(xs)\n```"

    try:
        editor.open(URI, SOURCE)
        fake.chat_responder = chat
        action = await editor.action(
            URI, editor.range_of(URI, "return total / len(xs)"), "Codestral: Refactor"
        )
        assert await editor.execute(action.command) is None
        # Answered while the chat answer is held back: the editor is free, and sees progress.
        assert editor.applied == [] and editor.texts[URI] == SOURCE
        await editor.until(lambda: len(editor.client.progress_reports) == 1)
        token = editor.progress_token()
        answer_may_come.set()
        await editor.until(lambda: len(editor.applied) == 1)
        assert "    return sum(xs) / len(xs)\n" in editor.texts[URI]
        await editor.until(lambda: editor.progress_kinds(token)[-1] == "end")
        assert editor.client.messages == []
    finally:
        answer_may_come.set()
        await editor.stop()


async def test_cancelling_an_executed_command_stops_the_stream(fake: FakeMistral) -> None:
    editor = await ActionEditor.start(fake.base_url, capabilities(resolve=False))
    try:
        editor.open(URI, SOURCE)
        fake.token_delay = 0.02
        fake.chat_responder = lambda body: LONG_ANSWER
        action = await editor.action(URI, at(editor, "total = 0"), "Codestral: Refactor")
        _id, pending = editor.request(
            types.WORKSPACE_EXECUTE_COMMAND,
            types.ExecuteCommandParams(
                command=action.command.command, arguments=action.command.arguments
            ),
        )
        await editor.until(
            lambda: len(editor.client.progress_reports) == 1 and fake.tokens_sent >= 3
        )
        editor.cancel_progress(editor.progress_token())
        await asyncio.wait_for(pending, HANG)
        await editor.until(lambda: fake.aborted_streams == 1)
        assert editor.applied == [] and editor.texts[URI] == SOURCE
    finally:
        await editor.stop()


# -- stale documents ---------------------------------------------------------------------------


MEAN = (
    "def mean(xs):\n    total = 0\n    for x in xs:\n        total = total + x\n"
    "    return total / len(xs)"
)
SHORTER_MEAN = "def mean(xs):\n    return sum(xs) / len(xs)"


async def test_edits_elsewhere_while_the_answer_streams_move_the_answer_with_its_code(
    fake: FakeMistral, editor: ActionEditor
) -> None:
    """The user types on while Codestral answers (seconds): above and below the code the
    action works on. The answer still replaces that code, wherever it went."""
    fake.script(Delay(0.5))
    fake.chat_responder = lambda body: f"```python\n{SHORTER_MEAN}\n```"
    action = await editor.action(URI, at(editor, "total = 0"), "Codestral: Refactor")
    _id, pending = editor.request(types.CODE_ACTION_RESOLVE, action)
    await editor.until(lambda: len(fake.chat_requests) == 1)
    editor.type_at_start(URI, "# typed above\n")
    editor.type_at_end(URI, "# typed below\n")
    resolved = await asyncio.wait_for(pending, HANG)
    assert editor.apply(resolved.edit) is None  # made for the version the editor is at now
    assert MEAN in SOURCE
    expected = "# typed above\n" + SOURCE.replace(MEAN, SHORTER_MEAN) + "# typed below\n"
    assert editor.texts[URI] == expected
    assert editor.client.messages == []


async def test_an_action_applied_while_another_runs_moves_the_other_with_its_code(
    fake: FakeMistral, editor: ActionEditor
) -> None:
    """Explain on mean() answers first and its comment goes in above mean(), while Refactor
    of label()'s return (further down) still streams: that answer follows its line down. The
    editor tells the server about the applied edit incrementally, as editors do."""

    explained_applied = threading.Event()

    def chat(body: dict) -> str:
        if len(fake.chat_requests) == 1:  # Explain, asked first
            return "Adds the values up, then divides by their count."
        # Refactor of label()'s return: answered once the Explain edit is in (a signal, so
        # that a slow machine cannot answer it before).
        assert explained_applied.wait(HANG)
        return "```python\nreturn f'{value} °C'\n```"

    fake.chat_responder = chat
    explain = await editor.action(URI, at(editor, "total = 0"), "Codestral: Explain")
    refactor = await editor.action(URI, at(editor, 'return "😀'), "Codestral: Refactor")
    _id, explained = editor.request(types.CODE_ACTION_RESOLVE, explain)
    await editor.until(lambda: len(fake.chat_requests) == 1)
    _id, refactored = editor.request(types.CODE_ACTION_RESOLVE, refactor)
    assert editor.apply((await asyncio.wait_for(explained, HANG)).edit) is None
    await editor.settled()  # the server has the incremental didChange
    explained_applied.set()
    assert editor.apply((await asyncio.wait_for(refactored, HANG)).edit) is None
    text = editor.texts[URI]
    assert "# Adds the values up, then divides by their count.\ndef mean(xs):" in text
    assert (
        "def label(value):\n    # codestral: return an f-string with the unit «°C»\n"
        "    return f'{value} °C'\n\n\nclass Stats:"
    ) in text
    assert editor.client.messages == []


async def test_a_selection_too_large_to_send_is_refused_without_a_request(
    fake: FakeMistral, editor: ActionEditor
) -> None:
    """``ggVG`` + Explain on a 20 MB file sent all of it (a 3 s upload the API refuses)."""
    uri = "file:///work/project/huge.py"
    text = "def f():\n" + "    x = 1  # a line of forty characters......\n" * 3_000
    editor.open(uri, text)
    whole = types.Range(
        start=types.Position(line=0, character=0),
        end=types.Position(line=text.count("\n"), character=0),
    )
    action = await editor.action(uri, whole, "Codestral: Explain")
    resolved = await editor.resolve(action)
    assert resolved.edit is None
    await editor.until(lambda: len(editor.client.messages) == 1)
    message = editor.client.messages[0].message
    assert message == (
        "Codestral: Explain: 138,008 characters is too much at once (at most 100,000). Select less."
    ), message
    assert fake.chat_requests == []


async def test_a_long_chat_sends_its_newest_turns_and_says_so(
    fake: FakeMistral, editor: ActionEditor
) -> None:
    """Four turns of 30,000 characters and a question: the two newest turns fit in 100,000
    characters with the question and the system prompt, the two oldest are left out."""
    uri = "file:///work/project/long.codestral.md"
    turns = [f"{word} " * 10_000 for word in ("q1", "a1", "q2", "a2")]
    text = "## You\n\n{}\n\n## Codestral\n\n{}\n\n## You\n\n{}\n\n## Codestral\n\n{}\n\n".format(
        *turns
    )
    editor.open(uri, text + "## You\n\nAnd now?\n", "markdown")
    fake.chat_responder = lambda body: "Like that."
    await editor.run(await editor.action(uri, at_start(), "Codestral: Reply"))
    assert editor.texts[uri].endswith("And now?\n\n## Codestral\n\nLike that.\n\n## You\n\n")
    [request] = fake.chat_requests
    sent = request.body["messages"]
    assert [m["role"] for m in sent] == ["system", "user", "assistant", "user"]
    assert [m["content"] for m in sent[1:]] == [turns[2].strip(), turns[3].strip(), "And now?"]
    begin = editor.client.progress_reports[editor.progress_token()][0]
    assert begin.title == "Codestral: Reply (older 2 turns left out)"
    assert editor.client.messages == []


async def test_a_question_too_long_to_send_is_refused_without_a_request(
    fake: FakeMistral, editor: ActionEditor
) -> None:
    uri = "file:///work/project/huge.codestral.md"
    editor.open(uri, "## You\n\n" + "why " * 25_000 + "?\n", "markdown")
    action = await editor.action(uri, at_start(), "Codestral: Reply")
    resolved = await editor.resolve(action)
    assert resolved.edit is None
    await editor.until(lambda: len(editor.client.messages) == 1)
    assert editor.client.messages[0].message == (
        "Codestral: Reply: 100,001 characters is too much at once (at most 100,000). "
        "Shorten the question."
    )
    assert fake.chat_requests == []


async def test_an_edit_refused_for_text_typed_meanwhile_is_placed_again(
    fake: FakeMistral,
) -> None:
    """eglot tells what the user typed on a 0.5 s idle timer: an edit arriving after a
    keystroke it has not told yet is refused for its version, and the answer was thrown
    away. The server places it again for the text the editor then tells; it lands once."""
    editor = await ActionEditor.start(fake.base_url, capabilities(resolve=False))
    typed = False

    async def typing_first(_params: types.ApplyWorkspaceEditParams) -> None:
        nonlocal typed
        if not typed:  # the keystroke lands before the edit is looked at
            typed = True
            editor.type_at_start(URI, "import sys\n")

    fake.chat_responder = lambda body: "```python\nreturn sum(xs) / len(xs)\n```"
    try:
        editor.open(URI, SOURCE)
        editor.confirm = typing_first
        action = await editor.action(
            URI, editor.range_of(URI, "return total / len(xs)"), "Codestral: Refactor"
        )
        await editor.execute(action.command)
        await editor.until(lambda: len(editor.applied) == 2 or bool(editor.client.messages))
        await editor.settled()
        assert editor.client.messages == []
        text = editor.texts[URI]
        assert text.startswith("import sys\n") and "    return sum(xs) / len(xs)\n" in text
        assert len(editor.applied) == 2
    finally:
        await editor.stop()


async def test_two_actions_run_one_after_the_other_both_land_while_the_first_waits_for_a_yes(
    fake: FakeMistral,
) -> None:
    """eglot asks before applying a server's edit (y/n) and refuses one made for another
    version. A tester ran Refactor, then Explain, and answered "y" to both: the second edit
    had been made while the first waited for its "y", for the text without it, and was
    thrown away ("the editor did not apply the edit"). The second now waits its turn
    (its progress says so) and is made for the text with the first in it."""
    editor = await ActionEditor.start(fake.base_url, capabilities(resolve=False))
    answered = asyncio.Event()
    first = True

    async def yes_once_both_answered(_params: types.ApplyWorkspaceEditParams) -> None:
        nonlocal first
        if first:
            first = False
            await answered.wait()

    def chat(body: dict) -> str:
        if "Explain" in str(body) or len(fake.chat_requests) == 2:
            return "Adds the values up, then divides by their count."
        return "```python\nreturn sum(xs) / len(xs)\n```"

    try:
        editor.open(URI, SOURCE)
        fake.chat_responder = chat
        editor.confirm = yes_once_both_answered
        refactor = await editor.action(
            URI, editor.range_of(URI, "return total / len(xs)"), "Codestral: Refactor"
        )
        explain = await editor.action(URI, at(editor, 'return "😀'), "Codestral: Explain")
        await editor.execute(refactor.command)
        await editor.until(lambda: len(editor.applied) == 1)  # Refactor's, waiting for a "y"
        await editor.execute(explain.command)

        def second_is_waiting() -> bool:
            reports = [
                getattr(value, "message", None) or ""
                for values in editor.client.progress_reports.values()
                for value in values
            ]
            return len(editor.applied) == 2 or any("edit before it" in r for r in reports)

        await editor.until(second_is_waiting)
        answered.set()
        await editor.until(lambda: len(editor.applied) == 2)
        await editor.settled()
        text = editor.texts[URI]
        assert "    return sum(xs) / len(xs)\n" in text
        assert "# Adds the values up, then divides by their count.\n" in text
        assert editor.client.messages == []
    finally:
        answered.set()
        await editor.stop()


async def test_an_edit_to_its_code_while_the_answer_streams_is_not_overwritten(
    fake: FakeMistral, editor: ActionEditor
) -> None:
    fake.script(Delay(0.5))
    fake.chat_responder = lambda body: f"```python\n{SHORTER_MEAN}\n```"
    action = await editor.action(URI, at(editor, "total = 0"), "Codestral: Refactor")
    _id, pending = editor.request(types.CODE_ACTION_RESOLVE, action)
    await editor.until(lambda: len(fake.chat_requests) == 1)
    editor.type_at(URI, editor.position_of(URI, "total = 0", after=True), "  # mine")
    resolved = await asyncio.wait_for(pending, HANG)
    assert resolved.edit is None
    await editor.until(lambda: bool(editor.client.messages))
    [message] = editor.client.messages
    assert message.message == (
        "Codestral: Refactor / Improve: its code changed while it ran. Run it again."
    )
    assert editor.texts[URI] == SOURCE.replace("total = 0", "total = 0  # mine")


async def test_the_answer_for_rewritten_code_never_lands_on_a_twin_of_it(
    fake: FakeMistral, editor: ActionEditor
) -> None:
    """Found by a review: the same expression in another function was taken for the one the
    user rewrote while the answer came, and silently replaced."""
    uri = "file:///work/project/twins.py"
    twins = (
        "def a(xs):\n    return [x * 2 for x in xs]\n\n\n"
        "def b(xs):\n    return [x * 2 for x in xs]\n"
    )
    editor.open(uri, twins)
    fake.script(Delay(0.5))
    fake.chat_responder = lambda body: "```python\nlist(map(double, xs))\n```"
    where = editor.range_of(uri, "[x * 2 for x in xs]")  # the first one, in a()
    action = await editor.action(uri, where, "Codestral: Refactor")
    _id, pending = editor.request(types.CODE_ACTION_RESOLVE, action)
    await editor.until(lambda: len(fake.chat_requests) == 1)
    editor.type_at(uri, editor.position_of(uri, "x * 2"), "1 + ")  # inside it
    resolved = await asyncio.wait_for(pending, HANG)
    assert resolved.edit is None
    await editor.until(lambda: bool(editor.client.messages))
    assert "its code changed while it ran" in editor.client.messages[0].message
    assert editor.texts[uri] == twins.replace("[x * 2", "[1 + x * 2", 1)


async def test_an_action_offered_for_an_older_version_is_refused_without_a_request(
    fake: FakeMistral, editor: ActionEditor
) -> None:
    action = await editor.action(URI, at(editor, "total = 0"), "Codestral: Explain")
    editor.type_at_start(URI, "\n")
    message = await no_edit_and_one_message(editor, action)
    assert message == "Codestral: Explain: offered before your last edit. Run it again."
    assert fake.paid_requests == []


async def test_versioned_edits_name_the_version_they_were_made_for(
    fake: FakeMistral, editor: ActionEditor
) -> None:
    editor.type_at_start(URI, "# v2\n")
    fake.chat_responder = lambda body: "Explained."
    action = await editor.action(URI, at(editor, "total = 0"), "Codestral: Explain")
    resolved = await editor.resolve(action)
    [change] = resolved.edit.document_changes
    assert change.text_document.version == 2


# -- failures ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("behaviour", "words"),
    [
        (Error(401), "rejected the key from CODESTRAL_API_KEY"),
        (Error(429, headers={"Retry-After": "3"}), "rate-limiting"),
        (Error(500), "failing"),
        (Error(503), "failing"),
        (CutStream(after_tokens=3), "Cannot reach Codestral"),
    ],
)
async def test_api_failures_end_in_one_message_and_no_edit(
    fake: FakeMistral, editor: ActionEditor, behaviour: object, words: str
) -> None:
    fake.script(behaviour)
    fake.chat_responder = lambda body: LONG_ANSWER
    action = await editor.action(URI, at(editor, "total = 0"), "Codestral: Refactor")
    message = await no_edit_and_one_message(editor, action)
    assert message.startswith("Codestral: Refactor / Improve failed.") and words in message
    # An action does not retry by itself: the message must not promise that it does.
    assert "by themselves" not in message and "ompletions" not in message
    token = editor.progress_token()
    assert editor.client.progress_reports[token][-1].message == "failed"


@pytest.mark.parametrize(
    "body",
    [
        {"message": "Invalid model: codestral-2599"},
        {"detail": "Invalid model: codestral-2599"},
        {"error": {"message": "Invalid model: codestral-2599", "type": "invalid_request_error"}},
    ],
    ids=["message", "detail", "error-message"],
)
async def test_a_refused_request_says_the_apis_reason(
    fake: FakeMistral, editor: ActionEditor, body: dict
) -> None:
    """A 400 is about what was sent, and only the API's reason says what (Mistral's
    ``message``, FastAPI's ``detail``, a gateway's ``error.message``)."""
    fake.script(Error(400, body=body))
    action = await editor.action(URI, at(editor, "total = 0"), "Codestral: Explain")
    message = await no_edit_and_one_message(editor, action)
    assert (
        message == "Codestral: Explain failed. Refused (HTTP 400): Invalid model: codestral-2599."
    )


async def test_a_hung_api_times_out_with_one_message(fake: FakeMistral) -> None:
    editor = await ActionEditor.start(
        fake.base_url, capabilities(resolve=False), options={"chatTimeoutMs": 1000}
    )
    try:
        editor.open(URI, SOURCE)
        fake.script(Hang())
        action = await editor.action(URI, at(editor, "total = 0"), "Codestral: Explain")
        await editor.execute(action.command)
        await editor.until(lambda: bool(editor.client.messages))
        await editor.settled()
        [message] = editor.client.messages
        assert "Cannot reach Codestral" in message.message
        assert editor.applied == [] and editor.texts[URI] == SOURCE
    finally:
        await editor.stop()


async def test_an_answer_without_code_changes_nothing(
    fake: FakeMistral, editor: ActionEditor
) -> None:
    fake.script(Reply("   \n"))
    action = await editor.action(URI, at(editor, "total = 0"), "Codestral: Refactor")
    message = await no_edit_and_one_message(editor, action)
    assert "empty answer" in message


# -- settings ----------------------------------------------------------------------------------


async def test_chat_settings_reach_the_request_and_json_answers_work(fake: FakeMistral) -> None:
    options = {
        "chatModel": "codestral-2508",
        "chatMaxTokens": 300,
        "chatTemperature": 0.5,
        "stream": False,
        "systemPrompts": {"refactor": "Write it in the style of «K&R»."},
        "chatContextLines": 1,
    }
    editor = await ActionEditor.start(fake.base_url, capabilities(), options=options)
    try:
        editor.open(URI, SOURCE)
        fake.chat_responder = lambda body: (
            "```python\ndef mean(xs):\n    return sum(xs) / len(xs)\n```"
        )
        action = await editor.action(URI, at(editor, "total = 0"), "Codestral: Refactor")
        await editor.run(action)
        assert "def mean(xs):\n    return sum(xs) / len(xs)\n" in editor.texts[URI]
        [request] = fake.chat_requests
        body = request.body
        assert (body["model"], body["max_tokens"], body["temperature"], body["stream"]) == (
            "codestral-2508",
            300,
            0.5,
            False,
        )
        system, user = body["messages"]
        assert system["content"] == "Write it in the style of «K&R»."
        assert "import math" not in user["content"]  # one line of context only
    finally:
        await editor.stop()
