"""The editing session replayed through the real server, and through naive policies.

Through the server (a subprocess over LSP, against the fake with ``latency``/``token_delay``):

* **VS Code**: after every edit, an automatic ``textDocument/inlineCompletion`` at the cursor;
  the previous request, if unanswered, is cancelled (``$/cancelRequest``).
* **Neovim 0.12**: its own 200 ms debounce: an edit cancels the pending request and the timer;
  the request goes out 200 ms after the last edit.

A completion is *shown* when the server answers with text (counted by the server, by source:
API, cache, typed-ahead, a call already in flight; from ``codestral/stats``), and *in time*
when that answer reached the editor before the next edit. Upstream calls and tokens come from
the fake's records.

Real time is compressed by ``scale`` (the session lasts ~27 minutes): every delay of the trace,
the editor's 200 ms, the fake's latency and token delay, and the server's debounce settings
(``debounceMs``, ``debounceMinMs``, ``debounceMaxMs``) and cache TTL are multiplied by it, so
the server sees the same session, faster. ``--scale 1`` replays it in real time.

The naive policies are simulated in virtual (exact, unscaled) time on the same trace, with the
same model answers and the same prompt building and answer shaping as the server, so only the
*policy* differs:

* **per keystroke**: a request per edit, the previous one cancelled; no cache, no early stop;
* **Continue**: 350 ms debounce, then a longest-prefix LRU (1,000 entries; a hit when the cached
  completion starts with what was typed since), else a call, aborted by the next edit; streams
  stop at the end of the completion (Continue's stream filters);
* **lsp-ai**: a request per edit, at most one upstream call per second (the newest request
  waits for the next slot, older ones are dropped); non-streaming, never aborted.
"""

from __future__ import annotations

import asyncio
import collections
from dataclasses import dataclass, field
from typing import Any

from bench.lsp import (
    NEOVIM_CAPABILITIES,
    VSCODE_CAPABILITIES,
    LspProcess,
    inline_text,
    server_environment,
)
from bench.session import Event, SessionModel, Trace
from codestral_ls.config import Settings
from codestral_ls.documents import Cursor, Document, PositionEncoding
from codestral_ls.postprocess import clean_completion, truncate_for_mode
from codestral_ls.prompt import FimContext, build_context
from tests.fake_mistral import FakeMistral, tokenize

URI = "file:///bench/session/api_client.py"
MAX_TOKENS = Settings().max_tokens


@dataclass
class Outcome:
    """What one policy cost and showed on the session."""

    name: str
    requests: int = 0
    upstream_calls: int = 0
    shown: int = 0  # answered with text (server side: the engine's counts by source)
    shown_in_time: int = 0  # answered with text before the next edit (client side)
    shown_local: int = 0  # from cache or typed-ahead: no upstream call of their own
    shown_in_flight: int = 0  # from a call another request had already started
    prompt_tokens: int = 0
    completion_tokens: int = 0
    details: dict[str, Any] = field(default_factory=dict)
    #: Seconds (unscaled) from the last edit to an answer with text that came in time: what a
    #: user waits for the ghost text after the last key.
    delays: list[float] = field(default_factory=list)

    @property
    def local_share(self) -> float:
        return self.shown_local / self.shown if self.shown else 0.0


class EditorBuffer:
    """The document as the editor holds it; edits always happen at its end (the cursor)."""

    def __init__(self, encoding: PositionEncoding) -> None:
        self.encoding = encoding
        self.lines = [""]

    def end(self) -> tuple[int, int]:
        line = len(self.lines) - 1
        return line, self.encoding.column_of_index(self.lines[line], len(self.lines[line]))

    def apply(self, event: Event) -> tuple[tuple[int, int], tuple[int, int], str]:
        """Apply ``event``; returns the LSP change (start, end, text) in client units."""
        end = self.end()
        if event.kind == "backspace":
            last = self.lines[-1]
            self.lines[-1] = last[:-1]
            return self.end(), end, ""
        pieces = event.text.split("\n")
        self.lines[-1] += pieces[0]
        self.lines.extend(pieces[1:])
        return end, end, event.text


# -- through the server ----------------------------------------------------------------------


def _server_options(scale: float) -> dict[str, Any]:
    defaults = Settings()
    return {
        "debounceMs": max(1, round(defaults.debounce_ms * scale)),
        "debounceMinMs": max(1, round(defaults.debounce_min_ms * scale)),
        "debounceMaxMs": max(1, round(defaults.debounce_max_ms * scale)),
        "cacheTtlSeconds": defaults.cache_ttl_seconds * scale,
    }


#: The editors replayed through the server, and how the table names them.
EDITOR_NAMES = {
    "vscode": "VS Code style",
    "neovim": "Neovim style",
}


