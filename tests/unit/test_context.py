"""Repository context: which files may be read, imports, definitions, the index and the block."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from codestral_ls.config import Settings
from codestral_ls.context import RepositoryContext
from codestral_ls.context.definitions import (
    MAX_SNIPPET_CHARS,
    OUTLINE_LINES,
    OUTLINE_SIGNATURE_CHARS,
    definition_at,
    find_definitions,
)
from codestral_ls.context.imports import Imported, ModuleResolver, read_imports
from codestral_ls.context.index import WindowIndex, WorkspaceIndex
from codestral_ls.context.workspace import Workspace
from codestral_ls.documents import DocumentStore
from codestral_ls.prompt import build_context

UTIL = '''"""Helpers."""


def parse_header(raw: bytes,
                 strict: bool = False) -> dict[str, str]:
    """Split a raw header block into a dict."""
    result = {}
    for line in raw.split(b"\\n"):
        key, _, value = line.partition(b":")
        result[key.decode()] = value.decode().strip()
    for key in list(result):
        if not key:
            del result[key]
    if strict and not result:
        raise ValueError("empty")
    return result


class Pager:
    """Pages through results."""

    size: int

    def __init__(self, size: int = 10) -> None:
        self.size = size
        self.pages = []
        self.current = 0
        self.total = 0
        self.seen = set()
        self.done = False
        self.errors = []
        self.retries = 0

    def next_page(self, token: str | None = None) -> list[str]:
        return []
'''


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    write(
        root,
        {
            "app/__init__.py": "",
            "app/util.py": UTIL,
            "app/main.py": "from app.util import parse_header\n\n\ndef handle(raw):\n    \n",
            "app/models.py": "class Order:\n    def total_price(self, tax: float) -> float:\n"
            "        return 0.0\n",
            "build/generated.py": "def parse_header(x):\n    pass\n",
            ".gitignore": "build/\n*.log\n",
        },
    )
    return root


def make_context(root: Path, **settings: object) -> tuple[RepositoryContext, DocumentStore]:
    documents = DocumentStore()
    context = RepositoryContext(documents, dataclasses.replace(Settings(), **settings))
    context.set_roots([root])
    return context, documents


def prompt_at(
    context: RepositoryContext, documents: DocumentStore, path: Path, text: str, marker: str
) -> str:
    """The FIM prompt at ``marker`` in ``text`` (opened as ``path``), context included."""
    before, _, after = text.partition(marker)
    document = documents.open(path.as_uri(), before + after, 1, "python")
    line = before.count("\n")
    cursor = document.cursor(line, len(before) - (before.rfind("\n") + 1))
    settings = context.settings
    fim = build_context(
        document,
        cursor,
        max_prefix_chars=settings.max_prefix_chars,
        max_suffix_chars=settings.max_suffix_chars,
    )
    return context.add_to(fim, document, cursor).prompt


def built_index(root: Path, context: RepositoryContext | None = None) -> WorkspaceIndex:
    index = context.index if context else WorkspaceIndex(Workspace([root]))
    if context is not None:
        context.start()
    else:
        index.build()
    assert index.ready.wait(30)
    return index


# -- which files are read ------------------------------------------------------------------


def test_source_files_respect_gitignore_nested_rules_and_exclude_globs(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            ".gitignore": "*.gen.py\nbuild/\n/top_only.py\n",
            "a.py": "",
            "x.gen.py": "",
            "top_only.py": "",
            "sub/top_only.py": "",
            "build/b.py": "",
            "sub/.gitignore": "local.py\n!keep.gen.py\n",
            "sub/local.py": "",
            "sub/keep.gen.py": "",
            "sub/secrets.py": "",
            "node_modules/m.js": "",
            "env/pyvenv.cfg": "",
            "env/lib.py": "",
            "notes.txt": "",
        },
    )
    workspace = Workspace([tmp_path], exclude_globs=Settings().exclude_globs)
    found = sorted(p.relative_to(tmp_path).as_posix() for p in workspace.source_files(100))
    assert found == ["a.py", "sub/keep.gen.py", "sub/top_only.py"]


def test_nothing_is_read_outside_the_workspace(tmp_path: Path) -> None:
    write(tmp_path, {"outside/private.py": "def hidden(): ...\n", "ws/a.py": ""})
    (tmp_path / "ws" / "link.py").symlink_to(tmp_path / "outside" / "private.py")
    workspace = Workspace([tmp_path / "ws"])
    assert workspace.readable(tmp_path / "ws" / "a.py") is not None
    assert workspace.readable(tmp_path / "ws" / "link.py") is None
    assert workspace.readable(tmp_path / "ws" / ".." / "outside" / "private.py") is None
    assert [p.name for p in workspace.source_files(10)] == ["a.py"]
    resolver = ModuleResolver(workspace)
    assert resolver.files("..outside.private", "python", tmp_path / "ws" / "a.py") == ()


def test_the_whole_disk_is_never_a_workspace_folder() -> None:
    assert Workspace([Path("/")]).roots == ()


# -- imports -------------------------------------------------------------------------------


def test_python_imports_in_all_their_forms() -> None:
    lines = [
        "import os, app.util as u",
        "from app.models import (",
        "    Order,",
        "    Invoice as Bill,  # comment",
        ")",
        "from . import sibling",
        "from ..pkg.mod import thing",
        "from x import *",
    ]
    assert read_imports(lines, "python") == [
        Imported("os", "os"),
        Imported("u", "app.util"),
        Imported("Order", "app.models", "Order"),
        Imported("Bill", "app.models", "Invoice"),
        Imported("sibling", ".", "sibling"),
        Imported("thing", "..pkg.mod", "thing"),
    ]


def test_javascript_and_go_imports() -> None:
    js = [
        "import React from 'react';",
        "import Api, { fetchUser, type User as U } from './api';",
        "import * as util from '../lib/util.js';",
        "const { helper } = require('./helpers');",
    ]
    assert read_imports(js, "javascript") == [
        Imported("Api", "./api", "default"),
        Imported("fetchUser", "./api", "fetchUser"),
        Imported("U", "./api", "User"),
        Imported("util", "../lib/util.js"),
        Imported("helper", "./helpers", "helper"),
    ]
    go = ['import "fmt"', "import (", '\t"example.com/m/store"', '\tdb "example.com/m/sql"', ")"]
    assert read_imports(go, "go") == [
        Imported("fmt", "fmt"),
        Imported("store", "example.com/m/store"),
        Imported("db", "example.com/m/sql"),
    ]


def test_modules_resolve_like_python_does(project: Path) -> None:
    resolver = ModuleResolver(Workspace([project]))
    main = project / "app" / "main.py"
    util = (project / "app" / "util.py",)
    assert resolver.files("app.util", "python", main) == util
    assert resolver.files(".util", "python", main) == util
    assert resolver.files("app", "python", main) == (project / "app" / "__init__.py",)
    assert resolver.files("requests", "python", main) == ()
    # The workspace folder is the package itself (a source tree from site-packages).
    inner = ModuleResolver(Workspace([project / "app"]))
    assert inner.files("app.util", "python", main) == util


# -- definitions ---------------------------------------------------------------------------


def test_a_large_class_outline_shows_what_callers_use_one_line_each() -> None:
    """httpx's AsyncClient showed ``__init__(`` cut after its first line, then its private
    helpers, and none of ``get``, ``post`` or ``stream`` (480 lines below the header): the
    outline now takes the constructor, public methods and properties first, each on one
    line, whatever the class's length, and leaves private helpers, setters and overloads out."""
    lines = ["class Client(Base):", '    """Talks to the API.', "", "    Pools.", '    """']
    lines += ["    def __init__(", "        self,"]
    lines += [f"        option_{i}: int = {i},  # the {i}th" for i in range(30)]
    lines += ["    ) -> None:", "        self.x = 1", ""]
    for i in range(120):
        lines += [f"    def _helper_{i}(self) -> None:", "        pass", "        pass", ""]
    lines += ["    @overload", "    def get(self, url: bytes) -> bytes: ...", ""]
    lines += ["    def get(", "        self,", "        url: str,"]
    lines += ["    ) -> Response:", "        pass"]
    lines += ["    @property", "    def status(self) -> int:", "        return 1"]
    lines += ["    @status.setter", "    def status(self, value: int) -> None:", "        pass"]
    lines += ["    async def __aenter__(self) -> Client:", "        return self"]
    lines += ["    timeout: float", "    _cache: dict"]
    outline = definition_at(lines, 0, "python")
    shown = outline.splitlines()
    assert shown[:5] == lines[:5]  # header and docstring, its closing quote indented
    init = shown[5]
    assert init.startswith("    def __init__(self, option_0: int = 0, option_1: int = 1,")
    assert init.endswith(", ...) -> None:") and len(init) <= 4 + OUTLINE_SIGNATURE_CHARS
    assert "    def get(self, url: str) -> Response:" in shown
    assert shown.count("    @property def status(self) -> int:") == 1
    assert "    async def __aenter__(self) -> Client:" in shown
    assert "    timeout: float" in shown
    assert not any("_helper_" in line or "_cache" in line or "bytes" in line for line in shown)
    assert shown[-1] == "    ..."
    assert len(shown) <= OUTLINE_LINES and len(outline) <= MAX_SNIPPET_CHARS
    # In the order of the source, the constructor first.
    assert [line.split("(")[0].split()[-1] for line in shown[5:9]] == [
        "__init__",
        "get",
        "status",
        "__aenter__",
    ]


