"""Where an action's answer lands and how it is read (actions/placement.py, actions/answers.py),
as plain functions: no server, no client. Rules found unpinned by ``python -m bench.mutation``.
"""

from __future__ import annotations

import pytest

from codestral_ls.actions import answers, placement
from codestral_ls.actions.catalog import Placement
from codestral_ls.actions.comments import comment_style
from codestral_ls.actions.target import find_target
from codestral_ls.documents import Cursor, Document

SOURCE = "def add(a, b):\n    return a + b\n"


def document(text: str = SOURCE, uri: str = "file:///w/calc.py") -> Document:
    return Document(uri, text, version=3, language_id="python")


def landing(kind: Placement, doc: Document, **options: object) -> placement.Landing:
    target = (
        find_target(doc, Cursor(0, 0), Cursor(0, 0)) if kind is not Placement.APPEND_REPLY else None
    )
    return placement.Landing(kind, doc, 3, target, "python", **options)  # type: ignore[arg-type]


# -- reading the answer ---------------------------------------------------------------------------


def test_code_is_found_after_prose_and_the_longest_block_wins() -> None:
    assert answers.extract_code("Here:\n```python\nx = 1\n```") == "x = 1"
    adjacent = "```\na\n```\n```\nlonger block\n```"
    assert answers.extract_code(adjacent) == "longer block"
    assert answers.extract_code("no fence\n  at all  \n") == "no fence\n  at all"
    assert answers.extract_code("```py\ncut short") == "cut short"


def wrapped(line: str, style_of: str = "python", indent: str = "") -> list[str]:
    return answers.explanation_comment(line, comment_style(style_of), indent)


def words(length: int) -> str:
    text = ("word " * length)[:length]
    return text[:-1] + "x" if text.endswith(" ") else text


def test_prose_wraps_to_100_columns_comment_marker_included() -> None:
    assert len(wrapped(words(98))) == 1  # "# " + 98 = 100
    assert len(wrapped(words(99))) == 2
    assert len(wrapped(words(100), "css")) == 3  # /* and */ around, no marker per line
    assert len(wrapped(words(101), "css")) == 4
    assert len(wrapped(words(94), indent="    ")) == 1  # the indentation counts too
    assert len(wrapped(words(95), indent="    ")) == 2


def test_deeply_indented_comments_still_get_40_columns() -> None:
    assert len(wrapped(words(40), indent=" " * 70)) == 1
    assert len(wrapped(words(41), indent=" " * 70)) == 2


def test_code_in_fences_and_long_words_are_never_broken() -> None:
    long_code = "x = " + "1 + " * 40 + "1"
    assert wrapped(f"```\n{long_code}\n```") == [f"# {long_code}"]
    url = "https://example.com/" + "a" * 120
    assert wrapped(f"see {url}") == ["# see", f"# {url}"]
    hyphens = "-".join(["well"] * 30)
    assert wrapped(f"a {hyphens}") == ["# a", f"# {hyphens}"]


def test_long_bullets_wrap_under_their_text() -> None:
    lines = wrapped("- " + words(150))
    assert lines[0].startswith("# - word") and lines[1].startswith("#   word")
    numbered = wrapped("12. " + words(150))
    assert numbered[1].startswith("#     word")


# -- where it lands -------------------------------------------------------------------------------


def test_a_reply_is_appended_to_the_chat_buffer() -> None:
    chat = Document("file:///w/q.codestral.md", "## You\n\nWhy?\n", version=3)
    [change] = placement.changes_for(landing(Placement.APPEND_REPLY, chat), "Because.")
    [replacement] = change.replacements
    assert replacement.start == replacement.end == Cursor(3, 0)
    assert "Because." in replacement.text and change.version == 3


def test_an_explanation_goes_above_as_comments() -> None:
    doc = document()
    [change] = placement.changes_for(landing(Placement.COMMENT_ABOVE, doc), "Adds two numbers.")
    assert [(r.start, r.text) for r in change.replacements] == [
        (Cursor(0, 0), "# Adds two numbers.\n")
    ]


def test_replacing_keeps_or_drops_the_instruction_as_told() -> None:
    doc = document("# codestral: make it typed\ndef add(a, b):\n    return a + b\n")
    target = find_target(doc, Cursor(1, 0), Cursor(1, 0))
    answer = "```python\ndef add(a: int, b: int) -> int:\n    return a + b\n```"
    kept = placement.Landing(Placement.REPLACE, doc, 3, target, "python")
    assert len(placement.changes_for(kept, answer)[0].replacements) == 1
    dropped = placement.Landing(Placement.REPLACE, doc, 3, target, "python", drop_instruction=True)
    first, _replacement = placement.changes_for(dropped, answer)[0].replacements
    assert (first.start, first.end, first.text) == (Cursor(0, 0), Cursor(1, 0), "")


