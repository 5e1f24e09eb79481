"""The edit an action makes, as plain replacements and as the WorkspaceEdit a client applies.

Positions are converted to the client's units only here, from the same document version the
prompt was built from, and the edit names that version so a client refuses it on a newer one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from lsprotocol import types

from codestral_ls.documents import Cursor, Document


@dataclass(frozen=True)
class Replacement:
    """Replace ``start``..``end`` of one document (Python indices) with ``text``."""

    start: Cursor
    end: Cursor
    text: str


@dataclass(frozen=True)
class FileChange:
    """The replacements for one file; ``create`` makes the file first (it does not exist yet).

    ``version`` is the document version the replacements were computed against (``None`` for
    a file that is not open in the editor).
    """

    document: Document
    replacements: Sequence[Replacement] = field(default_factory=tuple)
    create: bool = False
    version: int | None = None


def workspace_edit(changes: Sequence[FileChange], *, versioned: bool) -> types.WorkspaceEdit:
    """The edit in the form the client takes: ``documentChanges`` (versioned, can create
    files) when it supports them, else the plain ``changes`` map."""
    if not versioned:
        if any(change.create for change in changes):
            raise ValueError("creating a file needs documentChanges support")
        return types.WorkspaceEdit(
            changes={c.document.uri: _text_edits(c) for c in changes if c.replacements}
        )
    operations: list[types.TextDocumentEdit | types.CreateFile] = []
    for change in changes:
        if change.create:
            operations.append(
                types.CreateFile(
                    uri=change.document.uri,
                    options=types.CreateFileOptions(overwrite=False, ignore_if_exists=True),
                )
            )
        if change.replacements:
            operations.append(
                types.TextDocumentEdit(
                    text_document=types.OptionalVersionedTextDocumentIdentifier(
                        uri=change.document.uri, version=change.version
                    ),
                    edits=list(_text_edits(change)),
                )
            )
    return types.WorkspaceEdit(document_changes=operations)


def _text_edits(change: FileChange) -> list[types.TextEdit]:
    document = change.document
    return [
        types.TextEdit(
            range=types.Range(
                start=types.Position(line=r.start.line, character=document.column(r.start)),
                end=types.Position(line=r.end.line, character=document.column(r.end)),
            ),
            new_text=r.text,
        )
        for r in change.replacements
    ]


__all__ = ["FileChange", "Replacement", "workspace_edit"]
