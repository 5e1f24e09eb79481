"""What a file imports, and which workspace files those imports name.

Continue puts the definitions of imported symbols in the prompt, found through the editor's
go-to-definition. A language server cannot ask the editor for that, so the imports are read
from the text (Python ``import``/``from``, JavaScript/TypeScript ``import``/``require`` of a
relative path, Go ``import`` of a package of the workspace's module) and resolved on disk the
way the language's own loader would, inside the workspace only. Third-party and standard
library imports resolve to nothing, on purpose: their definitions are not the user's code
and the model knows the popular ones already.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from codestral_ls.context.workspace import Workspace


@dataclass(frozen=True)
class Imported:
    """A name bound by an import: ``local`` in this file stands for ``member`` of ``module``
    (``member`` is ``None`` when ``local`` is the module itself)."""

    local: str
    module: str
    member: str | None = None


# -- reading imports ---------------------------------------------------------------------

_PY_FROM = re.compile(r"^[ \t]*from[ \t]+(\.*[\w.]*)[ \t]+import[ \t]+(.+)$")
_PY_IMPORT = re.compile(r"^[ \t]*import[ \t]+(.+)$")
_NAME_AS = re.compile(r"^([\w.]+)(?:[ \t]+as[ \t]+(\w+))?$")

_JS_FROM = re.compile(
    r"""^[ \t]*(?:import|export)[ \t]+(?:type[ \t]+)?(.+?)[ \t]+from[ \t]+["']([^"']+)["']"""
)
_JS_REQUIRE = re.compile(
    r"""^[ \t]*(?:const|let|var)[ \t]+(.+?)[ \t]*=[ \t]*require\([ \t]*["']([^"']+)["'][ \t]*\)"""
)

_GO_SINGLE = re.compile(r"""^[ \t]*import[ \t]+(?:([\w.]+)[ \t]+)?"([^"]+)\"""")
_GO_LINE = re.compile(r"""^[ \t]*(?:([\w.]+)[ \t]+)?"([^"]+)\"""")


def read_imports(lines: Iterable[str], family: str) -> list[Imported]:
    """The imports among ``lines`` (the top of a file and the lines near the cursor), with
    or without their line ends."""
    if family == "python":
        return _python_imports(lines)
    if family == "javascript":
        return _javascript_imports(lines)
    if family == "go":
        return _go_imports(lines)
    return []


def _logical_lines(lines: Iterable[str]) -> Iterable[str]:
    """The lines that may import, with a bracketed or backslash-continued import joined
    into one (the others are left out: reading the imports runs on every keystroke near the
    top of a file)."""
    pending = ""
    for line in lines:
        if not pending and "import" not in line:
            continue  # most lines: one substring test, the only cost of a long file
        code = line.split("#", 1)[0].rstrip()
        if pending:
            pending += " " + code.strip()
            if ")" in code or (not code.endswith("\\") and "(" not in pending):
                yield pending.replace("\\", " ")
                pending = ""
            elif len(pending) > 4000:
                pending = ""  # not an import after all
            continue
        stripped = code.lstrip()
        if (stripped.startswith(("from ", "import "))) and (
            ("(" in code and ")" not in code) or code.endswith("\\")
        ):
            pending = code
            continue
        yield code


def _python_imports(lines: Iterable[str]) -> list[Imported]:
    found: list[Imported] = []
    for line in _logical_lines(lines):
        if "import" not in line:
            continue
        match = _PY_FROM.match(line)
        if match:
            module = match[1]
            for part in match[2].strip().strip("()").split(","):
                named = _NAME_AS.match(part.strip())
                if named and named[1] != "*":
                    found.append(Imported(named[2] or named[1], module, named[1]))
            continue
        match = _PY_IMPORT.match(line)
        if match:
            for part in match[1].split(","):
                named = _NAME_AS.match(part.strip())
                if named:
                    found.append(Imported(named[2] or named[1], named[1]))
    return found


def star_imports(lines: Iterable[str]) -> list[str]:
    """The modules a Python file takes every public name of (``from ._api import *``): a
    package's ``__init__`` re-exports what it defines elsewhere this way."""
    modules = []
    for line in _logical_lines(lines):
        if "*" in line and (match := _PY_FROM.match(line)) and match[2].strip() == "*":
            modules.append(match[1])
    return modules


def _javascript_imports(lines: Iterable[str]) -> list[Imported]:
    found: list[Imported] = []
    for line in lines:
        if "import" not in line and "require" not in line and "export" not in line:
            continue
        match = _JS_FROM.match(line) or _JS_REQUIRE.match(line)
        if not match:
            continue
        bindings, module = match[1].strip(), match[2]
        if not module.startswith("."):
            continue  # a package, not a workspace file
        default, _, named = bindings.partition("{")
        default = default.strip().rstrip(",").strip()
        if default.startswith("* as "):
            found.append(Imported(default[5:].strip(), module))
        elif default and re.fullmatch(r"[\w$]+", default):
            found.append(Imported(default, module, "default"))
        for part in named.rstrip("}").split(","):
            part = part.strip().removeprefix("type ").strip()
            pieces = re.split(r"[ \t]+as[ \t]+|[ \t]*:[ \t]*", part)
            if pieces and re.fullmatch(r"[\w$]+", pieces[0]):
                found.append(Imported(pieces[-1], module, pieces[0]))
    return found


