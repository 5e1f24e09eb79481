"""One idea of indentation for completions and code actions (codestral_ls.indentation)."""

from __future__ import annotations

from codestral_ls.actions.comments import comment_style, language_of
from codestral_ls.documents import Document, terminator
from codestral_ls.indentation import TAB_WIDTH, indent_width, leading_whitespace, trim_blank_edges
from codestral_ls.languages import language_from_path
from codestral_ls.postprocess import truncate_for_mode
from tests.unit.test_prompt_and_postprocess import context_at


def test_tabs_stop_every_tab_width_columns() -> None:
    assert TAB_WIDTH == 4
    assert indent_width("\tx") == 4 and indent_width("\t\tx") == 8
    assert indent_width("  \tx") == 4  # a tab after two spaces reaches the same stop
    assert indent_width("    x") == 4 and indent_width("x") == 0 and indent_width("") == 0
    assert indent_width("  ") == 2  # a blank line's indentation counts too
    assert leading_whitespace("\t  x = 1") == "\t  "


def test_tab_indented_block_completion_stops_where_the_block_ends() -> None:
    context = context_at("def f(x):\n\tif x:|\n")
    streamed = "\n\t\ty = x * 2\n\t\treturn y\n\telse:\n\t\treturn 0\n"
    cut = truncate_for_mode(streamed, context, max_lines=10)
    assert cut.complete and cut.text == "\n\t\ty = x * 2\n\t\treturn y"


def test_on_a_blank_tab_indented_line_a_shallower_line_ends_the_completion() -> None:
    context = context_at("class A:\n\tdef f(self):\n\t\t|\n")
    streamed = "return 1\n\tdef g(self):\n"
    cut = truncate_for_mode(streamed, context, max_lines=10)
    assert cut.complete and cut.text == "return 1"


def test_trim_blank_edges_keeps_inner_blank_lines() -> None:
    assert trim_blank_edges(["", "  ", "a  ", "", "b", " "]) == ["a", "", "b"]
    assert trim_blank_edges(["", " "]) == []


def test_one_end_of_line_helper() -> None:
    assert [terminator(s) for s in ("a\r\n", "a\n", "a\r", "a", "")] == ["\r\n", "\n", "\r", "", ""]
    assert Document("file:///a", "x\r\ny\n").newline() == "\r\n"
    assert Document("file:///a", "x\ry").newline() == "\r"
    assert Document("file:///a", "no end").newline() == "\n"
    document = Document("file:///a", "ab\r\ncd")
    assert document.line_end(0).index == 2 and document.line_end(1).index == 2


def test_one_extension_table_for_the_terminal_and_code_actions() -> None:
    assert language_from_path("/w/run.sh") == "shellscript"
    assert language_from_path("file:///w/init.el") == "emacs-lisp"
    assert language_from_path("/w/Makefile") == "" and language_from_path("/w/X.PY") == "python"
    assert language_of("", "file:///w/run.sh") == "shellscript"
    assert comment_style("", "file:///w/init.el").line == ";;"
    assert comment_style("", "file:///w/run.sh").line == "#"
    assert language_of("python", "file:///w/run.sh") == "python"  # the editor's id wins


def test_the_step_is_the_most_common_increase_from_the_first_line_on() -> None:
    from codestral_ls.indentation import indent_unit

    assert indent_unit(["    a", "b", "    c"]) == "    "  # the first line counts from column 0
    assert indent_unit(["a", "  b", "c", "    d", "e", "    f"]) == "    "  # 4 twice, 2 once
    assert indent_unit(["a", "  b", "    c"]) == "  "
    assert indent_unit(["a", " * b", "c"]) is None  # one space is no step


def test_spaces_stay_spaces_whatever_their_count() -> None:
    from codestral_ls.indentation import reindent

    assert reindent("a:\n  b", "", "    ") == "a:\n  b"  # the model mirrors the code shown
    assert reindent("a:\n  b", "", "\t") == "a:\n\tb"
    assert reindent("a:\n\tb", "", "\t") == "a:\n\tb"


def test_a_first_line_is_repaired_only_when_the_rest_sits_deeper() -> None:
    from codestral_ls.indentation import reindent

    flat = ["    x = 1", "    y = 2"]
    assert reindent("x = 1\n    y = 2", "    ", original=flat) == "    x = 1\n        y = 2"
    block = ["    if x:", "        y = 2"]
    assert reindent("if x:\n        y = 2", "    ", original=block) == "    if x:\n        y = 2"


def test_trimming_nothing_gives_nothing() -> None:
    assert trim_blank_edges([]) == []


def test_steps_count_from_the_line_before_between_2_and_8() -> None:
    from codestral_ls.indentation import indent_unit

    assert indent_unit(["a", "    b", "      c", "        d"]) == "  "  # +4 once, +2 twice
    assert indent_unit(["a", "        b"]) == " " * 8
    assert indent_unit(["a", " " * 9 + "b"]) is None