def test_an_answer_without_code_is_refused() -> None:
    with pytest.raises(placement.NoCodeInAnswer):
        placement.changes_for(landing(Placement.REPLACE, document()), "```\n\n```")


def test_tests_go_below_without_a_test_file_and_into_it_with_one() -> None:
    doc = document()
    code = "def test_add():\n    assert add(1, 2) == 3"
    [below] = placement.changes_for(landing(Placement.TESTS, doc), code)
    assert below.document is doc and below.version == 3
    tests_file = placement.TestsFile("file:///w/test_calc.py")
    [created] = placement.changes_for(landing(Placement.TESTS, doc), code, tests_file)
    assert created.create and created.document.uri == "file:///w/test_calc.py"
    opened = document("import calc\n", "file:///w/test_calc.py")
    [appended] = placement.changes_for(
        landing(Placement.TESTS, doc), code, placement.TestsFile(opened.uri, opened)
    )
    assert appended.document is opened and appended.version == 3 and not appended.create


def test_an_empty_test_file_on_disk_takes_the_source_s_line_ends() -> None:
    source = document(SOURCE.replace("\n", "\r\n"))
    change = placement.test_file_change(
        placement.TestsFile("file:///w/test_calc.py", on_disk=""), source, "def test(): ..."
    )
    [replacement] = change.replacements
    assert replacement.start == Cursor(0, 0) and replacement.text == "def test(): ...\r\n"
    assert not change.create


def test_the_indentation_step_is_read_from_the_first_400_lines() -> None:
    code = "def test():\n    pass"
    late_tabs = document("x = 1\n" * 399 + "def f():\n\treturn 1\n")  # the tab: line 401
    new = placement.TestsFile("file:///w/test_calc.py")
    assert "\n    pass" in placement.test_file_change(new, late_tabs, code).replacements[0].text
    early_tabs = document("x = 1\n" * 398 + "def f():\n\treturn 1\n")
    assert "\n\tpass" in placement.test_file_change(new, early_tabs, code).replacements[0].text


def test_test_files_by_convention() -> None:
    uri = placement.companion_test_uri
    assert uri("file:///w/calc.py", "python") == "file:///w/test_calc.py"
    assert uri("file:///w/test_calc.py", "python") is None
    assert uri("file:///w/Makefile", "makefile") is None
    assert uri("file:///w/calc.ts", "typescript") == "file:///w/calc.test.ts"
    assert uri("file:///w/calc.go", "go") == "file:///w/calc_test.go"
    assert uri("untitled:Untitled-1", "python") is None


def test_a_one_line_target_in_a_tab_file_gets_the_file_s_tabs() -> None:
    doc = document("def f(a, b):\n\tif a:\n\t\treturn b\n\treturn a + b\n")
    target = find_target(doc, Cursor(3, 0), Cursor(3, len("\treturn a + b")))
    assert target is not None and target.whole_lines
    [replacement] = placement.replace_target(doc, target, "if a:\n    return b")
    assert replacement.text == "\tif a:\n\t\treturn b"


def test_tests_below_leave_one_gap_before_what_follows() -> None:
    code = "def test_add(): ..."
    followed = document(SOURCE + "x = 1\n")
    target = find_target(followed, Cursor(0, 0), Cursor(0, 0))
    [replacement] = placement.tests_below(followed, target, code, "python")
    assert replacement.text == "\n\n\ndef test_add(): ...\n\n"
    spaced = document(SOURCE + "\nx = 1\n")
    target = find_target(spaced, Cursor(0, 0), Cursor(0, 0))
    [replacement] = placement.tests_below(spaced, target, code, "python")
    assert replacement.text == "\n\n\ndef test_add(): ..."  # a blank line is there already


def test_appending_leaves_one_blank_line_by_default() -> None:
    [end] = [placement.append_at_end(document("x = 1\n"), "y = 2")]
    assert end.text == "\ny = 2\n"


def test_appending_counts_the_blank_lines_already_at_the_end() -> None:
    assert placement.append_at_end(document("x = 1\n\n"), "y", gap=2).text == "\ny\n"
    assert placement.append_at_end(document("x = 1\n\n\n"), "y", gap=2).text == "y\n"
    assert placement.append_at_end(document("x = 1"), "y", gap=2).text == "\n\n\ny\n"


