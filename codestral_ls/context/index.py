"""A light lexical index of the workspace: identifiers to windows of code, names to definitions.

Tabby answers "which code elsewhere looks like the code at the cursor" from a code index;
this is the smallest index that answers it for one workspace, in memory, with no model:

- every file is cut into *windows* of at most :data:`WINDOW_LINES` lines, a new one at each
  definition, so a window is usually one function;
- each identifier maps to the windows holding it (postings in ``array('I')``: 4 bytes each),
  which ranks windows against the identifiers around the cursor by BM25;
- each defined name maps to where it is defined, which finds the callee of ``obj.method(``
  when no import says where it lives.

Only positions are kept; snippet text is read back from the file when a snippet is used
(:class:`SourceFiles`), so memory grows with identifiers, not with the size of the code.
The index is built by a worker thread, file by file, yielding the interpreter between files
so completions on the event loop are not held up, and kept current by :meth:`refresh` and
:meth:`forget` (saved and changed files), which the same thread applies in order.
"""

from __future__ import annotations

import itertools
import logging
import math
import os
import queue
import threading
import time
from array import array
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from codestral_ls.context.definitions import (
    Definition,
    defines,
    definition_at,
    find_definitions,
)
from codestral_ls.context.languages import family_of, identifiers
from codestral_ls.context.workspace import MAX_FILE_BYTES, Workspace

log = logging.getLogger(__name__)

#: Most lines of one window.
WINDOW_LINES = 20
#: Definitions of one name kept (``__init__`` or ``get`` are defined everywhere: no signal).
MAX_DEFINITIONS_PER_NAME = 8
#: Pause of the indexing thread after each file: it shares the interpreter with the event
#: loop, and a pause of 0 let it hold the lock long enough to slow completions by ~40 %.
YIELD_SECONDS = 0.002
#: Postings read per search, rarest identifiers first (bounds the cost of one search).
MAX_POSTINGS_READ = 600
#: Searches remembered by each window index: from one keystroke to the next the identifiers
#: around the cursor rarely change, and a search costs ~0.5 ms of Python (measured).
SEARCHES_REMEMBERED = 64


@dataclass(frozen=True)
class Window:
    """Lines ``start`` to ``end`` (exclusive, 0-based) of ``path``, scored against a query."""

    path: Path
    start: int
    end: int
    score: float


class WindowIndex:
    """Identifiers to windows, ranked by BM25 (a window either has an identifier or not)."""

    _K1 = 1.2
    _B = 0.75

    def __init__(self) -> None:
        #: window id -> (file id, start line, end line), or None once removed.
        self.spans: list[tuple[int, int, int] | None] = []
        self.sizes = array("I")
        self.postings: dict[str, array[int]] = {}
        self.live = 0
        self._total_size = 0
        #: (query terms found, limit, skip_file, within) -> the ranking; emptied by any change.
        self._searches: OrderedDict[tuple[object, ...], list[tuple[float, int]]] = OrderedDict()

    def add(self, file_id: int, start: int, end: int, tokens: Iterable[str]) -> int:
        self._searches.clear()
        window = len(self.spans)
        unique = set(tokens)
        self.spans.append((file_id, start, end))
        self.sizes.append(len(unique))
        for token in unique:
            postings = self.postings.get(token)
            if postings is None:
                postings = self.postings[token] = array("I")
            postings.append(window)
        self.live += 1
        self._total_size += len(unique)
        return window

    def remove(self, windows: Iterable[int]) -> None:
        self._searches.clear()
        for window in windows:
            if self.spans[window] is not None:
                self.spans[window] = None
                self.live -= 1
                self._total_size -= self.sizes[window]

    @property
    def dead(self) -> int:
        return len(self.spans) - self.live

    def search(
        self,
        query: dict[str, float],
        limit: int,
        skip_file: int = -1,
        within: set[int] | None = None,
    ) -> list[tuple[float, int]]:
        """The ``limit`` best (score, window id) for identifiers weighted by ``query``, none
        from ``skip_file``, only from the files ``within`` if given.

        Identifiers the index does not hold (a word half typed) do not change the answer, so
        a search differing only by them is answered from memory.
        """
        if not self.live:
            return []
        terms = sorted((len(p), t) for t in query if (p := self.postings.get(t)) is not None)
        key = (
            tuple((t, query[t]) for _f, t in terms),
            limit,
            skip_file,
            None if within is None else frozenset(within),
        )
        found = self._searches.get(key)
        if found is None:
            found = self._searches[key] = self._rank(terms, query, limit, skip_file, within)
            if len(self._searches) > SEARCHES_REMEMBERED:
                self._searches.popitem(last=False)
        else:
            self._searches.move_to_end(key)
        return list(found)

    def _rank(
        self,
        terms: list[tuple[int, str]],
        query: dict[str, float],
        limit: int,
        skip_file: int,
        within: set[int] | None,
    ) -> list[tuple[float, int]]:
        live = self.live
        average = self._total_size / live or 1.0
        scores: dict[int, float] = {}
        budget = MAX_POSTINGS_READ
        for _frequency, token in terms:  # the rarest identifiers say the most
            postings = self.postings[token]
            weight = query[token]
            budget -= len(postings)
            if budget < 0:
                break
            frequency = len(postings)
            idf = math.log(1 + (live - frequency + 0.5) / (frequency + 0.5)) * weight
            for window in postings:
                scores[window] = scores.get(window, 0.0) + idf
        ranked = []
        k1, b, sizes, spans = self._K1, self._B, self.sizes, self.spans
        for window, total in scores.items():
            span = spans[window]
            if (
                span is None
                or span[0] == skip_file
                or (within is not None and span[0] not in within)
            ):
                continue
            norm = (k1 + 1) / (1 + k1 * (1 - b + b * sizes[window] / average))
            ranked.append((total * norm, window))
        ranked.sort(reverse=True)
        return ranked[:limit]

    def memory_bytes(self) -> int:
        """An estimate of what the postings and spans hold (arrays, lists, keys)."""
        postings = sum(p.itemsize * len(p) + 64 + len(k) + 49 for k, p in self.postings.items())
        return postings + len(self.spans) * (8 + 64) + self.sizes.itemsize * len(self.sizes)


