"""The workspace on disk: its folders, which of their files may be read, and nothing else.

The editor names the workspace in ``initialize`` (``workspaceFolders``, else ``rootUri``).
Context is read only from files inside those folders: a path is resolved (symlinks
included) and checked against them before it is opened, so an import of ``../../etc`` or a
symlink out of the tree reads nothing. Inside, a file is skipped when git would ignore it
(``.gitignore`` files, read from each folder down), when ``excludeGlobs`` matches it, when
it is too large to be source code a person wrote (minified bundles, data), or when it lives
in a folder of tools and dependencies (``.git``, ``node_modules``, virtual environments).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from codestral_ls import privacy
from codestral_ls.context.languages import INDEXED_EXTENSIONS

#: Folders never walked: version control, dependencies, caches, build output of tools.
SKIPPED_FOLDERS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        "node_modules",
        "__pycache__",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        ".tox",
        ".nox",
        ".venv",
        "venv",
        ".idea",
        ".vscode",
        "site-packages",
    }
)
#: Files larger than this are not hand-written source (a minified bundle, generated data).
MAX_FILE_BYTES = 512 * 1024


class _IgnoreRule:
    """One ``.gitignore`` line, as a regular expression on paths relative to its folder."""

    __slots__ = ("folder_only", "negated", "pattern")

    def __init__(self, line: str) -> None:
        self.negated = line.startswith("!")
        if self.negated:
            line = line[1:]
        self.folder_only = line.endswith("/")
        line = line.strip("/") if self.folder_only else line
        anchored = "/" in line.rstrip("/")
        line = line.lstrip("/")
        body = _glob_to_regex(line)
        self.pattern = re.compile(("" if anchored else r"(?:.*/)?") + body + r"\Z", re.DOTALL)

    def matches(self, relative: str, is_folder: bool) -> bool:
        return (is_folder or not self.folder_only) and self.pattern.match(relative) is not None


def _glob_to_regex(glob: str) -> str:
    """Git's wildcard syntax: ``*`` and ``?`` stay in one path part, ``**`` crosses them."""
    out: list[str] = []
    i = 0
    while i < len(glob):
        char = glob[i]
        if glob.startswith("**/", i):
            out.append(r"(?:.*/)?")
            i += 3
            continue
        if glob.startswith("/**", i) and i + 3 == len(glob):
            out.append(r"/.*")
            i += 3
            continue
        if char == "*":
            out.append(r".*" if glob.startswith("**", i) else r"[^/]*")
            i += 2 if glob.startswith("**", i) else 1
            continue
        if char == "?":
            out.append(r"[^/]")
        elif char == "[":
            end = glob.find("]", i + 1)
            if end < 0:
                out.append(re.escape(char))
            else:
                inner = glob[i + 1 : end].replace("\\", "\\\\")
                out.append("[" + ("^" + inner[1:] if inner.startswith("!") else inner) + "]")
                i = end
        elif char == "\\" and i + 1 < len(glob):
            i += 1
            out.append(re.escape(glob[i]))
        else:
            out.append(re.escape(char))
        i += 1
    return "".join(out)


@dataclass
class GitIgnore:
    """The rules of the ``.gitignore`` files met on the way down to a folder."""

    #: (folder relative to the root, "" for the root itself; its rules), outermost first.
    layers: list[tuple[str, list[_IgnoreRule]]] = field(default_factory=list)

    def below(self, folder: Path, relative_folder: str) -> GitIgnore:
        """These rules plus the ``.gitignore`` of ``folder``, if it has one."""
        try:
            text = (folder / ".gitignore").read_text(encoding="utf-8", errors="replace")
        except OSError:
            return self
        rules = []
        for raw in text.splitlines():
            line = raw.rstrip()
            if line and not line.startswith("#"):
                rules.append(_IgnoreRule(line))
        return GitIgnore([*self.layers, (relative_folder, rules)]) if rules else self

    def ignores(self, relative: str, is_folder: bool) -> bool:
        """Whether git ignores ``relative`` (a path from the root): the last matching rule wins."""
        ignored = False
        for folder, rules in self.layers:
            if folder:
                if not relative.startswith(folder + "/"):
                    continue
                local = relative[len(folder) + 1 :]
            else:
                local = relative
            for rule in rules:
                if rule.matches(local, is_folder):
                    ignored = not rule.negated
        return ignored


