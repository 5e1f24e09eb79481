"""``python -m bench.mutation``: how much of the pure modules' behaviour their fast tests pin.

Each mutant is one small change to one module (``<`` for ``<=``, ``and`` for ``or``, a
constant off by one, a ``not`` dropped, ...). The module's fast unit tests run against it; a
mutant they do not fail on "survived": a behaviour nothing pins. The score is the share of
mutants killed, out of those not listed as equivalent (a change no behaviour can show, each
with its reason, in ``EQUIVALENT`` below).

    python -m bench.mutation                    # every module below (~10 minutes)
    python -m bench.mutation cache scheduling   # some of them
    python -m bench.mutation items --survivors  # and list what survived

It is a small runner of our own rather than mutmut: it needs no configuration or database,
mutates the AST (so it never produces a syntax error), and runs each mutant's tests in a
process forked from one that has already imported pytest and the dependencies, about 0.5 s a
mutant instead of 3 s for a fresh interpreter. A mutant whose tests run for more than
``--timeout`` seconds (an endless loop) counts as killed.
"""

from __future__ import annotations

import argparse
import ast
import copy
import importlib.abc
import importlib.util
import os
import select
import signal
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: Module (path under codestral_ls/, without .py) -> its fast tests.
TARGETS: dict[str, tuple[str, ...]] = {
    "prompt": (
        "tests/unit/test_prompt_and_postprocess.py",
        "tests/unit/test_prompt_rules.py",
        "tests/unit/test_indentation.py",
    ),
    "postprocess": (
        "tests/unit/test_prompt_and_postprocess.py",
        "tests/unit/test_postprocess_rules.py",
        "tests/unit/test_indentation.py",
    ),
    "cache": ("tests/unit/test_cache.py",),
    "scheduling": (
        "tests/unit/test_scheduling.py",
        "tests/unit/test_scheduling_rules.py",
        "tests/unit/test_running_calls.py",
        "tests/unit/test_pacing.py",
    ),
    "documents": ("tests/unit/test_documents.py", "tests/unit/test_indentation.py"),
    "privacy": ("tests/unit/test_privacy_rules.py",),
    "items": ("tests/unit/test_items.py",),
    "indentation": ("tests/unit/test_indentation.py", "tests/test_actions_units.py"),
    "actions/answers": ("tests/test_actions_units.py", "tests/unit/test_action_placement.py"),
    "actions/placement": ("tests/test_actions_units.py", "tests/unit/test_action_placement.py"),
    "actions/edits": ("tests/test_actions_units.py", "tests/unit/test_action_placement.py"),
}

