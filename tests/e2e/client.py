"""Drive codestral-ls over LSP as real editors do, with their capabilities.

``EditorSession`` starts the server as a subprocess (through pytest-lsp's client), initializes
it with the capabilities of a named editor, and offers the few calls tests need, with text
positions given as markers in the document rather than hand-counted columns.
"""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from collections.abc import Mapping
from typing import Any

from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from codestral_ls.documents import PositionEncoding
from tests.tools import HANG

SERVER_COMMAND = [sys.executable, "-m", "codestral_ls"]


def editor_capabilities(editor: str) -> types.ClientCapabilities:
    """Capabilities as each editor sends them (recorded ones, plus what 0.12/3.18 added)."""
    if editor == "neovim":
        caps = client_capabilities("neovim@v0.11.0")
        caps.general = types.GeneralClientCapabilities(
            position_encodings=[
                types.PositionEncodingKind.Utf8,
                types.PositionEncodingKind.Utf16,
                types.PositionEncodingKind.Utf32,
            ]
        )
        caps.text_document.inline_completion = types.InlineCompletionClientCapabilities()
        return caps
    if editor == "vscode":
        caps = client_capabilities("visual-studio-code")
        caps.general = types.GeneralClientCapabilities(
            position_encodings=[types.PositionEncodingKind.Utf16]
        )
        caps.text_document.inline_completion = types.InlineCompletionClientCapabilities(
            dynamic_registration=True
        )
        return caps
    if editor == "helix":
        return types.ClientCapabilities(
            general=types.GeneralClientCapabilities(
                position_encodings=[
                    types.PositionEncodingKind.Utf8,
                    types.PositionEncodingKind.Utf32,
                    types.PositionEncodingKind.Utf16,
                ]
            ),
            text_document=types.TextDocumentClientCapabilities(
                completion=types.CompletionClientCapabilities(
                    completion_item=types.ClientCompletionItemOptions(snippet_support=True)
                ),
                code_action=types.CodeActionClientCapabilities(),
            ),
            workspace=types.WorkspaceClientCapabilities(apply_edit=True),
        )
    raise ValueError(f"unknown editor {editor!r}")


def server_environment(base_url: str | None, **extra: str) -> dict[str, str]:
    """The server's environment: this one minus any real keys, pointed at the fake."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("CODESTRAL_API_KEY", "MISTRAL_API_KEY", "CODESTRAL_API_BASE")
    }
    if base_url is not None:
        env["CODESTRAL_API_BASE"] = base_url
        env["CODESTRAL_API_KEY"] = "test-key"
    env.update(extra)
    return env


def split_marker(text: str, marker: str = "|") -> tuple[str, int, int]:
    """``text`` without ``marker``, and the marker's (line, code point index)."""
    before, found, after = text.partition(marker)
    assert found, f"no {marker!r} in the text"
    lines = before.split("\n")
    return before + after, len(lines) - 1, len(lines[-1])


class PendingRequest:
    """A request in flight, which can be cancelled the LSP way (``$/cancelRequest``)."""

    def __init__(self, client: LanguageClient, msg_id: str, future: asyncio.Future[Any]) -> None:
        self.client = client
        self.msg_id = msg_id
        self.future = future

    def cancel(self) -> None:
        self.client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id=self.msg_id))

    def __await__(self):
        return self.future.__await__()


