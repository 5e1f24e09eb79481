"""Choose the code from other files that goes in front of the FIM prompt, within a budget.

For each completion, the identifiers around the cursor (the cursor's line first, then the
lines above and below it, nearest first) are the query. Candidates come from four sources,
each one a setting (``contextSources``):

``imports``
    the definitions of the names this file imports from the workspace and uses near the
    cursor (``from pkg.util import parse`` ... ``parse(`` -> ``def parse(...)`` of
    ``pkg/util.py``; ``util.parse(`` after ``import pkg.util as util`` too);
``index``
    the workspace index: the definition of a name used near the cursor that no import
    explains (``self.session.send(``), and windows of code most like the code at the cursor
    (BM25 over identifiers);
``openTabs``
    windows of the other open documents most like the code at the cursor (Copilot's source);
``recentEdits``
    the ranges the user edited lately in other files (Continue's).

They are taken in that order of trust, definitions before look-alikes, skipping what the
prompt already holds and what overlaps a snippet already taken, until ``contextChars`` is
spent. The snippets go at the start of the prompt as comments in the file's language, each
under a ``Path:`` header, the best one last (nearest the code), and the current file's own
path closes the block, so the model reads "these files exist, this is where you are". The
prompt's own text gives up as many characters as the block takes, so requests do not grow.
Every snippet comes from a file inside the workspace that ``excludeGlobs`` and ``.gitignore``
leave in, and is masked for secrets like the rest of the prompt.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from codestral_ls import privacy
from codestral_ls.config import Settings
from codestral_ls.context.imports import Imported, ModuleResolver, read_imports, star_imports
from codestral_ls.context.index import (
    SourceFiles,
    Window,
    WindowIndex,
    WorkspaceIndex,
    path_of_uri,
    windows_of,
)
from codestral_ls.context.languages import STOPWORDS, family_of, identifiers, line_comment
from codestral_ls.context.recent import MARGIN_LINES, RecentEdits
from codestral_ls.context.workspace import Workspace
from codestral_ls.documents import Cursor, Document, DocumentStore, line_content
from codestral_ls.prompt import FimContext

#: Lines above and below the cursor whose identifiers make the query.
QUERY_LINES_ABOVE = 30
QUERY_LINES_BELOW = 8
#: Lines at the top of a file read for its imports (besides the lines near the cursor).
IMPORT_LINES = 300
#: Names looked up per completion, nearest the cursor first.
MAX_NAMES = 40
#: A name defined in more places than this is too common to guess which one is meant.
MAX_AMBIGUITY = 3
#: Look-alike windows considered per source.
SIMILAR_WINDOWS = 6
#: Edited ranges of other files considered.
EDITED_RANGES = 3
#: Candidates looked at per completion (the budget is usually spent long before).
MAX_TRIED = 24
#: Below this many characters left, no snippet fits anyway.
MIN_SNIPPET_CHARS = 80
#: Re-exports followed to find where an imported name is really defined.
MAX_REEXPORTS = 3

#: ``name``, ``qualifier.name`` (``a.b.name`` too), and whether a call follows.
_REFERENCE = re.compile(r"(?:\b([A-Za-z_][\w.]*)\.)?\b([A-Za-z_]\w+)[ \t]*(\()?")
#: Identifiers of the query used to rank look-alike code.
QUERY_TERMS = 16
#: Characters of one line read for the query (a minified line is not read whole).
MAX_QUERY_LINE = 400


@dataclass(frozen=True)
class Snippet:
    """Lines ``start``..``end`` (exclusive) of ``path``, from ``source``."""

    source: str
    path: Path
    start: int
    end: int
    text: str


@dataclass
class ContextStats:
    """What went into prompts (``codestral/stats`` reports it as ``context``)."""

    prompts: int = 0
    prompts_with_context: int = 0
    chars: int = 0
    snippets: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class _Reference:
    """A name used near the cursor, as ``qualifier.name`` or bare (``qualifier`` None)."""

    qualifier: str | None
    name: str
    called: bool


class RepositoryContext:
    """The workspace-wide state behind the context block, and the block itself."""

    def __init__(self, documents: DocumentStore, settings: Settings | None = None) -> None:
        settings = settings or Settings()
        self.documents = documents
        self.settings = settings
        self.workspace = Workspace(exclude_globs=settings.exclude_globs)
        self.index = WorkspaceIndex(self.workspace, settings.context_index_max_files)
        self.resolver = ModuleResolver(self.workspace)
        self.sources = SourceFiles(self._open_lines)
        self.edits = RecentEdits()
        self.stats = ContextStats()
        self._started = False
        self._paths: dict[str, Path | None] = {}
        self._shown: dict[Path, str] = {}
        self._imports: dict[str, tuple[str, list[Imported]]] = {}
        self._tabs: dict[str, tuple[int | None, WindowIndex, list[str]]] = {}
        self._open: dict[str, tuple[object, list[str]]] = {}

    # -- life cycle --------------------------------------------------------------------------

    @property
    def _index_on(self) -> bool:
        """The workspace index serves the ``index`` source and the open tabs it holds."""
        sources = self.settings.context_sources
        return ("index" in sources or "openTabs" in sources) and self.settings.context_chars > 0

    def configure(self, settings: Settings) -> None:
        old = self.settings
        self.settings = settings
        self.workspace.exclude_globs = tuple(settings.exclude_globs)
        self.index.max_files = settings.context_index_max_files
        rebuild = (
            tuple(old.exclude_globs) != tuple(settings.exclude_globs)
            or old.context_index_max_files != settings.context_index_max_files
            or set(old.context_sources) != set(settings.context_sources)
        )
        if rebuild:
            self.resolver.forget()
            self.sources = SourceFiles(self._open_lines)
            if self._started and self._index_on:
                self.index.build()

    def set_roots(self, roots: Iterable[Path]) -> None:
        """The workspace folders (from ``initialize`` or a folder change)."""
        self.workspace.set_roots(roots)
        self.resolver.forget()
        self._paths.clear()
        self._shown.clear()
        if self._started and self._index_on:
            self.index.build()

    def start(self) -> None:
        """Begin indexing the workspace in the background (after ``initialized``)."""
        self._started = True
        if self._index_on and self.workspace.roots:
            self.index.build()

    def stop(self) -> None:
        self.index.stop()

    # -- document events ---------------------------------------------------------------------

    def document_edited(self, uri: str, start_line: int, end_line: int, text: str) -> None:
        """Lines ``start_line``..``end_line`` of ``uri`` were replaced by ``text``."""
        added = text.count("\n")
        self.edits.shifted(uri, start_line, added - (end_line - start_line))
        self.edits.note(uri, start_line, start_line + added)

    def document_saved(self, uri: str) -> None:
        path = self._path(uri)
        if path is not None and self._index_on:
            self.index.refresh(path)

    def document_closed(self, uri: str) -> None:
        self._tabs.pop(uri, None)
        self._open.pop(uri, None)
        self._imports.pop(uri, None)
        self.edits.forget(uri)

    def files_changed(self, created: list[str], changed: list[str], deleted: list[str]) -> None:
        """Files of the workspace changed on disk (``workspace/didChangeWatchedFiles``)."""
        if created or deleted:
            self.resolver.forget()
        if not self._index_on:
            return
        for uri in (*created, *changed):
            path = path_of_uri(uri)
            if path is not None:
                self.index.refresh(path)
        for uri in deleted:
            path = path_of_uri(uri)
            if path is not None:
                self.index.forget(path)

    # -- the block ---------------------------------------------------------------------------

    def add_to(self, context: FimContext, document: Document, cursor: Cursor) -> FimContext:
        """``context`` with the context block at the start of its prompt (same budget)."""
        settings = self.settings
        self.stats.prompts += 1
        family = family_of(document.language_id) or family_of(document.uri)
        if settings.context_chars <= 0 or not settings.context_sources or not family:
            return context
        path = self._path(document.uri)
        candidates = self._candidates(document, cursor, path, family)
        block = self._render(candidates, context, path, family)
        if not block:
            return context
        prompt = context.prompt
        overflow = len(block) + len(prompt) - settings.max_prefix_chars
        if overflow > 0:
            cut = prompt.find("\n", overflow - 1) + 1
            prompt = prompt[cut:] if cut > 0 else ""
        self.stats.prompts_with_context += 1
        self.stats.chars += len(block)
        return dataclasses.replace(context, prompt=block + prompt)

    def snippets(self, document: Document, cursor: Cursor) -> list[Snippet]:
        """The ranked candidates for ``cursor`` (before the budget; for tests and benches)."""
        family = family_of(document.language_id) or family_of(document.uri)
        return list(self._candidates(document, cursor, self._path(document.uri), family))

    def _candidates(
        self, document: Document, cursor: Cursor, path: Path | None, family: str
    ) -> Iterator[Snippet]:
        """The candidates, most trusted first, made only as far as they are consumed."""
        sources = self.settings.context_sources
        references, query = _query(document, cursor)
        unresolved = references
        if "imports" in sources and path is not None:
            unresolved = []
            for reference, snippet in self._imported_definitions(
                document, path, family, references
            ):
                if snippet is None:
                    unresolved.append(reference)
                else:
                    yield snippet
        index_ready = "index" in sources and self.index.ready.is_set()
        if index_ready:
            yield from self._indexed_definitions(path, unresolved)
        if "recentEdits" in sources:
            yield from self._edited_ranges(document.uri)
        similar: list[tuple[float, Snippet]] = []
        if "openTabs" in sources:
            similar += self._similar_in_tabs(document, family, query)
        if index_ready:
            similar += [
                (w.score, s) for w in self.index.search(query, SIMILAR_WINDOWS, path)
                if (s := self._window(w)) is not None
            ]  # fmt: skip
        similar.sort(key=lambda pair: -pair[0])
        for _score, snippet in similar:
            yield snippet

    # -- imports -----------------------------------------------------------------------------

    def _imported_definitions(
        self, document: Document, path: Path, family: str, references: list[_Reference]
    ) -> Iterator[tuple[_Reference, Snippet | None]]:
        """Each reference with the definition its import names (``None`` if none does)."""
        imports = self._imports_of(document, family)
        modules = {i.local: i.module for i in imports if i.member is None}
        members = {i.local: i for i in imports if i.member is not None}
        for reference in references:
            snippet = None
            if reference.qualifier is not None:
                module = modules.get(reference.qualifier)
                if module is None and reference.qualifier in members:
                    module = self._submodule(members[reference.qualifier], family, path)
                if module is not None:
                    snippet = self._defined_in(module, reference.name, family, path)
            elif reference.name in members:
                imported = members[reference.name]
                if self._submodule(imported, family, path) is None:
                    snippet = self._defined_in(
                        imported.module, _member_name(imported), family, path
                    )
            yield reference, snippet

    def _imports_of(self, document: Document, family: str) -> list[Imported]:
        """The imports of ``document``, read again only when its top lines change.

        The top is taken as one string (O(its size), no line objects) and compared with the
        one read last; typing below it costs that comparison only."""
        top = document.head(IMPORT_LINES, document.size)
        cached = self._imports.get(document.uri)
        if cached is not None and cached[0] == top:
            return cached[1]
        imports = read_imports(top.splitlines(), family)
        self._imports[document.uri] = (top, imports)
        return imports

    def _submodule(self, imported: Imported, family: str, importer: Path) -> str | None:
        """``pkg.mod`` when ``from pkg import mod`` imported a module rather than a name."""
        if family != "python" or imported.member is None:
            return None
        module = imported.module
        name = f"{module}{'' if module.endswith('.') else '.'}{imported.member}"
        return name if self.resolver.files(name, family, importer) else None

    def _defined_in(
        self, module: str, name: str, family: str, importer: Path, depth: int = 0
    ) -> Snippet | None:
        """The definition of ``name`` in ``module``, following re-exports a few levels: by
        name (``from ._api import fetch``) and whole (``from ._api import *``)."""
        for file in self.resolver.files(module, family, importer):
            hint = self.index.definition_in(file, name) if self.index.ready.is_set() else None
            line = self.sources.definition_line(file, name, hint)
            if line is not None:
                return self._definition(file, line, family, "imports")
            if depth >= MAX_REEXPORTS:
                continue
            lines = self.sources.lines(file) or []
            for imported in read_imports(lines[:IMPORT_LINES], family):
                if imported.local == name and imported.member is not None:
                    member = _member_name(imported)
                    found = self._defined_in(imported.module, member, family, file, depth + 1)
                    if found is not None:
                        return found
            if family != "python" or name.startswith("_"):  # "*" takes no _private name
                continue
            for module in star_imports(lines[:IMPORT_LINES]):
                found = self._defined_in(module, name, family, file, depth + 1)
                if found is not None:
                    return found
        return None

    def _definition(self, file: Path, line: int, family: str, source: str) -> Snippet | None:
        text = self.sources.definition_text(file, line, family)
        if text is None:
            return None
        return Snippet(source, file, line, line + text.count("\n"), text)

    # -- the index ---------------------------------------------------------------------------

    def _indexed_definitions(
        self, path: Path | None, references: list[_Reference]
    ) -> Iterator[Snippet]:
        """Definitions of the names called (or classes named) near the cursor that no import
        explains, when the workspace defines them in only a few places."""
        for reference in references:
            if not reference.called and not reference.name[:1].isupper():
                continue
            sites = [s for s in self.index.definitions(reference.name) if s[0] != path]
            if not sites or len(sites) > MAX_AMBIGUITY:
                continue
            if path is not None:
                sites.sort(key=lambda site: -_shared_parts(site[0], path))
            for file, seen_at in sites[:2]:
                line = self.sources.definition_line(file, reference.name, seen_at)
                if line is not None:
                    snippet = self._definition(file, line, family_of(file.name), "index")
                    if snippet is not None:
                        yield snippet

    def _window(self, window: Window, source: str = "index") -> Snippet | None:
        lines = self.sources.lines(window.path)
        if lines is None:
            return None
        end = min(window.end, len(lines))
        text = "\n".join(lines[window.start : end]) + "\n"
        return Snippet(source, window.path, window.start, end, text)

    # -- open documents ----------------------------------------------------------------------

    def _similar_in_tabs(
        self, current: Document, family: str, query: dict[str, float]
    ) -> list[tuple[float, Snippet]]:
        """The windows of the other open documents most like the code at the cursor: from the
        workspace index for the files it holds, else from a small index of the document
        made once per version (a new file, a file outside the workspace)."""
        indexed: list[Path] = []
        found: list[tuple[float, Snippet]] = []
        index_ready = self.index.ready.is_set()
        for document in self.documents:
            if document.uri == current.uri or self._excluded(document.uri):
                continue
            if (family_of(document.language_id) or family_of(document.uri)) != family:
                continue
            path = self._path(document.uri)
            if path is not None and index_ready and self.index.has(path):
                indexed.append(path)
                continue
            found += self._similar_in_document(document, path, query)
        if indexed:
            found += [
                (w.score, s)
                for w in self.index.search(query, 2 * len(indexed), None, within=indexed)
                if (s := self._window(w, "openTabs")) is not None
            ]
        return found

    def _similar_in_document(
        self, document: Document, path: Path | None, query: dict[str, float]
    ) -> list[tuple[float, Snippet]]:
        cached = self._tabs.get(document.uri)
        if cached is None or cached[0] != document.version or document.version is None:
            lines = [line_content(line) for line in document.lines]
            index = WindowIndex()
            for start, end in windows_of(lines, []):
                index.add(0, start, end, identifiers("\n".join(lines[start:end])))
            cached = self._tabs[document.uri] = (document.version, index, lines)
        _version, index, lines = cached
        shown = path or path_of_uri(document.uri) or Path(document.uri)
        found = []
        for score, window in index.search(query, 2):
            span = index.spans[window]
            assert span is not None
            text = "\n".join(lines[span[1] : span[2]]) + "\n"
            found.append((score, Snippet("openTabs", shown, span[1], span[2], text)))
        return found

    def _edited_ranges(self, current_uri: str) -> list[Snippet]:
        found = []
        for edited in self.edits.newest_first():
            if edited.uri == current_uri or self._excluded(edited.uri):
                continue
            document = self.documents.get(edited.uri)
            if document is None:
                continue
            start = max(0, edited.first - MARGIN_LINES)
            end = min(document.line_count, edited.last + MARGIN_LINES + 1)
            lines = [document.line_text(n) for n in range(start, end)]
            path = self._path(edited.uri) or path_of_uri(edited.uri) or Path(edited.uri)
            found.append(Snippet("recentEdits", path, start, end, "\n".join(lines) + "\n"))
            if len(found) >= EDITED_RANGES:
                break
        return found

    def _open_lines(self, path: Path) -> tuple[object, list[str]] | None:
        """The lines of the open document at ``path`` (unsaved edits included), if any,
        made once per version."""
        # One hashed lookup: comparing Paths one by one cost more than the rest (measured).
        document = {self._path(open_one.uri): open_one for open_one in self.documents}.get(path)
        if document is None:
            return None
        stamp = (document.uri, document.version)
        cached = self._open.get(document.uri)
        if cached is None or cached[0] != stamp or document.version is None:
            cached = (stamp, [line_content(line) for line in document.lines])
            self._open[document.uri] = cached
        return cached

    # -- rendering ---------------------------------------------------------------------------

    def _render(
        self, snippets: Iterable[Snippet], context: FimContext, path: Path | None, family: str
    ) -> str:
        """The comment block of the snippets that fit in ``contextChars`` (best last)."""
        settings = self.settings
        comment = line_comment(family)
        closing = f"{comment} Path: {self._shown_path(path)}\n" if path is not None else ""
        budget = settings.context_chars - len(closing)
        taken: list[tuple[Snippet, str]] = []
        used = 0
        for tried, snippet in enumerate(snippets):
            if tried >= MAX_TRIED or budget - used < MIN_SNIPPET_CHARS:
                break
            if any(_overlap(snippet, other) for other, _text in taken):
                continue
            if _already_held(snippet.text, context):
                continue
            text = _masked(snippet.text) if settings.mask_secrets else snippet.text
            rendered = _commented(self._shown_path(snippet.path), text, comment)
            if used + len(rendered) > budget:
                continue
            taken.append((snippet, rendered))
            used += len(rendered)
        if not taken:
            return ""
        for snippet, _text in taken:
            self.stats.snippets[snippet.source] = self.stats.snippets.get(snippet.source, 0) + 1
        return "".join(text for _snippet, text in reversed(taken)) + closing

    def _shown_path(self, path: Path | None) -> str:
        if path is None:
            return ""
        shown = self._shown.get(path)
        if shown is None:
            if len(self._shown) > 4096:
                self._shown.clear()
            shown = self._shown[path] = (
                self.workspace.relative(path) if self.workspace.root_of(path) else path.name
            )
        return shown

    # -- paths -------------------------------------------------------------------------------

    def _path(self, uri: str) -> Path | None:
        """The resolved path of a document inside the workspace, or ``None``."""
        if uri in self._paths:
            return self._paths[uri]
        local = path_of_uri(uri)
        path = self.workspace.contains(local) if local is not None else None
        if len(self._paths) > 1024:
            self._paths.clear()
        self._paths[uri] = path
        return path

    def _excluded(self, uri: str) -> bool:
        return privacy.is_excluded(uri, self.settings.exclude_globs)

    def counts(self) -> dict[str, object]:
        """For ``codestral/stats``: what prompts received, and the index's size."""
        return {
            **dataclasses.asdict(self.stats),
            "index": {**self.index.counts(), "ready": self.index.ready.is_set()},
        }