def test_appending_to_a_blank_file_replaces_its_blank_lines() -> None:
    blank = document("\n\n")
    replacement = placement.append_at_end(blank, "y")
    assert (replacement.start, replacement.end, replacement.text) == (
        Cursor(0, 0),
        Cursor(2, 0),
        "y\n",
    )


def test_replacing_a_block_repairs_a_first_line_that_lost_its_indentation() -> None:
    doc = document("class A:\n    def f(self):\n        return 1\n")
    target = find_target(doc, Cursor(1, 0), Cursor(2, len("        return 1")))
    assert target is not None and (target.start.line, target.end.line) == (1, 2)
    [replacement] = placement.replace_target(doc, target, "def f(self):\n        return 2")
    assert replacement.text == "    def f(self):\n        return 2"


def test_a_created_test_file_never_overwrites_one_that_appeared_meanwhile() -> None:
    from codestral_ls.actions.edits import workspace_edit

    change = placement.test_file_change(
        placement.TestsFile("file:///w/test_calc.py"), document(), "def test(): ..."
    )
    edit = workspace_edit([change], versioned=True)
    create, _text = edit.document_changes or []
    assert create.options.overwrite is False and create.options.ignore_if_exists is True
    with pytest.raises(ValueError, match="documentChanges"):
        workspace_edit([change], versioned=False)


# -- rules found unpinned by the mutation score (second pass) ----------------------------------


def test_a_reply_is_appended_even_when_the_landing_names_a_target() -> None:
    chat = Document("file:///w/q.codestral.md", "## You\n\nWhy?\n", version=3)
    target = find_target(chat, Cursor(2, 0), Cursor(2, 0))
    assert target is not None
    reply = placement.Landing(Placement.APPEND_REPLY, chat, 3, target)
    [change] = placement.changes_for(reply, "Because.")
    [replacement] = change.replacements
    assert replacement.start == replacement.end == Cursor(3, 0)  # the placement decides


def test_replacing_keeps_the_instruction_unless_told_to_drop_it() -> None:
    doc = document("# codestral: make it typed\ndef add(a, b):\n    return a + b\n")
    target = find_target(doc, Cursor(1, 0), Cursor(1, 0))
    assert target is not None and target.instruction_line == 0
    [only] = placement.replace_target(doc, target, "def add(a: int, b: int) -> int: ...")
    assert only.start == Cursor(1, 0)


def test_a_multi_line_answer_to_a_within_line_refactor_keeps_every_line() -> None:
    doc = document("    total = sum(values)\n")
    target = find_target(doc, Cursor(0, 12), Cursor(0, 23))
    assert target is not None and not target.whole_lines
    answer = "functools.reduce(\n    operator.add,\n\n    values,\n)"
    [replacement] = placement.replace_target(doc, target, answer)
    # The first line continues the line; the others take its indentation; blank stays blank.
    assert replacement.text == "functools.reduce(\n        operator.add,\n\n        values,\n    )"


def test_a_selection_of_three_lines_is_repaired_against_those_lines_only() -> None:
    # The line after the selection is less indented: it must not count as the target's.
    doc = document("class A:\n    def f(self):\n        x = 1\n        return x\nb = A()\n")
    target = find_target(doc, Cursor(1, 0), Cursor(3, 5))
    assert target is not None and (target.start.line, target.end.line) == (1, 3)
    answer = "def f(self):\n        x = 2\n        return x"
    [replacement] = placement.replace_target(doc, target, answer)
    assert replacement.text == "    def f(self):\n        x = 2\n        return x"


def test_past_line_400_the_target_s_own_lines_give_the_indentation_step() -> None:
    doc = document("x = 1\n" * 400 + "def f(a):\n\tif a:\n\t\treturn a\n\treturn 0\n")
    target = find_target(doc, Cursor(401, 0), Cursor(401, 0))
    assert target is not None and target.start.line == 400
    answer = "def f(a):\n    if a:\n        return a\n    return 1"
    [replacement] = placement.replace_target(doc, target, answer)
    assert replacement.text == "def f(a):\n\tif a:\n\t\treturn a\n\treturn 1"


