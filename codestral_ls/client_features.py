"""What the client declared it can do, read once at ``initialize``.

Every decision that depends on the editor (advertise inline completion, Markdown in
completion documentation, pull configuration, watch files, progress, and how code actions
and their edits are shaped) reads one :class:`ClientFeatures`, computed from the
``initialize`` parameters with pygls's ``get_capability``; nothing probes the raw
capabilities anywhere else.
"""

from __future__ import annotations

from dataclasses import dataclass

from lsprotocol import types
from pygls.capabilities import get_capability

#: ``clientInfo.name`` of Neovim's built-in client.
NEOVIM = "Neovim"


@dataclass(frozen=True)
class ClientFeatures:
    """The client's abilities that change what the server sends."""

    #: ``textDocument/inlineCompletion`` (LSP 3.18): only then is it advertised.
    inline_completion: bool = False
    #: Markdown among the completion item documentation formats.
    completion_markdown: bool = False
    #: ``workspace/configuration``: an empty didChangeConfiguration means "ask me".
    pull_configuration: bool = False
    #: Dynamic registration of ``workspace/didChangeWatchedFiles``.
    watch_files: bool = False
    #: ``window/workDoneProgress`` (server-initiated progress).
    work_done_progress: bool = False
    #: CodeAction literals (else bare Commands, per the spec).
    code_action_literals: bool = False
    #: Fills ``edit`` lazily through ``codeAction/resolve``.
    resolve_edit: bool = False
    #: Versioned TextDocumentEdits in a WorkspaceEdit.
    document_changes: bool = False
    #: CreateFile operations.
    create_files: bool = False
    #: ``workspace/applyEdit``.
    apply_edit: bool = False
    # What no capability says, known from ``clientInfo.name``:
    #: Redraws the last inline item at its range start on every key, before asking again
    #: (Neovim 0.12's vim.lsp.inline_completion). With a range starting at the cursor,
    #: ``<CR>`` on an auto-indented line left that column past the line's end: "Invalid 'col':
    #: out of range" on every key, and Neovim stopped asking. Such a client gets items whose
    #: range starts at column 0 (items.py).
    redraws_at_range_start: bool = False
    #: Asks for inline completions only after a typing pause of its own (Neovim 0.12: 200 ms
    #: after the last key), so the server's debounce would only add to it; believed while
    #: the client behaves so (scheduling.ClientPacing).
    waits_for_pauses: bool = False

    @classmethod
    def of(
        cls, capabilities: types.ClientCapabilities, client_info: types.ClientInfo | None = None
    ) -> ClientFeatures:
        def has(field: str) -> bool:
            return bool(get_capability(capabilities, field, None))

        formats = get_capability(
            capabilities, "text_document.completion.completion_item.documentation_format", None
        )
        resolve = get_capability(capabilities, "text_document.code_action.resolve_support", None)
        operations = list(
            get_capability(capabilities, "workspace.workspace_edit.resource_operations", None) or []
        )
        # Neovim declares resource operations without documentChanges yet applies both;
        # resource operations exist only inside documentChanges, so one implies the other.
        document_changes = has("workspace.workspace_edit.document_changes") or bool(operations)
        neovim = client_info is not None and client_info.name == NEOVIM
        return cls(
            inline_completion=get_capability(capabilities, "text_document.inline_completion")
            is not None,
            completion_markdown=bool(formats) and types.MarkupKind.Markdown in formats,
            pull_configuration=has("workspace.configuration"),
            watch_files=has("workspace.did_change_watched_files.dynamic_registration"),
            work_done_progress=has("window.work_done_progress"),
            code_action_literals=has("text_document.code_action.code_action_literal_support"),
            resolve_edit=has("text_document.code_action.data_support")
            and resolve is not None
            and "edit" in resolve.properties,
            document_changes=document_changes,
            create_files=document_changes and types.ResourceOperationKind.Create in operations,
            apply_edit=has("workspace.apply_edit"),
            redraws_at_range_start=neovim,
            waits_for_pauses=neovim,
        )
