"""Unit tests of the code-action modules: targets, prompts, edits, chat buffers, catalog, run."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from lsprotocol import types

from codestral_ls import indentation
from codestral_ls.actions import answers, chat_buffer, comments, edits, placement, prompts
from codestral_ls.actions.catalog import (
    ACTIONS,
    ActionRequest,
    enabled_ids,
    kind_matches,
    offered,
    title_of,
)
from codestral_ls.actions.run import ActionCancelled, collect_answer
from codestral_ls.actions.target import Target, find_target
from codestral_ls.config import Settings
from codestral_ls.documents import Cursor, Document, PositionEncoding
from codestral_ls.errors import ApiError, ErrorKind

PY = '''import os


@cache
def add(a, b):
    """Add."""
    total = a + b

    return total


class Calc:
    def mul(self, a, b):
        # codestral: make this async
        x = a * b
        return x

    # codestral: use math.prod
    def prod(self, xs):
        out = 1
        for x in xs:
            out *= x
        return out
'''


def doc(text: str, language: str = "python", uri: str = "file:///p/calc.py", **kw) -> Document:
    return Document(uri, text, version=1, language_id=language, **kw)


def target_text(document: Document, target: Target | None) -> str | None:
    return None if target is None else document.text_between(target.start, target.end)


def at(document: Document, line: int, index: int = 0, line2: int | None = None, index2=None):
    end = Cursor(line if line2 is None else line2, index if index2 is None else index2)
    return find_target(document, Cursor(line, index), end)


# -- comments ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("# codestral: make this async", "make this async"),
        ("    // Codestral:   use a map  ", "use a map"),
        ("-- codestral: quote the identifiers", "quote the identifiers"),
        (";; codestral: tail-recursive please", "tail-recursive please"),
        ("/* codestral: no globals */", "no globals"),
        ("<!-- codestral: add aria labels -->", "add aria labels"),
        ('" codestral: use a dict', "use a dict"),
        ("# codestral:", None),
        ("# make this async", None),
        ("x = 1  # codestral: not a comment line", None),
    ],
)
def test_instruction_comments_in_any_syntax(line: str, expected: str | None) -> None:
    assert comments.instruction_in(line) == expected


def test_comment_styles_by_language_and_by_file_name() -> None:
    assert comments.comment_style("python").line == "#"
    assert comments.comment_style("rust").line == "//"
    assert comments.comment_style("lua").line == "--"
    assert comments.comment_style("css").block == ("/*", "*/")
    assert comments.comment_style("", "file:///x/main.go").line == "//"
    assert comments.comment_style("no-such-language").line == "#"


def test_block_comments_cannot_be_closed_by_the_text() -> None:
    lines = comments.as_comment(
        ["a */ b", "", "c"], comments.CommentStyle(block=("/*", "*/")), "  "
    )
    assert lines == ["  /*", "  a * / b", "", "  c", "  */"]


# -- targets -----------------------------------------------------------------------------------


def test_a_cursor_in_a_function_targets_the_function_with_its_decorator() -> None:
    document = doc(PY)
    for line in (3, 4, 6, 7, 8):
        target = at(document, line, 2)
        assert target is not None and target.chosen_by == "block"
        assert target_text(document, target).startswith("@cache\ndef add(a, b):")
        assert target_text(document, target).endswith("    return total")


def test_a_cursor_on_top_level_code_or_blank_space() -> None:
    document = doc(PY)
    assert target_text(document, at(document, 0, 3)) == "import os"
    assert at(document, 1) is None  # blank line outside any function
    assert at(document, 9) is None  # between two functions
    loop = doc("for x in xs:\n    print(x)\nprint('done')\n")
    assert target_text(loop, at(loop, 0, 2)) == "for x in xs:\n    print(x)"


def test_the_innermost_function_wins() -> None:
    document = doc(PY)
    assert target_text(document, at(document, 15, 4)).startswith("    def mul(self, a, b):")
    assert target_text(document, at(document, 11, 2)).startswith("class Calc:")


def test_an_instruction_comment_above_the_code() -> None:
    document = doc(PY)
    on_comment = at(document, 13, 5)
    assert target_text(document, on_comment) == "        x = a * b"
    assert (on_comment.instruction, on_comment.instruction_line) == ("make this async", 13)
    above_function = at(document, 20, 4)
    assert above_function.instruction == "use math.prod" and above_function.instruction_line == 17
    assert target_text(document, above_function).startswith("    def prod(self, xs):")


def test_a_selection_within_one_line_stays_exact() -> None:
    document = doc(PY)
    target = at(document, 4, 4, 4, 7)
    assert (target_text(document, target), target.whole_lines) == ("add", False)
    assert target_text(document, at(document, 4, 0, 4, 3)) == "def"
    assert at(document, 6, 4, 6, 4 + len("total")) is not None
    assert at(document, 0, 6, 0, 7) is None  # only a space selected


def test_a_selection_of_lines_is_widened_to_whole_lines() -> None:
    document = doc(PY)
    target = at(document, 14, 10, 15, 3)
    assert (
        target.whole_lines
        and target_text(document, target) == "        x = a * b\n        return x"
    )
    # Linewise selections end at column 0 of the next line; that line is not part of them.
    assert (
        target_text(document, at(document, 14, 0, 16, 0)) == "        x = a * b\n        return x"
    )


def test_a_selection_starting_with_the_instruction() -> None:
    document = doc(PY)
    target = at(document, 13, 0, 16, 0)
    assert target_text(document, target) == "        x = a * b\n        return x"
    assert (target.instruction, target.instruction_line) == ("make this async", 13)


@pytest.mark.parametrize(
    ("language", "text", "line", "expected_last"),
    [
        ("c", "#include <x.h>\n\nint add(int a, int b) {\n  return a + b;\n}\n\nint z;\n", 3, "}"),
        ("javascript", "const f = (a) => {\n  return a;\n};\nf(1);\n", 1, "};"),
        ("go", "package m\n\nfunc Add(a int) int {\n\treturn a\n}\n", 3, "}"),
        ("lua", "local function f(x)\n  return x\nend\nprint(1)\n", 1, "end"),
    ],
)
def test_blocks_in_brace_and_keyword_languages(
    language: str, text: str, line: int, expected_last: str
) -> None:
    document = doc(text, language)
    target = at(document, line, 2)
    assert target.chosen_by == "block"
    assert target_text(document, target).split("\n")[-1] == expected_last


# -- chat buffers ------------------------------------------------------------------------------


def test_parse_a_conversation() -> None:
    text = (
        "How do I x?\n\n## Codestral\n\nLike so:\n```md\n## You\n```\n\n## You\n\nAnd y?\n"
        "## System\nBe brief.\n"
    )
    assert chat_buffer.parse_conversation(text) == [
        chat_buffer.Message("user", "How do I x?"),
        chat_buffer.Message("assistant", "Like so:\n```md\n## You\n```"),
        chat_buffer.Message("user", "And y?"),
        chat_buffer.Message("system", "Be brief."),
    ]


def test_only_an_unanswered_question_wants_a_reply() -> None:
    assert chat_buffer.wants_reply(chat_buffer.parse_conversation("## You\n\nHi?\n"))
    assert not chat_buffer.wants_reply(chat_buffer.parse_conversation("## You\n\n"))
    assert not chat_buffer.wants_reply(chat_buffer.parse_conversation("Hi\n## Codestral\nHey\n"))
    merged = chat_buffer.parse_conversation("## You\na\n## User\nb\n")
    assert merged == [chat_buffer.Message("user", "a\n\nb")]


@pytest.mark.parametrize(
    ("before", "lead"),
    [("Q?", "\n\n"), ("Q?\n", "\n"), ("Q?\n\n", ""), ("", "")],
)
def test_reply_text_separates_the_answer_by_one_blank_line(before: str, lead: str) -> None:
    assert chat_buffer.reply_text("\nA.\n", before) == lead + "## Codestral\n\nA.\n\n## You\n\n"
    assert chat_buffer.reply_text("a\nb", "Q?\r\n", "\r\n").startswith(
        "\r\n## Codestral\r\n\r\na\r\nb\r\n"
    )


def test_chat_buffers_are_recognised_by_name() -> None:
    assert chat_buffer.is_chat_buffer("file:///n/ideas.codestral.md")
    assert not chat_buffer.is_chat_buffer("file:///n/README.md")


# -- reading answers ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "code"),
    [
        ("```python\ndef f():\n    pass\n```", "def f():\n    pass"),
        ("Sure!\n\n```py\nx = 1\n```\nUsage:\n```\nf()\n```\n", "x = 1"),
        ("def f():\n    pass\n\n", "def f():\n    pass"),
        ("```python\nx = 1\ny = 2", "x = 1\ny = 2"),  # cut short: runs to the end
        ("~~~\na\n~~~", "a"),
        ("````md\n```python\nx\n```\n````", "```python\nx\n```"),
        ("```\r\na\r\n```\r\n", "a"),
    ],
)
def test_extract_code(answer: str, code: str) -> None:
    assert answers.extract_code(answer) == code


def test_reindent_to_the_target() -> None:
    assert indentation.reindent("def f():\n    pass", "    ") == "    def f():\n        pass"
    assert indentation.reindent("\n        a\n\n        b\n", "  ") == "  a\n\n  b"
    tabs = indentation.reindent("def f():\n    if x:\n        pass", "\t", "\t")
    assert tabs == "\tdef f():\n\t\tif x:\n\t\t\tpass"
    spaces = indentation.reindent("a:\n\tb", "", "    ")
    assert spaces == "a:\n    b"


def test_reindent_repairs_a_first_line_that_lost_its_indentation() -> None:
    original = ["    def f(self):", "        return 1"]
    answer = "def f(self):\n        return 2"
    assert (
        indentation.reindent(answer, "    ", original=original)
        == "    def f(self):\n        return 2"
    )


def test_indent_unit() -> None:
    assert indentation.indent_unit(["a", "    b", "        c"]) == "    "
    assert indentation.indent_unit(["a", "\tb"]) == "\t"
    assert indentation.indent_unit(["a", "b"]) is None


def test_explanations_are_wrapped_into_comments() -> None:
    answer = "Adds. " * 30 + "\n\n\n\n```python\nadd(1, 2)\n```\n- a list item that stays\n"
    lines = answers.explanation_comment(answer, comments.CommentStyle(line="//"), "    ", width=60)
    assert all(line.startswith("    //") for line in lines)
    assert all(len(line) <= 60 for line in lines if "Adds" in line)
    assert "    // add(1, 2)" in lines and "    // - a list item that stays" in lines
    assert "```" not in "".join(lines)
    assert lines.count("    //") == 1  # runs of blank lines become one


# -- placing answers ---------------------------------------------------------------------------


def test_replace_a_function_keeps_the_file_indentation_and_newlines() -> None:
    document = doc("class C:\r\n    def f(self):\r\n        return 1\r\n")
    target = at(document, 2, 8)
    [edit] = placement.replace_target(document, target, "def f(self):\n    return 2")
    assert (edit.start, edit.end) == (Cursor(1, 0), Cursor(2, 16))
    assert edit.text == "    def f(self):\r\n        return 2"


def test_replace_within_a_line() -> None:
    document = doc("    total = a+b\n")
    target = at(document, 0, 12, 0, 15)
    [edit] = placement.replace_target(document, target, answers.extract_code("```\na + b\n```"))
    assert (edit.start, edit.end, edit.text) == (Cursor(0, 12), Cursor(0, 15), "a + b")


def test_custom_removes_its_instruction() -> None:
    document = doc(PY)
    target = at(document, 13, 0)
    drop, replace = placement.replace_target(document, target, "x = await a", drop_instruction=True)
    assert (drop.start, drop.end, drop.text) == (Cursor(13, 0), Cursor(14, 0), "")
    assert replace.text == "        x = await a"


def test_comment_above_uses_the_language_and_indentation() -> None:
    document = doc("fn main() {\n    let x = 1;\n}\n", "rust", "file:///p/main.rs")
    target = at(document, 1, 0, 1, 14)
    [edit] = placement.comment_above(document, target, "Binds x.", comments.comment_style("rust"))
    assert (edit.start, edit.end, edit.text) == (Cursor(1, 0), Cursor(1, 0), "    // Binds x.\n")


def test_tests_go_below_top_level_code_and_at_the_end_for_nested_code() -> None:
    document = doc("def f():\n    return 1\nx = f()\n")
    [below] = placement.tests_below(
        document, at(document, 0), "def test_f():\n    assert f() == 1", "python"
    )
    assert below.start == Cursor(1, 12)
    assert below.text == "\n\n\ndef test_f():\n    assert f() == 1\n\n"
    nested = doc(PY)
    [end] = placement.tests_below(nested, at(nested, 15, 4), "def test_mul(): ...", "python")
    assert end.start == Cursor(nested.line_count - 1, 0)
    assert end.text == "\n\ndef test_mul(): ...\n"
    inline = doc("x = compute(1)  # note\n")
    [after_line] = placement.tests_below(
        inline, at(inline, 0, 4, 0, 14), "def test(): ...", "python"
    )
    assert after_line.start == Cursor(0, len("x = compute(1)  # note"))


@pytest.mark.parametrize(
    ("text", "start", "inserted"),
    [
        ("a\n", Cursor(1, 0), "\nB\n"),
        ("a", Cursor(0, 1), "\n\nB\n"),
        ("a\n\n", Cursor(2, 0), "B\n"),
    ],
)
def test_append_at_end(text: str, start: Cursor, inserted: str) -> None:
    edit = placement.append_at_end(doc(text), "B", gap=1)
    assert (edit.start, edit.text) == (start, inserted)
    assert placement.append_at_end(doc(""), "B").text == "B\n"


def test_companion_test_files() -> None:
    assert placement.companion_test_uri("file:///p/my%20dir/calc.py", "python") == (
        "file:///p/my%20dir/test_calc.py"
    )
    assert placement.companion_test_uri("file:///p/a.ts", "typescript") == "file:///p/a.test.ts"
    assert placement.companion_test_uri("file:///p/a.go", "go") == "file:///p/a_test.go"
    assert placement.companion_test_uri("file:///p/test_calc.py", "python") is None
    assert placement.companion_test_uri("file:///p/a.rs", "rust") is None


def test_workspace_edits_count_columns_in_the_client_encoding() -> None:
    document = doc("s = '😀é'; t = 1\n", encoding=PositionEncoding.UTF16)
    start, end = Cursor(0, 11), Cursor(0, 16)
    change = edits.FileChange(document, [edits.Replacement(start, end, "t = 2")], version=7)
    versioned = edits.workspace_edit([change], versioned=True)
    [text_edit] = versioned.document_changes
    assert text_edit.text_document.version == 7
    assert text_edit.edits[0].range.start.character == 12  # the emoji takes two utf-16 units
    document.encoding = PositionEncoding.UTF8
    plain = edits.workspace_edit([change], versioned=False)
    assert plain.changes[document.uri][0].range.start.character == 15


def test_new_files_are_created_first_and_need_document_changes() -> None:
    new = doc("", uri="file:///p/test_calc.py")
    change = edits.FileChange(
        new, [edits.Replacement(Cursor(0, 0), Cursor(0, 0), "x\n")], create=True
    )
    create, text_edit = edits.workspace_edit([change], versioned=True).document_changes
    assert isinstance(create, types.CreateFile) and create.options.ignore_if_exists
    assert text_edit.text_document.version is None
    with pytest.raises(ValueError):
        edits.workspace_edit([change], versioned=False)


# -- prompts -----------------------------------------------------------------------------------


def test_fences_are_longer_than_any_backticks_inside() -> None:
    assert prompts.fenced("a ```` b", "md") == "`````md\na ```` b\n`````"
    assert prompts.fenced("x\n") == "```\nx\n```"


def test_action_prompt_has_language_file_code_context_and_diagnostics() -> None:
    document = doc(PY)
    target = at(document, 15, 4)
    diagnostics = [{"line": 14, "severity": "error", "message": "bad", "source": "ruff", "code": 1}]
    system, user = prompts.action_messages(
        "fix", document, target, context_lines=2, overrides={}, diagnostics=diagnostics
    )
    assert system == {"role": "system", "content": prompts.SYSTEM_PROMPTS["fix"]}
    content = user["content"]
    assert content.startswith("Language: python\nFile: calc.py\n")
    assert "```python\n    def mul(self, a, b):\n" in content
    assert (
        "Code before this code (context only, do not repeat it):\n```python\n\nclass Calc:\n```"
        in (content)
    )
    assert "import os" not in content  # beyond the two context lines
    assert "- line 15 (line 3 of the code): error: bad (ruff, 1)" in content


def test_custom_prompt_carries_the_instruction_and_overrides_apply() -> None:
    document = doc(PY)
    target = at(document, 13)
    system, user = prompts.action_messages(
        "custom", document, target, context_lines=0, overrides={"custom": "Be terse."}
    )
    assert system["content"] == "Be terse."
    assert "Instruction: make this async" in user["content"]
    assert "Code before" not in user["content"]


def test_tests_prompt_says_where_the_tests_go() -> None:
    document = doc(PY)
    _, user = prompts.action_messages(
        "tests",
        document,
        at(document, 4),
        context_lines=0,
        overrides={},
        tests=prompts.WhereTestsGo("test_calc.py"),
    )
    assert "new file `test_calc.py` next to `calc.py`" in user["content"]


def test_chat_messages_put_the_system_prompt_first() -> None:
    conversation = chat_buffer.parse_conversation("Q\n## System\nS\n")
    assert [m["role"] for m in prompts.chat_messages(conversation, {})] == ["system", "user"]
    default = prompts.chat_messages(chat_buffer.parse_conversation("Q"), {"chat": "Hi"})
    assert default[0] == {"role": "system", "content": "Hi"}


# -- catalog -----------------------------------------------------------------------------------


def test_which_actions_are_offered() -> None:
    document = doc(PY)
    everything = enabled_ids(Settings().code_actions)
    plain = [s.id for s in offered(everything, at(document, 4), has_diagnostics=False)]
    assert plain == ["refactor", "explain", "docstring", "tests"]
    with_all = offered(everything, at(document, 13), has_diagnostics=True)
    assert [s.id for s in with_all][:2] == ["fix", "custom"]
    assert offered(everything, None, has_diagnostics=True) == []
    assert offered({"explain"}, at(document, 4), has_diagnostics=True) == [ACTIONS["explain"]]
    chat = offered(everything, None, has_diagnostics=False, chat_buffer=True, awaiting_reply=True)
    assert chat == [ACTIONS["reply"]]
    assert offered(everything, None, has_diagnostics=False, chat_buffer=True) == []
    assert enabled_ids(["Explain", "nonsense"]) == {"explain"}


def test_custom_titles_show_the_instruction() -> None:
    document = doc("# codestral: " + "x" * 100 + "\ny = 1\n")
    title = title_of(ACTIONS["custom"], at(document, 1))
    assert title.startswith("Codestral: xxx") and title.endswith("…") and len(title) < 80
    assert title_of(ACTIONS["explain"], None) == "Codestral: Explain"


def test_kinds_filter_hierarchically() -> None:
    assert kind_matches("refactor.rewrite.codestral", ["refactor"])
    assert kind_matches("quickfix.codestral", None)
    assert not kind_matches("refactor.codestral.explain", ["quickfix", "refactor.rewrite"])
    assert not kind_matches("refactorx", ["refactor"])


def test_action_requests_round_trip_and_reject_garbage() -> None:
    request = ActionRequest("fix", "file:///a.py", 3, (1, 2), (3, 4), ({"line": 1},))
    assert ActionRequest.from_json(request.to_json()) == request
    for bad in (None, [], {"action": "explain"}, {**request.to_json(), "action": "rm -rf"}):
        with pytest.raises(ValueError):
            ActionRequest.from_json(bad)
    with pytest.raises(ValueError):
        ActionRequest.from_json({**request.to_json(), "range": [["a", 0], [0, 0]]})


# -- streaming ---------------------------------------------------------------------------------


class Pieces:
    """An answer stream that remembers whether it was closed (as the HTTP stream would be)."""

    def __init__(self, *pieces: str, then_wait: bool = False) -> None:
        self.pieces = pieces
        self.then_wait = then_wait
        self.closed = False

    async def stream(self) -> AsyncIterator[str]:
        try:
            for piece in self.pieces:
                yield piece
            if self.then_wait:
                await asyncio.Event().wait()
        finally:
            self.closed = True


async def test_collect_answer_reads_everything_and_reports_progress() -> None:
    seen: list[int] = []
    pieces = Pieces("ab", "cd")
    assert await collect_answer(pieces.stream(), deadline=5, on_progress=seen.append) == "abcd"
    assert seen == [2, 4] and pieces.closed


async def test_cancelling_the_progress_closes_the_stream() -> None:
    pieces = Pieces("ab", then_wait=True)
    cancelled: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    asyncio.get_running_loop().call_soon(cancelled.cancel)
    with pytest.raises(ActionCancelled):
        await collect_answer(pieces.stream(), deadline=30, cancelled=cancelled)
    assert pieces.closed


async def test_the_deadline_closes_the_stream() -> None:
    pieces = Pieces("ab", then_wait=True)
    with pytest.raises(ApiError) as raised:
        await collect_answer(pieces.stream(), deadline=0.05)
    assert raised.value.kind is ErrorKind.TIMEOUT and pieces.closed


async def test_cancelling_the_request_closes_the_stream() -> None:
    pieces = Pieces("ab", then_wait=True)
    task = asyncio.ensure_future(collect_answer(pieces.stream(), deadline=30))
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert pieces.closed


# -- settings ----------------------------------------------------------------------------------


def test_chat_settings() -> None:
    settings, problems = Settings.from_options(
        {
            "chatModel": "codestral-2508",
            "systemPrompts": {"explain": "Short."},
            "codeActions": "fix",
        }
    )
    assert problems == []
    assert (settings.chat_model, settings.system_prompts, settings.code_actions) == (
        "codestral-2508",
        {"explain": "Short."},
        ["fix"],
    )
    _, problems = Settings.from_options({"systemPrompts": {"explain": 3}})
    assert len(problems) == 1 and "systemPrompts" in problems[0]


# -- found in review ---------------------------------------------------------------------------


def test_blank_lines_at_the_ends_of_a_selection_are_not_the_code() -> None:
    """Line-wise selections often start on the blank line above a method: its indentation
    must come from the method, or the Refactor moves it out of its class."""
    source = (
        "class Calc:\n    def a(self):\n        return 1\n\n    def b(self):\n        return 2\n\n"
    )
    document = Document("file:///w/calc.py", source)
    target = find_target(document, Cursor(3, 0), Cursor(7, 0))
    assert target is not None and (target.start.line, target.end.line) == (4, 5)
    [replacement] = placement.replace_target(document, target, "def b(self):\n    return 2 * 1\n")
    assert replacement.text == "    def b(self):\n        return 2 * 1"
    assert find_target(document, Cursor(3, 0), Cursor(3, 0)) is not None  # cursor: as before
    assert (
        find_target(Document("file:///w/e.py", "x = 1\n\n\n\n"), Cursor(1, 0), Cursor(3, 0)) is None
    )


def test_an_unsaved_buffer_gets_its_tests_below_the_code() -> None:
    assert placement.companion_test_uri("untitled:Untitled-1", "python") is None
    assert placement.companion_test_uri("file:///w/calc.py", "python") == "file:///w/test_calc.py"


def test_a_reply_cut_inside_a_code_block_still_leaves_room_for_the_next_question() -> None:
    text = "How do I print?\n"
    text += chat_buffer.reply_text("Like this:\n\n```python\nprint('hi')", text)
    text += "And in Go?\n"
    conversation = chat_buffer.parse_conversation(text)
    assert [m.role for m in conversation] == ["user", "assistant", "user"]
    assert conversation[1].content.endswith("print('hi')\n```")
    assert chat_buffer.wants_reply(conversation)


def test_only_a_matching_fence_closes_a_code_block() -> None:
    text = "Show me markdown\n\n## Codestral\n\n````markdown\n```\n## You\n~~~\n```\n````\n"
    [question, answer] = chat_buffer.parse_conversation(text)
    assert (question.role, answer.role) == ("user", "assistant")
    assert "## You" in answer.content  # inside the four-backtick block: content


def test_appending_to_a_crlf_test_file_on_disk_keeps_its_line_ends(tmp_path) -> None:
    from codestral_ls.actions.service import _read_file

    (tmp_path / "test_calc.py").write_bytes(
        b"import calc\r\n\r\n\r\ndef test_old():\r\n    pass\r\n"
    )
    source = Document(
        (tmp_path / "calc.py").as_uri(), "def add(a, b):\n    return a + b\n", language_id="python"
    )
    uri = placement.companion_test_uri(source.uri, "python")
    assert uri is not None
    on_disk = _read_file(uri)
    assert on_disk is not None and "\r\n" in on_disk  # read as it is, line ends included
    tests = placement.TestsFile(uri, on_disk=on_disk)
    change = placement.test_file_change(tests, source, "def test_new():\n    pass")
    [replacement] = change.replacements
    assert "\n" not in replacement.text.replace("\r\n", "")  # only CRLF, like the file
    assert not change.create and change.version is None


def test_tests_for_a_name_picked_in_a_header_go_below_its_block() -> None:
    document = Document("file:///w/lib.rs", "fn add(a: i32, b: i32) -> i32 {\n    a + b\n}\n")
    target = find_target(document, Cursor(0, 3), Cursor(0, 6))  # "add" double-clicked
    assert target is not None and not target.whole_lines
    [replacement] = placement.tests_below(document, target, "#[test]\nfn adds() {}", "rust")
    assert replacement.start.line == 2  # after the closing brace, not inside the function


def test_a_cursor_in_a_typescript_method_targets_the_method_not_the_class() -> None:
    source = (
        "export class Calc {\n  private total = 0;\n\n"
        "  add(a: number, b: number): number {\n    return a + b;\n  }\n\n"
        "  public async load(url: string): Promise<void> {\n    this.total = await get(url);\n  }\n"
        "}\n"
    )
    document = Document("file:///w/calc.ts", source, language_id="typescript")
    for line, block in ((4, (3, 5)), (8, (7, 9))):
        target = find_target(document, Cursor(line, 6), Cursor(line, 6))
        assert target is not None and (target.start.line, target.end.line) == block


@pytest.mark.parametrize(
    ("answer", "step"),
    [
        ("/**\n * Add.\n */\nadd(a, b) {\n    return a + b;\n}", "    "),  # JSDoc's one space
        ('def f():\n    """Add.\n\n    Args:\n      a: x\n    """\n    return 1', "    "),
        ("if x:\n  y = 1\n  if z:\n    w = 2", "  "),
        ("x = 1", None),
    ],
)
def test_the_indentation_step_is_the_most_common_increase(answer: str, step: str | None) -> None:
    assert indentation.indent_unit(answer.split("\n")) == step


def test_a_tab_file_gets_tabs_even_from_an_answer_with_jsdoc() -> None:
    code = "/**\n * Add.\n */\nadd(a, b) {\n    return a + b;\n}"
    assert (
        indentation.reindent(code, "\t", "\t")
        == "\t/**\n\t * Add.\n\t */\n\tadd(a, b) {\n\t\treturn a + b;\n\t}"
    )


def test_only_edits_to_the_document_wait_for_its_didchange() -> None:
    """After an applied edit the document's turn is held until the editor's didChange; an
    edit that only writes another file (Write tests) has none to wait for."""
    from codestral_ls.actions.service import _edits_document

    def text_edit(uri: str) -> types.TextDocumentEdit:
        return types.TextDocumentEdit(
            text_document=types.OptionalVersionedTextDocumentIdentifier(uri=uri, version=3),
            edits=[],
        )

    here, tests = "file:///p/calc.py", "file:///p/test_calc.py"
    create = types.CreateFile(uri=tests)
    assert _edits_document(types.WorkspaceEdit(document_changes=[text_edit(here)]), here)
    assert not _edits_document(
        types.WorkspaceEdit(document_changes=[create, text_edit(tests)]), here
    )
    assert _edits_document(types.WorkspaceEdit(changes={here: []}), here)
