"""FIM context building, mode choice, stream truncation and cleanup."""

from __future__ import annotations

import pytest

from codestral_ls.documents import Document
from codestral_ls.postprocess import clean_completion, truncate_for_mode
from codestral_ls.prompt import FimContext, Mode, build_context, choose_mode


def context_at(text: str, marker: str = "|", **budget: int) -> FimContext:
    """Build the context of ``text`` at the position of ``marker`` (removed)."""
    before, _, after = text.partition(marker)
    document = Document("file:///t.py", before + after, language_id="python")
    line = before.count("\n")
    column = len(before.split("\n")[-1])
    return build_context(
        document,
        document.cursor(line, column),
        max_prefix_chars=budget.get("prefix", 10_000),
        max_suffix_chars=budget.get("suffix", 10_000),
    )


@pytest.mark.parametrize(
    ("before", "after", "mode"),
    [
        ("    x = foo(", ")", Mode.SINGLE_LINE),  # arguments inside auto-closed brackets
        ("    x = foo(", "", Mode.MULTI_LINE),  # an open list
        ("    x = ", "bar", Mode.SINGLE_LINE),  # mid-line
        ("    ", "", Mode.MULTI_LINE),  # empty line
        ("def f(x):", "", Mode.MULTI_LINE),  # block opener
        ("if (x) {", "}", Mode.MULTI_LINE),
        ("    return x", "", Mode.SINGLE_LINE),  # end of an ordinary statement
    ],
)
def test_mode(before: str, after: str, mode: Mode) -> None:
    assert choose_mode(before, after) is mode


def test_context_splits_at_cursor_and_respects_budgets() -> None:
    text = "import os\n\ndef add(a, b):\n    return |\n\nprint(add(1, 2))\n"
    context = context_at(text)
    assert context.prompt == "import os\n\ndef add(a, b):\n    return "
    assert context.suffix == "\n\nprint(add(1, 2))\n"
    assert context.line_above == "def add(a, b):"
    assert context.line_below == "print(add(1, 2))"
    small = context_at(text, prefix=26, suffix=3)
    assert small.prompt == "def add(a, b):\n    return "
    assert small.suffix == "\n\n"


def test_single_line_mid_line_stops_at_first_line_end() -> None:
    context = context_at("x = compute(|)\ny = 2\n")
    cut = truncate_for_mode("a, b)\nz = 3", context, max_lines=10)
    assert cut.complete and cut.text == "a, b)"
    assert not truncate_for_mode("a, b", context, max_lines=10).complete


def test_single_line_at_line_end_may_start_on_next_line() -> None:
    context = context_at("x = 1|\n")
    assert not truncate_for_mode("\n    ", context, max_lines=10).complete
    cut = truncate_for_mode("\ny = 2\nz = 3", context, max_lines=10)
    assert cut.complete and cut.text == "\ny = 2"


def test_multi_line_stops_when_the_block_ends() -> None:
    context = context_at("def f(x):|\n")
    streamed = "\n    y = x * 2\n    return y\n\ndef g():\n"
    cut = truncate_for_mode(streamed, context, max_lines=10)
    assert cut.complete
    assert clean_completion(cut.text, context) == "\n    y = x * 2\n    return y"


def test_multi_line_keeps_a_closing_brace_then_stops() -> None:
    context = context_at("function f() {|\n")
    cut = truncate_for_mode("\n  return 1;\n}\nfunction g() {}\n", context, max_lines=10)
    assert cut.complete and cut.text == "\n  return 1;\n}"


def test_multi_line_stops_before_repeating_the_next_line() -> None:
    context = context_at("def f(x):\n    |\n    return y\n")
    cut = truncate_for_mode("y = x + 1\n    return y\n", context, max_lines=10)
    assert cut.complete and cut.text == "y = x + 1"


def test_multi_line_respects_max_lines_and_waits_for_whole_lines() -> None:
    context = context_at("def f():\n    |\n")
    assert not truncate_for_mode("a = 1\n    b = 2", context, max_lines=3).complete
    cut = truncate_for_mode("a = 1\n    b = 2\n    c = 3\n    d = 4\n", context, max_lines=2)
    assert cut.complete and cut.text == "a = 1\n    b = 2"
    final = truncate_for_mode("a = 1\n    b = 2", context, max_lines=3, final=True)
    assert final.complete and final.text == "a = 1\n    b = 2"


@pytest.mark.parametrize(
    ("text", "marker_text", "expected"),
    [
        ("x)", "print(|)", "x"),  # trims what the suffix already has
        ("foo(a)", "print(|)", "foo(a)"),  # ...but not if it would unbalance the line
        ('hello"', 'say("|")', "hello"),
        ("   ", "x = |", None),  # whitespace only
        ("return x", "|return x\n", None),  # only repeats the text after the cursor
        ("total += 1", "total += 1\n|\n", None),  # only repeats the line above
        (" 42  ", "x = |", "42"),  # the doubled space and trailing blanks go
    ],
)
def test_clean_completion(text: str, marker_text: str, expected: str | None) -> None:
    assert clean_completion(text, context_at(marker_text)) == expected