def _member_name(imported: Imported) -> str:
    member = imported.member or imported.local
    return imported.local if member == "default" else member


def _query(document: Document, cursor: Cursor) -> tuple[list[_Reference], dict[str, float]]:
    """The references near the cursor, nearest first, and identifier weights for ranking."""
    references: list[_Reference] = []
    seen: set[tuple[str | None, str]] = set()
    weights: dict[str, float] = {}
    last = document.line_count - 1
    first = max(cursor.line - QUERY_LINES_ABOVE, 0)
    # One slice of the lines around the cursor: one tree search, not two per line.
    block = document.lines[first : cursor.line + QUERY_LINES_BELOW + 1]
    nearby = [(cursor.line, 0)]
    for distance in range(1, QUERY_LINES_ABOVE + 1):
        if cursor.line - distance >= 0:
            nearby.append((cursor.line - distance, distance))
        if distance <= QUERY_LINES_BELOW and cursor.line + distance <= last:
            nearby.append((cursor.line + distance, distance))
    for number, distance in nearby:
        weight = 1.0 / (1.0 + distance / 8)
        for qualifier, name, called in _references_in(block[number - first]):
            weights[name] = weights.get(name, 0.0) + weight
            if len(references) >= MAX_NAMES:
                continue  # the weights still count every line
            if qualifier is not None and "." not in qualifier:
                _add_reference(references, seen, None, qualifier, False)
            _add_reference(references, seen, qualifier, name, called)
    top = sorted(weights.items(), key=lambda item: -item[1])[:QUERY_TERMS]
    return references, dict(top)