def test_tests_below_non_python_code_leave_one_blank_line() -> None:
    js = Document(
        "file:///w/calc.js",
        "function add(a, b) {\n  return a + b;\n}\nadd(1, 2);\n",
        language_id="javascript",
    )
    target = find_target(js, Cursor(0, 0), Cursor(0, 0))
    assert target is not None and target.end.line == 2
    [replacement] = placement.tests_below(js, target, "test('add', () => {});", "javascript")
    assert replacement.start == Cursor(2, 1)
    assert replacement.text == "\n\ntest('add', () => {});\n"


def test_tests_below_add_no_gap_when_only_the_line_above_the_end_has_text() -> None:
    doc = document("def add(a, b):\n    x = a\n    return x + b\n\nprint(add(1, 2))\n")
    target = find_target(doc, Cursor(0, 0), Cursor(0, 0))
    assert target is not None and target.end.line == 2
    [replacement] = placement.tests_below(doc, target, "def test_add(): ...", "python")
    assert replacement.text == "\n\n\ndef test_add(): ..."


def test_tests_below_the_last_block_of_a_file_without_a_final_newline() -> None:
    doc = document("def add(a, b):\n    return a + b")
    target = find_target(doc, Cursor(0, 0), Cursor(0, 0))
    [replacement] = placement.tests_below(doc, target, "def test_add(): ...", "python")
    assert (replacement.start, replacement.text) == (Cursor(1, 16), "\n\n\ndef test_add(): ...")


def test_tests_appended_to_an_open_or_saved_test_file_follow_two_blank_lines() -> None:
    code = "def test_add():\n    assert add(1, 2) == 3"
    opened = document("import calc\n", "file:///w/test_calc.py")
    change = placement.test_file_change(placement.TestsFile(opened.uri, opened), document(), code)
    [replacement] = change.replacements
    assert (replacement.start, replacement.text) == (Cursor(1, 0), "\n\n" + code + "\n")
    saved = placement.TestsFile("file:///w/test_calc.py", on_disk="import calc\n")
    [replacement] = placement.test_file_change(saved, document(), code).replacements
    assert (replacement.start, replacement.text) == (Cursor(1, 0), "\n\n" + code + "\n")


def test_appending_to_an_empty_open_test_file_writes_from_its_first_line() -> None:
    empty = document("", "file:///w/test_calc.py")
    change = placement.test_file_change(
        placement.TestsFile(empty.uri, empty), document(), "def test(): ..."
    )
    [replacement] = change.replacements
    assert (replacement.start, replacement.end, replacement.text) == (
        Cursor(0, 0),
        Cursor(0, 0),
        "def test(): ...\n",
    )


def test_appending_after_one_blank_line_adds_the_other() -> None:
    replacement = placement.append_at_end(document("x = 1\n\n"), "y", gap=2)
    assert (replacement.start, replacement.text) == (Cursor(2, 0), "\ny\n")
    only_last = placement.append_at_end(document("\n\nx = 1"), "y", gap=2)
    assert (only_last.start, only_last.text) == (Cursor(2, 5), "\n\n\ny\n")


def test_files_that_are_already_tests_or_not_source_get_no_companion() -> None:
    uri = placement.companion_test_uri
    assert uri("file:///w/calc.test.ts", "typescript") is None
    assert uri("file:///w/calc.spec.js", "javascript") is None
    assert uri("file:///w/calc", "javascript") is None  # no extension to repeat
    assert uri("file:///w/calc.jsx", "javascriptreact") == "file:///w/calc.test.jsx"
    assert uri("file:///w/main.go.tmpl", "go") is None  # a template, not Go source
    assert uri("file:///w/calc_test.go", "go") is None
    assert uri("file:///w/calc.go", "rust") is None
    assert uri("file:///w/Makefile", "makefile") is None  # not test_Makefile.py
    assert uri("file:///w/bin/tool", "python") == "file:///w/bin/test_tool.py"  # a script
    assert uri("file:///w/conftest.py", "python") is None
    assert uri("file:///w/calc_test.py", "python") is None


# -- following the code after edits made while the answer came ------------------------------------

CUSTOM = "x = 1\n# codestral: add type hints\ndef add(a, b):\n    return a + b\n\ny = 2\n"


def edited(doc: Document, line: int, text: str, *, until: int | None = None) -> None:
    """The user replaces lines ``line``..``until`` (exclusive; default: inserts) with ``text``."""
    end = line if until is None else until
    doc.apply_edit((line, 0), (end, 0), text)
    doc.version += 1


