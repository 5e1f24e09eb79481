"""The client's abilities, read once at initialize from the capabilities real editors send."""

from __future__ import annotations

import dataclasses

from lsprotocol import types
from pytest_lsp import client_capabilities

from codestral_ls.client_features import ClientFeatures
from codestral_ls.server import create_server


def test_neovim_declares_actions_edits_markdown_and_progress() -> None:
    neovim = ClientFeatures.of(client_capabilities("neovim@v0.11.0"))
    assert neovim.code_action_literals and neovim.resolve_edit and neovim.apply_edit
    assert neovim.document_changes and neovim.create_files  # from resource operations alone
    assert neovim.completion_markdown and neovim.pull_configuration
    assert neovim.work_done_progress and not neovim.inline_completion  # 0.11: none yet


def test_vscode_and_emacs() -> None:
    vscode = ClientFeatures.of(client_capabilities("visual-studio-code"))
    assert vscode.resolve_edit and vscode.create_files and vscode.completion_markdown
    emacs = ClientFeatures.of(client_capabilities("emacs"))
    assert emacs.code_action_literals and not emacs.resolve_edit and not emacs.create_files


def test_nothing_declared_is_nothing_assumed() -> None:
    nothing = ClientFeatures.of(types.ClientCapabilities())
    assert nothing == ClientFeatures()
    assert not any(dataclasses.astuple(nothing))


def test_each_feature_comes_from_its_own_capability() -> None:
    T, W = types.TextDocumentClientCapabilities, types.WorkspaceClientCapabilities
    cases = {
        "inline_completion": types.ClientCapabilities(
            text_document=T(inline_completion=types.InlineCompletionClientCapabilities())
        ),
        "completion_markdown": types.ClientCapabilities(
            text_document=T(
                completion=types.CompletionClientCapabilities(
                    completion_item=types.ClientCompletionItemOptions(
                        documentation_format=[types.MarkupKind.PlainText, types.MarkupKind.Markdown]
                    )
                )
            )
        ),
        "pull_configuration": types.ClientCapabilities(workspace=W(configuration=True)),
        "watch_files": types.ClientCapabilities(
            workspace=W(
                did_change_watched_files=types.DidChangeWatchedFilesClientCapabilities(
                    dynamic_registration=True
                )
            )
        ),
        "work_done_progress": types.ClientCapabilities(
            window=types.WindowClientCapabilities(work_done_progress=True)
        ),
        "apply_edit": types.ClientCapabilities(workspace=W(apply_edit=True)),
        "document_changes": types.ClientCapabilities(
            workspace=W(workspace_edit=types.WorkspaceEditClientCapabilities(document_changes=True))
        ),
    }
    for name, capabilities in cases.items():
        features = ClientFeatures.of(capabilities)
        declared = {field for field, value in dataclasses.asdict(features).items() if value}
        assert declared == {name}, name


def test_markdown_must_be_declared_not_just_a_format_list() -> None:
    plain = types.ClientCapabilities(
        text_document=types.TextDocumentClientCapabilities(
            completion=types.CompletionClientCapabilities(
                completion_item=types.ClientCompletionItemOptions(
                    documentation_format=[types.MarkupKind.PlainText]
                )
            )
        )
    )
    assert not ClientFeatures.of(plain).completion_markdown


def test_resolving_edits_needs_data_and_edit_among_resolvable_properties() -> None:
    def code_action(data: bool, properties: list[str]) -> types.ClientCapabilities:
        return types.ClientCapabilities(
            text_document=types.TextDocumentClientCapabilities(
                code_action=types.CodeActionClientCapabilities(
                    data_support=data,
                    resolve_support=types.ClientCodeActionResolveOptions(properties=properties),
                )
            )
        )

    assert ClientFeatures.of(code_action(True, ["edit"])).resolve_edit
    assert not ClientFeatures.of(code_action(False, ["edit"])).resolve_edit
    assert not ClientFeatures.of(code_action(True, ["command"])).resolve_edit


def test_creating_files_needs_the_create_operation() -> None:
    def operations(*kinds: types.ResourceOperationKind) -> types.ClientCapabilities:
        edit = types.WorkspaceEditClientCapabilities(resource_operations=list(kinds))
        return types.ClientCapabilities(
            workspace=types.WorkspaceClientCapabilities(workspace_edit=edit)
        )

    rename = ClientFeatures.of(operations(types.ResourceOperationKind.Rename))
    assert rename.document_changes and not rename.create_files
    create = ClientFeatures.of(operations(types.ResourceOperationKind.Create))
    assert create.document_changes and create.create_files


def test_the_server_reads_them_once_at_initialize() -> None:
    server = create_server({"CODESTRAL_API_KEY": "test-key"})
    assert server.client_features == ClientFeatures()
    params = types.InitializeParams(capabilities=client_capabilities("neovim@v0.11.0"))
    result = None
    initialize = server.protocol.lsp_initialize(params)
    try:
        step = next(initialize)
        while True:
            handler, args, _ = step
            step = initialize.send(handler(*args))
    except StopIteration as stop:
        result = stop.value
    assert server.client_features == ClientFeatures.of(params.capabilities)
    assert result.capabilities.inline_completion_provider is None  # Neovim 0.11: none declared