#: Mutants no test can kill, each with why: (module, line, mutation) -> reason.
EQUIVALENT: dict[tuple[str, int, str], str] = {
    ("actions/answers", 38, "0 -> 1"): "fence[0] and fence[1] are the same character",
    ("actions/edits", 17, "True -> False"): "frozen: a Replacement is never changed or hashed",
    ("actions/edits", 26, "True -> False"): "frozen: a FileChange is never changed or hashed",
    ("actions/placement", 35, "True -> False"): "frozen: a Landing is never changed or hashed",
    ("actions/placement", 50, "True -> False"): "frozen: a TestsFile is never changed or hashed",
    ("actions/placement", 132, "Lt -> LtE"): "find_target starts a target below its instruction",
    ("cache", 53, "Gt -> GtE"): "ttl >= 0: a cache whose entries expire as they are stored",
    ("cache", 69, "True -> False"): "frozen: _Shown is compared (==), never hashed or changed",
    ("cache", 115, "Add -> Sub"): "a lower search start only tries candidates the check rejects",
    ("postprocess", 24, "True -> False"): "frozen: a Truncation is never changed or hashed",
    ("postprocess", 59, "GtE -> Gt"): "the line end found is after the first visible character",
    ("postprocess", 59, "0 -> 1"): "the same: a line end found there is at index 1 or more",
    ("postprocess", 64, "1 -> 2"): "-2 for 'no line end' is as negative as -1 to every caller",
    ("postprocess", 72, "0 -> 1"): "blank lines before any content never end the answer",
    ("postprocess", 143, "0 -> 1"): "the same offset on every imbalance compared",
    ("documents", 44, "4096 -> 4097"): "the chunk size moves where chunks are cut, no reading",
    ("documents", 116, "LtE -> Lt"): "column 0 converts text[:0], whose index is 0 as well",
    ("documents", 133, "Mult -> FloorDiv"): "a shortcut: the pair-counting loop gives the same",
    ("documents", 140, "Lt -> LtE"): "at equality the loop ends and column - astral is start",
    ("documents", 143, "break -> continue"): "the later pairs start past the column: none counts",
    ("documents", 150, "GtE -> Gt"): "the bytes start at a character: data[0] is never a tail",
    ("documents", 150, "0 -> 1"): "the same: data[0] is never a continuation byte",
    ("documents", 155, "Lt -> LtE"): "0x80 is a continuation byte, never the lead byte found",
    ("documents", 155, "128 -> 129"): "the same: no lead byte is 0x80",
    ("documents", 211, "0 -> 1"): "tree[0] is never read: the Fenwick tree counts from 1",
    ("documents", 217, "1 -> 2"): "a larger first step is skipped by find's bound check",
    ("documents", 256, "True -> False"): "frozen: a Cursor is compared, never changed or hashed",
    ("documents", 339, "Lt -> LtE"): "one more turn appends an empty piece",
    ("documents", 388, "LtE -> Lt"): "a shortcut: at the length in characters units are >= it",
    ("documents", 430, "1 -> 2"): "a second extra character moves no line end <= max_chars",
    ("documents", 436, "GtE -> Gt"): "end 0 with a '\\n' after it means a budget of 1: "
    "window[:1] both ways",
    ("documents", 436, "0 -> 1"): "the same: end 0 with a '\\n' after it returns window[:1]",
    ("documents", 436, "2 -> 3"): "a '\\r\\n' across the budget ends the window: the slice "
    "holds one character either way",
    ("documents", 563, "LtE -> Lt"): "two ways to the same index (the line's text or the "
    "chunks' units); only the cost differs",
    ("documents", 582, "LtE -> Lt"): "the same two ways to a length in units",
    ("documents", 582, "Sub -> Add"): "the same two ways to a length in units",
    ("documents", 631, "Lt -> LtE"): "line(len(lines)) raises IndexError too (no such line end)",
    ("indentation", 44, "Gt -> GtE"): "an increase of 0 is outside the 2..8 steps counted",
    ("indentation", 45, "1 -> 2"): "every count doubled: the most common step stays the same",
    ("privacy", 103, "16 -> 17"): "a cache's size: the globs it gives are the same",
    ("privacy", 156, "16 -> 17"): "a cache's size: the GlobSet it gives matches the same",
    ("privacy", 240, "0 -> 1"): "a class's ']' is found at index 1 or more: only -1 is below 1",
    ("privacy", 240, "Lt -> LtE"): "the same: find() never returns 0 here",
    ("privacy", 300, "break -> continue"): "past the character budget every later line is too",
    ("privacy", 308, "4096 -> 4097"): "a cache's size: each line's answer is the same",
    ("privacy", 365, "8 -> 9"): "how many parts are remembered: the masking is the same",
    ("privacy", 365, "4096 -> 4097"): "how many lines are remembered: the masking is the same",
    ("privacy", 382, "LtE -> Lt"): "a one-line text is masked the same whole or as '' + itself",
    ("privacy", 382, "0 -> 1"): "a text starting with a line end: '\\n' + the rest, the same",
    ("privacy", 390, "GtE -> Gt"): "one part more remembered: the masking is the same",
    ("privacy", 403, "Gt -> GtE"): "when remembered lines are forgotten: the masking is the same",
    ("privacy", 403, "Add -> Sub"): "the same: forgetting later changes only what is rescanned",
    ("privacy", 434, "GtE -> Gt"): "a span at a group's end: all go to the fallback, the same",
    ("privacy", 436, "Gt -> GtE"): "the same: the fallback masks each group alone, as the scan",
    ("privacy", 454, "19 -> 20"): "a wider reach only masks a line together with the next",
    ("privacy", 479, "130 -> 131"): "the longest name, quote and blanks take 129 characters",
    ("prompt", 53, "True -> False"): "frozen: a FimContext is only copied (replace), never changed",
    ("prompt", 94, "0 -> 1"): "min_indent is read in multi-line mode only; this is single-line",
    ("prompt", 100, "Lt -> LtE"): "line_text is '' past the end: the search stops one line later",
    ("scheduling", 150, "40 -> 41"): "one more sample of 40 cannot move their 85th percentile",
    ("scheduling", 187, "Sub -> Add"): "int(0.85 * n) is below n - 1 or equal to it for every n",
    ("scheduling", 401, "True -> False"): "frozen: a RunningCall is never changed or hashed",
}

_COMPARE_SWAPS: dict[type[ast.cmpop], type[ast.cmpop]] = {
    ast.Lt: ast.LtE,
    ast.LtE: ast.Lt,
    ast.Gt: ast.GtE,
    ast.GtE: ast.Gt,
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
    ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
}
_BINOP_SWAPS: dict[type[ast.operator], type[ast.operator]] = {
    ast.Add: ast.Sub,
    ast.Sub: ast.Add,
    ast.Mult: ast.FloorDiv,
    ast.FloorDiv: ast.Mult,
    ast.Div: ast.Mult,
    ast.Mod: ast.FloorDiv,
}