class EditorSession:
    """One server process and one client that talks like ``editor``."""

    def __init__(self, client: LanguageClient, editor: str) -> None:
        self.client = client
        self.editor = editor
        self.encoding = PositionEncoding.UTF16
        self.versions: dict[str, int] = {}
        self.texts: dict[str, str] = {}
        self.result: types.InitializeResult | None = None

    @classmethod
    async def start(
        cls,
        editor: str,
        env: Mapping[str, str],
        options: dict[str, Any] | None = None,
        server_command: list[str] | None = None,
        workspace: str | None = None,
        client_info: types.ClientInfo | None = None,
    ) -> EditorSession:
        """Start and initialize a server; ``client_info`` is what the editor says it is
        (Neovim sends ``{"name": "Neovim", "version": ...}``), none unless given."""
        config = ClientServerConfig(
            server_command=server_command or SERVER_COMMAND, server_env=dict(env)
        )
        client = await config.start()
        session = cls(client, editor)
        session.result = await client.initialize_session(
            types.InitializeParams(
                capabilities=editor_capabilities(editor),
                client_info=client_info,
                initialization_options=options or {},
                process_id=os.getpid(),
                root_uri=workspace,
                workspace_folders=(
                    [types.WorkspaceFolder(uri=workspace, name="workspace")] if workspace else None
                ),
            )
        )
        session.encoding = PositionEncoding.from_lsp(session.result.capabilities.position_encoding)
        return session

    async def stop(self) -> None:
        try:
            await asyncio.wait_for(self.client.shutdown_session(), HANG)
        finally:
            await self.client.stop()

    # -- documents -------------------------------------------------------------------------

    def position(self, uri: str, line: int, index: int) -> types.Position:
        """The LSP position of code point ``index`` on ``line``, in the session's encoding."""
        content = self.texts[uri].split("\n")[line].rstrip("\r")
        return types.Position(line=line, character=self.encoding.column_of_index(content, index))

    def open(self, uri: str, text: str, language: str = "python") -> None:
        self.versions[uri] = 1
        self.texts[uri] = text
        self.client.text_document_did_open(
            types.DidOpenTextDocumentParams(
                text_document=types.TextDocumentItem(
                    uri=uri, language_id=language, version=1, text=text
                )
            )
        )

    def type_text(self, uri: str, line: int, index: int, typed: str) -> None:
        """Insert ``typed`` at (line, index) as one incremental change, as a keystroke does."""
        self.replace(uri, (line, index), (line, index), typed)

    def replace(self, uri: str, start: tuple[int, int], end: tuple[int, int], text: str) -> None:
        """Replace the text from ``start`` to ``end`` ((line, index) each) as one change."""
        first, last = self.position(uri, *start), self.position(uri, *end)
        self.versions[uri] += 1
        lines = self.texts[uri].split("\n")
        lines[start[0] : end[0] + 1] = [
            lines[start[0]][: start[1]] + text + lines[min(end[0], len(lines) - 1)][end[1] :]
        ]
        self.texts[uri] = "\n".join(lines)
        self.client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(
                    uri=uri, version=self.versions[uri]
                ),
                content_changes=[
                    types.TextDocumentContentChangePartial(
                        range=types.Range(start=first, end=last), text=text
                    )
                ],
            )
        )

    # -- completion ------------------------------------------------------------------------

    def inline_request(
        self, uri: str, line: int, index: int, *, invoked: bool = False
    ) -> PendingRequest:
        """Send an inline completion request now; await the returned request for its result."""
        kind = (
            types.InlineCompletionTriggerKind.Invoked
            if invoked
            else types.InlineCompletionTriggerKind.Automatic
        )
        params = types.InlineCompletionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=self.position(uri, line, index),
            context=types.InlineCompletionContext(trigger_kind=kind),
        )
        return self.request(types.TEXT_DOCUMENT_INLINE_COMPLETION, params)

    def request(self, method: str, params: Any) -> PendingRequest:
        msg_id = str(uuid.uuid4())
        future = self.client.protocol.send_request(method, params, msg_id=msg_id)
        return PendingRequest(self.client, msg_id, asyncio.wrap_future(future))

    async def inline(
        self, uri: str, line: int, index: int, *, invoked: bool = False
    ) -> types.InlineCompletionList | None:
        result = await asyncio.wait_for(
            self.inline_request(uri, line, index, invoked=invoked).future, HANG
        )
        if isinstance(result, list):
            return types.InlineCompletionList(items=result)
        return result

    async def complete(self, uri: str, line: int, index: int) -> types.CompletionList:
        result = await asyncio.wait_for(
            self.client.text_document_completion_async(
                types.CompletionParams(
                    text_document=types.TextDocumentIdentifier(uri=uri),
                    position=self.position(uri, line, index),
                    context=types.CompletionContext(
                        trigger_kind=types.CompletionTriggerKind.Invoked
                    ),
                )
            ),
            HANG,
        )
        assert isinstance(result, types.CompletionList)
        return result

    async def wait_for_message(self, timeout: float = 60.0) -> types.ShowMessageParams:
        deadline = asyncio.get_running_loop().time() + timeout
        while not self.client.messages:
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError("the server sent no window/showMessage")
            await asyncio.sleep(0.02)
        return self.client.messages[0]


def apply_inline(text: str, session: EditorSession, item: types.InlineCompletionItem) -> str:
    """The document after accepting ``item``, as an editor applies it."""
    assert item.range is not None
    lines = text.split("\n")
    encoding = session.encoding
    start_line, end_line = item.range.start.line, item.range.end.line
    start = encoding.index_of_column(lines[start_line], item.range.start.character)
    end = encoding.index_of_column(lines[end_line], item.range.end.character)
    head = "\n".join([*lines[:start_line], lines[start_line][:start]])
    tail = "\n".join([lines[end_line][end:], *lines[end_line + 1 :]])
    insert = item.insert_text if isinstance(item.insert_text, str) else item.insert_text.value
    return head + insert + tail
