"""A deterministic editing session: a person writing a ~300-line Python module.

The module (``data/session_module.py.txt``, an early version of this project's API client,
289 lines) is typed top to bottom into an empty file. The typist is modelled from published
keystroke statistics rather than tuned to any policy:

* within a burst, gaps between keys are log-normal (median 150 ms, sigma 0.45, clipped to
  40 ms‥1.5 s), a little longer after a space or punctuation;
* at a line end, a pause of 0.5‥2.5 s before Enter 30 % of the time; at a line start, a glance
  at the ghost text (0.6‥1.2 s) 35 % of the time, and a longer think (1.5‥3 s) 8 % of the time.
  Pauses are capped at 3 s: nothing any policy does depends on a longer quiet;
* typos on 2.5 % of the characters, noticed at once (backspace) or one or two keys later
  (backspaces over them, then the right text);
* Enter inserts the line break and the next line's indentation in one edit, as editors'
  auto-indent does;
* accepting completions: after any pause of at least 0.6 s, if the model's suggestion there is
  right (see :class:`SessionModel`), the typist accepts it 60 % of the time (after 0.25‥0.5 s
  of reading): the rest of the line, or up to three lines on an empty line. The trace is the
  same for every policy; an accepted text is applied whether or not a given policy had shown
  it at that moment (which keeps the comparison on equal input).

:class:`SessionModel` stands in for Codestral: it knows the module, and for each prompt it is
right to the end of the line 35 % of the time, right for about half the line then wrong 30 %
of the time, and wrong 35 % of the time (chosen by a hash of the prompt's end, so every policy
gets the same answer for the same text); it keeps writing the following lines of the module,
as a model does, so a client that does not stop early pays for them.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from pathlib import Path

TARGET = (Path(__file__).parent / "data" / "session_module.py.txt").read_text(encoding="utf-8")
_ANCHOR = 160
_WRONG_TAILS = ("value)", "None", "self._client", "response.json()", "[]", "0")


class SessionModel:
    """A deterministic stand-in for the model, that knows the module being written."""

    def __init__(self, target: str = TARGET) -> None:
        self.target = target

    def truth_at(self, prompt: str) -> str | None:
        """What the typist will write after ``prompt``, or ``None`` if the prompt is off-track."""
        anchor = prompt[-_ANCHOR:]
        if not anchor:
            return self.target
        found = self.target.find(anchor)
        if found < 0:
            return None
        return self.target[found + len(anchor) :]

    def quality(self, prompt: str) -> str:
        digest = hashlib.blake2b(prompt[-_ANCHOR:].encode("utf-8"), digest_size=4).digest()
        u = int.from_bytes(digest, "big") / 2**32
        if u < 0.35:
            return "right"
        if u < 0.65:
            return "half"
        return "wrong"

    def answer(self, prompt: str, suffix: str = "") -> str:
        truth = self.truth_at(prompt)
        if truth is None:
            return "pass\n"
        line, _, following = truth.partition("\n")
        more = "\n".join(following.split("\n")[:8])
        quality = self.quality(prompt)
        if quality == "right":
            return truth[: len(line) + 1 + len(more)]
        digest = hashlib.blake2b(prompt[-_ANCHOR:].encode("utf-8"), digest_size=2).digest()
        wrong = _WRONG_TAILS[digest[0] % len(_WRONG_TAILS)]
        if quality == "half":
            keep = line[: max(1, len(line) // 2)]
            cut = keep.rfind(" ")
            keep = keep[: cut + 1] if cut > 0 else keep
            return keep + wrong + "\n" + more
        if line.strip() and line.lstrip().startswith(wrong):
            wrong = "pass"
        return wrong + "\n" + more

    def responder(self, body: dict) -> str:
        """For ``FakeMistral.fim_responder``."""
        return self.answer(str(body.get("prompt", "")), str(body.get("suffix", "")))


@dataclass(frozen=True)
class Event:
    """One edit at the end of the document, ``delay`` seconds after the previous one."""

    delay: float
    kind: str  # "type", "backspace", "newline" or "accept"
    text: str = ""


@dataclass
class Trace:
    events: list[Event]

    @property
    def duration(self) -> float:
        return sum(e.delay for e in self.events)

    def count(self, kind: str) -> int:
        return sum(1 for e in self.events if e.kind == kind)

    def pauses(self, threshold: float) -> int:
        """Gaps of at least ``threshold`` seconds (the typing pauses)."""
        return sum(1 for e in self.events if e.delay >= threshold)

    def final_text(self) -> str:
        text = ""
        for event in self.events:
            text = text[:-1] if event.kind == "backspace" else text + event.text
        return text


_NEIGHBOURS = "qwertyuiopasdfghjklzxcvbnm"


def generate(seed: int = 5, target: str = TARGET, model: SessionModel | None = None) -> Trace:
    """The session's events; the same ``seed`` always gives the same trace."""
    rng = random.Random(seed)
    model = model or SessionModel(target)
    events: list[Event] = []

    def key_gap(previous: str) -> float:
        gap = rng.lognormvariate(0, 0.45) * 0.150
        if previous in " ,.()[]:=\"'":
            gap += 0.04
        return min(1.5, max(0.04, gap))

    position = 0
    pending_pause = 0.0
    while position < len(target):
        char = target[position]
        typed = target[:position]
        gap = max(key_gap(typed[-1:] if typed else ""), pending_pause)
        pending_pause = 0.0
        if gap >= 0.6 and model.quality(typed) == "right" and rng.random() < 0.6:
            truth = target[position:]
            line = truth.split("\n", 1)[0]
            at_blank = not typed.split("\n")[-1].strip()
            if at_blank:
                accepted = "\n".join(truth.split("\n")[:3])
                accepted = (
                    accepted[: len(accepted) - len(accepted.split("\n")[-1])].rstrip("\n") or line
                )
            else:
                accepted = line
            if accepted.strip():
                events.append(Event(gap + rng.uniform(0.25, 0.5), "accept", accepted))
                position += len(accepted)
                continue
        if char == "\n":
            if rng.random() < 0.3:
                gap = max(gap, rng.uniform(0.5, 2.5))
            end = target.find("\n", position + 1)
            next_line = target[position + 1 : end if end >= 0 else len(target)]
            indent = next_line[: len(next_line) - len(next_line.lstrip(" "))]
            events.append(Event(gap, "newline", "\n" + indent))
            position += 1 + len(indent)
            roll = rng.random()
            if roll < 0.08:
                pending_pause = rng.uniform(1.5, 3.0)
            elif roll < 0.43:
                pending_pause = rng.uniform(0.6, 1.2)
            continue
        if char.isalpha() and rng.random() < 0.025:
            wrong = rng.choice(_NEIGHBOURS.replace(char.lower(), ""))
            events.append(Event(gap, "type", wrong))
            extra = target[position + 1 : position + 1 + rng.choice((0, 0, 1, 2))]
            extra = extra.split("\n")[0]
            for ch in extra:
                events.append(Event(key_gap(ch), "type", ch))
            for i in range(len(extra) + 1):
                events.append(Event(rng.uniform(0.2, 0.4) if i == 0 else 0.09, "backspace"))
            gap = key_gap("")
        events.append(Event(min(gap, 3.0), "type", char))
        position += 1
    trace = Trace([Event(min(e.delay, 3.0), e.kind, e.text) for e in events])
    assert trace.final_text() == target, "the trace must rebuild the module exactly"
    return trace
