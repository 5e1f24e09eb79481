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