class Workspace:
    """The workspace folders and the rules deciding which of their files are context."""

    def __init__(self, roots: Iterable[Path] = (), exclude_globs: Iterable[str] = ()) -> None:
        self.roots: tuple[Path, ...] = ()
        self.exclude_globs: tuple[str, ...] = tuple(exclude_globs)
        self.set_roots(roots)

    def set_roots(self, roots: Iterable[Path]) -> None:
        resolved = []
        for root in roots:
            try:
                path = Path(root).resolve()
            except OSError:
                continue
            if path.is_dir() and path != Path(path.anchor) and path not in resolved:
                resolved.append(path)  # never the whole disk, even if an editor says so
        self.roots = tuple(resolved)

    def root_of(self, path: Path) -> Path | None:
        """The workspace folder holding ``path`` (already resolved), or ``None``."""
        for root in self.roots:
            if path == root or path.is_relative_to(root):
                return root
        return None

    def contains(self, path: Path) -> Path | None:
        """``path`` resolved (symlinks followed) if it is inside the workspace, else ``None``."""
        try:
            resolved = path.resolve()
        except OSError:
            return None
        return resolved if self.root_of(resolved) is not None else None

    def relative(self, path: Path) -> str:
        """``path`` relative to its workspace folder, with ``/`` (how snippets are headed)."""
        root = self.root_of(path)
        if root is None:
            return path.name
        relative = path.relative_to(root).as_posix()
        return f"{root.name}/{relative}" if len(self.roots) > 1 else relative

    def excluded(self, path: Path) -> bool:
        """Whether ``excludeGlobs`` keeps ``path`` out of everything sent."""
        return privacy.is_excluded(path.as_posix(), self.exclude_globs)

    def readable(self, path: Path) -> Path | None:
        """``path`` resolved, if it may be read for context: inside the workspace, not
        excluded, not ignored by git, a regular file of reasonable size."""
        resolved = self.contains(path)
        if resolved is None or self.excluded(resolved):
            return None
        root = self.root_of(resolved)
        assert root is not None
        parts = resolved.relative_to(root).parts
        if any(part in SKIPPED_FOLDERS for part in parts[:-1]):
            return None
        if _ignored_by_git(root, parts):
            return None
        try:
            stat = resolved.stat()
        except OSError:
            return None
        if not resolved.is_file() or stat.st_size > MAX_FILE_BYTES:
            return None
        return resolved

    def source_files(self, limit: int) -> Iterator[Path]:
        """Up to ``limit`` indexable files of the workspace, folder by folder, git's ignored
        files, excluded files and symlinks left out."""
        count = 0
        for root in self.roots:
            for path in _walk(root, root, "", GitIgnore().below(root, ""), self):
                yield path
                count += 1
                if count >= limit:
                    return


def _walk(
    root: Path, folder: Path, relative: str, ignore: GitIgnore, workspace: Workspace
) -> Iterator[Path]:
    try:
        entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
    except OSError:
        return
    folders = []
    for entry in entries:
        name = entry.name
        path = f"{relative}/{name}" if relative else name
        try:
            if entry.is_symlink():
                continue  # may lead out of the workspace; its target is walked if inside
            if entry.is_dir():
                if name in SKIPPED_FOLDERS or ignore.ignores(path, True):
                    continue
                if os.path.exists(os.path.join(entry.path, "pyvenv.cfg")):
                    continue  # a virtual environment under another name
                folders.append((entry, path))
                continue
            if os.path.splitext(name)[1].lower() not in INDEXED_EXTENSIONS:
                continue
            if ignore.ignores(path, False) or workspace.excluded(Path(entry.path)):
                continue
            if entry.stat().st_size > MAX_FILE_BYTES:
                continue
        except OSError:
            continue
        yield Path(entry.path)
    for entry, path in folders:
        below = Path(entry.path)
        yield from _walk(root, below, path, ignore.below(below, path), workspace)


def _ignored_by_git(root: Path, parts: tuple[str, ...]) -> bool:
    """Whether git ignores the file at ``root``/``parts`` (reads the ``.gitignore`` files on
    the way down; for single files met outside the walk, such as an import's target)."""
    ignore = GitIgnore().below(root, "")
    for depth in range(1, len(parts) + 1):
        relative = "/".join(parts[:depth])
        is_folder = depth < len(parts)
        if ignore.ignores(relative, is_folder):
            return True
        if is_folder:
            ignore = ignore.below(root.joinpath(*parts[:depth]), relative)
    return False