@dataclass(frozen=True)
class Mutant:
    module: str
    line: int
    description: str
    source: str  # the whole mutated module


def _skipped(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    """Logging calls, type annotations, ``__all__`` and docstrings say nothing to test."""
    child, parent = node, parents.get(node)
    while parent is not None:
        if isinstance(parent, ast.Call):
            func = parent.func
            if (
                isinstance(func, ast.Attribute)
                and isinstance(func.value, ast.Name)
                and func.value.id in ("log", "logging", "logger")
            ):
                return True
        if isinstance(parent, (ast.arg, ast.AnnAssign)) and child is getattr(
            parent, "annotation", None
        ):
            return True
        if isinstance(parent, (ast.FunctionDef, ast.AsyncFunctionDef)) and child is parent.returns:
            return True
        if isinstance(parent, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__all__" for t in parent.targets
        ):
            return True
        child, parent = parent, parents.get(parent)
    return False


def _mutations(node: ast.AST) -> Iterator[tuple[str, ast.AST]]:
    """(description, replacement node) for each way to mutate ``node``."""
    if isinstance(node, ast.Compare):
        for i, op in enumerate(node.ops):
            swap = _COMPARE_SWAPS.get(type(op))
            if swap is not None:
                new = copy.deepcopy(node)
                new.ops[i] = swap()
                yield f"{type(op).__name__} -> {swap.__name__}", new
    elif isinstance(node, ast.BinOp):
        swap = _BINOP_SWAPS.get(type(node.op))
        if swap is not None and not _is_string_format(node):
            new = copy.deepcopy(node)
            new.op = swap()
            yield f"{type(node.op).__name__} -> {swap.__name__}", new
    elif isinstance(node, ast.AugAssign):
        swap = _BINOP_SWAPS.get(type(node.op))
        if swap is not None:
            new = copy.deepcopy(node)
            new.op = swap()
            yield f"{type(node.op).__name__}= -> {swap.__name__}=", new
    elif isinstance(node, ast.BoolOp):
        new = copy.deepcopy(node)
        new.op = ast.Or() if isinstance(node.op, ast.And) else ast.And()
        yield f"{type(node.op).__name__} -> {type(new.op).__name__}", new
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        yield "not x -> x", copy.deepcopy(node.operand)
    elif isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, bool):
            yield f"{value} -> {not value}", ast.Constant(not value)
        elif isinstance(value, (int, float)):
            yield f"{value!r} -> {value + 1!r}", ast.Constant(value + 1)
    elif isinstance(node, ast.Break):
        yield "break -> continue", ast.Continue()


def _is_string_format(node: ast.BinOp) -> bool:
    return isinstance(node.left, (ast.Constant, ast.JoinedStr)) and isinstance(
        getattr(node.left, "value", ""), str
    )


