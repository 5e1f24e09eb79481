"""Code actions from listing to applied edit, in terms of our documents and the LSP client.

Listing (:meth:`ActionService.list_actions`) is synchronous and local: it never calls the API.
Running an action (:meth:`ActionService.compute_edit`) checks the document is still at the
version the action was offered for, asks Codestral, and turns the answer into an edit for the
document as it is then: the user may type on while Codestral answers (seconds), and edits
elsewhere in the file move the code the action works on without changing it, so the edit
follows it (:func:`placement.follow`); when that code itself was edited, no edit is made.
An edit is either whole and current or not made at all. Every failure ends in exactly one
message to the user.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.uris import to_fs_path

from codestral_ls import privacy
from codestral_ls.actions import chat_buffer, edits, placement, prompts
from codestral_ls.actions.catalog import (
    ACTIONS,
    RUN_COMMAND,
    ActionRequest,
    ActionSpec,
    Placement,
    enabled_ids,
    kind_matches,
    offered,
    title_of,
)
from codestral_ls.actions.comments import language_of
from codestral_ls.actions.run import ActionCancelled, WorkProgress, collect_answer
from codestral_ls.actions.target import Target, find_target
from codestral_ls.client_features import ClientFeatures
from codestral_ls.documents import Document
from codestral_ls.errors import ApiError
from codestral_ls.messages import Notice, explain

log = logging.getLogger(__name__)

#: Most characters one action sends (~25k tokens, and about as many back for a Refactor):
#: ``ggVG`` on a 20 MB file sent all of it, a 3 s upload the API would refuse. The code an
#: action works on, and a Reply's conversation (its newest turns, the question at least).
MAX_SENT_CHARS = 100_000
#: How long an applied edit may wait for the editor's ``didChange`` before the next edit to
#: the same document is made (eglot sends it on an idle timer of 0.5 s).
EDIT_SEEN_SECONDS = 2.0
_EDIT_SEEN_POLL = 0.01
#: How many times an edit is sent, placed again each time the editor refused it for a
#: version it had already left (the user typing on).
_PLACINGS = 3

_SEVERITIES = {1: "error", 2: "warning", 3: "information", 4: "hint"}


#: Hands a finished edit to the editor: (title, edit, the document it was made for); ``True``
#: asks for it to be placed again, for the document as it is now.
Deliver = Callable[[str, types.WorkspaceEdit, Document], Awaitable[bool]]


def _edits_document(edit: types.WorkspaceEdit, uri: str) -> bool:
    """Whether ``edit`` changes the text of the document at ``uri``."""
    if edit.changes and uri in edit.changes:
        return True
    return any(
        isinstance(change, types.TextDocumentEdit) and change.text_document.uri == uri
        for change in edit.document_changes or ()
    )


class ActionFailed(Exception):
    """An action that cannot go on; the argument (text or :class:`Notice`) tells the user."""


class ActionService:
    """The code-action feature of one server (``server``: a CodestralServer)."""

    def __init__(self, server: Any) -> None:
        self.server = server
        #: Actions run by ``workspace/executeCommand``, answered already, still working.
        self._running: set[asyncio.Task[None]] = set()
        #: One edit at a time per document, from placing it to the editor's didChange.
        self._edit_turns: dict[str, asyncio.Lock] = {}

    @property
    def features(self) -> ClientFeatures:
        return self.server.client_features

    # -- listing ---------------------------------------------------------------------------

    def list_actions(
        self, params: types.CodeActionParams
    ) -> list[types.CodeAction | types.Command]:
        """The actions for a range; local work only, nothing is sent to the API."""
        document = self.server.documents.get(params.text_document.uri)
        if document is None or not self.server.endpoint.usable or self._excluded(document):
            return []
        features = self.features
        if not (features.resolve_edit or features.apply_edit):
            return []  # the client could not receive the edit either way
        enabled = enabled_ids(self.server.settings.code_actions)
        start, end = params.range.start, params.range.end
        target: Target | None = None
        if chat_buffer.is_chat_buffer(document.uri):
            specs = offered(
                enabled,
                None,
                has_diagnostics=False,
                chat_buffer=True,
                awaiting_reply=chat_buffer.wants_reply(
                    chat_buffer.parse_conversation(document.text)
                ),
            )
        else:
            target = find_target(
                document,
                document.cursor(start.line, start.character),
                document.cursor(end.line, end.character),
            )
            specs = offered(enabled, target, has_diagnostics=bool(params.context.diagnostics))
        only = params.context.only
        request_base = {
            "uri": document.uri,
            "version": document.version,
            "start": (start.line, start.character),
            "end": (end.line, end.character),
        }
        out: list[types.CodeAction | types.Command] = []
        for spec in specs:
            if not kind_matches(spec.kind, only):
                continue
            diagnostics = params.context.diagnostics if spec.id == "fix" else []
            request = ActionRequest(
                spec.id, **request_base, diagnostics=tuple(_summary(d) for d in diagnostics)
            )
            out.append(_offer(spec, title_of(spec, target), request, diagnostics, features))
        return out

    # -- running ---------------------------------------------------------------------------

    async def resolve(self, action: types.CodeAction) -> types.CodeAction:
        """Fill in ``action.edit`` (left out when the action fails or is cancelled)."""
        try:
            request = ActionRequest.from_json(action.data)
        except ValueError as error:
            log.warning("codeAction/resolve with data that is not ours: %s", error)
            return action
        edit = await self.compute_edit(request)
        if edit is not None:
            action.edit = edit
        return action

    async def run_command(self, *arguments: Any) -> None:
        """``workspace/executeCommand``: answered at once; the edit follows through
        ``workspace/applyEdit`` when Codestral's answer is complete.

        eglot and Helix wait for this answer synchronously: answered only at the end, Emacs
        froze for the whole answer and gave up with "Timed out" after 10 s (issue 11, item 3).
        The work shows as a cancellable progress meanwhile.
        """
        if len(arguments) != 1:
            self._tell(f"{RUN_COMMAND} takes one argument, not {len(arguments)}.")
            return
        try:
            request = ActionRequest.from_json(arguments[0])
        except ValueError as error:
            self._tell(f"{RUN_COMMAND}: {error}.")
            return
        task = asyncio.ensure_future(self._compute_and_apply(request))
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def _compute_and_apply(self, request: ActionRequest) -> None:
        await self.compute_edit(request, deliver=self._apply)

    async def _apply(self, title: str, edit: types.WorkspaceEdit, document: Document) -> bool:
        """Send ``edit`` (made for ``document`` as it is now) and wait until the editor has
        applied it and told us so, so that the next edit to this document is made for the
        text with this one in it. ``True``: refused because the editor's text had moved on
        (the caller places it again); anything else ends here, told to the user if it failed.

        An editor may hold edits the user typed (eglot tells them on a 0.5 s idle timer) or
        ask before applying (eglot's y/n): an edit made for the text the server last heard
        of is then refused for its version, and the answer was thrown away ("the editor did
        not apply the edit") although the code it was for was still there.
        """
        version = document.version
        try:
            result = await self.server.workspace_apply_edit_async(
                types.ApplyWorkspaceEditParams(edit=edit, label=title)
            )
            applied, reason = result.applied, result.failure_reason
        except Exception as error:  # the editor answered the request with an error
            log.warning("%s: workspace/applyEdit failed: %s", title, error)
            applied, reason = False, None
        # Write tests into a file of their own has no version of this document to follow.
        if _edits_document(edit, document.uri):
            # Applied: wait for its didChange. Refused: for the user's, if that was why.
            moved = await self._moved_on(document, version)
            if moved and not applied:
                log.info("%s: refused for version %d, the editor is further on", title, version)
                return True
        if not applied:
            why = f": {reason}" if reason else ""
            self._tell(f"{title}: the editor did not apply the edit{why}.")
        return False

    @staticmethod
    async def _moved_on(document: Document, version: int) -> bool:
        """Whether the editor tells a newer version of ``document`` within
        :data:`EDIT_SEEN_SECONDS` (its ``didChange`` comes at its own pace)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + EDIT_SEEN_SECONDS
        while document.version == version and loop.time() < deadline:
            await asyncio.sleep(_EDIT_SEEN_POLL)
        return document.version != version

    @contextlib.asynccontextmanager
    async def _turn_to_edit(self, uri: str, progress: WorkProgress) -> AsyncIterator[None]:
        """Hold the document's turn: one action's edit at a time, from placing it until the
        editor has applied it (:meth:`_apply`)."""
        turn = self._edit_turns.setdefault(uri, asyncio.Lock())
        if turn.locked():
            progress.report("waiting for the edit before it…")
        async with turn:
            yield

    async def aclose(self) -> None:
        """Stop the actions still running in the background (the server stops)."""
        for task in list(self._running):
            task.cancel()
        await asyncio.gather(*self._running, return_exceptions=True)

    async def compute_edit(
        self, request: ActionRequest, deliver: Deliver | None = None
    ) -> types.WorkspaceEdit | None:
        """The edit for ``request``, or ``None`` after telling the user why there is none;
        with ``deliver``, also handed to it in the document's turn (:meth:`_turn_to_edit`)."""
        spec = ACTIONS[request.action]
        progress = WorkProgress(self.server, spec.title)
        landing: placement.Landing | None = None
        try:
            document = self._current(request, spec)
            messages, landing, note = self._plan(spec, request, document)
            await progress.begin(note)
            secrets = privacy.SecretMask(enabled=self.server.settings.mask_secrets)
            masked = [{**m, "content": secrets.mask(m["content"])} for m in messages]
            answer = secrets.unmask(await self._ask(masked, progress))
            async with self._turn_to_edit(request.uri, progress):
                if self._open(request, spec) is not document:  # closed and opened again
                    raise ActionFailed(_edited_meanwhile(spec))
                if document.version != landing.version:
                    landing = self._follow(spec, landing)
                if not answer.strip():
                    raise ActionFailed(f"{spec.title}: Codestral returned an empty answer.")
                edit = self._place(spec, landing, answer)
                for _attempt in range(_PLACINGS):
                    if deliver is None or not await deliver(spec.title, edit, document):
                        break
                    landing = self._follow(spec, landing)
                    edit = self._place(spec, landing, answer)
        except ActionFailed as failure:
            progress.end("failed")
            self._tell(failure.args[0])
            return None
        except ApiError as error:
            progress.end("failed")
            log.warning("%s failed: %s (%s)", spec.id, error, error.kind.value)
            self._tell(explain(error, self.server.endpoint, action=spec.title))
            return None
        except ActionCancelled:
            progress.end("cancelled")
            log.info("%s cancelled by the user", spec.id)
            return None
        except Exception:
            progress.end("failed")
            log.exception("%s failed", spec.id)
            self._tell(f"{spec.title} failed: internal error (details in the server log).")
            return None
        except BaseException:  # the request was cancelled ($/cancelRequest) or the server stops
            progress.end("cancelled")
            raise
        finally:
            if landing is not None and landing.mark is not None:
                landing.document.unmark(landing.mark)
        progress.end("done")
        return edit

    def _current(self, request: ActionRequest, spec: ActionSpec) -> Document:
        """The document, if it is still open at the version the action was offered for."""
        document = self._open(request, spec)
        if document.version != request.version:
            raise ActionFailed(_stale(spec))
        return document

    def _follow(self, spec: ActionSpec, landing: placement.Landing) -> placement.Landing:
        """Where the answer goes now that the user edited the document while it came."""
        moved = placement.follow(landing)
        if moved is None:
            raise ActionFailed(_edited_meanwhile(spec))
        log.info("%s: the document was edited meanwhile, the code is still there", spec.id)
        return moved

    def _open(self, request: ActionRequest, spec: ActionSpec) -> Document:
        """The document, if it is still open and may be sent."""
        document = self.server.documents.get(request.uri)
        if document is None:
            raise ActionFailed(f"{spec.title}: the document is no longer open.")
        if not self.server.endpoint.usable:
            raise ActionFailed(f"{spec.title}: {self.server.endpoint.problem}.")
        if self._excluded(document):
            raise ActionFailed(
                f"{spec.title}: this file holds credentials (excludeGlobs), so none of it is sent."
            )
        return document

    def _excluded(self, document: Document) -> bool:
        """Files matching ``excludeGlobs`` (``.env``, keys, ...) or made mostly of credentials
        are never sent: no actions."""
        settings = self.server.settings
        return privacy.is_withheld(
            document.uri, document.lines, settings.exclude_globs, detect=settings.mask_secrets
        )

    def _plan(
        self, spec: ActionSpec, request: ActionRequest, document: Document
    ) -> tuple[list[dict[str, str]], placement.Landing, str]:
        """The messages to send, where the answer will land, and a note for the progress
        (what was left out of the messages, ``""`` for nothing)."""
        settings = self.server.settings
        overrides = settings.system_prompts
        version = request.version
        if spec.placement is Placement.APPEND_REPLY:
            messages, note = self._conversation(spec, document)
            return messages, placement.Landing(spec.placement, document, version), note

        start = document.cursor(*request.start)
        end = document.cursor(*request.end)
        target = find_target(document, start, end)
        if target is None:
            raise ActionFailed(f"{spec.title}: there is no code at the cursor.")
        size = document.offset(target.end) - document.offset(target.start)
        if size > MAX_SENT_CHARS:
            raise ActionFailed(_too_much(spec, size, "Select less."))
        if spec.id == "custom" and not target.instruction:
            raise ActionFailed(f"{spec.title}: write '# codestral: <instruction>' above the code.")
        language = language_of(document.language_id, document.uri)
        tests_uri = None
        if spec.placement is Placement.TESTS and self.features.create_files:
            tests_uri = placement.companion_test_uri(document.uri, language)
        messages = prompts.action_messages(
            spec.id,
            document,
            target,
            context_lines=settings.chat_context_lines,
            overrides=overrides,
            diagnostics=request.diagnostics,
            tests=prompts.WhereTestsGo(prompts.file_name(tests_uri) if tests_uri else None),
        )
        landing = placement.Landing(
            spec.placement,
            document,
            version,
            target,
            language,
            drop_instruction=spec.id == "custom",
            tests_uri=tests_uri,
            mark=placement.mark_target(document, target),
        )
        return messages, landing, ""

    def _conversation(
        self, spec: ActionSpec, document: Document
    ) -> tuple[list[dict[str, str]], str]:
        """A chat buffer's messages, its newest turns up to :data:`MAX_SENT_CHARS`, and what
        the progress says about the older ones left out.

        A long chat was sent whole at every Reply, until the API refused it; the question
        itself is never cut, so one over the limit is refused before anything is sent.
        """
        conversation = chat_buffer.parse_conversation(document.text)
        if not chat_buffer.wants_reply(conversation):
            raise ActionFailed(f"{spec.title}: write a question under '## You' first.")
        question = len(conversation[-1].content)
        if question > MAX_SENT_CHARS:
            raise ActionFailed(_too_much(spec, question, "Shorten the question."))
        messages = prompts.chat_messages(conversation, self.server.settings.system_prompts)
        kept, left_out = prompts.newest_that_fit(messages, MAX_SENT_CHARS)
        if not left_out:
            return kept, ""
        log.info(
            "%s: %d older turns left out, over %d characters", spec.id, left_out, MAX_SENT_CHARS
        )
        return kept, f"older {left_out} turn{'s' if left_out > 1 else ''} left out"

    def _place(
        self, spec: ActionSpec, landing: placement.Landing, answer: str
    ) -> types.WorkspaceEdit:
        """The edit that puts ``answer`` where ``landing`` says, in the form the client takes."""
        tests = None
        if landing.tests_uri is not None:
            open_document = self.server.documents.get(landing.tests_uri)
            on_disk = None if open_document else _read_file(landing.tests_uri)
            tests = placement.TestsFile(landing.tests_uri, open_document, on_disk)
        try:
            changes = placement.changes_for(landing, answer, tests)
        except placement.NoCodeInAnswer:
            raise ActionFailed(f"{spec.title}: Codestral's answer had no code in it.") from None
        return edits.workspace_edit(changes, versioned=self.features.document_changes)

    async def _ask(self, messages: list[dict[str, str]], progress: WorkProgress) -> str:
        upstream = self.server.upstream
        return await collect_answer(
            upstream.chat_stream(messages),
            deadline=upstream.chat_timeouts().total,
            cancelled=progress.cancelled,
            on_progress=progress.received,
        )

    def _tell(self, message: str | Notice) -> None:
        self.server.warn_user(message)


def _offer(
    spec: ActionSpec,
    title: str,
    request: ActionRequest,
    diagnostics: Sequence[types.Diagnostic],
    features: ClientFeatures,
) -> types.CodeAction | types.Command:
    """The listed form of an action: data to resolve, a command to run, or a bare command."""
    command = types.Command(title=title, command=RUN_COMMAND, arguments=[request.to_json()])
    if not features.code_action_literals:
        return command
    action = types.CodeAction(title=title, kind=spec.kind, diagnostics=list(diagnostics) or None)
    if features.resolve_edit:
        action.data = request.to_json()
    else:
        action.command = command
    return action


def _too_much(spec: ActionSpec, size: int, todo: str) -> str:
    """The refusal of ``size`` characters, over :data:`MAX_SENT_CHARS`, before any request."""
    limit = f"at most {MAX_SENT_CHARS:,}"
    return f"{spec.title}: {size:,} characters is too much at once ({limit}). {todo}"


def _stale(spec: ActionSpec) -> Notice:
    return Notice(
        f"{spec.title}: offered before your last edit. Run it again.",
        "The action was offered for an earlier version of the document; nothing was sent "
        "or changed.",
    )


def _edited_meanwhile(spec: ActionSpec) -> Notice:
    return Notice(
        f"{spec.title}: its code changed while it ran. Run it again.",
        "The lines the action works on changed (or the document was closed) before the "
        "answer came; the answer was not applied, so nothing was overwritten.",
    )


def _summary(diagnostic: types.Diagnostic) -> dict[str, Any]:
    """What the prompt says about a diagnostic (its line, severity, message, source, code)."""
    severity = diagnostic.severity
    code = diagnostic.code
    return {
        "line": diagnostic.range.start.line,
        "severity": _SEVERITIES.get(int(severity), "") if severity else "",
        "message": diagnostic.message,
        "source": diagnostic.source or "",
        "code": code if isinstance(code, (str, int)) else "",
    }


def _read_file(uri: str) -> str | None:
    """The text of the file at a ``file:`` URI, or ``None`` when it does not exist."""
    path = to_fs_path(uri)
    if not path or not uri.startswith("file:"):
        return None
    try:
        return Path(path).read_bytes().decode("utf-8")  # keeps "\r\n" as it is
    except (OSError, UnicodeDecodeError):
        return None


__all__ = ["ActionFailed", "ActionService"]
