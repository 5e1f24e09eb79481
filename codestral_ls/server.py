"""The LSP face of codestral-ls: pygls wiring and thin handlers.

Each handler translates between LSP and the plain modules (documents, engine, items,
actions) and does nothing else. Documents are kept by our own line-based store
(:mod:`codestral_ls.documents`) instead of pygls's workspace, whose incremental sync rebuilds
the whole text on every keystroke; :class:`CodestralProtocol` routes the ``didOpen``,
``didChange`` and ``didClose`` notifications there.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import importlib
import json
import logging
import os
from collections.abc import Callable, Generator, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.protocol import lsp_method

from codestral_ls import __version__, lifecycle, logs, privacy
from codestral_ls.actions import register as register_actions
from codestral_ls.client_features import ClientFeatures
from codestral_ls.config import Settings, secret_strings
from codestral_ls.context import RepositoryContext
from codestral_ls.context.index import path_of_uri
from codestral_ls.controls import Controls
from codestral_ls.controls import register as register_controls
from codestral_ls.documents import Document, DocumentStore, PositionEncoding
from codestral_ls.endpoint import Endpoint, resolve_endpoint
from codestral_ls.engine import Completion, CompletionEngine
from codestral_ls.heap import Trimmer, stop_collecting_start_up_objects
from codestral_ls.items import completion_items, inline_items
from codestral_ls.messages import LINE_TOO_LONG, Notice
from codestral_ls.prompt import line_in_window
from codestral_ls.pygls_compat import (
    PatchedProtocol,
    answer_as_json,
    feature_handler,
    notification_as_json,
    shutdown_requested,
)
from codestral_ls.scheduling import COMPLETION, INLINE
from codestral_ls.upstream import Upstream

log = logging.getLogger(__name__)

#: Custom request answering the engine's counters (see ``EngineStats``).
STATS_REQUEST = "codestral/stats"
#: Test-only request answering a document's text as the server has it; registered only when
#: the environment has ``CODESTRAL_LS_TEST_HOOKS=1`` (property tests compare it to a model).
DOCUMENT_TEXT_REQUEST = "codestral/documentText"
_MESSAGE_TYPES = {
    logging.ERROR: types.MessageType.Error,
    logging.WARNING: types.MessageType.Warning,
    logging.INFO: types.MessageType.Info,
}


class CodestralProtocol(PatchedProtocol):
    """pygls's protocol with our document store and capability negotiation."""

    _server: CodestralServer

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: Documents changed without being open (each is warned about once).
        self._changed_unopened: set[str] = set()

    def set_writer(self, writer: Any, include_headers: bool = True) -> None:
        """Use pygls's writer, but drop output quietly once the editor has gone away."""
        super().set_writer(lifecycle.QuietWriter(writer), include_headers)

    @lsp_method(types.INITIALIZE)
    def lsp_initialize(
        self, params: types.InitializeParams
    ) -> Generator[Any, Any, types.InitializeResult]:
        _register_secrets(params.initialization_options)
        self._server.client_features = ClientFeatures.of(params.capabilities, params.client_info)
        result = yield from super().lsp_initialize(params)
        if not self._server.client_features.inline_completion:
            # Only clients that declare inline completion get it advertised (LSP 3.18).
            result.capabilities.inline_completion_provider = None
        return result

    @lsp_method(types.TEXT_DOCUMENT_DID_OPEN)
    def lsp_text_document__did_open(
        self, params: types.DidOpenTextDocumentParams
    ) -> Generator[Any, Any, None]:
        item = params.text_document
        self._server.documents.open(item.uri, item.text, item.version, item.language_id)
        yield from self._user_handler(types.TEXT_DOCUMENT_DID_OPEN, params)

    @lsp_method(types.TEXT_DOCUMENT_DID_CHANGE)
    def lsp_text_document__did_change(
        self, params: types.DidChangeTextDocumentParams
    ) -> Generator[Any, Any, None]:
        uri = params.text_document.uri
        document = self._server.documents.get(uri)
        if document is None:
            # Once per document: an editor whose didOpen was lost sends one per keystroke.
            level = logging.DEBUG if uri in self._changed_unopened else logging.WARNING
            self._changed_unopened.add(uri)
            log.log(level, "didChange for a document that is not open: %s", uri)
            return
        for change in params.content_changes:
            if isinstance(change, types.TextDocumentContentChangePartial):
                start, end = change.range.start, change.range.end
                document.apply_edit(
                    (start.line, start.character), (end.line, end.character), change.text
                )
                self._server.repository.document_edited(
                    document.uri, start.line, end.line, change.text
                )
            else:
                document.replace_all(change.text)
        document.version = params.text_document.version
        self._server.engine.document_changed(document.uri)
        yield from self._user_handler(types.TEXT_DOCUMENT_DID_CHANGE, params)

    @lsp_method(types.TEXT_DOCUMENT_DID_CLOSE)
    def lsp_text_document__did_close(
        self, params: types.DidCloseTextDocumentParams
    ) -> Generator[Any, Any, None]:
        closed = self._server.documents.close(params.text_document.uri)
        if closed is not None:
            self._server.heap.closed(closed.size)
        self._server.engine.document_closed(params.text_document.uri)
        self._server.controls.switches.forget(params.text_document.uri)
        self._server.repository.document_closed(params.text_document.uri)
        self._server.forget_told(params.text_document.uri)
        yield from self._user_handler(types.TEXT_DOCUMENT_DID_CLOSE, params)

    def _user_handler(self, method: str, params: object) -> Generator[Any, Any, None]:
        """Run a feature's own handler for ``method`` after ours, as pygls's built-ins do."""
        handler = feature_handler(self, method)
        if handler is not None:
            yield handler, (params,), None


