"""Each rule of postprocess.py on its own: where an answer is cut, and what is cleaned away.

Found unpinned by ``python -m bench.mutation postprocess``: mid-line truncation, the
blank-line and repeated-line rules, the line below, and how brackets and quotes are weighed.
"""

from __future__ import annotations

from codestral_ls.postprocess import clean_completion, truncate_for_mode
from tests.unit.test_prompt_and_postprocess import context_at


def cut(text: str, marked: str, *, max_lines: int = 10, final: bool = False) -> tuple[str, bool]:
    result = truncate_for_mode(text, context_at(marked), max_lines=max_lines, final=final)
    return result.text, result.complete


def test_mid_line_the_answer_ends_with_the_first_line_break() -> None:
    mid_line = "f(a, |z)\n"
    assert cut("b, \nprint(x)", mid_line) == ("b, ", True)
    assert cut("b, \r\nprint(x)", mid_line) == ("b, ", True)  # a CR ends a line too
    assert cut("\nprint(x)", mid_line) == ("", True)  # nothing fits on this line
    assert cut("b, ", mid_line) == ("b, ", False)  # the line is still coming
    assert cut("b, ", mid_line, final=True) == ("b, ", True)


def test_at_a_line_end_a_single_line_answer_may_start_below() -> None:
    assert cut("\n    return 1\n    x", "    y = 2|\n") == ("\n    return 1", True)
    assert cut("\n   ", "    y = 2|\n") == ("\n   ", False)  # only blanks so far


def test_one_blank_line_is_kept_two_end_the_completion() -> None:
    opener = "def f(x):\n    |\n"
    assert cut("a = 1\n\n    b = 2\n", opener) == ("a = 1\n\n    b = 2\n", False)  # all of it
    assert cut("a = 1\n\n\n    b = 2\n", opener) == ("a = 1\n", True)


def test_blank_lines_before_any_content_do_not_end_it() -> None:
    assert cut("\n\n\n    a = 1\n    b = 2", "def f(x):|\n") == (
        "\n\n\n    a = 1\n    b = 2",
        False,
    )
    assert cut("\n\n\n    a = 1\n", "def f(x):|\n", final=True)[1]


def test_a_line_repeated_three_times_is_cut_with_its_repeats() -> None:
    opener = "def f(x):\n    |\n"
    assert cut("a = 1\n    b()\n    b()\n    b()\n", opener) == ("a = 1", True)
    assert cut("a = 1\n    b()\n    c()\n    b()\n", opener)[1] is False
    assert cut("a\n    \n    \n", opener)[1]  # blank repeats end by the blank rule instead


def test_only_a_repeat_of_the_line_below_stops_the_completion() -> None:
    below = "def f(x):\n    |\n    return y\n"
    assert cut("a = 1\n    b = 2\n    c = 3\n", below)[1] is False
    assert cut("a = 1\n    return y\n", below) == ("a = 1", True)


def test_a_closing_line_is_kept_only_after_some_content() -> None:
    assert cut("\n}\nint g() {}\n", "int f() {|\n") == ("", True)
    assert cut("\n  return 1;\n}\n", "int f() {|\n") == ("\n  return 1;\n}", True)


def test_multi_line_trims_nothing_when_the_answer_spans_lines() -> None:
    assert clean_completion("a,\n    b)", context_at("f(|)\n")) == "a,\n    b)"


def test_on_a_tie_the_longer_trim_wins() -> None:
    # '1""' before '""': keeping it and trimming both quotes balance the line equally.
    assert clean_completion('1""', context_at('x = |""\n')) == "1"


def test_quotes_count_by_parity() -> None:
    # Four quotes are balanced: nothing to trim, although one quote is also what follows.
    assert clean_completion('"a""', context_at('x = |"\n')) == '"a""'