def test_definitions_give_the_signature_a_caller_needs() -> None:
    lines = UTIL.splitlines()
    names = {d.name: d.line for d in find_definitions(lines, "python")}
    assert {"parse_header", "Pager", "next_page", "__init__"} <= names.keys()
    function = definition_at(lines, names["parse_header"], "python")
    assert function.startswith("def parse_header(raw: bytes,\n                 strict: bool")
    assert '"""Split a raw header block into a dict."""' in function
    assert "result[key.decode()]" not in function  # a long body is left out
    outline = definition_at(lines, names["Pager"], "python")
    assert "def __init__(self, size: int = 10) -> None:" in outline
    assert "def next_page(self, token: str | None = None) -> list[str]:" in outline
    assert "self.retries = 0" not in outline
    go = ["func (s *Store) Get(key string) (string, error) {", "\treturn s.m[key], nil", "}"]
    assert [d.name for d in find_definitions(go, "go")] == ["Get"]
    js = ["export async function fetchUser(id) {", "  return api.get(id);", "}"]
    assert [d.name for d in find_definitions(js, "javascript")] == ["fetchUser"]


# -- the index -----------------------------------------------------------------------------


def test_index_finds_definitions_and_look_alike_code_and_stays_current(project: Path) -> None:
    index = built_index(project)
    sites = index.definitions("total_price")
    assert [(p.name, line) for p, line in sites] == [("models.py", 1)]
    assert all(p.parts[-2] != "build" for p, _ in index.definitions("parse_header"))
    best = index.search({"pages": 1.0, "retries": 1.0, "seen": 1.0}, 1, None)
    assert best[0].path.name == "util.py" and best[0].start <= 25 < best[0].end
    (project / "app" / "models.py").write_text("def total_cost(): ...\n", encoding="utf-8")
    index.refresh(project / "app" / "models.py")
    (project / "app" / "util.py").unlink()
    index.forget(project / "app" / "util.py")
    index.build()  # queued after the two updates: ready again once they are applied
    assert index.ready.wait(30)
    assert index.definitions("total_price") == [] and index.definitions("Pager") == []
    assert [p.name for p, _ in index.definitions("total_cost")] == ["models.py"]
    index.stop()