def windows_of(lines: list[str], definitions: list[Definition]) -> list[tuple[int, int]]:
    """Cut ``lines`` into windows: a new one at each definition, none over WINDOW_LINES."""
    starts = sorted({0, *(d.line for d in definitions)})
    starts.append(len(lines))
    windows = []
    for start, end in itertools.pairwise(starts):
        for piece in range(start, end, WINDOW_LINES):
            windows.append((piece, min(end, piece + WINDOW_LINES)))
    return [(s, e) for s, e in windows if any(lines[i].strip() for i in range(s, e))]


def split_source(data: bytes) -> list[str] | None:
    """The lines of a source file, or ``None`` for binary data."""
    if b"\0" in data[:8192]:
        return None
    return data.decode("utf-8", errors="replace").splitlines()


class _Source:
    """One file's lines, the first line defining each name, and the snippets made from it."""

    __slots__ = ("_definitions", "family", "lines", "snippets", "stamp")

    def __init__(self, stamp: object, lines: list[str], family: str) -> None:
        self.stamp = stamp
        self.lines = lines
        self.family = family
        self._definitions: dict[str, int] | None = None
        self.snippets: dict[int, str] = {}

    @property
    def definitions(self) -> dict[str, int]:
        """Name -> first line defining it (found when first asked: a window needs no names)."""
        if self._definitions is None:
            self._definitions = {}
            for definition in find_definitions(self.lines, self.family):
                self._definitions.setdefault(definition.name, definition.line)
        return self._definitions