async def replay_server(
    trace: Trace, editor: str, *, scale: float, latency: float, token_delay: float
) -> Outcome:
    model = SessionModel()
    outcome = Outcome(f"codestral-ls, {EDITOR_NAMES[editor]}")
    with FakeMistral(
        api_key="test-key", latency=latency * scale, token_delay=token_delay * scale
    ) as fake:
        fake.fim_responder = model.responder
        server = await LspProcess.spawn(server_environment(fake.base_url))
        try:
            caps = VSCODE_CAPABILITIES if editor == "vscode" else NEOVIM_CAPABILITIES
            # Neovim names itself (the server shapes its inline items for it).
            client_info = {"name": "Neovim", "version": "0.12.0"} if editor == "neovim" else None
            result = await server.initialize(caps, _server_options(scale), client_info=client_info)
            encoding = PositionEncoding.from_lsp(
                result["capabilities"].get("positionEncoding", "utf-16")
            )
            await _drive(server, trace, editor, scale, encoding, outcome)
            stats = await server.request("codestral/stats", None)
            await asyncio.sleep(0.1)  # let the fake notice the last hang-ups
            outcome.upstream_calls = len(fake.fim_requests)
            bodies = [r.body or {} for r in fake.fim_requests]  # None: not JSON (cut short)
            outcome.prompt_tokens = sum(
                len(tokenize(b.get("prompt", ""))) + len(tokenize(b.get("suffix", "")))
                for b in bodies
            )
            outcome.completion_tokens = fake.tokens_sent
            shown = stats.get("shown", {})
            outcome.shown = sum(shown.values())
            outcome.shown_local = shown.get("cache", 0) + shown.get("typed-ahead", 0)
            outcome.shown_in_flight = shown.get("in-flight", 0)
            outcome.details = stats
        finally:
            await server.close()
    return outcome


async def _drive(
    server: LspProcess,
    trace: Trace,
    editor: str,
    scale: float,
    encoding: PositionEncoding,
    outcome: Outcome,
    *,
    edit_times: list[float] | None = None,
    served: set[int] | None = None,
) -> None:
    """Type ``trace`` into the server as ``editor`` does; ``edit_times`` gets the loop time of
    each edit and ``served`` the number of each edit answered with text before the next one
    (for bench.shared_limit, which needs them per edit)."""
    loop = asyncio.get_running_loop()
    buffer = EditorBuffer(encoding)
    server.did_open(URI, "")
    version = 1
    edits = 0
    pending: tuple[int, asyncio.Future[Any]] | None = None
    timer: asyncio.TimerHandle | None = None
    futures: list[asyncio.Future[Any]] = []

    def answered(future: asyncio.Future[Any], at_edit: int) -> None:
        if future.cancelled() or future.exception() is not None:
            return
        if at_edit == edits and inline_text(future.result()):
            outcome.shown_in_time += 1
            if served is not None:
                served.add(at_edit)
            outcome.delays.append((loop.time() - last_edit_at) / scale)

    def ask() -> None:
        nonlocal pending
        line, column = buffer.end()
        ident, future = server.inline_request(URI, line, column)
        outcome.requests += 1
        future.add_done_callback(lambda f, n=edits: answered(f, n))
        futures.append(future)
        pending = (ident, future)

    started = last_edit_at = loop.time()
    at = 0.0
    for event in trace.events:
        at += event.delay * scale
        wait = started + at - loop.time()
        if wait > 0:
            await asyncio.sleep(wait)
        start, end, text = buffer.apply(event)
        version += 1
        server.did_change(URI, version, start, end, text)
        last_edit_at = loop.time()
        edits += 1
        if edit_times is not None:
            edit_times.append(loop.time())
        if pending is not None and not pending[1].done():
            server.cancel(pending[0])
        pending = None
        if editor == "vscode":
            ask()
        else:
            if timer is not None:
                timer.cancel()
            timer = loop.call_later(0.2 * scale, ask)
    await asyncio.sleep(0.3 * scale + 0.05)
    await asyncio.wait_for(asyncio.gather(*futures, return_exceptions=True), 30)


# -- naive policies, simulated -----------------------------------------------------------------


class _Answers:
    """The model's answer and the shaped completion for each document state, memoised."""

    def __init__(self, model: SessionModel) -> None:
        self.model = model
        self._memo: dict[str, tuple[FimContext, str, str, int, int]] = {}
        settings = Settings()
        self._budget = (settings.max_prefix_chars, settings.max_suffix_chars)
        self._max_lines = settings.max_lines

    def at(self, text: str) -> tuple[FimContext, str, str, int, int]:
        """(context, raw answer, shaped completion, tokens of the raw answer, tokens to stop)."""
        hit = self._memo.get(text)
        if hit is not None:
            return hit
        document = Document("file:///sim.py", text)
        last = document.line_count - 1
        cursor = Cursor(last, len(document.line_text(last)))
        context = build_context(
            document, cursor, max_prefix_chars=self._budget[0], max_suffix_chars=self._budget[1]
        )
        raw = self.model.answer(context.prompt, context.suffix)
        tokens = tokenize(raw)[:MAX_TOKENS]
        stop_at = len(tokens)
        for i in range(1, len(tokens) + 1):
            if truncate_for_mode("".join(tokens[:i]), context, max_lines=self._max_lines).complete:
                stop_at = i
                break
        cut = truncate_for_mode("".join(tokens), context, max_lines=self._max_lines, final=True)
        shaped = clean_completion(cut.text, context) or ""
        result = (context, raw, shaped, len(tokens), stop_at)
        self._memo[text] = result
        return result

    @staticmethod
    def prompt_tokens(context: FimContext) -> int:
        return len(tokenize(context.prompt)) + len(tokenize(context.suffix))