@functools.lru_cache(maxsize=4096)
def _references_in(line: str) -> tuple[tuple[str | None, str, bool], ...]:
    """The references of one line, with or without its terminator (remembered: the lines
    around the cursor stay the same from one keystroke to the next, only the cursor's own
    line changes)."""
    found = []
    for match in _REFERENCE.finditer(line[:MAX_QUERY_LINE]):
        if match[2] not in STOPWORDS:
            found.append((match[1], match[2], match[3] is not None))
    return tuple(found)


def _add_reference(
    references: list[_Reference],
    seen: set[tuple[str | None, str]],
    qualifier: str | None,
    name: str,
    called: bool,
) -> None:
    """Add ``qualifier.name`` unless it is known, a stopword, or past :data:`MAX_NAMES`.

    The reference object is made only for a name added: the ~40 lines of a query hold
    ~190 names, mostly repeated, and making an object for each before this check was
    half the query's cost (1 MB file: 374 us a query, measured)."""
    key = (qualifier, name)
    if key not in seen and len(references) < MAX_NAMES and name not in STOPWORDS:
        seen.add(key)
        references.append(_Reference(qualifier, name, called))


def _already_held(text: str, context: FimContext) -> bool:
    """Whether the prompt already shows this snippet: its first line, or two of its first,
    middle and last lines (substring searches: the prompt is never split into lines)."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        return True

    def held(line: str) -> bool:
        return line in context.prompt or line in context.suffix

    if len(lines[0]) > 12 and held(lines[0]):
        return True
    sample = {lines[0], lines[len(lines) // 2], lines[-1]}
    return sum(held(line) for line in sample) >= min(2, len(sample))


@functools.lru_cache(maxsize=256)
def _masked(text: str) -> str:
    """A snippet with its secrets masked, remembered: the same few snippets are rendered on
    every keystroke, and scanning one costs ~0.35 ms (measured)."""
    return privacy.mask_secrets(text)


def _overlap(one: Snippet, other: Snippet) -> bool:
    return one.path == other.path and one.start < other.end and other.start < one.end


def _commented(path: str, text: str, comment: str) -> str:
    lines = [f"{comment} Path: {path}"]
    lines += [f"{comment} {line}" if line.strip() else comment for line in text.splitlines()]
    return "\n".join(lines) + "\n"


def _shared_parts(one: Path, other: Path) -> int:
    shared = 0
    for a, b in zip(one.parts, other.parts, strict=False):
        if a != b:
            break
        shared += 1
    return shared


__all__ = ["ContextStats", "RepositoryContext", "Snippet"]