# -- the block in the prompt ---------------------------------------------------------------


def test_an_imported_definition_heads_the_prompt_as_a_comment(project: Path) -> None:
    context, documents = make_context(project)
    main = project / "app" / "main.py"
    prompt = prompt_at(
        context,
        documents,
        main,
        "from app.util import parse_header\n\n\ndef handle(raw):\n    |parse_header(raw)\n",
        "|",
    )
    block, _, code = prompt.partition("# Path: app/main.py\n")
    assert code.startswith("from app.util import parse_header\n")
    assert block.startswith("# Path: app/util.py\n# def parse_header(raw: bytes,\n")
    assert "strict: bool = False) -> dict[str, str]:\n" in block
    assert context.stats.snippets == {"imports": 1}


def test_a_definition_a_package_re_exports_with_a_star_import_is_found(tmp_path: Path) -> None:
    """``from pkg import fetch`` where ``pkg/__init__.py`` says ``from ._api import *`` (how
    many packages expose their API) brought nothing: only re-exports by name were followed."""
    root = tmp_path / "project"
    write(
        root,
        {
            "pkg/__init__.py": '"""The API."""\nfrom ._models import *\nfrom ._api import *\n',
            "pkg/_models.py": "class Item:\n    pass\n",
            "pkg/_api.py": "def fetch(url: str, *, timeout: float = 5.0) -> bytes:\n"
            "    return b''\n\n\ndef _sign(url):\n    pass\n",
        },
    )
    context, documents = make_context(root)
    text = "from pkg import fetch, _sign\n\n\ndef go():\n    |fetch(_sign('x'))\n"
    prompt = prompt_at(context, documents, root / "main.py", text, "|")
    block = prompt.partition("# Path: main.py\n")[0]
    assert "# Path: pkg/_api.py\n# def fetch(url: str, *, timeout: float = 5.0) -> bytes:" in block
    assert "_sign" not in block  # "*" takes no _private name
    assert context.stats.snippets == {"imports": 1}


