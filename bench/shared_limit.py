"""N developers behind one gateway with a workspace-wide rate limit (Langdock's: 500 requests
and 60,000 tokens per minute, 429 with ``Retry-After`` beyond).

    python -m bench.shared_limit            # ~2-3 minutes; prints the table and the verdict

How it is measured, and where time is compressed:

1. **The server's own policy, recorded.** The editing session of :mod:`bench.session` is
   typed into the real server (a subprocess over LSP, VS Code style: a request per keystroke,
   the previous one cancelled) against the fake API, time compressed by ``scale`` as in
   :mod:`bench.replay`. Recorded: when each upstream call went out, at which edit, with what
   prompt; and which edits got a completion before the next edit. Debounce, cache,
   typed-ahead, in-flight reuse and early stop are all in that recording, because they are
   what the server did.
2. **N developers, in virtual time.** Each developer replays that session from a different
   point (so different lengths of file, i.e. different prompt sizes, at any moment), for
   ``minutes`` virtual minutes, against one simulated gateway: a rolling 60 s window of
   requests and tokens; beyond either limit, 429 with ``Retry-After`` = the seconds until the
   window has room. The server's reaction to a 429 is the server's own code: each developer
   has a real :class:`codestral_ls.health.UpstreamHealth` on the virtual clock, which decides
   whether a recorded call goes out (a paused breaker drops it) and whether the user gets a
   pop-up. Only the 429s feed back; nothing else about a developer's session depends on the
   others, which is why the rest can be recorded once and replayed in virtual time.
3. **The naive policies** of :mod:`bench.replay` (a request per keystroke; Continue's 350 ms
   debounce + prefix LRU; lsp-ai's one request a second), simulated on the same session with
   the same answers, against the same gateway in the same run. They have no backoff: a 429
   loses that request, the next one goes out on schedule.

A *pause* is a gap of at least 0.6 s before the next edit (the typist's glance at the ghost
text, see :mod:`bench.session`); it is *served* when a completion was shown before the next
edit. No policy serves every pause even without a limit (the model is wrong or off-track for
some), so the target is on *kept*: pauses served under the limit as a share of those the same
developers get served with no limit, in the same run. A pause the recording served from the
cache or typed-ahead (no call of its own during it) counts as served only if the developer's
last call before it got through (its answer is what the cache holds); the ``local`` column
shows their share. Tokens are estimated as characters / 4 (prompt, suffix and the part of the
answer read before the stream was closed).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import heapq
import json
import math
import random
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bench.lsp import VSCODE_CAPABILITIES, LspProcess, server_environment
from bench.replay import Outcome, _Answers, _drive, _server_options, _states
from bench.session import SessionModel, Trace, generate
from codestral_ls.documents import PositionEncoding
from codestral_ls.endpoint import Endpoint
from codestral_ls.health import UpstreamHealth
from codestral_ls.mistral_api import ApiError, ErrorKind
from tests.fake_mistral import FakeMistral, tokenize

RPM, TPM, WINDOW = 500, 60_000, 60.0
PAUSE = 0.6
SERVED_TARGET = 0.90
GATEWAY = Endpoint("https://api.langdock.com/mistral/eu/v1", "key", "CODESTRAL_API_KEY")


def tokens_of(chars: int) -> int:
    return max(1, math.ceil(chars / 4))


@dataclass(frozen=True)
class Call:
    """One upstream call of one policy on the session: when (s from the session's start),
    what it costs, and the pause it alone can serve (``None``: it serves none)."""

    at: float
    tokens: int
    serves: int | None


@dataclass
class Policy:
    """A policy's calls on the session and its pauses (edit indices), some served locally."""

    name: str
    calls: list[Call]
    #: (edit index, s from the session's start) of each pause.
    pauses: list[tuple[int, float]]
    #: Pauses served without a call of their own (cache, typed-ahead, a call already running),
    #: each with the number of the last call before it, whose answer they depend on.
    local: dict[int, int]
    backoff: bool


# -- 1. the server's policy, recorded --------------------------------------------------------


async def record_server(trace: Trace, scale: float, latency: float, token_delay: float) -> Policy:
    model, answers = SessionModel(), _Answers(SessionModel())
    states = _states(trace)
    sent: list[tuple[float, dict]] = []

    def responder(body: dict) -> str:
        sent.append((time.monotonic(), body))
        return model.responder(body)

    edit_times: list[float] = []
    served: set[int] = set()
    with FakeMistral(
        api_key="test-key", latency=latency * scale, token_delay=token_delay * scale
    ) as fake:
        fake.fim_responder = responder
        server = await LspProcess.spawn(server_environment(fake.base_url))
        try:
            result = await server.initialize(VSCODE_CAPABILITIES, _server_options(scale))
            encoding = PositionEncoding.from_lsp(
                result["capabilities"].get("positionEncoding", "utf-16")
            )
            loop = asyncio.get_running_loop()
            offset = time.monotonic() - loop.time()  # the fake's clock vs the loop's
            await _drive(
                server,
                trace,
                "vscode",
                scale,
                encoding,
                Outcome("server"),
                edit_times=edit_times,
                served=served,
            )
        finally:
            await server.close()
    start = edit_times[0] - trace.events[0].delay * scale
    pauses = pauses_of(states)
    pause_set = {i for i, _at in pauses}
    calls: list[Call] = []
    served_by_call: set[int] = set()
    for arrived, body in sent:
        at_loop = arrived - offset - latency * scale
        # The edit the call was made for: the last one before it went out.
        index = max(0, _last_before(edit_times, at_loop))
        at = (at_loop - start) / scale
        _context, _raw, _shaped, _tokens, stop_at = answers.at(states[index][1])
        next_edit = states[index + 1][0] if index + 1 < len(states) else math.inf
        window = next_edit - at - latency  # the stream is closed at the next edit
        read = stop_at if window * 1 >= stop_at * token_delay else max(0, int(window / token_delay))
        chars = len(body.get("prompt", "")) + len(body.get("suffix", ""))
        answer_chars = len("".join(answer_tokens(answers, states[index][1])[:read]))
        serves = index if (index + 1) in served and index in pause_set else None
        if serves is not None:
            served_by_call.add(index)
        calls.append(Call(at, tokens_of(chars) + tokens_of(answer_chars), serves))
    local = {i for i in pause_set if (i + 1) in served and i not in served_by_call}
    return Policy("codestral-ls (VS Code)", calls, pauses, sources(local, pauses, calls), True)


def sources(local: set[int], pauses: list[tuple[int, float]], calls: list[Call]) -> dict[int, int]:
    """Each locally served pause with the last call before it (pauses before any: dropped)."""
    times = [c.at for c in calls]
    found = {}
    for index, at in pauses:
        last = _last_before(times, at)
        if index in local and last >= 0:
            found[index] = last
    return found


def pauses_of(states: list[tuple[float, str]]) -> list[tuple[int, float]]:
    """Edits followed by a gap of at least PAUSE: (index, time of the edit)."""
    return [
        (i, states[i][0])
        for i in range(len(states) - 1)
        if states[i + 1][0] - states[i][0] >= PAUSE
    ]


def _last_before(times: list[float], at: float) -> int:
    lo, hi = 0, len(times)
    while lo < hi:
        mid = (lo + hi) // 2
        if times[mid] <= at:
            lo = mid + 1
        else:
            hi = mid
    return lo - 1


def answer_tokens(answers: _Answers, text: str) -> list[str]:
    """The model's answer at document ``text``, as the fake streams it."""
    return tokenize(answers.at(text)[1])


# -- 2. the naive policies, on the same session ------------------------------------------------


def naive(
    trace: Trace, policy: str, latency: float, token_delay: float, answers: _Answers
) -> Policy:
    states = _states(trace)
    pauses = pauses_of(states)
    pause_set = {i for i, _at in pauses}
    calls: list[Call] = []
    local: set[int] = set()

    def next_edit(i: int) -> float:
        return states[i + 1][0] if i + 1 < len(states) else math.inf

    def call(i: int, at: float, *, early_stop: bool, abortable: bool, text: str) -> None:
        context, _raw, shaped, tokens, stop_at = answers.at(text)
        used = stop_at if early_stop else tokens
        done = at + latency + used * token_delay
        edit = next_edit(i)
        if abortable and edit < done:
            used = min(used, int(max(0.0, edit - at - latency) / token_delay))
        answer_chars = len("".join(answer_tokens(answers, text)[:used]))
        prompt_chars = len(context.prompt) + len(context.suffix)
        shown = edit >= done and bool(shaped) and i in pause_set
        calls.append(
            Call(at, tokens_of(prompt_chars) + tokens_of(answer_chars), i if shown else None)
        )

    names = {
        "keystroke": "naive: request per keystroke",
        "continue": "naive: 350 ms debounce + LRU",
        "lsp-ai": "naive: 1 request/s (lsp-ai)",
    }
    if policy == "keystroke":
        for i, (at, text) in enumerate(states):
            call(i, at, early_stop=False, abortable=True, text=text)
    elif policy == "continue":
        lru: collections.OrderedDict[str, str] = collections.OrderedDict()
        for i, (at, text) in enumerate(states):
            fire = at + 0.35
            if next_edit(i) < fire:
                continue
            context, _raw, shaped, _tokens, _stop = answers.at(text)
            prompt = context.prompt
            hit = any(
                prompt.startswith(key)
                and lru[key].startswith(prompt[len(key) :])
                and lru[key][len(prompt) - len(key) :].strip()
                for key in lru
            )
            if hit:
                if i in pause_set:
                    local.add(i)
                continue
            call(i, fire, early_stop=True, abortable=True, text=text)
            if next_edit(i) >= fire + latency:
                lru[prompt] = shaped
                if len(lru) > 1000:
                    lru.popitem(last=False)
    elif policy == "lsp-ai":
        last = -math.inf
        i = 0
        while i < len(states):
            slot = max(states[i][0], last + 1.0)
            j = i
            while j + 1 < len(states) and states[j + 1][0] <= slot:
                j += 1
            last = slot
            call(j, slot, early_stop=False, abortable=False, text=states[j][1])
            i = j + 1
    return Policy(names[policy], calls, pauses, sources(local, pauses, calls), backoff=False)


# -- 3. one gateway, N developers ----------------------------------------------------------------


class SharedLimit:
    """A rolling 60 s window of requests and tokens for the whole workspace."""

    def __init__(self, rpm: int = RPM, tpm: int = TPM) -> None:
        self.rpm, self.tpm = rpm, tpm
        self._admitted: collections.deque[tuple[float, int]] = collections.deque()
        self._tokens = 0

    def admit(self, now: float, tokens: int) -> float | None:
        """``None`` if admitted, else the ``Retry-After`` in whole seconds."""
        while self._admitted and self._admitted[0][0] <= now - WINDOW:
            self._tokens -= self._admitted.popleft()[1]
        if len(self._admitted) < self.rpm and self._tokens + tokens <= self.tpm:
            self._admitted.append((now, tokens))
            self._tokens += tokens
            return None
        # Room comes back as the oldest entries leave the window.
        need_tokens = self._tokens + tokens - self.tpm
        wait = 0.0
        freed = 0
        for count, (at, spent) in enumerate(self._admitted, 1):
            freed += spent
            if count >= len(self._admitted) - self.rpm + 1 and freed >= need_tokens:
                wait = at + WINDOW - now
                break
        return float(max(1, math.ceil(wait)))


@dataclass
class Result:
    name: str
    developers: int
    minutes: float
    sent: int = 0
    tokens: int = 0
    rejected: int = 0
    dropped: int = 0  # not sent: the breaker was paused
    pauses: int = 0
    served: int = 0
    served_locally: int = 0
    popups: int = 0
    recoveries: list[float] = field(default_factory=list)
    #: Most requests one developer sent within the Retry-After of a 429 it had received.
    burst: int = 0

    #: Pauses the same developers get served with no limit at all (same offsets, same run).
    unlimited: int = 0

    @property
    def served_share(self) -> float:
        return self.served / self.pauses if self.pauses else 0.0

    @property
    def kept(self) -> float:
        """Served under the limit, as a share of what the policy serves without one."""
        return self.served / self.unlimited if self.unlimited else 0.0

    def per_dev_minute(self, value: float) -> float:
        return value / (self.developers * self.minutes)


def run_shared(
    policy: Policy,
    developers: int,
    minutes: float,
    seed: int,
    duration: float,
    *,
    limited: bool = True,
) -> Result:
    """``developers`` copies of ``policy``'s session, each from its own offset, ``minutes``
    virtual minutes, one gateway (``limited=False``: one without limits, the baseline)."""
    rng = random.Random(seed)
    gateway = SharedLimit() if limited else SharedLimit(10**12, 10**15)
    result = Result(policy.name, developers, minutes)
    horizon = minutes * 60.0
    starts = [rng.uniform(0, 30.0) for _ in range(developers)]  # people arrive within 30 s
    offsets = [(k / developers) * duration + rng.uniform(0, 60) for k in range(developers)]
    pause_at = policy.pauses
    heap: list[tuple[float, int, int]] = []  # (virtual time, developer, index into calls)
    cursors: list[_Cursor] = []
    for k in range(developers):
        cursor = _Cursor(policy.calls, offsets[k] % duration, duration, starts[k])
        cursors.append(cursor)
        first = cursor.next_time()
        if first is not None and first < horizon:
            heap.append((first, k, 0))
    heapq.heapify(heap)
    clocks = [0.0] * developers
    popups = [0]
    healths = [
        UpstreamHealth(
            lambda _m: popups.__setitem__(0, popups[0] + 1),
            clock=_clock(clocks, k),
            jitter=rng.random,
        )
        for k in range(developers)
    ]
    last_429: list[tuple[float, float] | None] = [None] * developers
    in_window = [0] * developers
    served: list[set[tuple[int, int]]] = [set() for _ in range(developers)]
    admitted: list[set[tuple[int, int]]] = [set() for _ in range(developers)]
    while heap:
        now, k, _ = heapq.heappop(heap)
        cursor = cursors[k]
        call, lap, number = cursor.take()
        nxt = cursor.next_time()
        if nxt is not None and nxt < horizon:
            heapq.heappush(heap, (nxt, k, 0))
        clocks[k] = now
        if policy.backoff and not healths[k].allows():
            result.dropped += 1
            continue
        result.sent += 1
        seen = last_429[k]
        if seen is not None and now < seen[0] + seen[1]:
            in_window[k] += 1
            result.burst = max(result.burst, in_window[k])
        retry_after = gateway.admit(now, call.tokens)
        if retry_after is None:
            result.tokens += call.tokens
            if seen is not None:
                result.recoveries.append(now - seen[0])
                last_429[k] = None
            if policy.backoff:
                healths[k].record_success()
            admitted[k].add((lap, number))
            if call.serves is not None:
                served[k].add((lap, call.serves))
        else:
            result.rejected += 1
            if seen is None:
                last_429[k] = (now, retry_after)
                in_window[k] = 0
            if policy.backoff:
                error = ApiError(
                    ErrorKind.RATE_LIMITED, "HTTP 429", status=429, retry_after=retry_after
                )
                healths[k].record_failure(error, GATEWAY)
    # Pauses each developer lived through, and which of them got a completion.
    for k in range(developers):
        for lap, index, _at in _lived_pauses(
            pause_at, offsets[k] % duration, duration, starts[k], horizon
        ):
            result.pauses += 1
            source = policy.local.get(index)
            if source is not None:
                # Served from the cache or typed-ahead: from the last answer before it, if
                # that call got through.
                if (lap, source) in admitted[k]:
                    result.served += 1
                    result.served_locally += 1
            elif (lap, index) in served[k]:
                result.served += 1
    result.popups = popups[0]
    return result


def _clock(clocks: list[float], k: int) -> Callable[[], float]:
    return lambda: clocks[k]


class _Cursor:
    """Walks one developer's copy of the calls: from ``offset`` into the session, wrapping
    around at its end (a new lap: the same session typed again), from virtual time ``start``."""

    def __init__(self, calls: list[Call], offset: float, duration: float, start: float) -> None:
        self.calls, self.duration, self.start = calls, duration, start
        self.lap = 0
        self.index = next((i for i, c in enumerate(calls) if c.at >= offset), len(calls))
        self.base = start - offset
        if self.index >= len(calls):
            self._wrap()

    def _wrap(self) -> None:
        self.lap += 1
        self.index = 0
        self.base += self.duration

    def next_time(self) -> float | None:
        if not self.calls:
            return None
        return self.base + self.calls[self.index].at

    def take(self) -> tuple[Call, int, int]:
        """The next call, its lap and its number in the session."""
        number, lap = self.index, self.lap
        self.index += 1
        if self.index >= len(self.calls):
            self._wrap()
        return self.calls[number], lap, number


def _lived_pauses(
    pause_at: list[tuple[int, float]], offset: float, duration: float, start: float, horizon: float
) -> list[tuple[int, int, float]]:
    lived = []
    lap, base = 0, start - offset
    while base < horizon and pause_at:
        for index, at in pause_at:
            t = base + at
            if start <= t < horizon:
                lived.append((lap, index, t))
        lap += 1
        base += duration
    return lived


# -- the run -------------------------------------------------------------------------------------


def save(policy: Policy, path: Path) -> None:
    data = {
        "name": policy.name,
        "calls": [[c.at, c.tokens, c.serves] for c in policy.calls],
        "pauses": policy.pauses,
        "local": sorted(policy.local.items()),
    }
    path.write_text(json.dumps(data), encoding="utf-8")


def load(path: Path) -> Policy:
    data = json.loads(path.read_text(encoding="utf-8"))
    calls = [Call(at, tokens, serves) for at, tokens, serves in data["calls"]]
    pauses = [(index, at) for index, at in data["pauses"]]
    return Policy(data["name"], calls, pauses, dict(data["local"]), backoff=True)


def first_minutes(trace: Trace, minutes: float) -> Trace:
    """The session's first ``minutes`` (the recording runs in real time x ``scale``)."""
    events, at = [], 0.0
    for event in trace.events:
        at += event.delay
        if at > minutes * 60:
            break
        events.append(event)
    return Trace(events)


def measure(policy: Policy, developers: int, minutes: float, seed: int, duration: float) -> Result:
    """The run under the shared limit, with the same run without a limit as its baseline."""
    result = run_shared(policy, developers, minutes, seed, duration)
    result.unlimited = run_shared(policy, developers, minutes, seed, duration, limited=False).served
    return result


def capacity(policy: Policy, minutes: float, seed: int, duration: float, high: int) -> int:
    """The most developers (up to ``high``) keeping SERVED_TARGET of the pauses they would
    have served without a limit."""
    low = 0
    while low < high:
        mid = (low + high + 1) // 2
        if measure(policy, mid, minutes, seed, duration).kept >= SERVED_TARGET:
            low = mid
        else:
            high = mid - 1
    return low


def table(results: list[Result]) -> str:
    head = (
        f"{'policy':32} {'N':>4} {'req/dev-min':>11} {'tok/dev-min':>11} {'served':>7} "
        f"{'kept':>6} "
        f"{'local':>6} {'429s':>6} {'dropped':>7} {'recovery p50/p90 s':>18} {'burst':>5} "
        f"{'pop-ups':>7}"
    )
    lines = [head, "-" * len(head)]
    for r in results:
        rec = (
            f"{statistics.median(r.recoveries):.1f}/{_p90(r.recoveries):.1f}"
            if r.recoveries
            else "-"
        )
        popups = str(r.popups) if r.name.startswith("codestral") else "n/a"
        lines.append(
            f"{r.name:32} {r.developers:>4} {r.per_dev_minute(r.sent):>11.1f} "
            f"{r.per_dev_minute(r.tokens):>11.0f} {r.served_share:>6.1%} {r.kept:>6.1%} "
            f"{r.served_locally / max(1, r.pauses):>6.1%} {r.rejected:>6} {r.dropped:>7} "
            f"{rec:>18} {r.burst:>5} {popups:>7}"
        )
    return "\n".join(lines)


def _p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))]


