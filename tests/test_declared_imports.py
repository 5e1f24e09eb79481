"""Every import is declared: a fresh venv holding only what pyproject.toml lists runs it all.

A third-party module that a test imports but no extra declares works on the machine that happens
to have it, and fails everywhere else (``cryptography`` did, in ``test_tls.py``). This reads every
``import`` in ``codestral_ls/``, ``tests/`` and ``bench/``, maps its top-level module to the
distributions that provide it (``importlib.metadata.packages_distributions()``) and checks one of
them is declared where the importing code may use it:

* ``codestral_ls/``: ``[project.dependencies]``; an import inside a function or a ``try``
  (loaded only when a feature asks for it) may also come from a user-facing extra (``plot``);
* ``tests/``: the dependencies and ``[test]``;
* ``bench/``: the dependencies, ``[test]`` and ``[bench]`` if there is one.
"""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest

from tests.tools import tomllib

REPO = Path(__file__).resolve().parents[1]
FIRST_PARTY = {"codestral_ls", "tests", "bench"}
#: Extras that are not for users of the server: what the tests and CI install.
DEVELOPER_EXTRAS = {"test", "release", "bench"}


@dataclass(frozen=True)
class Import:
    path: Path
    line: int
    module: str  # the top-level module
    optional: bool  # inside a function, class body or try: loaded only when needed


def distribution_name(requirement: str) -> str:
    """The normalized (PEP 503) distribution name of a requirement string."""
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
    assert match, f"cannot read the requirement {requirement!r}"
    return re.sub(r"[-_.]+", "-", match.group(1)).lower()


def declared(project: dict, *extras: str) -> set[str]:
    """The distribution names of the dependencies and of ``extras``."""
    optional = project.get("optional-dependencies", {})
    requirements = list(project.get("dependencies", []))
    for extra in extras:
        requirements += optional.get(extra, [])
    return {distribution_name(requirement) for requirement in requirements}


def imports_of(path: Path) -> Iterator[Import]:
    """The absolute imports of one file, with whether each runs when the module loads."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    module_level = {id(node) for node in tree.body}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        for name in names:
            yield Import(path, node.lineno, name.partition(".")[0], id(node) not in module_level)


def undeclared(imports: Iterator[Import], allowed: set[str], optional_allowed: set[str]) -> list:
    """A line per third-party import whose distribution is not in ``allowed`` (or, for an
    optional import, ``optional_allowed``)."""
    providers = packages_distributions()
    problems = []
    for found in imports:
        if found.module in FIRST_PARTY or found.module in sys.stdlib_module_names:
            continue
        may_use = allowed | optional_allowed if found.optional else allowed
        # A module this Python lacks may still be declared for another one (tomli on 3.10).
        names = {distribution_name(d) for d in providers.get(found.module, [])} or {
            distribution_name(found.module)
        }
        if not names & may_use:
            where = found.path.relative_to(REPO)
            problems.append(
                f"{where}:{found.line} imports {found.module} (from {', '.join(sorted(names))}), "
                f"which is not declared for it"
            )
    return problems


def _project() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def _files(folder: str) -> Iterator[Path]:
    yield from sorted((REPO / folder).rglob("*.py"))


def _imports(folder: str) -> Iterator[Import]:
    for path in _files(folder):
        yield from imports_of(path)


def test_the_server_imports_only_its_dependencies() -> None:
    project = _project()
    user_extras = set(project.get("optional-dependencies", {})) - DEVELOPER_EXTRAS
    problems = undeclared(
        _imports("codestral_ls"), declared(project), declared(project, *user_extras)
    )
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(("folder", "extras"), [("tests", ("test",)), ("bench", ("test", "bench"))])
def test_tests_and_benchmarks_import_only_what_their_extras_declare(
    folder: str, extras: tuple[str, ...]
) -> None:
    allowed = declared(_project(), *extras)
    problems = undeclared(_imports(folder), allowed, allowed)
    assert not problems, "\n".join(problems)


def test_an_undeclared_import_is_named() -> None:
    """The check finds what it is for: test_tls.py's ``cryptography`` without ``[test]``."""
    project = _project()
    tls = REPO / "tests" / "reliability" / "test_tls.py"
    without = declared(project, "test") - {"cryptography"}
    problems = undeclared(imports_of(tls), without, without)
    assert problems and all("imports cryptography" in problem for problem in problems)
    assert problems[0].startswith("tests/reliability/test_tls.py:")
    # An import the server makes when it loads may not come from an optional extra.
    server_module = REPO / "codestral_ls" / "cli.py"
    source = [Import(server_module, 1, "httpx", optional=False)]
    assert undeclared(iter(source), {"pygls"}, {"httpx"})
    assert not undeclared(iter([Import(server_module, 1, "httpx", True)]), {"pygls"}, {"httpx"})