class SourceFiles:
    """Lines and definitions of recently used files, read again when a file changes on disk.

    ``live`` gives the text of files open in the editor (unsaved edits included), by path,
    with a stamp that changes when the text does.
    """

    def __init__(
        self, live: Callable[[Path], tuple[object, list[str]] | None], size: int = 64
    ) -> None:
        self._live = live
        self._size = size
        self._files: OrderedDict[Path, _Source] = OrderedDict()

    def lines(self, path: Path) -> list[str] | None:
        source = self._source(path)
        return source.lines if source else None

    def definition_line(self, path: Path, name: str, hint: int | None = None) -> int | None:
        """The line where ``path`` defines ``name``, or ``None``. ``hint`` is where the index
        saw it: if the definition is still there, the file is not searched."""
        source = self._source(path)
        if source is None:
            return None
        lines = source.lines
        if hint is not None and hint < len(lines) and defines(lines[hint], name, source.family):
            return hint
        return source.definitions.get(name)

    def definition_text(self, path: Path, line: int, family: str) -> str | None:
        """What a caller needs of the definition at ``line`` of ``path`` (made once)."""
        source = self._source(path)
        if source is None or line >= len(source.lines):
            return None
        text = source.snippets.get(line)
        if text is None:
            text = source.snippets[line] = definition_at(
                source.lines, line, family_of(path.name) or family
            )
        return text

    def _source(self, path: Path) -> _Source | None:
        live = self._live(path)
        source = self._files.get(path)
        if live is not None:
            stamp, lines = live
            if source is None or source.stamp != stamp:
                source = self._remember(path, _Source(stamp, lines, family_of(path.name)))
            return source
        try:
            stat = path.stat()
        except OSError:
            return None
        stamp = (stat.st_mtime_ns, stat.st_size)
        if source is not None and source.stamp == stamp:
            self._files.move_to_end(path)
            return source
        if stat.st_size > MAX_FILE_BYTES:
            return None
        try:
            lines = split_source(path.read_bytes())
        except OSError:
            return None
        if lines is None:
            return None
        return self._remember(path, _Source(stamp, lines, family_of(path.name)))

    def _remember(self, path: Path, source: _Source) -> _Source:
        self._files[path] = source
        self._files.move_to_end(path)
        if len(self._files) > self._size:
            self._files.popitem(last=False)
        return source