def _states(trace: Trace) -> list[tuple[float, str]]:
    """(time, document text) after each event."""
    states = []
    now = 0.0
    text = ""
    for event in trace.events:
        now += event.delay
        text = text[:-1] if event.kind == "backspace" else text + event.text
        states.append((now, text))
    return states


def simulate(
    trace: Trace, policy: str, *, latency: float, token_delay: float, answers: _Answers
) -> Outcome:
    states = _states(trace)
    names = {
        "keystroke": "naive: request per keystroke",
        "continue": "naive: 350 ms debounce + prefix LRU (Continue)",
        "lsp-ai": "naive: 1 request/s (lsp-ai)",
    }
    outcome = Outcome(names[policy])
    infinity = float("inf")

    def next_edit(i: int) -> float:
        return states[i + 1][0] if i + 1 < len(states) else infinity

    def call(i: int, at: float, text: str, *, early_stop: bool, abortable: bool) -> bool:
        """One upstream call for the state ``text`` starting at ``at``; True if shown."""
        context, _raw, shaped, tokens, stop_at = answers.at(text)
        outcome.upstream_calls += 1
        outcome.prompt_tokens += answers.prompt_tokens(context)
        used = stop_at if early_stop else tokens
        done = at + latency + used * token_delay
        edit = next_edit(i)
        if abortable and edit < done:
            streamed = int(max(0.0, edit - at - latency) / token_delay) if token_delay else used
            outcome.completion_tokens += min(used, streamed)
            return False
        outcome.completion_tokens += used
        return edit >= done and bool(shaped)

    if policy == "keystroke":
        for i, (at, text) in enumerate(states):
            outcome.requests += 1
            outcome.shown += call(i, at, text, early_stop=False, abortable=True)
    elif policy == "continue":
        lru: collections.OrderedDict[str, str] = collections.OrderedDict()
        for i, (at, text) in enumerate(states):
            outcome.requests += 1
            fire = at + 0.35
            if next_edit(i) < fire:
                continue
            context, _raw, shaped, _tokens, _stop = answers.at(text)
            prompt = context.prompt
            best = None
            for key in lru:
                if prompt.startswith(key) and (best is None or len(key) > len(best)):
                    typed = prompt[len(key) :]
                    if lru[key].startswith(typed) and lru[key][len(typed) :].strip():
                        best = key
            if best is not None:
                lru.move_to_end(best)
                outcome.shown += 1
                outcome.shown_local += 1
                continue
            shown = call(i, fire, text, early_stop=True, abortable=True)
            if shown or next_edit(i) >= fire + latency:  # a finished call is cached
                lru[prompt] = shaped
                if len(lru) > 1000:
                    lru.popitem(last=False)
            outcome.shown += shown
    elif policy == "lsp-ai":
        last_call = -infinity
        i = 0
        while i < len(states):
            at, _text = states[i]
            outcome.requests += 1
            slot = max(at, last_call + 1.0)
            # Newer requests before the slot replace this one (newest wins).
            j = i
            while j + 1 < len(states) and states[j + 1][0] <= slot:
                j += 1
                outcome.requests += 1
            last_call = slot
            context, _raw, shaped, tokens, _stop = answers.at(states[j][1])
            outcome.upstream_calls += 1
            outcome.prompt_tokens += answers.prompt_tokens(context)
            outcome.completion_tokens += tokens
            done = slot + latency + tokens * token_delay
            outcome.shown += next_edit(j) >= done and bool(shaped)
            i = j + 1
    outcome.shown_in_time = outcome.shown
    return outcome


async def run_all(
    trace: Trace, *, scale: float, latency: float, token_delay: float, concurrent: bool = True
) -> list[Outcome]:
    """Both editor replays through the server (at once, on two servers), then the naive ones."""
    jobs = [
        replay_server(trace, editor, scale=scale, latency=latency, token_delay=token_delay)
        for editor in EDITOR_NAMES
    ]
    served = list(await asyncio.gather(*jobs)) if concurrent else [await job for job in jobs]
    answers = _Answers(SessionModel())
    naive = [
        simulate(trace, policy, latency=latency, token_delay=token_delay, answers=answers)
        for policy in ("keystroke", "continue", "lsp-ai")
    ]
    return served + naive
