"""Repository context, measured by what it finds (issue 17).

Real projects from the package index are installed into a temporary virtual environment and
their source trees used as workspaces. In each, positions are sampled at the start of a line
that calls a function, method or class defined in exactly one *other* module of the project
(found with ``ast``: the callee's name is defined nowhere else, so the right definition is
known). For each position the file is opened with two other files of the project chosen at
random (as tabs), an invoked inline completion is asked for at the start of the call line
(after its indentation), and the prompt the fake API received is searched for the callee's
definition line (``def name(...`` / ``class Name...``). Recall is reported for:

- the current file only (``contextChars`` 0: the server before this work);
- open tabs only, Copilot's way, implemented here as the anchor: 60-line windows of the
  tabs, Jaccard similarity of their words to the 60 lines before the cursor, the best window
  of each tab, best first, within the same budget of characters;
- codestral-ls's repository context with its defaults (and its own open-tabs source alone).

The cost is measured apart, in process, where it is not drowned by JSON-RPC: the time
``RepositoryContext.add_to`` takes per request on a 2,000-file workspace (the first 2,000
source files of this environment's site-packages), the time to index it, the index's memory
(``tracemalloc``), and the completion latency through LSP while the index is being built
against after.
"""

from __future__ import annotations

import ast
import asyncio
import collections
import dataclasses
import keyword
import random
import re
import subprocess
import sys
import sysconfig
import tempfile
import time
import tracemalloc
from collections.abc import Iterable, Sequence
from pathlib import Path

from bench.lsp import NEOVIM_CAPABILITIES, LspProcess, server_environment
from bench.stats import Row, percentile
from codestral_ls.config import Settings
from codestral_ls.context import RepositoryContext
from codestral_ls.documents import DocumentStore
from codestral_ls.prompt import build_context
from tests.fake_mistral import FakeMistral

#: (distribution, import name, version): pure-Python projects with many modules calling
#: each other. Pinned so a run from a fresh clone measures the same code.
PROJECTS = (
    ("rich", "rich", "13.9.4"),
    ("Jinja2", "jinja2", "3.1.4"),
    ("httpx", "httpx", "0.28.1"),
    ("click", "click", "8.1.7"),
)
DEFAULT_BUDGET = Settings().context_chars
#: A bench-only option of :func:`ask_at_positions`: the call line is opened empty.
NOT_TYPED_YET = "bench.notTypedYet"
#: Characters of the call line typed one by one in the cost measurement (one request each).
KEYSTROKES = 4
#: Copilot's window and cursor-context size, in lines.
COPILOT_WINDOW = 60


@dataclasses.dataclass(frozen=True)
class Position:
    """The start of a call line, and the definition line the prompt should show."""

    project: str
    root: Path
    path: Path
    line: int  # 0-based
    indent: int
    callee: str
    definition: str  # the callee's ``def``/``class`` line, stripped
    tabs: tuple[Path, ...]

    @property
    def relative(self) -> str:
        return self.path.relative_to(self.root).as_posix()


# -- the projects --------------------------------------------------------------------------


def install_projects(into: Path) -> Path:
    """A virtual environment in ``into`` with the projects installed; its site-packages."""
    venv = into / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    specs = [f"{dist}=={version}" for dist, _name, version in PROJECTS]
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "-q",
            "--no-deps",
            *specs,
        ],
        check=True,
    )
    found = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    )
    return Path(found.stdout.strip())


def python_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.py") if "__pycache__" not in p.parts)