class CodestralServer(LanguageServer):
    """Server state: settings, endpoint, documents and the completion engine."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        super().__init__(
            "codestral-ls",
            __version__,
            protocol_cls=CodestralProtocol,
            text_document_sync_kind=types.TextDocumentSyncKind.Incremental,
        )
        self.environ: Mapping[str, str] = os.environ if environ is None else environ
        self.documents = DocumentStore()
        #: Gives the memory of closed documents back to the system (see heap.py).
        self.heap = Trimmer()
        #: Seconds from ``initialized`` to the warm-up steps no completion needs.
        self.later_warm_up_after = 2.0
        #: What the client can do, read from its capabilities at ``initialize``.
        self.client_features = ClientFeatures()
        self.settings = Settings()
        #: The settings from ``initializationOptions``, under each workspace configuration.
        self._settings_at_start = self.settings
        #: The HTTP client and its deadlines, shared by completions and code actions.
        self.upstream = Upstream(self.settings, resolve_endpoint(self.settings, self.environ))
        self.repository = RepositoryContext(self.documents, self.settings)
        self.engine = CompletionEngine(
            self.settings, self.upstream, notify=self.warn_user, repository=self.repository
        )
        self.controls = Controls(self)
        self.engine.on_calls_changed = self.controls.calls_changed
        self.engine.on_answer = self.controls.called
        self.engine.on_failure = self.controls.failed
        self._told_setup_problem: str | None = None
        #: Documents told once that their overlong line gets no completion.
        self._told_line_too_long: set[str] = set()
        #: Ends the process with an exit code (``cli`` sets :meth:`finish`); unset
        #: in-process, where pygls's own ``exit`` handling applies.
        self.exit_hook: Callable[[int], None] | None = None
        self._parent_watch: asyncio.Task[None] | None = None

    @property
    def endpoint(self) -> Endpoint:
        """The endpoint in use (``upstream`` holds it)."""
        return self.upstream.endpoint

    def report_server_error(self, error: Exception, source: Any) -> None:
        """Unreadable input is the client's bug: log it, don't pop a message up per frame.
        A request that is not JSON but shows its id gets -32700, so its client stops waiting.
        """
        log.warning("protocol error (%s): %s", getattr(source, "__name__", source), error)
        if isinstance(error, json.JSONDecodeError) and isinstance(self.protocol, PatchedProtocol):
            self.protocol.answer_parse_error(error.doc)

    async def leave(self, code: int) -> None:
        """End the process (the editor is gone): close HTTP connections, then exit."""
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.close_calls(), 2)
        if self.exit_hook is not None:
            self.exit_hook(code)
        else:
            self.shutdown()

    def finish(self, code: int) -> None:
        """End the process with ``code`` (``exit``, end of stdin, the editor gone), after
        writing what must outlive it: the usage counts of the last minute."""
        self.controls.close()
        lifecycle.finish(code)

    async def close_calls(self) -> None:
        """Cancel the running completions, then close the HTTP connections."""
        await self.engine.aclose()
        await self.upstream.aclose()

    # -- talking to the user ---------------------------------------------------------------

    def warn_user(self, message: str | Notice) -> None:
        """One ``window/showMessage`` of one short line, its details in the log (callers make
        sure it is not repeated per keystroke); see :mod:`codestral_ls.messages`."""
        notice = message if isinstance(message, Notice) else Notice.of(message)
        log.warning("%s", logs.SCRUBBER.scrub(notice.logged()))
        self.window_show_message(
            types.ShowMessageParams(
                type=types.MessageType.Warning, message=logs.SCRUBBER.scrub(notice.shown())
            )
        )

    def warm_up(self) -> None:
        """Import and build what start-up left out (the HTTP client, the code-action modules:
        100+ ms together), so the first completion does not wait for it.

        One step per turn of the event loop, what a completion needs first: a request that
        arrives meanwhile (an editor that asks at once) is served after the step under way,
        not after them all. What no completion needs waits :attr:`later_warm_up_after`
        seconds, past the editor's first requests: it ran during the first completion's
        call and made it 26 ms slower.
        """
        run_one_per_loop_turn(
            [
                self.upstream.warm_up,  # the HTTP client, httpcore's backend, a connection
                self._warm_up_messages,
                # Compiles this configuration's exclusion globs (74 ms on a loaded machine).
                lambda: privacy.is_excluded(_DOCUMENT["uri"], self.settings.exclude_globs),
            ]
        )
        asyncio.get_running_loop().call_later(
            self.later_warm_up_after,
            run_one_per_loop_turn,
            [
                lambda: importlib.import_module("codestral_ls.actions.service"),
                stop_collecting_start_up_objects,  # last: after all start-up imports
            ],
        )

    def _warm_up_messages(self) -> None:
        for message in _TYPICAL_MESSAGES:  # cattrs builds a reader per type on first use
            self.protocol.structure_message(message)
        # ... and a writer per type, the envelope included: 10+ ms, measured.
        for answer in _typical_answers():
            answer_as_json(self.protocol, 0, answer)
        notification_as_json(
            self.protocol,
            types.WINDOW_LOG_MESSAGE,
            types.LogMessageParams(type=types.MessageType.Info, message="warm-up"),
        )

    def tell_line_too_long(self, document: Document) -> None:
        """Say why a completion the user asked for on an overlong line is empty, once per
        opening of the document: an explicit request that silently gets nothing looks like a
        broken server (automatic ones stay silent: they come with every keystroke). Not
        where completions are off anyway (switched off, excluded, no endpoint): the line's
        length is not the reason there."""
        uri = document.uri
        if uri in self._told_line_too_long:
            return
        if not (self.controls.allows(uri) and self.engine.wants(document)):
            return
        self._told_line_too_long.add(uri)
        log.info("%s: %s", uri, LINE_TOO_LONG)
        self.window_show_message(
            types.ShowMessageParams(type=types.MessageType.Info, message=LINE_TOO_LONG)
        )

    def forget_told(self, uri: str) -> None:
        """The document was closed: reopened, it is told again what it is told once."""
        self._told_line_too_long.discard(uri)

    def send_log(self, level: int, text: str) -> None:
        self.window_log_message(
            types.LogMessageParams(
                type=_MESSAGE_TYPES.get(level, types.MessageType.Log), message=text
            )
        )

    # -- settings --------------------------------------------------------------------------

    def apply_settings(self, options: object, *, at_start: bool = False) -> None:
        """Read editor options, rebuild what changed, and report problems once.

        ``at_start``: the ``initializationOptions``, read over the defaults. Otherwise the
        workspace configuration, read over those: it is the whole configuration each time
        (Neovim, eglot and VS Code send all of it), so a setting it no longer holds goes
        back to its value at start. Read over the previous one instead, an ``apiBase``
        tried once and taken out stayed in force until a restart."""
        base = Settings() if at_start else self._settings_at_start
        settings, problems = Settings.from_options(options, base)
        if at_start:
            self._settings_at_start = settings
        _register_secrets(options)
        logs.SCRUBBER.add(settings.api_key)
        logs.SCRUBBER.add(settings.self_hosted_api_key)
        endpoint = resolve_endpoint(settings, self.environ)
        logs.SCRUBBER.add(endpoint.api_key)
        self.settings = settings
        endpoint_changed = self.upstream.configure(settings, endpoint)
        self.engine.configure(settings, endpoint_changed=endpoint_changed)
        self.controls.configure(settings.usage_stats)
        if problems:
            self.warn_user("codestral-ls settings: " + "; ".join(problems))
        self._report_endpoint()

    def _report_endpoint(self) -> None:
        problem = self.endpoint.problem
        if problem and problem != self._told_setup_problem:
            self._told_setup_problem = problem
            self.warn_user(Notice.of(f"Codestral is off: {problem}."))
        elif not problem:
            self._told_setup_problem = None
            log.info("endpoint %s, key from %s", self.endpoint.base_url, self.endpoint.key_source)
        self.controls.refresh_status()


def _register_secrets(options: object) -> None:
    """Scrub keys from logs before anything logs the initialize parameters."""
    for secret in secret_strings(options):  # a key of the wrong type too (a Lua table)
        logs.SCRUBBER.add(secret)


_POSITION = {"line": 0, "character": 0}
_DOCUMENT = {"uri": "file:///warm-up.py"}
#: What an editor sends while the user types, read once at warm-up (2 ms per type, measured).
_TYPICAL_MESSAGES = (
    {
        "jsonrpc": "2.0",
        "method": types.TEXT_DOCUMENT_DID_CHANGE,
        "params": {
            "textDocument": {**_DOCUMENT, "version": 1},
            "contentChanges": [{"range": {"start": _POSITION, "end": _POSITION}, "text": ""}],
        },
    },
    {
        "jsonrpc": "2.0",
        "id": "warm-up",
        "method": types.TEXT_DOCUMENT_INLINE_COMPLETION,
        "params": {"textDocument": _DOCUMENT, "position": _POSITION, "context": {"triggerKind": 2}},
    },
    {
        "jsonrpc": "2.0",
        "id": "warm-up",
        "method": types.TEXT_DOCUMENT_COMPLETION,
        "params": {"textDocument": _DOCUMENT, "position": _POSITION},
    },
    {"jsonrpc": "2.0", "method": types.CANCEL_REQUEST, "params": {"id": "warm-up"}},
)


def run_one_per_loop_turn(steps: Sequence[Callable[[], object]]) -> None:
    """Run ``steps`` in order, each in its own turn of the running event loop, so that what
    became ready in between (a request's task) runs between two steps."""
    loop = asyncio.get_running_loop()

    def run(index: int) -> None:
        try:
            steps[index]()
        finally:  # a step that fails (logged by the loop) does not cancel the next ones
            if index + 1 < len(steps):
                loop.call_soon(run, index + 1)

    if steps:
        loop.call_soon(run, 0)


def _typical_answers() -> list[Any]:
    """One of each answer the server writes while the user types, for :meth:`warm_up`."""
    document = Document("file:///warm-up.py", "x = \n", language_id="python")
    completion = Completion("1", document.cursor(0, 4), "api")
    accepted = types.Command(title="warm-up", command="warm-up", arguments=[{"id": ""}])
    return [
        inline_items(document, [(completion, accepted)]),
        completion_items(document, completion, "python", markdown=True),
        types.InlineCompletionList(items=[]),
    ]


def create_server(environ: Mapping[str, str] | None = None) -> CodestralServer:
    """Build a server with every feature registered."""
    server = CodestralServer(environ)
    for name in ("CODESTRAL_API_KEY", "MISTRAL_API_KEY"):
        logs.SCRUBBER.add(server.environ.get(name))

    @server.feature(types.INITIALIZE)
    def initialize(ls: CodestralServer, params: types.InitializeParams) -> None:
        ls.documents.encoding = PositionEncoding.from_lsp(ls.workspace.position_encoding)
        if ls.client_features.waits_for_pauses:
            ls.engine.pacing.declared.add(INLINE)
        logs.attach_editor(logs.EditorLogHandler(ls.send_log))
        ls.apply_settings(params.initialization_options, at_start=True)
        ls.repository.set_roots(_workspace_roots(params))
        if ls._parent_watch is None:
            ls._parent_watch = lifecycle.watch_parent(params.process_id, lambda: ls.leave(0))

    @server.feature(types.INITIALIZED)
    def initialized(ls: CodestralServer, *_args: object) -> None:
        # The editor has its initialize answer; pay now for what start-up deferred.
        ls.warm_up()
        ls.controls.start()
        ls.repository.start()
        if ls.client_features.watch_files:
            ls.client_register_capability(_WATCH_SOURCE_FILES)

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE)
    def did_save(ls: CodestralServer, params: types.DidSaveTextDocumentParams) -> None:
        ls.repository.document_saved(params.text_document.uri)

    @server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
    def did_change_watched_files(
        ls: CodestralServer, params: types.DidChangeWatchedFilesParams
    ) -> None:
        kinds: dict[types.FileChangeType, list[str]] = {kind: [] for kind in types.FileChangeType}
        for change in params.changes:
            kinds[change.type].append(change.uri)
        ls.repository.files_changed(
            kinds[types.FileChangeType.Created],
            kinds[types.FileChangeType.Changed],
            kinds[types.FileChangeType.Deleted],
        )

    @server.feature(types.WORKSPACE_DID_CHANGE_WORKSPACE_FOLDERS)
    def did_change_workspace_folders(ls: CodestralServer, *_args: object) -> None:
        ls.repository.set_roots(_roots_of(ls.workspace.folders.values(), ls.workspace.root_uri))

    @server.feature(types.EXIT)
    def exit_(ls: CodestralServer, *_args: object) -> None:
        ls.controls.close()
        if ls.exit_hook is not None:
            ls.exit_hook(lifecycle.exit_code(shutdown_requested(ls.protocol)))

    @server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
    async def did_change_configuration(
        ls: CodestralServer, params: types.DidChangeConfigurationParams
    ) -> None:
        options = params.settings
        if not options and ls.client_features.pull_configuration:
            # Pull-model clients (VS Code) send an empty notification and expect us to ask.
            answers = await ls.workspace_configuration_async(
                types.ConfigurationParams(items=[types.ConfigurationItem(section="codestral")])
            )
            options = answers[0] if answers else None
        if options:
            ls.apply_settings(options)

    @server.feature(types.TEXT_DOCUMENT_INLINE_COMPLETION, types.InlineCompletionOptions())
    async def inline_completion(
        ls: CodestralServer, params: types.InlineCompletionParams
    ) -> types.InlineCompletionList | None:
        invoked = params.context.trigger_kind == types.InlineCompletionTriggerKind.Invoked
        document = _document_at(ls, params.text_document.uri, params.position, invoked=invoked)
        if document is None:
            return None
        if not ls.controls.allows(document.uri):
            return types.InlineCompletionList(items=[])
        cursor = document.cursor(params.position.line, params.position.character)
        completion = await ls.engine.complete(document, cursor, invoked=invoked)
        if completion is None:
            return types.InlineCompletionList(items=[])
        suggestions = [completion]
        if invoked:  # the user asked: offer alternatives to cycle through
            suggestions = await ls.engine.alternatives(
                document, cursor, completion, ls.settings.alternatives
            )
        return inline_items(
            document,
            [(each, ls.controls.shown(document, each)) for each in suggestions],
            from_line_start=ls.client_features.redraws_at_range_start,
        )

    @server.feature(types.TEXT_DOCUMENT_COMPLETION, types.CompletionOptions())
    async def completion(
        ls: CodestralServer, params: types.CompletionParams
    ) -> types.CompletionList | None:
        # eglot's C-M-i, Helix's C-x: explicit, like an invoked inline request (no debounce,
        # through a paused breaker). Trigger characters and re-asks of an incomplete list are not.
        kind = params.context.trigger_kind if params.context is not None else None
        invoked = kind == types.CompletionTriggerKind.Invoked
        document = _document_at(ls, params.text_document.uri, params.position, invoked=invoked)
        empty = types.CompletionList(is_incomplete=True, items=[])
        if document is None or not ls.controls.allows(document.uri):
            return empty
        cursor = document.cursor(params.position.line, params.position.character)
        completion = await ls.engine.complete(document, cursor, invoked=invoked, kind=COMPLETION)
        if completion is None:
            return empty
        return completion_items(
            document,
            completion,
            document.language_id,
            markdown=ls.client_features.completion_markdown,
        )

    @server.feature(types.SHUTDOWN)
    async def shutdown(ls: CodestralServer, *_args: object) -> None:
        ls.controls.close()
        ls.repository.stop()
        await ls.close_calls()

    @server.feature(STATS_REQUEST)
    def stats(ls: CodestralServer, *_args: object) -> dict[str, Any]:
        """Counters of the completion engine (upstream calls, cache hits…), for benchmarks,
        and what repository context went into prompts."""
        return {**dataclasses.asdict(ls.engine.stats), "context": ls.repository.counts()}

    if server.environ.get("CODESTRAL_LS_TEST_HOOKS") == "1":

        @server.feature(DOCUMENT_TEXT_REQUEST)
        def document_text(ls: CodestralServer, params: Any) -> str | None:
            """The text of an open document as the server has it (tests only)."""
            uri = params.get("uri") if isinstance(params, dict) else getattr(params, "uri", None)
            document = ls.documents.get(uri) if isinstance(uri, str) else None
            return None if document is None else document.text

    register_actions(server)
    register_controls(server)
    return server


