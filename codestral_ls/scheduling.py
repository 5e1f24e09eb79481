"""When to call the API: debounce, supersession and sharing of in-flight calls.

Editors ask for completions very differently. VS Code asks on every keystroke and cancels the
previous request; Neovim 0.12 asks 200 ms after the last keystroke, itself, and sends its
edits in batches (at most one ``didChange`` per 150 ms, so the last key reaches the server up
to 150 ms late). For a client that asks per keystroke, a request goes upstream only once the
*document* has been quiet for the debounce delay, measured from the last ``didChange``: one
upstream call per pause. A client that waits for the pause itself (:class:`ClientPacing`) is
not debounced again: its request *is* the end of a pause, and the last ``didChange`` (50-200
ms before Neovim's request) says little about when the user last typed, so measuring from it
added 118 ms p50 (17-234 ms) to every Neovim request that was not answered from memory.
The price: a hesitation longer than the client's own wait is a call (see the README).

The delay adapts to the user's rhythm (as Tabby does): it sits just above the gaps between
their keystrokes within a burst, so a fast typist is answered sooner and a slow one is not
interrupted mid-word.

Per document only the newest request is alive: an older one still waiting or fetching is
answered empty at once (never left hanging), and its HTTP call is cancelled unless another
request shares it.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Awaitable, Callable, Hashable, Iterable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from codestral_ls.documents import Cursor, Document

T = TypeVar("T")

#: Gaps longer than this many times the longest debounce are pauses, not part of the typing
#: rhythm (1 s with the default 400 ms bound). Relative, so the rule keeps its meaning when the
#: bounds change (and when the benchmarks replay a session faster than real time).
_PAUSE_FACTOR = 2.5
#: Used when the bounds are zero (no debounce at all).
_PAUSE_SECONDS = 1.0
#: Turns of the event loop a request answered at once gives the one it superseded, to be
#: answered first (it needs four: its stop event, asyncio.wait, its own step, its answer).
TURNS_FOR_OLDER = 8
#: The rhythm needs a few samples before it is trusted over the configured delay.
_MIN_SAMPLES = 5


#: Automatic requests of a kind a client's pacing is judged on (the newest ones).
PACING_WINDOW = 16
#: Until this many requests of a kind were seen, the client is taken at its word (its name).
PACING_EVIDENCE = 6


#: The kinds of request a client's pacing is judged on, one per method.
INLINE = "inline"
COMPLETION = "completion"


class ClientPacing:
    """Whether the client waits for a typing pause itself before it asks, or asks on every
    edit; judged per kind of request (:data:`INLINE`, :data:`COMPLETION`).

    A client is trusted to pace a kind itself only when it is known to (``declared``: inline
    requests from Neovim, by ``clientInfo.name``, see client_features.py) and only while it
    behaves so, judged on its last :data:`PACING_WINDOW` automatic requests of the kind:

    * at least half came after two or more edits of their document since the previous one.
      Neovim typing at ~110 ms a key sends a batch every 150 ms and asks once per 200 ms
      pause, so most of its requests follow several edits; a plugin in Neovim that asks on
      every keystroke (a completion source) has nearly all its requests after one edit;
    * at most half of those that needed the API were overtaken by an edit before their answer.
      Neovim's 200 ms is a pause for a fast typist, but a hesitation for one whose keys are
      often more than 200 ms apart: most of its requests then come mid-word, and without the
      server's debounce each was a call (2.6 times as many in the replayed session).

    Otherwise the kind is debounced like VS Code's. A client not declared is always
    debounced, whatever it does: one that asks per keystroke but skips some (behind a short
    wait of its own, with a fast typist) would look self-paced by the first count, and
    skipping the debounce for it would send a call per hesitation, not one per pause.
    """

    def __init__(self, declared: Iterable[str] = ()) -> None:
        self.declared = set(declared)
        self._edits: dict[Hashable, int] = {}
        #: Per (kind, document): the document's edit count at the kind's last request there.
        self._asked_at: dict[tuple[str, Hashable], int] = {}
        #: Per kind: whether each recent request came after two or more edits.
        self._after_edits: dict[str, deque[bool]] = {}
        #: Per kind: whether each recent request that needed the API was overtaken by an edit.
        self._overtaken: dict[str, deque[bool]] = {}

    def note_edit(self, document: Hashable) -> None:
        """Count one ``didChange`` of ``document``."""
        self._edits[document] = self._edits.get(document, 0) + 1

    def note_request(self, kind: str, document: Hashable) -> None:
        """Count an automatic request of ``kind`` for ``document`` (explicit ones say nothing
        about pacing: the user asked)."""
        edits = self._edits.get(document, 0)
        since = edits - self._asked_at.get((kind, document), 0)
        self._asked_at[(kind, document)] = edits
        samples = self._after_edits.setdefault(kind, deque(maxlen=PACING_WINDOW))
        samples.append(since >= 2)

    def note_outcome(self, kind: str, *, overtaken: bool) -> None:
        """Count an automatic request of ``kind`` that needed the API (no cache hit):
        ``overtaken`` when its document was edited (or a newer request came) before its
        answer, wherever it was waiting (the debounce, the API)."""
        samples = self._overtaken.setdefault(kind, deque(maxlen=PACING_WINDOW))
        samples.append(overtaken)

    def forget(self, document: Hashable) -> None:
        self._edits.pop(document, None)
        for key in [key for key in self._asked_at if key[1] == document]:
            del self._asked_at[key]

    def paces_itself(self, kind: str) -> bool:
        """Whether requests of ``kind`` already come after a pause (no debounce for them)."""
        if kind not in self.declared:
            return False
        return _at_least_half(self._after_edits.get(kind), True) and not _more_than_half(
            self._overtaken.get(kind)
        )


def _at_least_half(samples: deque[bool] | None, default: bool) -> bool:
    if samples is None or len(samples) < PACING_EVIDENCE:
        return default
    return 2 * sum(samples) >= len(samples)


def _more_than_half(samples: deque[bool] | None) -> bool:
    if samples is None or len(samples) < PACING_EVIDENCE:
        return False
    return 2 * sum(samples) > len(samples)


class KeystrokeRhythm:
    """Learns the debounce delay from the gaps between the user's edits."""

    def __init__(
        self,
        *,
        base: float,
        minimum: float,
        maximum: float,
        adaptive: bool = True,
        samples: int = 40,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.base = base
        self.minimum = minimum
        self.maximum = max(minimum, maximum)
        self.adaptive = adaptive
        self._clock = clock
        self._gaps: deque[float] = deque(maxlen=samples)
        self._last_edit: dict[Hashable, float] = {}
        self._last_any: float | None = None

    def note_edit(self, document: Hashable) -> None:
        """Record an edit (one ``didChange``) to ``document`` now."""
        now = self._clock()
        if self._last_any is not None and 0 < now - self._last_any < self.pause_threshold():
            self._gaps.append(now - self._last_any)
        self._last_any = now
        self._last_edit[document] = now

    def forget(self, document: Hashable) -> None:
        self._last_edit.pop(document, None)

    def pause_threshold(self) -> float:
        """A gap at least this long is a pause: it says nothing about the typing rhythm."""
        return _PAUSE_FACTOR * self.maximum if self.maximum > 0 else _PAUSE_SECONDS

    def quiet_for(self, document: Hashable) -> float:
        """Seconds since ``document`` was last edited (infinite if never)."""
        last = self._last_edit.get(document)
        return float("inf") if last is None else self._clock() - last

    def delay(self) -> float:
        """The quiet time an automatic request should wait for, in seconds."""
        if not self.adaptive or len(self._gaps) < _MIN_SAMPLES:
            return self.base
        ordered = sorted(self._gaps)
        typical = ordered[min(len(ordered) - 1, int(len(ordered) * 0.85))]
        return min(self.maximum, max(self.minimum, typical * 1.4))


#: The debounce is this much longer when the cursor is right after a word character.
MID_WORD_FACTOR = 1.5


def context_factor(line_before: str) -> float:
    """How much longer than the learnt delay to wait, given the text before the cursor.

    Right after a letter, digit or underscore the user is most likely inside a word they are
    still typing, and a short hesitation there is not a request for help; after a space,
    punctuation or a bracket, or on a fresh line, is where a suggestion is wanted (Tabby
    scales its debounce by context in the same way). Only the debounce changes: an explicit
    request, the cache and typed-ahead answers are never delayed.
    """
    last = line_before[-1:]
    return MID_WORD_FACTOR if last and (last.isalnum() or last == "_") else 1.0


@dataclass
class Ticket:
    """One request's place in its document's line: superseded when a newer one arrives."""

    document: Hashable
    superseded: asyncio.Event = field(default_factory=asyncio.Event)
    #: Set once the request is answered (see :meth:`LatestRequest.finish`).
    finished: asyncio.Event = field(default_factory=asyncio.Event)
    #: The request this one superseded, until that one is answered.
    replaces: Ticket | None = None

    @property
    def alive(self) -> bool:
        return not self.superseded.is_set()


class Superseded(Exception):
    """Raised to a request whose document got a newer request while it waited."""


class LatestRequest:
    """Keeps only the newest request per document alive."""

    def __init__(self, rhythm: KeystrokeRhythm) -> None:
        self.rhythm = rhythm
        self._current: dict[Hashable, Ticket] = {}

    def begin(self, document: Hashable) -> Ticket:
        """Register a new request for ``document``; every older one is superseded."""
        previous = self._current.get(document)
        if previous is not None:
            previous.superseded.set()
        ticket = Ticket(document, replaces=previous)
        self._current[document] = ticket
        return ticket

    def finish(self, ticket: Ticket) -> Ticket | None:
        """The request is answered; returns the request it superseded if that one is not
        answered yet (see :meth:`after_older`)."""
        older = ticket.replaces
        ticket.replaces = None
        ticket.finished.set()
        if self._current.get(ticket.document) is ticket:
            del self._current[ticket.document]
        return older if older is not None and not older.finished.is_set() else None

    @staticmethod
    async def after_older(older: Ticket | None) -> None:
        """Let the superseded request ``older`` be answered before this one.

        Neovim shows whichever inline answer arrives last. A superseded request leaves at its
        next steps (empty); a newer one answered from memory takes none, so it was answered
        first and the older empty answer hid its ghost text. A few turns of the event loop let
        the older one end and its answer be written (pygls writes it from its task's done
        callback). Only turns of the loop, never a wait on the older one: nothing can hang.
        """
        if older is None:
            return
        for _ in range(TURNS_FOR_OLDER):
            if older.finished.is_set():
                break
            await asyncio.sleep(0)
        await asyncio.sleep(0)  # its answer is written one turn after it ends

    async def wait_until_quiet(self, ticket: Ticket, factor: float = 1.0) -> bool:
        """Wait until the document has been quiet for the debounce delay times ``factor``
        (see :func:`context_factor`); whether there was anything to wait for.

        Raises :class:`Superseded` as soon as a newer request for the document arrives.
        """
        waited = False
        while True:
            remaining = self.rhythm.delay() * factor - self.rhythm.quiet_for(ticket.document)
            if remaining <= 0:
                return waited
            waited = True
            await self.run(ticket, asyncio.sleep(remaining))

    async def run(self, ticket: Ticket, work: Awaitable[T]) -> T:
        """Await ``work`` unless ``ticket`` is superseded first (then cancel it, raise)."""
        if not ticket.alive:
            _discard(work)
            raise Superseded
        task = asyncio.ensure_future(work)
        stop = asyncio.ensure_future(ticket.superseded.wait())
        try:
            await asyncio.wait({task, stop}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.cancel()
            if not task.done():
                task.cancel()
                # Nobody awaits it any more: read its end so an error raised while it was
                # being cancelled is not reported as "Task exception was never retrieved".
                task.add_done_callback(_retrieve)
        if not task.done() or task.cancelled():
            raise Superseded
        return task.result()


def _retrieve(task: asyncio.Future[object]) -> None:
    if not task.cancelled():
        task.exception()


def _discard(work: Awaitable[object]) -> None:
    if asyncio.iscoroutine(work):
        work.close()
    elif isinstance(work, asyncio.Future):
        work.cancel()


@dataclass
class _Flight(Generic[T]):
    task: asyncio.Task[T]
    key: Hashable = None
    waiters: int = 0


class SharedCalls(Generic[T]):
    """Runs one upstream call per key, however many requests want it at once.

    The call is cancelled when the last request waiting for it gives up, so a completion
    nobody will see does not keep streaming (and billing) tokens; unless ``keep(key)`` says
    a request yet to come will want it (the user is typing ahead of it). Such a call is
    cancelled by :meth:`abandon` as soon as that stops being true.
    """

    def __init__(self, keep: Callable[[Hashable], bool] | None = None) -> None:
        self._flights: dict[Hashable, _Flight[T]] = {}
        self._keep = keep

    def __len__(self) -> int:
        return len(self._flights)

    async def call(self, key: Hashable, start: Callable[[], Awaitable[T]]) -> T:
        flight = self._flights.get(key)
        if flight is None:
            flight = _Flight(asyncio.ensure_future(start()), key)
            self._flights[key] = flight
            flight.task.add_done_callback(lambda _t, k=key, f=flight: self._landed(k, f))
        return await self._waiter(flight)

    def abandon(self, key: Hashable) -> None:
        """Cancel the call under ``key`` if no request is waiting for it (any more)."""
        flight = self._flights.get(key)
        if flight is not None and flight.waiters == 0 and not flight.task.done():
            flight.task.cancel()

    def join(self, key: Hashable) -> asyncio.Future[T] | None:
        """Wait for the call running under ``key``, if there is one (else ``None``).

        The caller counts as a waiter from this very moment, so an older request leaving in
        the meantime cannot cancel the call; cancelling the returned future gives it up.
        """
        flight = self._flights.get(key)
        if flight is None or flight.task.done():
            return None
        return self._waiter(flight)

    def _waiter(self, flight: _Flight[T]) -> asyncio.Future[T]:
        flight.waiters += 1
        waiter = asyncio.shield(flight.task)

        def release(_done: asyncio.Future[T]) -> None:
            flight.waiters -= 1
            unwanted = self._keep is None or not self._keep(flight.key)
            if flight.waiters == 0 and not flight.task.done() and unwanted:
                flight.task.cancel()

        waiter.add_done_callback(release)
        return waiter

    def _landed(self, key: Hashable, flight: _Flight[T]) -> None:
        if self._flights.get(key) is flight:
            del self._flights[key]
        if not flight.task.cancelled():
            flight.task.exception()  # mark retrieved: waiters that left early never will

    async def aclose(self) -> None:
        tasks = [flight.task for flight in self._flights.values()]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(BaseException):
                await task


#: How much of the prompt's end identifies the text a running call was made for.
JOIN_ANCHOR = 400
#: Most characters the user may type ahead of a running call and still use its answer.
JOIN_TYPED = 200


@dataclass(frozen=True)
class RunningCall:
    """The newest upstream call of a document: where it was made, for which text."""

    document: Document
    cursor: Cursor
    anchor: str  # the last characters before the cursor when the call started
    suffix: str
    key: str
    edits: int  # the document's edit count when the call started

    def typed_ahead(self, edits: int) -> bool:
        """Whether the document was edited since the call started, but only after its cursor
        (the text just before the cursor is unchanged): the user typed on, the answer may
        still be what they want."""
        return (
            edits != self.edits
            and self.document.contains(self.cursor)
            and self.document.chars_before(self.cursor, len(self.anchor)) == self.anchor
        )


class RunningCalls:
    """Each document's newest upstream call, shared (:class:`SharedCalls`) and joinable by
    a later request when the user only typed on since it started (Continue's "generator
    reuse"). Counts each document's edits, which is how "typed on" is told apart."""

    def __init__(self) -> None:
        self._running: dict[str, RunningCall] = {}
        self._edits: dict[str, int] = {}
        self._shared: SharedCalls[str] = SharedCalls(keep=self.typed_ahead_of)

    def edits(self, uri: str) -> int:
        """How many times ``uri`` was edited so far."""
        return self._edits.get(uri, 0)

    def edited(self, uri: str) -> None:
        """Count an edit; the document's call is closed unless the user typed ahead of it."""
        self._edits[uri] = self.edits(uri) + 1
        running = self._running.get(uri)
        if running is not None and not running.typed_ahead(self._edits[uri]):
            self._shared.abandon(running.key)  # edited before its cursor: nobody will want it

    def closed(self, uri: str) -> None:
        self._edits.pop(uri, None)
        running = self._running.pop(uri, None)
        if running is not None:
            self._shared.abandon(running.key)

    def typed_ahead_of(self, key: object) -> bool:
        """Whether a call nobody waits for any more should go on: the user is typing ahead of
        it, so the next request (VS Code's after a cancel, Neovim's after its debounce) may
        use its answer. Otherwise it is closed at once."""
        for uri, running in self._running.items():
            if running.key == key:
                return running.typed_ahead(self.edits(uri))
        return False

    def join(self, uri: str, prompt: str, suffix: str) -> tuple[str, asyncio.Future[str]] | None:
        """Wait for this document's running call if the user only typed on since it started.

        When the text before the cursor is the call's prompt plus what was typed since, and
        the text after it is unchanged, the answer still applies minus what was typed.
        Returns (typed since, the call's answer to wait for), or ``None``.
        """
        running = self._running.get(uri)
        if running is None or suffix != running.suffix:
            return None
        anchor = running.anchor
        start = prompt.rfind(anchor, max(0, len(prompt) - len(anchor) - JOIN_TYPED))
        if start < 0 or (start > 0 and len(anchor) < JOIN_ANCHOR):
            return None  # not the same text before the cursor (a short anchor is the whole prompt)
        waiter = self._shared.join(running.key)
        if waiter is None:
            del self._running[uri]
            return None
        return prompt[start + len(anchor) :], waiter

    def start(
        self,
        document: Document,
        cursor: Cursor,
        suffix: str,
        key: str,
        fetch: Callable[[], Awaitable[str]],
    ) -> Awaitable[str]:
        """The answer of the call under ``key`` (started with ``fetch`` unless running), now
        the document's newest: the one it replaces is closed unless someone waits for it."""
        replaced = self._running.get(document.uri)
        if replaced is not None and replaced.key != key:
            self._shared.abandon(replaced.key)  # only one call per document may linger
        anchor = document.chars_before(cursor, JOIN_ANCHOR)
        self._running[document.uri] = RunningCall(
            document, cursor, anchor, suffix, key, self.edits(document.uri)
        )
        return self._shared.call(key, fetch)

    def shared(self, key: str, fetch: Callable[[], Awaitable[str]]) -> Awaitable[str]:
        """A call shared by key that is not a document's running call (an alternative
        suggestion): nobody types ahead of it, so it closes when nobody waits."""
        return self._shared.call(key, fetch)

    def __len__(self) -> int:
        """Calls running now (shared ones once)."""
        return len(self._shared)

    async def aclose(self) -> None:
        await self._shared.aclose()
