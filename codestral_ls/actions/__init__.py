"""Chat as LSP code actions: ask Codestral about the selection, get the answer as an edit.

Every LSP editor with code actions gets chat without a plugin: Explain, Refactor / Improve,
Fix (where the client reports diagnostics), Add docstring, Write tests, a Custom instruction
read from a ``codestral: ...`` comment, and Reply in ``*.codestral.md`` chat buffers.

:func:`register` adds the three LSP entry points; the work is in :mod:`.service` and the plain
modules it uses (:mod:`.catalog`, :mod:`.target`, :mod:`.prompts`, :mod:`.edits`,
:mod:`.chat_buffer`, :mod:`.comments`, :mod:`.run`):

* ``textDocument/codeAction`` lists what fits the selection, at no cost;
* ``codeAction/resolve`` computes the edit of the picked action (clients with resolve support);
* ``workspace/executeCommand`` computes it and sends it with ``workspace/applyEdit`` (clients
  without resolve support).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from codestral_ls.actions.catalog import ACTION_KINDS, RUN_COMMAND

if TYPE_CHECKING:
    from codestral_ls.actions.service import ActionService


def register(server: Any) -> None:
    """Add the code-action features to ``server`` (a CodestralServer).

    The service (and the HTTP client and parsers behind it) is imported on first use, not
    here: the editor waits for ``initialize`` while this module is imported. Nor is lsprotocol
    imported with this package: ``early_initialize`` reads the catalog before pygls is loaded.
    """
    from lsprotocol import types

    service: ActionService | None = None

    def actions() -> ActionService:
        nonlocal service
        if service is None:
            from codestral_ls.actions.service import ActionService

            service = ActionService(server)
        return service

    @server.feature(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(resolve_provider=True, code_action_kinds=ACTION_KINDS),
    )
    def code_action(params: types.CodeActionParams) -> list[types.CodeAction | types.Command]:
        return actions().list_actions(params)

    @server.feature(types.CODE_ACTION_RESOLVE)
    async def code_action_resolve(action: types.CodeAction) -> types.CodeAction:
        return await actions().resolve(action)

    @server.command(RUN_COMMAND)
    async def run_action(*arguments: Any) -> None:
        await actions().run_command(*arguments)


__all__ = ["register"]