class WorkspaceIndex:
    """The workspace's windows and definitions, built and updated by a worker thread."""

    def __init__(self, workspace: Workspace, max_files: int = 5000) -> None:
        self.workspace = workspace
        self.max_files = max_files
        self.windows = WindowIndex()
        self.ready = threading.Event()
        self.build_seconds = 0.0
        self._lock = threading.Lock()
        self._file_ids: dict[Path, int] = {}
        self._paths: list[Path | None] = []
        self._file_windows: dict[int, list[int]] = {}
        self._file_names: dict[int, list[str]] = {}
        self._definitions: dict[str, list[tuple[int, int]]] = {}
        self._tasks: queue.SimpleQueue[tuple[str, Path | None, list[str] | None] | None] = (
            queue.SimpleQueue()
        )
        self._thread: threading.Thread | None = None
        self._build_id = 0

    # -- what the worker is asked to do ------------------------------------------------------

    def build(self) -> None:
        """(Re)index the whole workspace in the background."""
        self.ready.clear()
        self._build_id += 1
        self._put(("build", None, None))

    def refresh(self, path: Path, lines: list[str] | None = None) -> None:
        """Index ``path`` again, from ``lines`` (an open document) or from disk."""
        self._put(("file", path, lines))

    def forget(self, path: Path) -> None:
        """``path`` is gone: drop it."""
        self._put(("remove", path, None))

    def stop(self) -> None:
        if self._thread is not None:
            self._tasks.put(None)

    def _put(self, task: tuple[str, Path | None, list[str] | None]) -> None:
        self._tasks.put(task)
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(
                target=self._work, name="codestral-ls context index", daemon=True
            )
            self._thread.start()

    def _work(self) -> None:
        while True:
            task = self._tasks.get()
            if task is None:
                return
            kind, path, lines = task
            try:
                if kind == "build":
                    self._build(self._build_id)
                elif kind == "file" and path is not None:
                    self._index_file(path, lines)
                elif kind == "remove" and path is not None:
                    with self._lock:
                        self._drop(path)
            except Exception:  # a bad file must not end the index
                log.exception("context index: %s %s failed", kind, path)

    def _build(self, build_id: int) -> None:
        started = time.perf_counter()
        with self._lock:
            self.windows = WindowIndex()
            self._file_ids.clear()
            self._paths.clear()
            self._file_windows.clear()
            self._file_names.clear()
            self._definitions.clear()
        count = 0
        for path in self.workspace.source_files(self.max_files):
            if build_id != self._build_id:
                return  # a newer build was asked for (the folders changed)
            self._index_file(path, None)
            count += 1
            time.sleep(YIELD_SECONDS)  # let the event loop's thread run between files
        self.build_seconds = time.perf_counter() - started
        log.info("context index: %d files in %.1f s", count, self.build_seconds)
        if build_id == self._build_id:
            self.ready.set()

    def _index_file(self, path: Path, lines: list[str] | None) -> None:
        if lines is None:
            readable = self.workspace.readable(path)
            if readable is None:
                with self._lock:
                    self._drop(path)
                return
            try:
                lines = split_source(readable.read_bytes())
            except OSError:
                lines = None
            if lines is None:
                return
            path = readable
        family = family_of(path.name)
        definitions = find_definitions(lines, family)
        pieces = [
            (start, end, identifiers("\n".join(lines[start:end])))
            for start, end in windows_of(lines, definitions)
        ]
        with self._lock:
            self._drop(path)
            if path not in self._file_ids and len(self._file_ids) >= self.max_files:
                return
            file_id = len(self._paths)
            self._paths.append(path)
            self._file_ids[path] = file_id
            self._file_windows[file_id] = [
                self.windows.add(file_id, start, end, tokens) for start, end, tokens in pieces
            ]
            names = []
            for definition in definitions:
                sites = self._definitions.setdefault(definition.name, [])
                if len(sites) < MAX_DEFINITIONS_PER_NAME:
                    sites.append((file_id, definition.line))
                    names.append(definition.name)
            self._file_names[file_id] = names
            if self.windows.dead > max(1000, self.windows.live):
                self._compact()

    def _drop(self, path: Path) -> None:
        file_id = self._file_ids.pop(path, None)
        if file_id is None:
            return
        self._paths[file_id] = None
        self.windows.remove(self._file_windows.pop(file_id, ()))
        for name in self._file_names.pop(file_id, ()):
            sites = [site for site in self._definitions.get(name, ()) if site[0] != file_id]
            if sites:
                self._definitions[name] = sites
            else:
                self._definitions.pop(name, None)

    def _compact(self) -> None:
        """Rebuild the postings without removed windows (held lock; rare)."""
        old = self.windows
        fresh = WindowIndex()
        inverse: dict[int, list[str]] = {}
        for token, postings in old.postings.items():
            for window in postings:
                if old.spans[window] is not None:
                    inverse.setdefault(window, []).append(token)
        renumbered: dict[int, list[int]] = {}
        for window, tokens in sorted(inverse.items()):
            span = old.spans[window]
            assert span is not None
            new = fresh.add(span[0], span[1], span[2], tokens)
            renumbered.setdefault(span[0], []).append(new)
        self.windows = fresh
        self._file_windows = renumbered

    # -- what completions ask ----------------------------------------------------------------

    def has(self, path: Path | None) -> bool:
        with self._lock:
            return path in self._file_ids

    def definition_in(self, path: Path, name: str) -> int | None:
        """The line where the index saw ``path`` define ``name`` (``None``: not seen)."""
        with self._lock:
            file_id = self._file_ids.get(path)
            for site_file, line in self._definitions.get(name, ()):
                if site_file == file_id:
                    return line
            return None

    def definitions(self, name: str) -> list[tuple[Path, int]]:
        """Where ``name`` is defined in the workspace (at most a few places)."""
        with self._lock:
            sites = self._definitions.get(name, ())
            return [(p, line) for f, line in sites if (p := self._paths[f]) is not None]

    def search(
        self,
        query: dict[str, float],
        limit: int,
        skip: Path | None,
        within: Iterable[Path] | None = None,
    ) -> list[Window]:
        """The windows most like ``query`` (identifier -> weight), none from ``skip``, only
        from the files ``within`` if given."""
        with self._lock:
            skip_file = self._file_ids.get(skip, -1) if skip is not None else -1
            allowed = None
            if within is not None:
                allowed = {i for p in within if (i := self._file_ids.get(p)) is not None}
                if not allowed:
                    return []
            found = []
            for score, window in self.windows.search(query, limit, skip_file, allowed):
                span = self.windows.spans[window]
                path = self._paths[span[0]] if span else None
                if span is not None and path is not None:
                    found.append(Window(path, span[1], span[2], score))
            return found

    def counts(self) -> dict[str, int]:
        with self._lock:
            return {
                "files": len(self._file_ids),
                "windows": self.windows.live,
                "identifiers": len(self.windows.postings),
                "memory_bytes": self.windows.memory_bytes() + _table_bytes(self._definitions),
            }


def _table_bytes(definitions: dict[str, list[tuple[int, int]]]) -> int:
    return sum(len(k) + 49 + 56 + 8 * len(v) + 64 * len(v) for k, v in definitions.items())


def path_of_uri(uri: str) -> Path | None:
    """The local path of a ``file:`` URI, or ``None`` for other schemes."""
    parts = urlsplit(uri)
    if parts.scheme != "file":
        return None
    path = unquote(parts.path)
    if os.name == "nt" and path.startswith("/") and path[2:3] == ":":
        path = path[1:]
    return Path(path)