def _go_imports(lines: Iterable[str]) -> list[Imported]:
    found: list[Imported] = []
    in_block = False
    for line in lines:
        stripped = line.strip()
        if in_block:
            if stripped.startswith(")"):
                in_block = False
                continue
            match = _GO_LINE.match(line)
        elif stripped.startswith("import ("):
            in_block = True
            continue
        else:
            match = _GO_SINGLE.match(line) if stripped.startswith("import") else None
        if match:
            path = match[2]
            alias = match[1] or path.rstrip("/").rsplit("/", 1)[-1]
            if alias not in ("_", "."):
                found.append(Imported(alias, path))
    return found


# -- resolving modules to files ----------------------------------------------------------


class ModuleResolver:
    """Finds the workspace files a module name stands for, as the language would.

    Answers are remembered (a completion asks for the same few modules again and again) until
    :meth:`forget` is called because files appeared or vanished.
    """

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace
        self._known: dict[tuple[str, str, Path], tuple[Path, ...]] = {}

    def forget(self) -> None:
        self._known.clear()

    def files(self, module: str, family: str, importer: Path) -> tuple[Path, ...]:
        """The files of ``module`` imported from the file ``importer`` (none if outside)."""
        key = (family, module, importer.parent)
        known = self._known.get(key)
        if known is None:
            if len(self._known) > 4096:
                self._known.clear()
            known = self._known[key] = tuple(self._find(module, family, importer))
        return known

    def _find(self, module: str, family: str, importer: Path) -> list[Path]:
        if family == "python":
            candidates = self._python_candidates(module, importer)
        elif family == "javascript":
            candidates = _javascript_candidates(module, importer)
        elif family == "go":
            return self._go_files(module)
        else:
            return []
        for candidate in candidates:
            readable = self.workspace.readable(candidate)
            if readable is not None:
                return [readable]
        return []

    def _python_candidates(self, module: str, importer: Path) -> list[Path]:
        dots = len(module) - len(module.lstrip("."))
        parts = [part for part in module[dots:].split(".") if part]
        if dots:
            base = importer.parent
            for _ in range(dots - 1):
                base = base.parent
            bases = [(base, parts)]
        else:
            bases = self._python_bases(parts, importer)
        candidates = []
        for base, rest in bases:
            target = base.joinpath(*rest) if rest else base
            if rest:
                candidates += [target.with_suffix(".py"), target.with_suffix(".pyi")]
            candidates.append(target / "__init__.py")
        return candidates

    def _python_bases(self, parts: list[str], importer: Path) -> list[tuple[Path, list[str]]]:
        """Where an absolute import can start: each workspace folder (and its ``src``), and
        the top package holding the importer or a workspace folder, for ``pkg.mod`` imports
        of a package whose folder is itself the workspace."""
        bases: list[tuple[Path, list[str]]] = []
        top = self._top_package(importer.parent)
        if top is not None and parts and parts[0] == top.name:
            bases.append((top, parts[1:]))
        for root in self.workspace.roots:
            bases += [(root, parts), (root / "src", parts)]
            if parts and parts[0] == root.name and (root / "__init__.py").is_file():
                bases.append((root, parts[1:]))
        return bases

    def _top_package(self, folder: Path) -> Path | None:
        """The outermost package folder above ``folder`` that is still in the workspace."""
        root = self.workspace.root_of(folder)
        if root is None or not (folder / "__init__.py").is_file():
            return None
        top = folder
        while top != root and (top.parent / "__init__.py").is_file():
            top = top.parent
        return top

    def _go_files(self, module: str) -> list[Path]:
        for root in self.workspace.roots:
            prefix = _go_module_name(root)
            if prefix and (module == prefix or module.startswith(prefix + "/")):
                folder = root / module[len(prefix) :].lstrip("/")
                try:
                    names = sorted(p.name for p in folder.iterdir())
                except OSError:
                    continue
                files = []
                for name in names:
                    if name.endswith(".go") and not name.endswith("_test.go"):
                        readable = self.workspace.readable(folder / name)
                        if readable is not None:
                            files.append(readable)
                return files[:16]
        return []


def _javascript_candidates(module: str, importer: Path) -> list[Path]:
    target = importer.parent / module
    stem = target.with_suffix("") if target.suffix in (".js", ".mjs", ".cjs") else target
    extensions = (".ts", ".tsx", ".d.ts", ".js", ".jsx", ".mjs", ".cjs", ".mts")
    candidates = [target] if target.suffix else []
    candidates += [stem.with_name(stem.name + ext) for ext in extensions]
    candidates += [target / f"index{ext}" for ext in extensions]
    return candidates


def _go_module_name(root: Path) -> str:
    try:
        text = (root / "go.mod").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    match = re.search(r"^module[ \t]+(\S+)", text, re.MULTILINE)
    return match[1].strip('"') if match else ""
