"""An editor for the code-action tests: it lists, resolves and runs actions, applies edits.

``ActionEditor`` starts ``codestral-ls`` as a subprocess through pytest-lsp with capabilities
chosen per test (position encoding, resolve support, file creation, progress), keeps the text
and version of each document it opened, and applies WorkspaceEdits the way an editor does:
refusing a versioned edit made for another version, creating files, converting columns from
the negotiated encoding.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, Union

from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

from codestral_ls.documents import PositionEncoding
from tests.e2e.client import SERVER_COMMAND, server_environment
from tests.tools import HANG

KINDS = ["", "quickfix", "refactor", "refactor.rewrite", "source"]


def capabilities(
    *,
    encoding: str = "utf-8",
    literals: bool = True,
    resolve: bool = True,
    create_files: bool = True,
    progress: bool = True,
) -> types.ClientCapabilities:
    """Client capabilities with just the features the code-action tests vary."""
    code_action = types.CodeActionClientCapabilities(
        code_action_literal_support=(
            types.ClientCodeActionLiteralOptions(
                code_action_kind=types.ClientCodeActionKindOptions(value_set=KINDS)
            )
            if literals
            else None
        ),
        data_support=resolve,
        resolve_support=types.ClientCodeActionResolveOptions(properties=["edit"])
        if resolve
        else None,
    )
    operations = [types.ResourceOperationKind.Create] if create_files else []
    return types.ClientCapabilities(
        general=types.GeneralClientCapabilities(
            position_encodings=[types.PositionEncodingKind(encoding)]
        ),
        text_document=types.TextDocumentClientCapabilities(code_action=code_action),
        workspace=types.WorkspaceClientCapabilities(
            apply_edit=True,
            workspace_edit=types.WorkspaceEditClientCapabilities(
                document_changes=True, resource_operations=operations
            ),
        ),
        window=types.WindowClientCapabilities(work_done_progress=progress),
    )


def _read_code_actions_by_shape(client: LanguageClient) -> None:
    """Tell CodeActions from Commands as editors do: a Command's ``command`` is a string.

    lsprotocol's own hook takes anything with a ``command`` key for a Command, which turns a
    CodeAction carrying a command (the form servers use for clients without resolve) into a
    Command with the nested command's text as its name.
    """
    converter = client.protocol._converter

    def structure(obj: Any, _type: Any) -> types.Command | types.CodeAction:
        if isinstance(obj.get("command"), str):
            return converter.structure(obj, types.Command)
        return converter.structure(obj, types.CodeAction)

    converter.register_structure_hook(Union[types.Command, types.CodeAction], structure)  # noqa: UP007


class ActionEditor:
    """One server process and a client that keeps and edits its documents."""

    def __init__(self, client: LanguageClient, encoding: PositionEncoding) -> None:
        self.client = client
        self.encoding = encoding
        self.texts: dict[str, str] = {}
        self.versions: dict[str, int] = {}
        self.applied: list[types.ApplyWorkspaceEditParams] = []
        #: Awaited before an edit the server sends is applied (a user's y/n in eglot).
        self.confirm: Callable[[types.ApplyWorkspaceEditParams], Awaitable[None]] | None = None
        self.resolves = False
        self.opened: set[str] = set()
        self.server_capabilities = types.ServerCapabilities()

    @classmethod
    async def start(
        cls,
        base_url: str | None,
        caps: types.ClientCapabilities,
        options: dict[str, Any] | None = None,
    ) -> ActionEditor:
        config = ClientServerConfig(
            server_command=SERVER_COMMAND, server_env=server_environment(base_url)
        )
        client = await config.start()
        _read_code_actions_by_shape(client)
        result = await client.initialize_session(
            types.InitializeParams(
                capabilities=caps, initialization_options=options or {}, process_id=os.getpid()
            )
        )
        editor = cls(client, PositionEncoding.from_lsp(result.capabilities.position_encoding))
        code_action = caps.text_document.code_action if caps.text_document else None
        editor.resolves = bool(code_action and code_action.resolve_support)
        editor.server_capabilities = result.capabilities

        @client.feature(types.WORKSPACE_APPLY_EDIT)
        async def apply_edit(
            _client: LanguageClient, params: types.ApplyWorkspaceEditParams
        ) -> types.ApplyWorkspaceEditResult:
            editor.applied.append(params)
            if editor.confirm is not None:  # eglot asks the user first (y/n)
                await editor.confirm(params)
            problem = editor.apply(params.edit)
            return types.ApplyWorkspaceEditResult(applied=problem is None, failure_reason=problem)

        return editor

    async def stop(self) -> None:
        try:
            await asyncio.wait_for(self.client.shutdown_session(), HANG)
        finally:
            await self.client.stop()

    # -- documents -------------------------------------------------------------------------

    def open(self, uri: str, text: str, language: str = "python") -> None:
        self.texts[uri], self.versions[uri] = text, 1
        self.opened.add(uri)
        self.client.text_document_did_open(
            types.DidOpenTextDocumentParams(
                text_document=types.TextDocumentItem(
                    uri=uri, language_id=language, version=1, text=text
                )
            )
        )

    def type_at_start(self, uri: str, typed: str) -> None:
        """An edit by the user: ``typed`` inserted at the top of the document."""
        self.type_at(uri, types.Position(line=0, character=0), typed)

    def type_at_end(self, uri: str, typed: str) -> None:
        """An edit by the user: ``typed`` appended to the document."""
        lines = self.texts[uri].split("\n")
        end = types.Position(
            line=len(lines) - 1, character=self.encoding.column_of_index(lines[-1], len(lines[-1]))
        )
        self.type_at(uri, end, typed)

    def type_at(self, uri: str, start: types.Position, typed: str) -> None:
        """An edit by the user: ``typed`` inserted at ``start``."""
        self.texts[uri] = self._edited(
            self.texts[uri],
            [types.TextEdit(range=types.Range(start=start, end=start), new_text=typed)],
        )
        self.versions[uri] += 1
        self.client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(
                    uri=uri, version=self.versions[uri]
                ),
                content_changes=[
                    types.TextDocumentContentChangePartial(
                        range=types.Range(start=start, end=start), text=typed
                    )
                ],
            )
        )

    def position_of(self, uri: str, needle: str, *, after: bool = False) -> types.Position:
        """The position where ``needle`` starts (or ends) in the document, in client units."""
        text = self.texts[uri]
        offset = text.index(needle) + (len(needle) if after else 0)
        line = text.count("\n", 0, offset)
        line_start = text.rfind("\n", 0, offset) + 1
        content = text[line_start:].split("\n", 1)[0]
        return types.Position(
            line=line, character=self.encoding.column_of_index(content, offset - line_start)
        )

    def range_of(self, uri: str, first: str, last: str | None = None) -> types.Range:
        """From the start of ``first`` to the end of ``last`` (or of ``first``)."""
        start = self.position_of(uri, first)
        end = self.position_of(uri, last or first, after=True)
        return types.Range(start=start, end=end)

    # -- code actions ----------------------------------------------------------------------

    async def actions(
        self,
        uri: str,
        where: types.Range,
        diagnostics: list[types.Diagnostic] | None = None,
        only: list[str] | None = None,
    ) -> list[types.CodeAction | types.Command]:
        result = await asyncio.wait_for(
            self.client.text_document_code_action_async(
                types.CodeActionParams(
                    text_document=types.TextDocumentIdentifier(uri=uri),
                    range=where,
                    context=types.CodeActionContext(diagnostics=diagnostics or [], only=only),
                )
            ),
            15,
        )
        return list(result or [])

    async def action(self, uri: str, where: types.Range, title_start: str, **kw: Any) -> Any:
        found = [a for a in await self.actions(uri, where, **kw) if a.title.startswith(title_start)]
        assert len(found) == 1, [a.title for a in await self.actions(uri, where, **kw)]
        return found[0]

    def request(self, method: str, params: Any) -> tuple[str, asyncio.Future[Any]]:
        """Send a request now; its id (for ``$/cancelRequest``) and a future of its result."""
        msg_id = str(uuid.uuid4())
        future = self.client.protocol.send_request(method, params, msg_id=msg_id)
        return msg_id, asyncio.wrap_future(future)

    async def resolve(self, action: types.CodeAction) -> types.CodeAction:
        _id, future = self.request(types.CODE_ACTION_RESOLVE, action)
        return await asyncio.wait_for(future, HANG)

    async def execute(self, command: types.Command) -> Any:
        _id, future = self.request(
            types.WORKSPACE_EXECUTE_COMMAND,
            types.ExecuteCommandParams(command=command.command, arguments=command.arguments),
        )
        return await asyncio.wait_for(future, HANG)

    async def execute_and_settle(self, command: types.Command) -> Any:
        """Run ``command`` and wait for what it ends in: an edit applied or a message.

        The server answers ``workspace/executeCommand`` at once (eglot and Helix wait for that
        answer, frozen); the edit comes afterwards, through ``workspace/applyEdit``."""
        applied, told = len(self.applied), len(self.client.messages)
        answer = await self.execute(command)
        await self.until(lambda: len(self.applied) > applied or len(self.client.messages) > told)
        return answer

    async def run(self, action: types.CodeAction | types.Command) -> None:
        """Pick an action as an editor does: resolve and apply its edit, or run its command."""
        if isinstance(action, types.Command):
            await self.execute_and_settle(action)
            return
        if action.edit is None and action.command is None:
            action = await self.resolve(action)
        if action.edit is not None:
            problem = self.apply(action.edit)
            assert problem is None, problem
        if action.command is not None:
            await self.execute_and_settle(action.command)

    def cancel_progress(self, token: types.ProgressToken) -> None:
        self.client.protocol.notify(
            types.WINDOW_WORK_DONE_PROGRESS_CANCEL, types.WorkDoneProgressCancelParams(token=token)
        )

    def cancel_request(self, msg_id: str) -> None:
        self.client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id=msg_id))

    # -- applying edits --------------------------------------------------------------------

    def apply(self, edit: types.WorkspaceEdit) -> str | None:
        """Apply ``edit`` as an editor does; the reason it was refused, or ``None``."""
        for change in edit.document_changes or []:
            if isinstance(change, types.TextDocumentEdit):
                uri, version = change.text_document.uri, change.text_document.version
                if version is not None and self.versions.get(uri) != version:
                    return f"{uri} is at version {self.versions.get(uri)}, not {version}"
        new_texts = dict(self.texts)
        text_edits: dict[str, list[Any]] = {}
        for change in edit.document_changes or []:
            if isinstance(change, types.CreateFile):
                new_texts.setdefault(change.uri, "")
            elif isinstance(change, types.TextDocumentEdit):
                uri = change.text_document.uri
                new_texts[uri] = self._edited(new_texts[uri], change.edits)
                text_edits.setdefault(uri, []).extend(change.edits)
            else:
                return f"unsupported operation {change!r}"
        for uri, edits in (edit.changes or {}).items():
            new_texts[uri] = self._edited(new_texts[uri], edits)
            text_edits.setdefault(uri, []).extend(edits)
        changed = [uri for uri, text in new_texts.items() if self.texts.get(uri) != text]
        self.texts = new_texts
        for uri in changed:
            self.versions[uri] = self.versions.get(uri, 0) + 1
            if uri in self.opened:  # the editor tells the server, as after any edit
                self._tell_changed(uri, text_edits.get(uri, []))
        return None

    def _tell_changed(self, uri: str, edits: list[Any]) -> None:
        """didChange for applied ``edits``, incremental as editors send them: the last in the
        text first, so that each range is still where it was."""
        ordered = sorted(
            edits, key=lambda e: (e.range.start.line, e.range.start.character), reverse=True
        )
        self.client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(
                    uri=uri, version=self.versions[uri]
                ),
                content_changes=[
                    types.TextDocumentContentChangePartial(range=e.range, text=e.new_text)
                    for e in ordered
                ],
            )
        )

    def _edited(self, text: str, text_edits: list[Any]) -> str:
        def offset(position: types.Position) -> int:
            lines = text.split("\n")
            start = sum(len(line) + 1 for line in lines[: position.line])
            content = lines[position.line].rstrip("\r") if position.line < len(lines) else ""
            return start + self.encoding.index_of_column(content, position.character)

        spans = sorted(
            ((offset(e.range.start), offset(e.range.end), e.new_text) for e in text_edits),
            reverse=True,
        )
        for start, end, new_text in spans:
            text = text[:start] + new_text + text[end:]
        return text

    # -- waiting ---------------------------------------------------------------------------

    async def settled(self) -> None:
        """Return once the server has sent all it had to say about earlier messages.

        One request and its answer: the server writes on one ordered stream, and what it
        sends while handling a message (a showMessage during an action) is written before
        it answers a later request, so it has arrived by then. No fixed wait.
        """
        _id, answer = self.request("codestral/stats", None)
        await asyncio.wait_for(answer, HANG)

    async def until(self, predicate: Callable[[], bool], timeout: float = HANG) -> None:
        """Wait (without blocking the client's event loop) until ``predicate()`` holds."""
        deadline = asyncio.get_running_loop().time() + timeout
        while not predicate():
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError("timed out waiting")
            await asyncio.sleep(0.02)

    def progress_token(self) -> types.ProgressToken:
        """The token of the only progress the server created."""
        [token] = self.client.progress_reports
        return token

    def progress_kinds(self, token: types.ProgressToken) -> list[str]:
        return [value.kind for value in self.client.progress_reports[token]]