def _document_at(
    ls: CodestralServer, uri: str, position: types.Position, *, invoked: bool
) -> Document | None:
    """The open document at ``uri`` if ``position`` is inside it; else ``None`` (no answer).
    ``invoked``: the user asked, and is told why an overlong line gets nothing."""
    document = ls.documents.get(uri)
    if document is None:
        log.info("completion asked for a document that is not open: %s", uri)
        return None
    if not line_in_window(document, position.line):
        log.debug("no completion on a line longer than the window: %s:%d", uri, position.line)
        if invoked:
            ls.tell_line_too_long(document)
        return None
    if not document.is_valid_position(position.line, position.character):
        log.info("completion asked at a position outside %s: %s", uri, position)
        return None
    return document


def _workspace_roots(params: types.InitializeParams) -> list[Path]:
    """The workspace folders the editor named (``workspaceFolders``, else ``rootUri``)."""
    return _roots_of(params.workspace_folders or (), params.root_uri or params.root_path)


def _roots_of(folders: Iterable[types.WorkspaceFolder], root: str | None) -> list[Path]:
    uris = [folder.uri for folder in folders] or ([root] if root else [])
    paths = [path_of_uri(uri) if "://" in uri else Path(uri) for uri in uris]
    return [path for path in paths if path is not None]


#: ``workspace/didChangeWatchedFiles`` for the files the context index reads.
_WATCH_SOURCE_FILES = types.RegistrationParams(
    registrations=[
        types.Registration(
            id="codestral-ls-source-files",
            method=types.WORKSPACE_DID_CHANGE_WATCHED_FILES,
            register_options=types.DidChangeWatchedFilesRegistrationOptions(
                watchers=[types.FileSystemWatcher(glob_pattern="**/*")]
            ),
        )
    ]
)


__all__ = ["CodestralProtocol", "CodestralServer", "create_server"]