def sample_positions(
    project: str, root: Path, files: Sequence[Path], count: int, rng: random.Random
) -> list[Position]:
    """``count`` call lines of ``files`` whose callee is defined in one other module."""
    trees: dict[Path, tuple[ast.Module, list[str]]] = {}
    for path in files:
        text = path.read_text(encoding="utf-8", errors="replace")
        try:
            trees[path] = (ast.parse(text), text.splitlines())
        except (SyntaxError, ValueError):
            continue
    defined: dict[str, dict[Path, str]] = collections.defaultdict(dict)
    for path, (tree, lines) in trees.items():
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                defined[node.name].setdefault(path, lines[node.lineno - 1].strip())
    simple = (ast.Expr, ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Return)
    candidates = []
    for path, (tree, _lines) in trees.items():
        for statement in ast.walk(tree):
            if not isinstance(statement, simple):
                continue
            for call in ast.walk(statement):
                if not isinstance(call, ast.Call) or call.lineno != statement.lineno:
                    continue
                function = call.func
                name = getattr(function, "id", None) or getattr(function, "attr", None)
                sites = defined.get(name or "", {})
                if not name or name.startswith("__") or len(sites) != 1 or path in sites:
                    continue
                ((_site, definition),) = sites.items()
                others = [f for f in trees if f != path]
                candidates.append(
                    Position(
                        project,
                        root,
                        path,
                        statement.lineno - 1,
                        statement.col_offset,
                        name,
                        definition,
                        tuple(rng.sample(others, min(2, len(others)))),
                    )
                )
                break
    return rng.sample(candidates, min(count, len(candidates)))


# -- the anchor: Copilot's open-tabs snippets ------------------------------------------------

_WORD = re.compile(r"[A-Za-z0-9_]+")
_COMMON = frozenset(keyword.kwlist) | {"self", "cls", "the", "a", "to", "of"}


def _words(line: str) -> set[str]:
    return {w for w in _WORD.findall(line) if w not in _COMMON}


def jaccard_snippets(before_cursor: str, tabs: Iterable[tuple[str, list[str]]], budget: int) -> str:
    """Copilot's neighbouring-tab snippets for this cursor, as comments, within ``budget``."""
    context_lines = before_cursor.split("\n")[-COPILOT_WINDOW:]
    target = set().union(*(_words(line) for line in context_lines))
    best: list[tuple[float, str, int, list[str]]] = []
    for relative, lines in tabs:
        per_line = [_words(line) for line in lines]
        counts: collections.Counter[str] = collections.Counter()
        size = min(COPILOT_WINDOW, len(lines))
        for words in per_line[:size]:
            counts.update(words)
        top = (-1.0, 0)
        for start in range(0, max(1, len(lines) - size + 1)):
            if start:
                counts.subtract(per_line[start - 1])
                counts.update(per_line[start + size - 1])
            window = {w for w, n in counts.items() if n > 0}
            union = len(window | target)
            score = len(window & target) / union if union else 0.0
            if score > top[0]:
                top = (score, start)
        if top[0] > 0:
            best.append((top[0], relative, top[1], lines[top[1] : top[1] + size]))
    best.sort(key=lambda item: -item[0])
    block, used = [], 0
    for _score, relative, _start, lines in best:
        text = f"# Path: {relative}\n" + "".join(f"# {line}\n" for line in lines)
        if used + len(text) <= budget:
            block.append(text)
            used += len(text)
    return "".join(reversed(block))


# -- through the server ----------------------------------------------------------------------


@dataclasses.dataclass
class Outcome:
    prompts: list[str]
    seconds: list[float]


async def ask_at_positions(
    fake: FakeMistral, root: Path, positions: Sequence[Position], options: dict[str, object]
) -> Outcome:
    """One server on the workspace ``root``: each position opened with its tabs, one invoked
    inline completion at the start of its line, the prompt sent read from the fake.

    ``options`` are the server's, except :data:`NOT_TYPED_YET`: the call line is then opened
    empty (its indentation only), as when the user has not written the call yet; the callee's
    name is then nowhere near the cursor.
    """
    options = dict(options)
    not_typed_yet = bool(options.pop(NOT_TYPED_YET, False))
    server = await LspProcess.spawn(server_environment(fake.base_url))
    outcome = Outcome([], [])
    try:
        await server.initialize(NEOVIM_CAPABILITIES, {"debounceMs": 0, **options}, root.as_uri())
        for _ in range(600):
            stats = await server.request("codestral/stats", None)
            sources = options.get("contextSources", ["index"])
            if stats["context"]["index"]["ready"] or not options.get("contextChars", 1):
                break
            if isinstance(sources, list) and "index" not in sources:
                break
            await asyncio.sleep(0.1)
        for position in positions:
            uris = [p.as_uri() for p in (position.path, *position.tabs)]
            for path, uri in zip((position.path, *position.tabs), uris, strict=True):
                text = path.read_text(encoding="utf-8", errors="replace")
                if not_typed_yet and path == position.path:
                    lines = text.split("\n")
                    lines[position.line] = lines[position.line][: position.indent]
                    text = "\n".join(lines)
                server.did_open(uri, text)
            sent = len(fake.fim_requests)
            started = time.perf_counter()
            await server.request(
                "textDocument/inlineCompletion",
                {
                    "textDocument": {"uri": uris[0]},
                    "position": {"line": position.line, "character": position.indent},
                    "context": {"triggerKind": 1},
                },
            )
            outcome.seconds.append(time.perf_counter() - started)
            requests = fake.fim_requests
            outcome.prompts.append(requests[-1].body["prompt"] if len(requests) > sent else "")
            for uri in uris:
                server.did_close(uri)
    finally:
        await server.close()
    return outcome