def test_the_block_stays_within_context_chars_and_the_prompt_within_its_budget(
    project: Path,
) -> None:
    filler = "".join(f"value_{i} = {i}\n" for i in range(400))
    text = f"from app.util import parse_header, Pager\n{filler}Pager(3)\n|parse_header(x)\n"
    for budget in (0, 120, 400, 3000):
        context, documents = make_context(project, context_chars=budget, max_prefix_chars=2000)
        prompt = prompt_at(context, documents, project / "app" / "main.py", text, "|")
        block, found, _code = prompt.partition("# Path: app/main.py\n")
        assert len(block) + len(found) <= budget if found else budget < 400, budget
        assert len(prompt) <= 2000
        assert prompt.endswith("Pager(3)\n")
    assert "class Pager" in block and "def parse_header" in block


def test_code_the_prompt_already_holds_is_not_repeated(project: Path) -> None:
    context, documents = make_context(project)
    text = (
        "from app.util import parse_header\n"
        "def parse_header(raw: bytes,\n    strict=False):\n    ...\n"
        "|parse_header(b'')\n"
    )
    prompt = prompt_at(context, documents, project / "app" / "main.py", text, "|")
    assert "# Path: app/util.py" not in prompt


def test_excluded_and_ignored_files_never_contribute(project: Path) -> None:
    write(
        project,
        {
            "app/secrets.py": "def load_token():\n    return 'x'\n",
            "app/.env.py": "def env_token():\n    return 'x'\n",
        },
    )
    context, documents = make_context(project)
    built_index(project, context)
    text = (
        "from app.secrets import load_token\n"
        "from build.generated import parse_header\n"
        "from app.util import Pager\n"
        "env_token()\n"
        "|load_token(); parse_header(1); Pager()\n"
    )
    prompt = prompt_at(context, documents, project / "app" / "main.py", text, "|")
    assert "# class Pager:" in prompt  # the context is there, only without those files
    assert "def load_token" not in prompt
    assert "def env_token" not in prompt
    assert "def parse_header(x)" not in prompt  # build/ is in .gitignore
    context.stop()


def test_secrets_in_a_snippet_are_masked(project: Path) -> None:
    token = "ghp_" + "a1B2" * 9
    write(project, {"app/config.py": f'API_TOKEN = "{token}"\n\ndef connect():\n    pass\n'})
    context, documents = make_context(project)
    text = "from app.config import API_TOKEN, connect\n|connect(API_TOKEN)\n"
    prompt = prompt_at(context, documents, project / "app" / "main.py", text, "|")
    assert "# Path: app/config.py" in prompt
    assert token not in prompt
    assert "API_TOKEN = " in prompt


def test_names_without_an_import_are_found_through_the_index(project: Path) -> None:
    context, documents = make_context(project)
    built_index(project, context)
    text = "def bill(order):\n    |return order.total_price(0.2)\n"
    prompt = prompt_at(context, documents, project / "app" / "main.py", text, "|")
    assert "# Path: app/models.py\n#     def total_price(self, tax: float) -> float:" in prompt
    assert context.stats.snippets.get("index") == 1
    context.stop()


def test_open_tabs_and_recent_edits_contribute_when_on(project: Path) -> None:
    context, documents = make_context(project, context_sources=["openTabs", "recentEdits"])
    other = project / "app" / "other.py"
    tab = "def refund_everything(order_id, amount_cents, reason_code):\n    ...\n"
    documents.open(other.as_uri(), tab + "\n" * 40 + "WEEKLY_QUOTA = 7\n", 1, "python")
    context.document_edited(other.as_uri(), 42, 42, "WEEKLY_QUOTA = 7\n")
    text = "def go(order_id):\n    |refund(order_id, amount_cents, reason_code)\n"
    prompt = prompt_at(context, documents, project / "app" / "main.py", text, "|")
    assert "# def refund_everything(order_id, amount_cents, reason_code):" in prompt
    assert "# WEEKLY_QUOTA = 7" in prompt
    assert set(context.stats.snippets) == {"openTabs", "recentEdits"}
    documents.close(other.as_uri())
    context.document_closed(other.as_uri())