def mutants(module: str) -> Iterator[Mutant]:
    path = ROOT / "codestral_ls" / f"{module}.py"
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {
        id(n.body[0].value)
        for n in ast.walk(tree)
        if isinstance(n, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
        and n.body
        and isinstance(n.body[0], ast.Expr)
        and isinstance(n.body[0].value, ast.Constant)
    }
    parents = {child: parent for parent in ast.walk(tree) for child in ast.iter_child_nodes(parent)}
    targets = [n for n in ast.walk(tree) if id(n) not in docstrings and not _skipped(n, parents)]
    for index, node in enumerate(targets):
        for description, replacement in _mutations(node):
            mutated = _replace(tree, index, targets, replacement)
            yield Mutant(module, getattr(node, "lineno", 0), description, ast.unparse(mutated))


def _replace(tree: ast.Module, index: int, targets: list[ast.AST], new: ast.AST) -> ast.Module:
    """A copy of ``tree`` with ``targets[index]`` replaced by ``new``."""
    old = targets[index]

    class Swap(ast.NodeTransformer):
        def visit(self, node: ast.AST) -> ast.AST:
            if node is old:
                return ast.copy_location(new, old)
            return self.generic_visit(node)

    # NodeTransformer edits in place: work on a deep copy that keeps ``old`` itself.
    clone = copy.deepcopy(tree, memo={id(old): old})
    return ast.fix_missing_locations(Swap().visit(clone))


class _MutatedSource(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Serves the mutated source for one module; every other import is left alone."""

    def __init__(self, name: str, source: str, path: str) -> None:
        self.name, self.source, self.path = name, source, path

    def find_spec(self, fullname: str, path: object = None, target: object = None) -> object:
        if fullname != self.name:
            return None
        return importlib.util.spec_from_loader(fullname, self, origin=self.path)

    def create_module(self, spec: object) -> None:
        return None

    def exec_module(self, module: object) -> None:
        module.__file__ = self.path  # type: ignore[attr-defined]
        exec(compile(self.source, self.path, "exec"), module.__dict__)


def _run_tests(mutant: Mutant | None, tests: tuple[str, ...], timeout: float) -> bool:
    """Whether the tests pass (in a forked child: the parent's imports are reused)."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        os.close(read)
        code = 3
        try:
            import pytest

            stale = _dependents("codestral_ls." + mutant.module.replace("/", ".")) if mutant else ()
            for name in [n for n in sys.modules if n.startswith("tests") or n in stale]:
                del sys.modules[name]
            # Only the plugin the tests need: loading every installed one costs ~1 s a mutant.
            os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
            if mutant is not None:
                name = "codestral_ls." + mutant.module.replace("/", ".")
                path = str(ROOT / "codestral_ls" / f"{mutant.module}.py")
                sys.meta_path.insert(0, _MutatedSource(name, mutant.source, path))
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 1)
            os.dup2(devnull, 2)
            args = ["-x", "-q", "-p", "no:cacheprovider", "-p", "pytest_asyncio.plugin", *tests]
            code = int(pytest.main(args))
        finally:
            os.write(write, bytes([min(code, 255)]))
            os._exit(0)
    os.close(write)
    ready, _, _ = select.select([read], [], [], timeout)
    if not ready:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        os.close(read)
        return False  # endless: as good as failing
    outcome = os.read(read, 1)
    os.close(read)
    os.waitpid(pid, 0)
    return outcome == bytes([0])


def _dependents(name: str) -> set[str]:
    """``name`` and every loaded codestral_ls module that imports it, directly or not: what
    must be imported again for the mutant to be seen."""
    imports: dict[str, set[str]] = {}
    for loaded, module in list(sys.modules.items()):
        path = getattr(module, "__file__", None)
        if not loaded.startswith("codestral_ls") or not path:
            continue
        tree = ast.parse(Path(path).read_text(encoding="utf-8"))
        imported: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module)
                imported.update(f"{node.module}.{alias.name}" for alias in node.names)
            elif isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
        imports[loaded] = imported
    found = {name}
    while True:
        more = {m for m, uses in imports.items() if m not in found and uses & found}
        if not more:
            return found
        found |= more


@dataclass
class Score:
    module: str
    killed: int = 0
    survived: int = 0
    equivalent: int = 0
    seconds: float = 0.0

    @property
    def percent(self) -> float:
        total = self.killed + self.survived
        return 100.0 * self.killed / total if total else 100.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.mutation", description=__doc__)
    parser.add_argument("modules", nargs="*", default=list(TARGETS), help="default: all")
    parser.add_argument("--survivors", action="store_true", help="list the surviving mutants")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per mutant")
    parser.add_argument("--target", type=float, default=90.0, help="percent to reach")
    args = parser.parse_args(argv)
    os.chdir(ROOT)
    sys.path.insert(0, str(ROOT))
    import pytest  # noqa: F401  (imported once here, inherited by every forked child)

    import codestral_ls.actions.service  # noqa: F401  (warms the dependencies' imports)

    scores: list[Score] = []
    for module in args.modules:
        tests = TARGETS[module]
        if not _run_tests(None, tests, args.timeout * 4):
            print(f"{module}: its tests fail without any mutation; fix them first", file=sys.stderr)
            return 2
        score = Score(module)
        started = time.monotonic()
        for mutant in mutants(module):
            if (module, mutant.line, mutant.description) in EQUIVALENT:
                score.equivalent += 1
            elif _run_tests(mutant, tests, args.timeout):
                score.survived += 1
                if args.survivors:
                    print(
                        f"  survived: codestral_ls/{module}.py:{mutant.line}: {mutant.description}"
                    )
            else:
                score.killed += 1
        score.seconds = time.monotonic() - started
        scores.append(score)
        print(_row(score, args.target), flush=True)
    low = [s for s in scores if s.percent < args.target]
    return 1 if low else 0


def _row(score: Score, target: float) -> str:
    verdict = "ok" if score.percent >= target else "BELOW TARGET"
    return (
        f"{score.module:<20} {score.killed:>4} killed {score.survived:>4} survived "
        f"{score.equivalent:>3} equivalent  {score.percent:5.1f}% (target >= {target:g}%)  "
        f"{score.seconds:5.0f} s  {verdict}"
    )


if __name__ == "__main__":
    sys.exit(main())