async def main_async(args: argparse.Namespace) -> int:
    trace = first_minutes(generate(args.seed), args.session_minutes)
    started = time.monotonic()
    if args.recording and args.recording.exists():
        ours = load(args.recording)
    else:
        ours = await record_server(trace, args.scale, args.latency, args.token_delay)
        if args.recording:
            save(ours, args.recording)
    recorded = time.monotonic() - started
    answers = _Answers(SessionModel())
    policies = [ours] + [
        naive(trace, name, args.latency, args.token_delay, answers)
        for name in ("keystroke", "continue", "lsp-ai")
    ]
    duration = trace.duration
    print(
        f"Shared limit: {RPM} requests and {TPM:,} tokens per minute for the workspace; "
        f"{args.minutes:g} virtual minutes per run; session {duration / 60:.1f} min, "
        f"{len(ours.pauses)} pauses >= {PAUSE} s per lap; server recorded at x{args.scale:g} "
        f"in {recorded:.0f} s; fake latency {args.latency * 1000:g} ms + "
        f"{args.token_delay * 1000:g} ms/token."
    )
    results = [
        measure(policy, n, args.minutes, args.seed, duration)
        for n in args.developers
        for policy in policies
    ]
    print(table(results))
    print()
    print(
        f"Capacity: most developers keeping >= {SERVED_TARGET:.0%} of the pauses served "
        "without a limit ('kept'; 'served' is of all pauses: no policy serves every pause, "
        "the model is wrong or off-track for some)"
    )
    caps = {p.name: capacity(p, args.minutes, args.seed, duration, args.max_n) for p in policies}
    for name, cap in caps.items():
        print(f"  {name:32} {cap:>4}")
    best_naive = max(cap for name, cap in caps.items() if name != ours.name)
    ratio = caps[ours.name] / best_naive if best_naive else math.inf
    mine = [r for r in results if r.name == ours.name]
    print(
        f"  ratio {ratio:.2f}x against the best naive policy (target >= 2x); "
        f"codestral-ls: most requests inside a Retry-After {max(r.burst for r in mine)} "
        f"(target 0), pop-ups {sum(r.popups for r in mine)} over all runs (target 0); "
        f"bench time {time.monotonic() - started:.0f} s"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.shared_limit", description=__doc__)
    parser.add_argument("--developers", type=int, nargs="+", default=[10, 25, 50, 100])
    parser.add_argument("--minutes", type=float, default=20.0, help="virtual minutes per run")
    parser.add_argument(
        "--scale",
        type=float,
        default=0.25,
        help="recording's time factor (below ~0.2 the server's own CPU time, which is not "
        "scaled, starts to make answers late on a loaded machine)",
    )
    parser.add_argument(
        "--session-minutes", type=float, default=16.0, help="how much of the session to record"
    )
    parser.add_argument("--latency", type=float, default=0.35, help="fake API latency, s")
    parser.add_argument("--token-delay", type=float, default=0.012, help="fake API s/token")
    parser.add_argument("--seed", type=int, default=5, help="seed of the editing session")
    parser.add_argument("--max-n", type=int, default=160, help="capacity search bound")
    parser.add_argument(
        "--recording", type=Path, help="keep the server's recording here (reused if present)"
    )
    return asyncio.run(main_async(parser.parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
