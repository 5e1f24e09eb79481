"""Shape a completion into the LSP results editors expect.

Inline completion (ghost text: Neovim 0.12, VS Code, lsp-mode) gets one item whose range runs
from the cursor to the end of its line, with the rest of that line appended to the text, as
Copilot's server does: the result of accepting it is the same as inserting at the cursor, and
editors that draw the item over its range (Neovim's "overlay") show the line as it will be.
For Neovim, which redraws the item at its range start as the user types, the range starts at
column 0 of the line instead (``ClientFeatures.redraws_at_range_start``).

Classic completion (Helix, eglot, nvim-cmp) gets one item whose edit starts at the beginning of
the word being typed, so the client's fuzzy filter, which matches against the typed word,
keeps it in the list; ``isIncomplete`` makes the client ask again as the user types.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from lsprotocol import types

from codestral_ls.completion import Completion
from codestral_ls.documents import Cursor, Document

#: A word, matched on the reversed text before the cursor: ``\w*$`` searched forwards retries
#: from every position and is quadratic in a long word (40,000 hex digits: 30 s).
_WORD = re.compile(r"\w*")
_LABEL_CHARS = 48


def inline_items(
    document: Document,
    suggestions: Sequence[tuple[Completion, types.Command | None]],
    *,
    from_line_start: bool = False,
) -> types.InlineCompletionList:
    """One ghost-text item per suggestion, in order (editors cycle through them); each
    carries the command the editor runs when the user accepts it.

    ``from_line_start``: the range starts at column 0 of the cursor's line and the text repeats
    what is before the cursor, so the item stays drawable however that line shrinks (for
    clients that redraw an item at its range start as the user types, see
    ``ClientFeatures.redraws_at_range_start``). The edit it makes is the same; Copilot's
    server answers every client in this shape.
    """
    return types.InlineCompletionList(
        items=[
            _inline_item(document, completion, command, from_line_start)
            for completion, command in suggestions
        ]
    )


def _inline_item(
    document: Document,
    completion: Completion,
    command: types.Command | None,
    from_line_start: bool,
) -> types.InlineCompletionItem:
    cursor = completion.cursor
    line = document.line_text(cursor.line)
    rest_of_line = line[cursor.index :]
    start_index = 0 if from_line_start else cursor.index
    start = _position(document, Cursor(cursor.line, start_index))
    end = _position(document, Cursor(cursor.line, len(line)))
    return types.InlineCompletionItem(
        insert_text=line[start_index : cursor.index] + completion.text + rest_of_line,
        range=types.Range(start=start, end=end),
        command=command,
    )


def completion_items(
    document: Document, completion: Completion, language_id: str, *, markdown: bool = True
) -> types.CompletionList:
    """One item completing the word at the cursor; ``documentation`` shows the whole line(s),
    as a fenced code block for clients that render Markdown, else as a plain string."""
    cursor = completion.cursor
    before = document.line_text(cursor.line)[: cursor.index]
    word = word_before(before)
    word_start = Cursor(cursor.line, cursor.index - len(word))
    new_text = word + completion.text
    item = types.CompletionItem(
        label=_label(word, completion.text),
        kind=types.CompletionItemKind.Text,
        detail="Codestral",
        documentation=_documentation(before + completion.text, language_id, markdown),
        filter_text=new_text,
        sort_text="0",
        preselect=True,
        insert_text_format=types.InsertTextFormat.PlainText,
        text_edit=types.TextEdit(
            range=types.Range(
                start=_position(document, word_start), end=_position(document, cursor)
            ),
            new_text=new_text,
        ),
    )
    return types.CompletionList(is_incomplete=True, items=[item])


def word_before(text: str) -> str:
    """The word (``\\w`` characters) that ``text`` ends with, in linear time."""
    return _WORD.match(text[::-1]).group(0)[::-1]  # type: ignore[union-attr]


def _documentation(code: str, language_id: str, markdown: bool) -> str | types.MarkupContent:
    """A fenced block for Markdown clients; else a bare string, which every client takes
    (a client that declares no documentation formats declares no MarkupContent kind)."""
    if not markdown:
        return code
    fence = "````" if "```" in code else "```"
    return types.MarkupContent(
        kind=types.MarkupKind.Markdown, value=f"{fence}{language_id}\n{code}\n{fence}"
    )


def _label(word: str, text: str) -> str:
    first = (word + text).strip().splitlines()[0] if (word + text).strip() else text
    more = "\n" in text.strip()
    if len(first) > _LABEL_CHARS:
        return first[: _LABEL_CHARS - 1] + "…"
    return first + (" …" if more else "")


def _position(document: Document, cursor: Cursor) -> types.Position:
    return types.Position(line=cursor.line, character=document.column(cursor))
