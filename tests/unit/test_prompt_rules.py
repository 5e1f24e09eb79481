"""Each rule of prompt.py on its own: the budgets, the line window, the lines around the cursor.

Found unpinned by ``python -m bench.mutation prompt``: the suffix budget, a file without a
final newline, column 0, a cursor line longer than the prefix budget, ``multiline``
``always``/``never``, the longest line that still gets completions, how far the lines above
and below are looked for, and the indentation a multi-line answer must keep.
"""

from __future__ import annotations

from codestral_ls.documents import Document
from codestral_ls.postprocess import truncate_for_mode
from codestral_ls.prompt import FimContext, Mode, build_context, line_in_window


def context_in(
    text: str,
    marker: str = "|",
    *,
    prefix: int = 10_000,
    suffix: int = 10_000,
    multiline: str = "auto",
) -> FimContext:
    """The context of ``text`` at ``marker`` (removed), with these budgets and setting."""
    before, _, after = text.partition(marker)
    document = Document("file:///t.py", before + after, language_id="python")
    cursor = document.cursor(before.count("\n"), len(before.split("\n")[-1]))
    return build_context(
        document,
        cursor,
        max_prefix_chars=prefix,
        max_suffix_chars=suffix,
        multiline=multiline,
    )


# -- the budgets -----------------------------------------------------------------------------


def test_the_suffix_takes_whole_lines_while_they_fit_its_budget() -> None:
    text = "x = |1\naa\nbbb\n"
    assert context_in(text, suffix=len("1\naa\nbbb\n")).suffix == "1\naa\nbbb\n"
    assert context_in(text, suffix=len("1\naa\nbbb\n") - 1).suffix == "1\naa\n"
    assert context_in(text, suffix=len("1\naa\n")).suffix == "1\naa\n"
    assert context_in(text, suffix=len("1\n")).suffix == "1\n"  # only the cursor's line


def test_a_cursor_line_longer_than_a_budget_is_cut_next_to_the_cursor() -> None:
    text = "import os\nvalue = compute(alpha, |beta, gamma)\nprint(value)\n"
    context = context_in(text, prefix=10, suffix=6)
    assert context.prompt == "te(alpha, "  # the 10 characters just before the cursor
    assert context.suffix == "beta, "  # and the 6 just after
    assert context.line_before == "value = compute(alpha, "  # the whole line, for the rules
    assert context.line_after == "beta, gamma)"


def test_at_column_0_the_prompt_ends_with_the_line_above() -> None:
    context = context_in("def f():\n    pass\n|print(f())\n")
    assert context.prompt == "def f():\n    pass\n"
    assert context.suffix == "print(f())\n"
    assert (context.line_before, context.line_after) == ("", "print(f())")
    assert context.mode is Mode.SINGLE_LINE  # code after the cursor: finish this line


def test_a_file_without_a_final_newline() -> None:
    context = context_in("a = 1\nb = a +|")
    assert context.prompt == "a = 1\nb = a +"
    assert context.suffix == ""
    assert context.line_below == ""
    at_end = context_in("a = 1\nb = 2|")
    assert (at_end.suffix, at_end.line_after, at_end.line_above) == ("", "", "a = 1")


def test_the_first_and_last_lines_have_nothing_above_or_below() -> None:
    context = context_in("only = |1")
    assert (context.line_above, context.line_below) == ("", "")


# -- the mode --------------------------------------------------------------------------------


def test_multiline_always_and_never_override_the_cursor() -> None:
    mid_line = "x = compute(|a)\n"
    opener = "def f(x):|\n"
    assert context_in(mid_line).mode is Mode.SINGLE_LINE
    assert context_in(mid_line, multiline="always").mode is Mode.MULTI_LINE
    assert context_in(opener).mode is Mode.MULTI_LINE
    assert context_in(opener, multiline="never").mode is Mode.SINGLE_LINE
    assert context_in(opener, multiline="always").mode is Mode.MULTI_LINE
    assert context_in(mid_line, multiline="never").mode is Mode.SINGLE_LINE


# -- the line window ---------------------------------------------------------------------------


def test_lines_up_to_10_000_characters_get_completions() -> None:
    document = Document(
        "file:///t.txt",
        "x" * 10_001 + "\n" + "y" * 10_000 + "\nshort\n" + "z" * 20_000,
    )
    assert [line_in_window(document, line) for line in range(4)] == [False, True, True, False]


def test_a_line_outside_the_document_is_left_to_the_position_check() -> None:
    # The server rejects such positions next (is_valid_position); this check must not fail on
    # them, nor borrow another line's length (the last line here is long).
    document = Document("file:///t.txt", "short\n" + "z" * 20_000)
    assert line_in_window(document, -1)
    assert line_in_window(document, document.line_count)
    assert line_in_window(document, document.line_count + 5)


# -- the lines around the cursor ---------------------------------------------------------------


def test_the_nearest_non_empty_lines_skip_blank_ones() -> None:
    context = context_in("first\nsecond\n\n   \n    |\n\nthird\nfourth\n")
    assert context.line_above == "second"  # not "first": the nearest one
    assert context.line_below == "third"  # not "fourth"


def test_lines_above_and_below_are_looked_for_50_lines_away_at_most() -> None:
    reached = context_in("above\n" + "\n" * 49 + "|\n" + "\n" * 49 + "below\n")
    assert (reached.line_above, reached.line_below) == ("above", "below")
    beyond = context_in("above\n" + "\n" * 50 + "|\n" + "\n" * 50 + "below\n")
    assert (beyond.line_above, beyond.line_below) == ("", "")


# -- the indentation a multi-line answer keeps ----------------------------------------------------


def test_after_an_opener_the_body_may_be_indented_by_one_column() -> None:
    opener = "if x:|\n"
    assert context_in(opener).min_indent == 1
    kept = truncate_for_mode("\n y = 1\n z = 2\nw = 3\n", context_in(opener), max_lines=10)
    assert (kept.text, kept.complete) == ("\n y = 1\n z = 2", True)


def test_on_a_blank_line_the_answer_keeps_its_indentation() -> None:
    context = context_in("def f():\n    |\n")
    assert context.min_indent == 4
    kept = truncate_for_mode("a = 1\n    b = 2\n  c = 3\n", context, max_lines=10)
    assert (kept.text, kept.complete) == ("a = 1\n    b = 2", True)


def test_a_tab_counts_as_4_columns_of_indentation() -> None:
    context = context_in("def f():\n\t|\n")
    assert context.min_indent == 4
    answer = "a = 1\n\tb = 2\n    c = 3\n  d = 4\n"
    kept = truncate_for_mode(answer, context, max_lines=10)
    assert (kept.text, kept.complete) == ("a = 1\n\tb = 2\n    c = 3", True)
