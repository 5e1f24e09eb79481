"""Every regex run on user text is linear (issue 12, item 2).

Each compiled pattern of the modules that read user text (found by scanning the modules, so a
new pattern is covered the day it is added), and each function built on them, is fed
adversarial strings: long word runs, hex, ``eyJ`` runs, long URIs, repeated separators,
unclosed quotes. The cost on 100,000 characters is compared with the cost on 10,000 in the
same run: linear work grows about 10x, quadratic work 100x. No absolute time is asserted.

The 10,000-character cost is floored by a linear baseline (one regex step per character over
the same text), so a pattern that gives up at once, whose tiny time is all noise, cannot fail.
A quadratic pattern is caught on 1,000 -> 10,000 characters first, so a failing run does not
spend minutes on the 100,000-character case.
"""

from __future__ import annotations

import gc
import importlib
import re
import time
from collections.abc import Callable

import pytest

from codestral_ls import privacy
from codestral_ls.actions.target import is_header
from codestral_ls.documents import split_lines
from codestral_ls.items import word_before
from codestral_ls.prompt import choose_mode

#: Modules whose patterns run on document text, URIs, answers or log lines.
MODULES = (
    "codestral_ls.documents",
    "codestral_ls.prompt",
    "codestral_ls.items",
    "codestral_ls.privacy",
    "codestral_ls.postprocess",
    "codestral_ls.logs",
    "codestral_ls.actions.edits",
    "codestral_ls.actions.target",
    "codestral_ls.actions.comments",
    "codestral_ls.actions.chat_buffer",
)

#: Adversarial texts, as a function of the length wanted.
FAMILIES: dict[str, Callable[[int], str]] = {
    "word run": lambda n: "a" * n,
    "word run then (": lambda n: "a" * (n - 1) + "(",
    "hex run then space": lambda n: ("0123456789abcdef" * (n // 16 + 1))[: n - 1] + " ",
    "hex run": lambda n: ("0123456789abcdef" * (n // 16 + 1))[:n],
    "eyJ run": lambda n: ("eyJ" * n)[:n],
    "eyJ dotted": lambda n: ("eyJhbGciOiJIUzI1.eyJ" * n)[:n],
    "long URI": lambda n: ("file:///" + "a/" * n)[:n],
    "encoded URI": lambda n: ("file:///" + "%2F.env" * n)[:n],
    "spaces": lambda n: " " * n,
    "tabs then x": lambda n: "\t" * (n - 1) + "x",
    "colons": lambda n: ":" * n,
    "colon spaces": lambda n: (": " * n)[:n],
    "equals quote": lambda n: ('="' * n)[:n],
    "open secret": lambda n: ("api_key = '" + "x" * n)[:n],
    "dashes": lambda n: "-" * n,
    "BEGIN runs": lambda n: ("-----BEGIN " * n)[:n],
    "backticks": lambda n: "`" * n,
    "newlines": lambda n: "\n" * n,
    "CRs": lambda n: "\r" * n,
    "dotted names": lambda n: ("a." * n)[:n],
    "hashes": lambda n: "#" * n,
    "sk- runs": lambda n: ("sk-" * n)[:n],
    "brackets": lambda n: ("([" * n)[:n],
    "closers": lambda n: (")]};" * n)[:n] + "x",
    "angle words": lambda n: ("a<b " * n)[:n],
}

MEDIUM, LARGE = 10_000, 100_000
#: Linear work grows ~10x from 10k to 100k characters, quadratic ~100x; shared machines add
#: noise, hence the margin.
MAX_GROWTH = 40
#: At 10k characters a quadratic pattern already costs thousands of linear passes: failed
#: there, without spending minutes on 100k.
MAX_STEPS_PER_CHAR = 500
_ONE_STEP_PER_CHAR = re.compile(r"(?s).")

#: Patterns that are superlinear by themselves but only ever run on input of bounded size;
#: the function that bounds it is tested in FUNCTIONS instead.
GUARDED = {
    "target._C_HEADER": "target.is_header runs it on lines of at most 1,000 characters",
}
#: Known to fail, owned by another issue: strict, so the fix turns them into failures to
#: remove from here.
KNOWN_SUPERLINEAR: dict[str, str] = {}


def patterns() -> list[tuple[str, re.Pattern[str]]]:
    found = []
    for name in MODULES:
        module = importlib.import_module(name)
        for attribute, value in vars(module).items():
            if isinstance(value, re.Pattern) and isinstance(value.pattern, str):
                label = f"{name.rsplit('.', 1)[-1]}.{attribute}"
                if label not in GUARDED:
                    found.append((label, value))
    return found


#: Functions that run several patterns (or slices) over user text.
FUNCTIONS: dict[str, Callable[[str], object]] = {
    "privacy.is_excluded": lambda s: privacy.is_excluded(s, privacy.DEFAULT_EXCLUDE_GLOBS),
    "privacy.mask_secrets": privacy.mask_secrets,
    "privacy.cursor_in_secret": lambda s: privacy.cursor_in_secret(s, s),
    "privacy.PromptMasker.prompt": lambda s: privacy.PromptMasker().prompt(s),
    "items.word_before": word_before,
    "prompt.choose_mode": lambda s: choose_mode(s, ""),
    "documents.split_lines": split_lines,
    "target.is_header": is_header,
}


def _cost(run: Callable[[str], object], text: str, repeats: int) -> float:
    """CPU time of this thread (other processes on a shared machine do not count), best of
    ``repeats``, without the garbage collector's pauses."""
    best = float("inf")
    gc.disable()
    try:
        for _ in range(repeats):
            started = time.thread_time()
            run(text)
            best = min(best, time.thread_time() - started)
    finally:
        gc.enable()
    return best


def superlinear_families(run: Callable[[str], object]) -> list[str]:
    """The families on which ``run`` grows faster than linearly, with their figures."""
    failures = []
    for family, make in FAMILIES.items():
        medium = make(MEDIUM)
        baseline = _cost(_ONE_STEP_PER_CHAR.findall, medium, repeats=3)
        cost = _cost(run, medium, repeats=3)
        if cost > MAX_STEPS_PER_CHAR * baseline:
            failures.append(f"{family}: 10k costs {cost / baseline:.0f} linear passes")
            continue
        growth = _cost(run, make(LARGE), repeats=2) / max(cost, baseline)
        if growth > MAX_GROWTH:
            failures.append(f"{family}: 10k -> 100k costs {growth:.0f}x (linear: ~10x)")
    return failures


@pytest.mark.parametrize(("name", "pattern"), patterns(), ids=[n for n, _ in patterns()])
def test_pattern_is_linear(name: str, pattern: re.Pattern[str]) -> None:
    assert superlinear_families(lambda s: sum(1 for _ in pattern.finditer(s))) == []


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(name, marks=pytest.mark.xfail(strict=True, reason=KNOWN_SUPERLINEAR[name]))
        if name in KNOWN_SUPERLINEAR
        else name
        for name in FUNCTIONS
    ],
)
def test_function_is_linear(name: str) -> None:
    assert superlinear_families(FUNCTIONS[name]) == []
