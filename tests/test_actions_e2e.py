"""Code actions end to end: an editor lists, picks and applies them; the fake API answers.

Every action's edit is applied to the fixture files under ``fixtures/actions/`` and compared
with the expected text, through both paths an editor may take: ``codeAction/resolve`` (with a
utf-8 client, as Neovim and Helix) and ``workspace/executeCommand`` + ``workspace/applyEdit``
(with a utf-16 client without resolve support, as older Emacs clients). The fixtures hold
multi-byte text on the edited lines, so any column counted in the wrong unit shows.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from lsprotocol import types

from tests.actions_client import ActionEditor, capabilities
from tests.fake_mistral import FakeMistral

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "actions"
REPLIES: dict[str, str] = json.loads((FIXTURES / "replies.json").read_text(encoding="utf-8"))
SOURCE = (FIXTURES / "calc.py").read_text(encoding="utf-8")
NOTES = (FIXTURES / "notes.codestral.md").read_text(encoding="utf-8")

#: The two ways an editor runs an action: (position encoding, resolve support).
PATHS = {"resolve-utf8": ("utf-8", True), "command-utf16": ("utf-16", False)}


def expected(name: str) -> str:
    return (FIXTURES / "expected" / name).read_text(encoding="utf-8")


@pytest.fixture(params=list(PATHS))
def path(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest_asyncio.fixture
async def editor(fake: FakeMistral, path: str) -> AsyncIterator[ActionEditor]:
    encoding, resolve = PATHS[path]
    started = await ActionEditor.start(
        fake.base_url, capabilities(encoding=encoding, resolve=resolve, create_files=False)
    )
    yield started
    await started.stop()


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    return tmp_path


def uri_in(directory: Path, name: str) -> str:
    return (directory / name).as_uri()


def cursor(editor: ActionEditor, uri: str, needle: str) -> types.Range:
    position = editor.position_of(uri, needle)
    return types.Range(start=position, end=position)


def answer_with(fake: FakeMistral, reply: str) -> None:
    fake.chat_responder = lambda body: reply


async def run_action(editor: ActionEditor, uri: str, where: types.Range, title: str, **kw) -> None:
    action = await editor.action(uri, where, title, **kw)
    if editor.resolves:
        assert isinstance(action, types.CodeAction) and action.data is not None
        assert action.edit is None and action.command is None
    else:
        assert action.command is not None and action.data is None
    await editor.run(action)


# -- each action's edit ------------------------------------------------------------------------


async def test_explain_inserts_a_comment_above(
    fake: FakeMistral, editor: ActionEditor, workdir: Path
) -> None:
    uri = uri_in(workdir, "calc.py")
    editor.open(uri, SOURCE)
    answer_with(fake, REPLIES["explain"])
    await run_action(editor, uri, cursor(editor, uri, "return max(xs)"), "Codestral: Explain")
    assert editor.texts[uri] == expected("calc.explain.py")
    [request] = fake.chat_requests
    system, user = request.body["messages"]
    assert system["role"] == "system" and "Explain" in system["content"]
    assert "    def spread(self, xs):\n        return max(xs) - min(xs)\n" in user["content"]
    assert request.body["model"] == "codestral-latest" and request.body["stream"] is True


async def test_refactor_replaces_the_selected_function(
    fake: FakeMistral, editor: ActionEditor, workdir: Path
) -> None:
    uri = uri_in(workdir, "calc.py")
    editor.open(uri, SOURCE)
    answer_with(fake, REPLIES["refactor"])
    where = editor.range_of(uri, "def mean", "return total / len(xs)")
    await run_action(editor, uri, where, "Codestral: Refactor")
    assert editor.texts[uri] == expected("calc.refactor.py")


async def test_refactor_an_expression_after_multibyte_text(
    fake: FakeMistral, editor: ActionEditor, workdir: Path
) -> None:
    uri = uri_in(workdir, "calc.py")
    editor.open(uri, SOURCE)
    answer_with(fake, REPLIES["refactor_inline"])
    await run_action(editor, uri, editor.range_of(uri, "str(value)"), "Codestral: Refactor")
    assert editor.texts[uri] == SOURCE.replace(
        '"😀 " + str(value) + " °"', '"😀 " + f"{value}" + " °"'
    )
    user = fake.chat_requests[0].body["messages"][1]["content"]
    assert "The selected code:\n```python\nstr(value)\n```" in user


async def test_fix_sends_the_diagnostics(
    fake: FakeMistral, editor: ActionEditor, workdir: Path
) -> None:
    uri = uri_in(workdir, "calc.py")
    editor.open(uri, SOURCE)
    answer_with(fake, REPLIES["fix"])
    line = editor.position_of(uri, "return total / len(xs)")
    diagnostic = types.Diagnostic(
        range=types.Range(start=line, end=editor.position_of(uri, "len(xs)", after=True)),
        message="division by zero when «xs» is empty",
        severity=types.DiagnosticSeverity.Warning,
        source="pylint",
        code="W0001",
    )
    where = cursor(editor, uri, "return total / len(xs)")
    await run_action(editor, uri, where, "Codestral: Fix", diagnostics=[diagnostic])
    assert editor.texts[uri] == expected("calc.fix.py")
    user = fake.chat_requests[0].body["messages"][1]["content"]
    assert (
        "- line 10 (line 5 of the code): warning: division by zero when «xs» is empty "
        "(pylint, W0001)" in user
    )


async def test_docstring_replaces_the_method(
    fake: FakeMistral, editor: ActionEditor, workdir: Path
) -> None:
    uri = uri_in(workdir, "calc.py")
    editor.open(uri, SOURCE)
    answer_with(fake, REPLIES["docstring"])
    await run_action(editor, uri, cursor(editor, uri, "def spread"), "Codestral: Add docstring")
    assert editor.texts[uri] == expected("calc.docstring.py")


async def test_custom_instruction_from_the_comment_above(
    fake: FakeMistral, editor: ActionEditor, workdir: Path
) -> None:
    uri = uri_in(workdir, "calc.py")
    editor.open(uri, SOURCE)
    answer_with(fake, REPLIES["custom"])
    where = cursor(editor, uri, "# codestral:")
    await run_action(editor, uri, where, "Codestral: return an f-string with the unit «°C»")
    assert editor.texts[uri] == expected("calc.custom.py")
    user = fake.chat_requests[0].body["messages"][1]["content"]
    assert "Instruction: return an f-string with the unit «°C»" in user


async def test_tests_below_the_function_without_file_creation(
    fake: FakeMistral, editor: ActionEditor, workdir: Path
) -> None:
    uri = uri_in(workdir, "calc.py")
    editor.open(uri, SOURCE)
    answer_with(fake, REPLIES["tests"])
    await run_action(editor, uri, cursor(editor, uri, "total = 0"), "Codestral: Write tests")
    assert editor.texts[uri] == expected("calc.tests.py")
    user = fake.chat_requests[0].body["messages"][1]["content"]
    assert "inserted into `calc.py` right below this code" in user


async def test_reply_in_a_chat_buffer(
    fake: FakeMistral, editor: ActionEditor, workdir: Path
) -> None:
    uri = uri_in(workdir, "notes.codestral.md")
    editor.open(uri, NOTES, "markdown")
    answer_with(fake, REPLIES["reply"])
    titles = [a.title for a in await editor.actions(uri, cursor(editor, uri, "How"))]
    assert titles == ["Codestral: Reply"]
    await run_action(editor, uri, cursor(editor, uri, "# Questions"), "Codestral: Reply")
    assert editor.texts[uri] == expected("notes.reply.codestral.md")
    messages = fake.chat_requests[0].body["messages"]
    assert [m["role"] for m in messages] == ["system", "user"]
    assert messages[1]["content"].endswith("How do I compute a mean quickly?")
    # The conversation goes on: the new question is sent with the whole history.
    editor.type_at_end(uri, "And the median?\n")
    await run_action(editor, uri, cursor(editor, uri, "median"), "Codestral: Reply")
    roles = [m["role"] for m in fake.chat_requests[1].body["messages"]]
    assert roles == ["system", "user", "assistant", "user"]


async def test_a_reply_to_code_pasted_without_its_closing_fence_stays_out_of_the_code(
    fake: FakeMistral, editor: ActionEditor, workdir: Path
) -> None:
    """A question ending inside a code block: the Reply closes it first, or its headings are
    code and the next Reply sends the whole chat as one question."""
    uri = uri_in(workdir, "pasted.codestral.md")
    editor.open(uri, "## You\n\nWhy is this slow?\n\n```python\nfor x in xs:\n    total += x\n")
    answer_with(fake, "Use `sum(xs)`.")
    await run_action(editor, uri, cursor(editor, uri, "Why"), "Codestral: Reply")
    assert editor.texts[uri].endswith(
        "    total += x\n```\n\n## Codestral\n\nUse `sum(xs)`.\n\n## You\n\n"
    )
    editor.type_at_end(uri, "And for a generator?\n")
    await run_action(editor, uri, cursor(editor, uri, "generator"), "Codestral: Reply")
    messages = fake.chat_requests[1].body["messages"]
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user"]
    assert messages[2]["content"] == "Use `sum(xs)`."
    assert messages[3]["content"] == "And for a generator?"


# -- test files --------------------------------------------------------------------------------


@pytest.mark.parametrize("exists", [False, True])
async def test_tests_go_into_a_new_test_file_when_the_client_can_create_files(
    fake: FakeMistral, workdir: Path, exists: bool
) -> None:
    editor = await ActionEditor.start(fake.base_url, capabilities(encoding="utf-16"))
    try:
        uri = uri_in(workdir, "calc.py")
        tests_uri = uri_in(workdir, "test_calc.py")
        if exists:
            (workdir / "test_calc.py").write_text("import calc\n", encoding="utf-8")
            editor.texts[tests_uri] = "import calc\n"
        editor.open(uri, SOURCE)
        answer_with(fake, REPLIES["tests"])
        action = await editor.action(
            uri, cursor(editor, uri, "total = 0"), "Codestral: Write tests"
        )
        resolved = await editor.resolve(action)
        kinds = [type(change).__name__ for change in resolved.edit.document_changes]
        assert kinds == (["TextDocumentEdit"] if exists else ["CreateFile", "TextDocumentEdit"])
        assert editor.apply(resolved.edit) is None
        assert editor.texts[uri] == SOURCE
        prefix = "import calc\n\n\n" if exists else ""
        assert editor.texts[tests_uri] == prefix + expected("test_calc.py")
        user = fake.chat_requests[0].body["messages"][1]["content"]
        assert "new file `test_calc.py` next to `calc.py`" in user
    finally:
        await editor.stop()


# -- privacy -----------------------------------------------------------------------------------

TOKEN = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"


async def test_secrets_are_masked_in_the_prompt_and_restored_in_the_edit(
    fake: FakeMistral, editor: ActionEditor, workdir: Path
) -> None:
    uri = uri_in(workdir, "client.py")
    source = f'def connect():\n    token = "{TOKEN}"\n    return open_session(token)\n'
    editor.open(uri, source)
    # The model keeps the placeholder it was given; the edit must hold the real token again,
    # not "<secret-1>" written over it.
    answer_with(
        fake,
        '```python\ndef connect() -> Session:\n    token = "<secret-1>"\n'
        "    return open_session(token)\n```",
    )
    await run_action(editor, uri, editor.range_of(uri, "def connect", "(token)"), "Codestral: Ref")
    sent = json.dumps(fake.chat_requests[0].body)
    assert TOKEN not in sent and "<secret-1>" in sent
    assert editor.texts[uri] == source.replace("def connect():", "def connect() -> Session:")


async def test_excluded_files_offer_no_actions(
    fake: FakeMistral, editor: ActionEditor, workdir: Path
) -> None:
    uri = uri_in(workdir, "secrets.py")
    editor.open(uri, SOURCE)
    assert await editor.actions(uri, cursor(editor, uri, "total = 0")) == []
    assert fake.chat_requests == []


async def test_a_selection_starting_on_a_blank_line_keeps_the_method_in_its_class(
    fake: FakeMistral, editor: ActionEditor, workdir: Path
) -> None:
    uri = uri_in(workdir, "calc.py")
    source = (
        "class Calc:\n    def a(self):\n        return 1\n\n    def b(self):\n        return 2\n"
    )
    editor.open(uri, source)
    answer_with(fake, "```python\ndef b(self):\n    return 2 * 1\n```")
    line_wise = types.Range(
        start=types.Position(line=3, character=0), end=types.Position(line=6, character=0)
    )
    await run_action(editor, uri, line_wise, "Codestral: Refactor")
    assert editor.texts[uri] == source.replace("return 2\n", "return 2 * 1\n")
