"""Who may import whom: the boundaries the architecture section of the README describes.

Checked on the source (every ``import`` statement, at any depth), so a shortcut through the
HTTP client or the engine fails here instead of growing an import cycle later.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "codestral_ls"

#: Modules that react to failures or shape results: neither httpx nor the HTTP client.
NO_HTTP = ["cache", "health", "messages", "errors", "fim", "items", "completion", "actions/*"]
#: Modules the engine uses or that shape its results: never the engine itself.
NO_ENGINE = ["items", "completion", "controls", "scheduling", "cache", "upstream", "actions/*"]
#: Only these talk to pygls's private names (see pygls_compat.py).
PYGLS_INTERNALS = (
    "_shutdown",
    "_stop_event",
    "_send_response",
    "_request_futures",
    "_execute_handler",
    "_get_handler",
    "_converter",
    "_serialize_message",
    "fm",
)


def sources(patterns: list[str]) -> list[Path]:
    found = [path for pattern in patterns for path in PACKAGE.glob(pattern + ".py")]
    assert found, patterns
    return found


def imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


@pytest.mark.parametrize("path", sources(NO_HTTP), ids=lambda p: p.stem)
def test_no_http_client_behind_errors_messages_and_results(path: Path) -> None:
    found = {name for name in imports(path) if name.split(".")[0] == "httpx"}
    found |= {name for name in imports(path) if name.startswith("codestral_ls.mistral_api")}
    assert not found


@pytest.mark.parametrize("path", sources(NO_ENGINE), ids=lambda p: p.stem)
def test_nothing_below_the_engine_imports_it(path: Path) -> None:
    assert not {name for name in imports(path) if name.startswith("codestral_ls.engine")}


def test_pygls_private_names_are_used_in_pygls_compat_only() -> None:
    for path in PACKAGE.rglob("*.py"):
        if path.name == "pygls_compat.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        used = {
            node.attr
            for node in ast.walk(tree)
            if isinstance(node, ast.Attribute) and node.attr in PYGLS_INTERNALS
        }
        assert not used, f"{path.relative_to(PACKAGE)} uses {used}: go through pygls_compat"