def block_chars(prompt: str, position: Position) -> int:
    """Characters of the context block at the start of ``prompt`` (0 if none)."""
    closing = f"# Path: {position.relative}\n"
    at = prompt.find(closing)
    return at + len(closing) if at >= 0 else 0


def _of_project(
    name: str, prompts: Sequence[str], positions: Sequence[Position]
) -> tuple[list[str], list[Position]]:
    pairs = [(t, p) for t, p in zip(prompts, positions, strict=True) if p.project == name]
    return [t for t, _ in pairs], [p for _, p in pairs]


def recall(prompts: Sequence[str], positions: Sequence[Position]) -> float:
    hits = sum(p.definition in prompt for prompt, p in zip(prompts, positions, strict=True))
    return hits / len(positions)


# -- cost, in process ------------------------------------------------------------------------


def added_time(
    root: Path, positions: Sequence[Position], max_files: int
) -> tuple[list[float], list[float], list[float], dict]:
    """Per position, what ``add_to`` costs (tabs open, index built): the first request after
    opening the three files (wall time), then the requests of typing the call line anew (its
    text cleared, then :data:`KEYSTROKES` characters typed: wall time, and CPU time of the
    thread, which the other processes of a loaded machine do not inflate); and the index's
    counts."""
    documents = DocumentStore()
    settings = dataclasses.replace(Settings(), context_index_max_files=max_files)
    context = RepositoryContext(documents, settings)
    context.set_roots([root])
    context.start()
    assert context.index.ready.wait(600)
    first, typing_wall, typing_cpu = [], [], []
    for position in positions:
        opened = []
        for path in (position.path, *position.tabs):
            text = path.read_text(encoding="utf-8", errors="replace")
            opened.append(documents.open(path.as_uri(), text, 1, "python"))
        document = opened[0]
        cursor = document.cursor(position.line, position.indent)
        fim = build_context(
            document,
            cursor,
            max_prefix_chars=settings.max_prefix_chars,
            max_suffix_chars=settings.max_suffix_chars,
        )
        started = time.perf_counter()
        context.add_to(fim, document, cursor)
        first.append(time.perf_counter() - started)
        # Then as the user writes the call line: its text cleared, its first characters
        # typed one keystroke (and one request) at a time.
        line = position.line
        typed = document.line_text(line)[position.indent :]
        document.apply_edit((line, position.indent), (line, len(typed) + position.indent), "")
        for count in range(KEYSTROKES + 1):
            if count:
                column = position.indent + count - 1
                document.apply_edit((line, column), (line, column), typed[count - 1])
            document.version = (document.version or 0) + 1
            cursor = document.cursor(line, position.indent + count)
            fim = build_context(
                document,
                cursor,
                max_prefix_chars=settings.max_prefix_chars,
                max_suffix_chars=settings.max_suffix_chars,
            )
            started, cpu = time.perf_counter(), time.thread_time()
            context.add_to(fim, document, cursor)
            typing_cpu.append(time.thread_time() - cpu)
            typing_wall.append(time.perf_counter() - started)
        for opened_document in opened:
            documents.close(opened_document.uri)
            context.document_closed(opened_document.uri)
    counts = context.index.counts()
    context.stop()
    return first, typing_wall, typing_cpu, counts


def index_memory(root: Path, max_files: int) -> tuple[int, float]:
    """(bytes ``tracemalloc`` sees held by a built index, seconds the build took)."""
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    context = RepositoryContext(
        DocumentStore(), dataclasses.replace(Settings(), context_index_max_files=max_files)
    )
    context.set_roots([root])
    context.start()
    assert context.index.ready.wait(900)
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    held = sum(stat.size_diff for stat in after.compare_to(before, "filename"))
    context.stop()
    return held, context.index.build_seconds