def test_javascript_and_go_imports_bring_their_definitions(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "web/api.ts": "export async function fetchUser(id: string): Promise<User> {\n"
            "  return get(`/users/${id}`);\n}\n",
            "go.mod": "module example.com/shop\n\ngo 1.22\n",
            "store/store.go": "package store\n\nfunc Lookup(key string) (string, bool) {\n"
            '\treturn "", false\n}\n',
        },
    )
    context, documents = make_context(tmp_path)
    ts = tmp_path / "web" / "page.ts"
    before = "import { fetchUser } from './api';\n\nasync function show() {\n  const u = await "
    document = documents.open(ts.as_uri(), before + "fetchUser('1');\n}\n", 1, "typescript")
    cursor = document.cursor(3, len("  const u = await "))
    fim = build_context(document, cursor, max_prefix_chars=4000, max_suffix_chars=400)
    prompt = context.add_to(fim, document, cursor).prompt
    assert prompt.startswith("// Path: web/api.ts\n// export async function fetchUser(id: string)")
    go = tmp_path / "cmd" / "main.go"
    text = (
        'package main\n\nimport "example.com/shop/store"\n\nfunc main() {\n\tstore.Lookup("")\n}\n'
    )
    document = documents.open(go.as_uri(), text, 1, "go")
    cursor = document.cursor(5, 1)
    fim = build_context(document, cursor, max_prefix_chars=4000, max_suffix_chars=400)
    prompt = context.add_to(fim, document, cursor).prompt
    assert "// Path: store/store.go\n// func Lookup(key string) (string, bool) {" in prompt


def test_no_context_for_documents_outside_any_known_language(project: Path) -> None:
    context, documents = make_context(project)
    path = project / "notes.md"
    document = documents.open(path.as_uri(), "parse_header(x)\n", 1, "markdown")
    cursor = document.cursor(0, 0)
    fim = build_context(document, cursor, max_prefix_chars=4000, max_suffix_chars=400)
    assert context.add_to(fim, document, cursor) == fim


def test_a_symlinked_workspace_folder_is_followed_once(tmp_path: Path) -> None:
    write(tmp_path, {"real/a.py": "def f(): ...\n"})
    (tmp_path / "alias").symlink_to(tmp_path / "real")
    workspace = Workspace([tmp_path / "alias", tmp_path / "real"])
    assert workspace.roots == ((tmp_path / "real").resolve(),)


def test_imports_are_read_from_lines_with_their_line_ends() -> None:
    lines = [
        "from pkg.util import (\r\n",
        "    parse,  # the parser\r\n",
        "    render as show)\r\n",
        "x = 1\n",
        "# import hidden\n",
        "import os, json as j\n",
    ]
    assert read_imports(lines, "python") == [
        Imported("parse", "pkg.util", "parse"),
        Imported("show", "pkg.util", "render"),
        Imported("os", "os"),
        Imported("j", "json"),
    ]


def _index_of(*windows: list[str]) -> WindowIndex:
    index = WindowIndex()
    for number, tokens in enumerate(windows):
        index.add(number, 0, 10, tokens)
    return index


def test_a_search_is_answered_the_same_from_memory_and_ignores_words_the_index_lacks() -> None:
    index = _index_of(["parse", "tokens"], ["render", "tokens"], ["other"])
    first = index.search({"parse": 1.0, "tokens": 0.5}, 2)
    assert [window for _score, window in first] == [0, 1]
    # a half-typed word the index does not hold: the same ranking, the same scores
    assert index.search({"parse": 1.0, "tokens": 0.5, "pars": 1.0}, 2) == first
    # another limit, file or weight is another search
    assert index.search({"parse": 1.0, "tokens": 0.5}, 1) == first[:1]
    assert index.search({"parse": 1.0, "tokens": 0.5}, 2, skip_file=0) == [first[1]]
    assert index.search({"parse": 1.0, "tokens": 0.5}, 2, within={1}) == [first[1]]
    assert index.search({"parse": 0.1, "tokens": 5.0}, 2)[0][0] != first[0][0]


def test_a_change_to_the_index_is_seen_by_the_next_search() -> None:
    index = _index_of(["parse"], ["render"])
    assert [window for _s, window in index.search({"parse": 1.0}, 5)] == [0]
    index.add(7, 0, 10, ["parse"])
    assert sorted(window for _s, window in index.search({"parse": 1.0}, 5)) == [0, 2]
    index.remove([0])
    assert [window for _s, window in index.search({"parse": 1.0}, 5)] == [2]
