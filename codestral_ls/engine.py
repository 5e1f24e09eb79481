"""The completion pipeline, free of LSP: document and cursor in, text to insert out.

:meth:`CompletionEngine.complete` reads as its steps:

    _sendable_context   the FIM context (prompt.py), unless nothing may be sent (privacy.py)
    _from_typed_ahead   the user typed the start of an answer already shown (cache.py)
    _from_running_call  the document's call still running, when the user only typed on
                        since it started: its answer minus what was typed (scheduling.py)
    _from_cache_or_upstream
                        an exact cache hit, else debounce until the document is quiet
                        (unless the client paced the request itself; newer requests
                        supersede, scheduling.py), the circuit breaker
                        (health.py), and one shared call through ``upstream``, streamed and
                        cut when the mode's answer is whole (postprocess.py); its cleaned
                        answer is cached and remembered for typed-ahead

The LSP handlers in ``server.py`` only translate positions and results; everything that
decides *what* is completed lives here and in the modules above, testable without a client.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from codestral_ls import privacy
from codestral_ls.cache import CompletionCache, TypedAhead, cache_key
from codestral_ls.completion import Completion
from codestral_ls.config import Settings
from codestral_ls.context import RepositoryContext
from codestral_ls.documents import Cursor, Document
from codestral_ls.endpoint import Endpoint
from codestral_ls.errors import ApiError, ErrorKind
from codestral_ls.fim import FimRequest
from codestral_ls.health import UpstreamHealth
from codestral_ls.postprocess import clean_completion, truncate_for_mode
from codestral_ls.prompt import FimContext, build_context
from codestral_ls.scheduling import (
    INLINE,
    ClientPacing,
    KeystrokeRhythm,
    LatestRequest,
    RunningCalls,
    Superseded,
    Ticket,
    context_factor,
)
from codestral_ls.upstream import Upstream

log = logging.getLogger(__name__)


#: Sampling of the extra suggestions of an explicit request: above 0, so that they differ.
ALTERNATIVE_TEMPERATURE = 0.7


@dataclass(frozen=True)
class _Asked:
    """One completion request on its way through :meth:`CompletionEngine.complete`."""

    document: Document
    cursor: Cursor
    context: FimContext
    ticket: Ticket
    edits: int  # the document's edit count when the request came
    invoked: bool
    kind: str  # the request's method, for ClientPacing


@dataclass
class EngineStats:
    """Counters the benchmarks and the soak test read."""

    requests: int = 0
    upstream_calls: int = 0
    cache_hits: int = 0
    typed_ahead_hits: int = 0
    in_flight_hits: int = 0
    superseded: int = 0
    failures: int = 0
    chunks_received: int = 0
    stopped_early: int = 0
    #: Automatic requests held by the debounce until their document was quiet.
    held: int = 0
    #: Completions returned with text, by where they came from ("api", "cache", …).
    shown: dict[str, int] = field(default_factory=dict)


class CompletionEngine:
    """Owns the cache and scheduling of completions; calls go through ``upstream``."""

    def __init__(
        self,
        settings: Settings,
        upstream: Upstream,
        *,
        notify: Callable[[str], None] = lambda _message: None,
        clock: Callable[[], float] = time.monotonic,
        repository: RepositoryContext | None = None,
    ) -> None:
        self._clock = clock
        #: Code from other workspace files for the prompt (see codestral_ls/context/).
        self.repository = repository
        self._notify = notify
        self.stats = EngineStats()
        self.health = UpstreamHealth(notify, clock=clock)
        self._typed_ahead = TypedAhead()
        self._running = RunningCalls()
        self.upstream = upstream
        self.settings = settings
        self.cache = CompletionCache(settings.cache_size, settings.cache_ttl_seconds, clock=clock)
        self._masker = privacy.PromptMasker()
        self._secret_file = privacy.SecretFile()
        self.rhythm = KeystrokeRhythm(base=0, minimum=0, maximum=0, clock=clock)
        self._apply_debounce(settings)
        self._latest = LatestRequest(self.rhythm)
        #: Whether the client waits for typing pauses itself; the server declares the kinds
        #: it does from the client's name at ``initialize``.
        self.pacing = ClientPacing()
        #: Upstream calls running now (the status shows "waiting" while there are any).
        self.calls_running = 0
        #: Told of each call starting and ending (the status), and of each answer with what it
        #: cost (the usage statistics): ``on_answer(language, prompt, answer, usage)``.
        self.on_calls_changed: Callable[[], None] = lambda: None
        self.on_answer: Callable[[str, str, str, dict[str, Any]], None] = lambda *_: None
        #: Told of each failed call (the terminal mode turns it into its exit status).
        self.on_failure: Callable[[ApiError], None] = lambda _error: None

    @property
    def endpoint(self) -> Endpoint:
        return self.upstream.endpoint

    def configure(self, settings: Settings, *, endpoint_changed: bool = False) -> None:
        """Apply new settings (the server has given ``upstream`` its own first); the cache
        is rebuilt only if its settings or the endpoint changed."""
        old = self.settings
        if endpoint_changed or (settings.cache_size, settings.cache_ttl_seconds) != (
            old.cache_size,
            old.cache_ttl_seconds,
        ):
            self.cache = CompletionCache(
                settings.cache_size, settings.cache_ttl_seconds, clock=self._clock
            )
        if endpoint_changed and self.endpoint.usable:
            self.health.record_success()  # a new endpoint deserves a fresh start
        self.settings = settings
        self._apply_debounce(settings)
        if self.repository is not None:
            self.repository.configure(settings)

    def _apply_debounce(self, settings: Settings) -> None:
        self.rhythm.base = settings.debounce_ms / 1000
        self.rhythm.minimum = settings.debounce_min_ms / 1000
        self.rhythm.maximum = max(settings.debounce_min_ms, settings.debounce_max_ms) / 1000
        self.rhythm.adaptive = settings.adaptive_debounce

    async def aclose(self) -> None:
        """Cancel the calls still running (the server closes ``upstream`` itself)."""
        await self._running.aclose()

    # -- document events -------------------------------------------------------------------

    def document_changed(self, uri: str) -> None:
        if self.settings.enable:
            self.upstream.connect_ahead()  # after a long pause: during the debounce
        self.rhythm.note_edit(uri)
        self.pacing.note_edit(uri)
        self._running.edited(uri)

    def document_closed(self, uri: str) -> None:
        self.rhythm.forget(uri)
        self.pacing.forget(uri)
        self._typed_ahead.forget(uri)
        self._running.closed(uri)

    # -- completion ------------------------------------------------------------------------

    def wants(self, document: Document) -> bool:
        """Whether this document gets completions at all (switches, language, endpoint,
        and files that must never be sent, see privacy.py)."""
        settings = self.settings
        return (
            settings.enable
            and self.endpoint.usable
            and document.language_id not in settings.disabled_languages
            and not privacy.is_excluded(document.uri, settings.exclude_globs)
            and not (
                settings.mask_secrets
                and self._secret_file.check(
                    document.uri,
                    document.head(privacy.HEAD_LINES, privacy.HEAD_CHARS + 1),
                    document.lines,
                )
            )
        )

    def _at_a_secret(self, context: FimContext) -> bool:
        """The cursor is in a secret (see privacy.cursor_in_secret): nothing is sent."""
        return self.settings.mask_secrets and privacy.cursor_in_secret(
            context.line_before, context.line_after
        )

    def context(self, document: Document, cursor: Cursor) -> FimContext:
        context = build_context(
            document,
            cursor,
            max_prefix_chars=self.settings.max_prefix_chars,
            max_suffix_chars=self.settings.max_suffix_chars,
            multiline=self.settings.multiline,
        )
        if self.repository is None:
            return context
        return self.repository.add_to(context, document, cursor)

    def fim_request(self, context: FimContext) -> FimRequest:
        s = self.settings
        masker = self._masker
        return FimRequest(
            model=s.model,
            prompt=masker.prompt(context.prompt) if s.mask_secrets else context.prompt,
            suffix=masker.suffix(context.suffix) if s.mask_secrets else context.suffix,
            max_tokens=s.max_tokens,
            min_tokens=s.min_tokens,
            temperature=s.temperature,
            top_p=s.top_p,
            stop=tuple(s.stop),
            random_seed=s.random_seed,
        )

    async def complete(
        self,
        document: Document,
        cursor: Cursor,
        *,
        invoked: bool = False,
        kind: str = INLINE,
    ) -> Completion | None:
        """The completion to show at ``cursor``, or ``None``.

        ``invoked`` marks a request the user asked for explicitly: it skips the debounce and
        is let through a paused circuit breaker. ``kind`` names the request's method, whose
        pacing the client is judged on (:class:`ClientPacing`). Never raises for API failures.
        """
        self.stats.requests += 1
        if not invoked:
            self.pacing.note_request(kind, document.uri)
        context = self._sendable_context(document, cursor)
        rest = joined = None
        if context is not None:
            rest = self._typed_ahead.rest(document.uri, context.prompt, context.suffix)
            if rest is None:
                # Joined before this request supersedes the older ones, so that the call they
                # were waiting for is still running when they leave.
                joined = self._running.join(document.uri, context.prompt, context.suffix)
        ticket = self._latest.begin(document.uri)
        edits = self._running.edits(document.uri)
        try:
            if context is None:
                return None
            asked = _Asked(document, cursor, context, ticket, edits, invoked, kind)
            if rest is not None:
                return self._from_typed_ahead(asked, rest)
            if joined is not None:
                completion = await self._from_running_call(asked, *joined)
                if completion is not None:
                    return completion
                # The model went another way than the user: ask for this text as usual.
            return await self._from_cache_or_upstream(asked)
        except Superseded:
            self.stats.superseded += 1
            return None
        except ApiError as error:
            if invoked and error.kind is ErrorKind.RATE_LIMITED:
                self.health.tell(error, self.endpoint)  # asked for, so worth an answer
            return None
        except Exception:
            # A bug of ours must cost one completion, not an error in the editor's face on
            # every keystroke; the log has the traceback.
            log.exception("completion failed: internal error")
            return None
        finally:
            await self._latest.after_older(self._latest.finish(ticket))

    def _sendable_context(self, document: Document, cursor: Cursor) -> FimContext | None:
        """The FIM context, or ``None`` when nothing may be sent from here."""
        if not self.wants(document):
            return None
        context = self.context(document, cursor)
        return None if self._at_a_secret(context) else context

    def _from_typed_ahead(self, asked: _Asked, rest: str) -> Completion:
        """The user typed the start of an answer shown before: the rest of it, no request."""
        self.stats.typed_ahead_hits += 1
        self._count_shown("typed-ahead")
        return Completion(rest, asked.cursor, "typed-ahead")

    async def _from_running_call(
        self, asked: _Asked, typed: str, waiter: asyncio.Future[str]
    ) -> Completion | None:
        """The answer of the call the user typed ahead of, minus what they typed (``None``
        when the model went another way)."""
        landed = await self._latest.run(asked.ticket, waiter)
        self._check_unedited(asked)
        rest = landed[len(typed) :] if landed.startswith(typed) else ""
        if not rest.strip():
            return None
        self.stats.in_flight_hits += 1
        self._count_shown("in-flight")
        return Completion(rest, asked.cursor, "in-flight")

    async def _from_cache_or_upstream(self, asked: _Asked) -> Completion | None:
        """The cached answer, or, once the document is quiet (unless the client waited for
        a pause itself), one shared upstream call.

        An automatic request that needed the API tells :class:`ClientPacing` whether it was
        overtaken (superseded, edited under, cancelled) before its answer."""
        document, context = asked.document, asked.context
        request = self.fim_request(context)
        key = cache_key(request, context.mode.value, self.settings.max_lines)
        cached = self.cache.get(key)
        automatic = not asked.invoked
        try:
            if cached is None and automatic and not self.pacing.paces_itself(asked.kind):
                factor = context_factor(context.line_before)
                if await self._latest.wait_until_quiet(asked.ticket, factor):
                    self.stats.held += 1
                self._check_unedited(asked)
                cached = self.cache.get(key)  # a request that shared the wait may have filled it
            if cached is not None:
                self.stats.cache_hits += 1
                return self._shown(asked, cached, "cache")
            if automatic and not self.health.allows():
                return None
            answer = self._running.start(
                document,
                asked.cursor,
                context.suffix,
                key,
                lambda: self._fetch(document.uri, document.language_id, context, request, key),
            )
            text = await self._latest.run(asked.ticket, answer)
            self._check_unedited(asked)
        except (Superseded, asyncio.CancelledError):  # typed on, or the client gave up
            if automatic:
                self.pacing.note_outcome(asked.kind, overtaken=True)
            raise
        if automatic:
            self.pacing.note_outcome(asked.kind, overtaken=False)
        return self._shown(asked, text, "api")

    async def alternatives(
        self, document: Document, cursor: Cursor, first: Completion, count: int
    ) -> list[Completion]:
        """``first`` and up to ``count - 1`` other suggestions, for a request the user made
        explicitly (cycling through suggestions); automatic requests never pay for these.

        The others are fetched concurrently with distinct ``random_seed`` values at a
        temperature above 0 (each its own cache entry, so cycling again is free), and
        deduplicated; one that fails or says nothing new is left out. Never raises.
        """
        shown = [first]
        context = self._sendable_context(document, cursor) if count > 1 else None
        if context is None:
            return shown
        base = self.fim_request(context)
        temperature = max(base.temperature, ALTERNATIVE_TEMPERATURE)
        seed = base.random_seed or 0
        requests = [
            dataclasses.replace(base, temperature=temperature, random_seed=seed + number)
            for number in range(1, count)
        ]
        edits = self._running.edits(document.uri)

        async def fetch(request: FimRequest) -> str:
            key = cache_key(request, context.mode.value, self.settings.max_lines)
            cached = self.cache.get(key)
            if cached is not None:
                return cached
            return await self._running.shared(
                key, lambda: self._fetch(document.uri, document.language_id, context, request, key)
            )

        answers = await asyncio.gather(*map(fetch, requests), return_exceptions=True)
        if self._running.edits(document.uri) != edits:
            return shown  # typed on meanwhile: the editor asks again
        seen = {first.text.strip()}
        for answer in answers:
            if isinstance(answer, BaseException):
                if not isinstance(answer, (ApiError, asyncio.CancelledError)):
                    log.error("alternative failed: internal error", exc_info=answer)
                continue
            if answer.strip() and answer.strip() not in seen:
                seen.add(answer.strip())
                shown.append(Completion(answer, cursor, "alternative"))
        # Typing on follows the first suggestion before the others (newest is tried first).
        self._typed_ahead.remember(document.uri, context.prompt, context.suffix, first.text)
        return shown

    def _check_unedited(self, asked: _Asked) -> None:
        """Raise :class:`Superseded` if the document was edited since the request came.

        Editors that ask again as the user types supersede the request anyway; the others
        (Helix, eglot, an edit in normal mode) would get an answer for text that is gone,
        placed with a cursor that may no longer exist. The answer of a call is cached and
        remembered for typed-ahead before this check, so it is not lost.
        """
        if self._running.edits(asked.document.uri) != asked.edits:
            raise Superseded

    def _count_shown(self, source: str) -> None:
        self.stats.shown[source] = self.stats.shown.get(source, 0) + 1

    def _shown(self, asked: _Asked, text: str, source: str) -> Completion | None:
        if not text:
            return None
        context = asked.context
        self._typed_ahead.remember(asked.document.uri, context.prompt, context.suffix, text)
        self._count_shown(source)
        return Completion(text, asked.cursor, source)

    def _failed(self, error: ApiError) -> None:
        """A completion failed for a reason the user may have to know: pause, tell once."""
        self.stats.failures += 1
        log.warning("completion failed: %s (%s)", error, error.kind.value)
        self.health.record_failure(error, self.endpoint)
        self.on_failure(error)

    async def _fetch(
        self, uri: str, language: str, context: FimContext, request: FimRequest, key: str
    ) -> str:
        """One upstream call; the cleaned answer ("" for none) is cached, remembered for
        typed-ahead reuse (paid for, so worth keeping even if nobody shows it) and returned."""
        max_lines = self.settings.max_lines
        self.stats.upstream_calls += 1
        try:
            client = self.upstream.client
        except ApiError as error:  # the CA bundle the environment names cannot be loaded
            self._failed(error)
            raise
        self.calls_running += 1
        self.on_calls_changed()
        try:
            result = await client.fim(
                request,
                stream=self.settings.stream,
                until=lambda text: truncate_for_mode(text, context, max_lines=max_lines).complete,
            )
        except asyncio.CancelledError:
            self.health.release_probe()
            raise
        except ApiError as error:
            if not self.upstream.is_current(client):
                # Settings changed during the call and closed its client: not an outage.
                log.info("completion dropped: the settings changed while it ran")
                raise
            if error.kind is ErrorKind.BUSY:
                # Every connection was taken by other calls: our load, not an outage.
                log.info("completion dropped: %s", error)
                self.health.release_probe()
                raise
            self._failed(error)
            raise
        finally:
            self.calls_running -= 1
            self.on_calls_changed()
        self.on_answer(language, request.prompt + request.suffix, result.text, result.usage)
        self.health.record_success()
        self.stats.chunks_received += result.chunks
        self.stats.stopped_early += result.stopped_early
        cut = truncate_for_mode(result.text, context, max_lines=max_lines, final=True)
        text = clean_completion(cut.text, context) or ""
        log.info(
            "completion: %s mode, %d+%d chars sent, %d chunks%s, %.0f ms, %d chars shown",
            context.mode.value,
            len(request.prompt),
            len(request.suffix),
            result.chunks,
            " (stopped early)" if result.stopped_early else "",
            result.elapsed * 1000,
            len(text),
        )
        self.cache.put(key, text)
        self._typed_ahead.remember(uri, context.prompt, context.suffix, text)
        return text