def marked(
    doc: Document, start: Cursor, end: Cursor | None = None, **options: object
) -> placement.Landing:
    target = find_target(doc, start, end or start)
    assert target is not None
    return placement.Landing(
        Placement.REPLACE,
        doc,
        doc.version,
        target,
        "python",
        mark=placement.mark_target(doc, target),
        **options,  # type: ignore[arg-type]
    )


def test_edits_above_and_below_move_the_answer_with_its_code_and_instruction() -> None:
    doc = document(CUSTOM)
    before = marked(doc, Cursor(2, 0), drop_instruction=True)
    assert before.target is not None and before.target.instruction_line == 1
    edited(doc, 0, "import os\nimport sys\n")  # two lines above
    edited(doc, 8, "z = 3\n")  # and one below
    moved = placement.follow(before)
    assert moved is not None and moved.version == doc.version == 5
    assert moved.target.start.line == 4 and moved.target.instruction_line == 3
    [change] = placement.changes_for(moved, "```python\ndef add(a: int, b: int) -> int:\n```")
    text = doc.text
    for replacement in reversed(change.replacements):  # offsets in the text before them all
        start, end = doc.offset(replacement.start), doc.offset(replacement.end)
        text = text[:start] + replacement.text + text[end:]
    assert text == "import os\nimport sys\nx = 1\ndef add(a: int, b: int) -> int:\n\ny = 2\nz = 3\n"


def test_an_edit_inside_the_code_or_its_instruction_leaves_nowhere_to_land() -> None:
    for line in (1, 2, 3):  # the instruction, the header, the body
        doc = document(CUSTOM)
        before = marked(doc, Cursor(2, 0))
        edited(doc, line, "# typed\n", until=line + 1)
        assert placement.follow(before) is None


def test_the_same_lines_elsewhere_are_never_taken_for_edited_ones() -> None:
    """The answer for code the user rewrote or deleted must not land on a twin of it."""
    twins = "def a(xs):\n    count += 1\n\n\ndef b(xs):\n    count += 1\n"
    doc = document(twins)
    before = marked(doc, Cursor(1, 4), Cursor(1, 14))  # "count += 1" in a()
    edited(doc, 1, "    total += 1\n", until=2)
    assert placement.follow(before) is None
    doc = document(twins)
    before = marked(doc, Cursor(1, 4), Cursor(1, 14))
    edited(doc, 1, "", until=2)  # the line deleted
    assert placement.follow(before) is None


def test_a_copy_pasted_right_above_is_not_taken_for_the_original() -> None:
    doc = document("def f():\n    return 1\n")
    before = marked(doc, Cursor(0, 0))
    edited(doc, 0, "def f():\n    return 1\n\n")  # the copy lands where the original was
    moved = placement.follow(before)
    assert moved is not None and moved.target.start.line == 3


def test_code_moved_far_up_in_a_short_file_is_followed() -> None:
    doc = document("".join(f"v{n} = {n}\n" for n in range(150)) + "def f():\n    return 1\n")
    before = marked(doc, Cursor(150, 0))
    edited(doc, 0, "", until=140)
    moved = placement.follow(before)
    assert moved is not None and moved.target.start.line == 10


def test_text_typed_onto_its_first_or_last_line_leaves_nowhere_to_land() -> None:
    doc = document(SOURCE)  # "def add(a, b):\n    return a + b\n"
    before = marked(doc, Cursor(0, 0))
    doc.apply_edit((0, 0), (0, 0), "async ")  # right before it, on its first line
    assert placement.follow(before) is None
    doc = document(SOURCE)
    before = marked(doc, Cursor(0, 0))
    doc.apply_edit((1, 16), (1, 16), "  # sum")  # right after it, on its last line
    assert placement.follow(before) is None
    doc = document(SOURCE)
    before = marked(doc, Cursor(0, 0))
    doc.apply_edit((1, 16), (1, 16), "\n\nx = add(1, 2)")  # new lines below it: fine
    moved = placement.follow(before)
    assert moved is not None and moved.target == before.target


def test_a_full_text_change_leaves_nowhere_to_land() -> None:
    doc = document(SOURCE)
    before = marked(doc, Cursor(0, 0))
    doc.replace_all(SOURCE)  # what it kept is unknown, even the same text
    assert placement.follow(before) is None


def test_a_chat_reply_does_not_follow() -> None:
    doc = document("## You\nwhy?\n")
    before = placement.Landing(Placement.APPEND_REPLY, doc, 3)
    edited(doc, 2, "more\n")
    assert placement.follow(before) is None