async def latency_while_indexing(
    fake: FakeMistral, root: Path, max_files: int
) -> tuple[list[float], list[float]]:
    """Completion round trips while the index is built, then as many after it is built."""
    server = await LspProcess.spawn(server_environment(fake.base_url))
    during: list[float] = []
    after: list[float] = []
    uri = (root / "__bench_while_indexing__.py").as_uri()
    try:
        await server.initialize(
            NEOVIM_CAPABILITIES,
            {"debounceMs": 0, "contextIndexMaxFiles": max_files},
            root.as_uri(),
        )
        server.did_open(uri, "import os\n\ndef f(path):\n    return os.path.join(path, 'x')\n")
        version = 1
        while True:
            ready = (await server.request("codestral/stats", None))["context"]["index"]["ready"]
            target = after if ready else during
            if ready and len(after) >= max(len(during), 20):
                break
            version += 1
            server.did_change(uri, version, (3, 4), (3, 4), " ")  # defeat the cache
            started = time.perf_counter()
            await server.request(
                "textDocument/inlineCompletion",
                {
                    "textDocument": {"uri": uri},
                    "position": {"line": 3, "character": 4},
                    "context": {"triggerKind": 1},
                },
            )
            target.append(time.perf_counter() - started)
    finally:
        await server.close()
    return during, after


# -- the table -------------------------------------------------------------------------------


def workspace_files(limit: int) -> tuple[Path, list[Path]]:
    """A large real workspace: this environment's site-packages, its first ``limit`` files."""
    root = Path(sysconfig.get_paths()["purelib"])
    context = RepositoryContext(DocumentStore())
    context.set_roots([root])
    return root, [p for p in context.workspace.source_files(limit) if p.suffix == ".py"]


