"""The LSP items a completion becomes (items.py), without a client: ranges, texts, labels."""

from __future__ import annotations

from lsprotocol import types

from codestral_ls.completion import Completion
from codestral_ls.documents import Cursor, Document, PositionEncoding
from codestral_ls.items import completion_items, inline_items, word_before

ACCEPTED = types.Command(title="accepted", command="codestral.accepted")


def position(line: int, character: int) -> types.Position:
    return types.Position(line=line, character=character)


def test_an_inline_item_runs_to_the_end_of_the_line_and_keeps_its_rest() -> None:
    document = Document("file:///a.py", "x = foo(\nnext\n")
    [item] = inline_items(document, [(Completion("a, b", Cursor(0, 8), "api"), ACCEPTED)]).items
    assert item.insert_text == "a, b"
    assert item.range == types.Range(start=position(0, 8), end=position(0, 8))
    assert item.command is ACCEPTED
    document = Document("file:///a.py", "print(x)\n")
    [item] = inline_items(document, [(Completion("len(", Cursor(0, 6), "api"), None)]).items
    assert item.insert_text == "len(x)"  # the rest of the line follows the completion
    assert item.range == types.Range(start=position(0, 6), end=position(0, 8))
    assert item.command is None


def test_from_line_start_the_item_repeats_what_is_before_the_cursor() -> None:
    document = Document("file:///a.py", "    y = f(z)\n")
    completion = Completion("g(", Cursor(0, 10), "api")
    [item] = inline_items(document, [(completion, None)], from_line_start=True).items
    assert item.insert_text == "    y = f(g(z)"
    assert item.range == types.Range(start=position(0, 0), end=position(0, 12))


def test_suggestions_keep_their_order_and_their_commands() -> None:
    document = Document("file:///a.py", "z = \n")
    commands = [types.Command(title=str(i), command="codestral.accepted") for i in range(3)]
    suggestions = [
        (Completion(t, Cursor(0, 4), "api"), c) for t, c in zip("abc", commands, strict=True)
    ]
    items = inline_items(document, suggestions).items
    assert [i.insert_text for i in items] == ["a", "b", "c"]
    assert [i.command for i in items] == commands


def test_inline_ranges_are_in_the_negotiated_encoding() -> None:
    for encoding, cursor_column, line_end in (
        (PositionEncoding.UTF16, 6, 9),  # "é" is 1 unit, "😀" 2
        (PositionEncoding.UTF8, 9, 12),  # "é" is 2 bytes, "😀" 4
        (PositionEncoding.UTF32, 5, 8),
    ):
        document = Document("file:///a.py", "é😀 = (x)\n", encoding=encoding)
        cursor = Cursor(0, 5)  # after "é😀 = "
        [item] = inline_items(document, [(Completion("1", cursor, "api"), None)]).items
        assert item.range.start == position(0, cursor_column), encoding
        assert item.range.end == position(0, line_end), encoding


def test_a_completion_item_completes_the_word_being_typed() -> None:
    document = Document("file:///a.py", "    total = compu\n")
    completion = Completion("te_total(xs)", Cursor(0, 17), "api")
    result = completion_items(document, completion, "python")
    assert result.is_incomplete
    [item] = result.items
    assert item.text_edit == types.TextEdit(
        range=types.Range(start=position(0, 12), end=position(0, 17)),
        new_text="compute_total(xs)",
    )
    assert item.filter_text == "compute_total(xs)"  # matches what the user typed: "compu"
    assert item.label == "compute_total(xs)"
    assert item.kind == types.CompletionItemKind.Text and item.detail == "Codestral"
    assert item.preselect is True and item.sort_text == "0"
    assert item.insert_text_format == types.InsertTextFormat.PlainText


def test_after_a_non_word_character_the_item_starts_at_the_cursor() -> None:
    document = Document("file:///a.py", "f(\n")
    [item] = completion_items(document, Completion("x)", Cursor(0, 2), "api"), "python").items
    assert isinstance(item.text_edit, types.TextEdit)
    assert item.text_edit.range.start == item.text_edit.range.end == position(0, 2)
    assert item.text_edit.new_text == "x)" and item.label == "x)"


def test_labels_are_the_first_line_cut_to_48_characters() -> None:
    document = Document("file:///a.py", "\n")
    cursor = Cursor(0, 0)

    def label(text: str) -> str:
        [item] = completion_items(document, Completion(text, cursor, "api"), "python").items
        return item.label

    assert label("x" * 48) == "x" * 48
    assert label("x" * 49) == "x" * 47 + "…"
    assert label("if x:\n    return 1") == "if x: …"  # more lines follow
    assert label("\n    return 1") == "return 1"  # the first line with text
    assert label("return 1\n") == "return 1"  # a final newline is not more
    assert label("   ") == "   "  # nothing visible: the text itself


def test_documentation_is_the_whole_line_fenced_for_markdown_clients() -> None:
    document = Document("file:///a.py", "x = comp\n")
    completion = Completion("ute()", Cursor(0, 8), "api")
    [item] = completion_items(document, completion, "python").items
    assert item.documentation == types.MarkupContent(
        kind=types.MarkupKind.Markdown, value="```python\nx = compute()\n```"
    )
    [plain] = completion_items(document, completion, "python", markdown=False).items
    assert plain.documentation == "x = compute()"


def test_code_with_a_fence_in_it_gets_a_longer_fence() -> None:
    document = Document("file:///a.md", "\n")
    completion = Completion("```py", Cursor(0, 0), "api")
    [item] = completion_items(document, completion, "markdown").items
    assert isinstance(item.documentation, types.MarkupContent)
    assert item.documentation.value == "````markdown\n```py\n````"


def test_word_before() -> None:
    assert word_before("x = compu") == "compu"
    assert word_before("x = ") == ""
    assert word_before("") == ""
    assert word_before("a.b_c1") == "b_c1"
    assert word_before("naïve") == "naïve"  # \w is Unicode