async def run(per_project: int = 100, seed: int = 17, budget: int = DEFAULT_BUDGET) -> list[Row]:
    rows: list[Row] = []
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory(prefix="codestral-bench-context-") as scratch:
        site = install_projects(Path(scratch))
        positions: list[Position] = []
        for _dist, name, _version in PROJECTS:
            root = site / name
            positions += sample_positions(name, root, python_files(root), per_project, rng)
        by_project = collections.defaultdict(list)
        for index, position in enumerate(positions):
            by_project[position.project].append(index)
        with FakeMistral(api_key="test-key") as fake:
            fake.fim_responder = lambda body: "pass"
            conditions = {
                "current file only": {"contextChars": 0},
                "codestral-ls, open tabs only": {
                    "contextChars": budget,
                    "contextSources": ["openTabs"],
                },
                "codestral-ls": {"contextChars": budget},
                "codestral-ls, the call not typed yet": {
                    "contextChars": budget,
                    NOT_TYPED_YET: True,
                },
            }
            outcomes: dict[str, Outcome] = {name: Outcome([], []) for name in conditions}
            for _dist, name, _version in PROJECTS:
                chosen = [positions[i] for i in by_project[name]]
                for label, options in conditions.items():
                    got = await ask_at_positions(fake, site / name, chosen, options)
                    outcomes[label].prompts += got.prompts
                    outcomes[label].seconds += got.seconds
        ordered = [positions[i] for name in by_project for i in by_project[name]]
        baseline = outcomes["current file only"]
        anchor_prompts = []
        for position, prompt in zip(ordered, baseline.prompts, strict=True):
            tabs = [
                (
                    tab.relative_to(position.root).as_posix(),
                    tab.read_text(encoding="utf-8", errors="replace").splitlines(),
                )
                for tab in position.tabs
            ]
            anchor_prompts.append(jaccard_snippets(prompt, tabs, budget) + prompt)
        projects = ", ".join(f"{name} {version}" for _d, name, version in PROJECTS)
        rows.append(
            Row(
                "context",
                f"positions: {len(ordered)} call lines of {projects} "
                f"(callee defined in one other module); file + 2 random tabs; "
                f"budget contextChars {budget}",
                "",
                "≥ 300",
                len(ordered) >= 300,
            )
        )
        results = {
            "current file only": baseline.prompts,
            "open tabs, Copilot's Jaccard (anchor)": anchor_prompts,
            "codestral-ls, open tabs only": outcomes["codestral-ls, open tabs only"].prompts,
            "codestral-ls": outcomes["codestral-ls"].prompts,
            "codestral-ls, the call not typed yet (its line empty)": outcomes[
                "codestral-ls, the call not typed yet"
            ].prompts,
        }
        anchor_recall = recall(anchor_prompts, ordered)
        for label, prompts in results.items():
            value = recall(prompts, ordered)
            per = ", ".join(
                f"{name} {recall(*_of_project(name, prompts, ordered)):.0%}" for name in by_project
            )
            chars = [
                block_chars(prompt, position)
                if label.startswith("codestral")
                else len(prompt) - len(b)
                for prompt, position, b in zip(prompts, ordered, baseline.prompts, strict=True)
            ]
            figure = (
                f"recall@{budget}: {label} ({per}); context chars p50 "
                f"{percentile(chars, 50):.0f}, max {max(chars)}"
            )
            if label == "codestral-ls":
                rows.append(Row("context", figure, f"{value:.0%}", "≥ 70 %", value >= 0.70))
                ratio = value / anchor_recall if anchor_recall else float("inf")
                rows.append(
                    Row(
                        "context",
                        "codestral-ls recall / open-tabs anchor recall, same run",
                        f"{ratio:.1f}x ({value:.0%} vs {anchor_recall:.0%})",
                        "≥ 2x",
                        ratio >= 2,
                    )
                )
            else:
                rows.append(Row("context", figure, f"{value:.0%}"))
        full, base = outcomes["codestral-ls"].seconds, baseline.seconds
        rows.append(
            Row(
                "context",
                "invoked completion through LSP: p50 with context minus without, same positions",
                f"{(percentile(full, 50) - percentile(base, 50)) * 1000:+.2f} ms "
                f"({percentile(full, 50) * 1000:.2f} vs {percentile(base, 50) * 1000:.2f})",
            )
        )
        # Cost on a 2,000-file workspace: the first 2,000 source files of the site-packages
        # this bench runs in (pygls, httpx, hypothesis, cryptography, pip...).
        root, files = workspace_files(2000)
        big_positions = sample_positions("site-packages", root, files, 200, rng)
        first, typing_wall, typing_cpu, counts = added_time(root, big_positions, 2000)
        p50 = percentile(typing_cpu, 50)
        rows.append(
            Row(
                "context",
                f"added per request while typing (RepositoryContext.add_to, CPU time), "
                f"{counts['files']}-file workspace, {len(big_positions)} call lines cleared "
                f"and typed again ({KEYSTROKES} keystrokes each, "
                f"{len(typing_cpu)} requests): p50 / p95",
                f"{p50 * 1000:.2f} / {percentile(typing_cpu, 95) * 1000:.2f} ms",
                "≤ 2 ms p50",
                p50 <= 0.002,
            )
        )
        rows.append(
            Row(
                "context",
                "the same, wall time (includes waiting for a CPU on this shared machine)",
                f"{percentile(typing_wall, 50) * 1000:.2f} / "
                f"{percentile(typing_wall, 95) * 1000:.2f} ms",
            )
        )
        rows.append(
            Row(
                "context",
                "first request after opening the file and its 2 tabs (reads them, wall time)",
                f"{percentile(first, 50) * 1000:.2f} / {percentile(first, 95) * 1000:.2f} ms",
            )
        )
        held, build = index_memory(root, 2000)
        rows.append(
            Row(
                "context",
                f"index of {counts['files']} files: {counts['windows']:,} windows, "
                f"{counts['identifiers']:,} identifiers; built in the background in",
                f"{build:.1f} s; {held / 2**20:.1f} MiB (tracemalloc)",
            )
        )
        with FakeMistral(api_key="test-key") as fake:
            fake.fim_responder = lambda body: "pass"
            during, after = await latency_while_indexing(fake, root, 2000)
        rows.append(
            Row(
                "context",
                f"completion p50 while the index is built ({len(during)}) vs after ({len(after)})",
                f"{percentile(during, 50) * 1000:.2f} vs {percentile(after, 50) * 1000:.2f} ms",
            )
        )
    return rows
