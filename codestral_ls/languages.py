"""File extensions to LSP language ids: one table for every guess from a file name.

Editors send a language id with each document; this is for when they send one we do not
know, or none (``codestral-ls complete FILE``). Ids are the LSP specification's.
"""

from __future__ import annotations

from pathlib import PurePosixPath

LANGUAGE_OF_EXTENSION: dict[str, str] = {
    ".py": "python",
    ".pyi": "python",
    ".sh": "shellscript",
    ".bash": "shellscript",
    ".rb": "ruby",
    ".js": "javascript",
    ".mjs": "javascript",
    ".cjs": "javascript",
    ".jsx": "javascriptreact",
    ".ts": "typescript",
    ".tsx": "typescriptreact",
    ".go": "go",
    ".rs": "rust",
    ".c": "c",
    ".h": "c",
    ".cc": "cpp",
    ".cpp": "cpp",
    ".hpp": "cpp",
    ".java": "java",
    ".kt": "kotlin",
    ".cs": "csharp",
    ".lua": "lua",
    ".sql": "sql",
    ".hs": "haskell",
    ".el": "emacs-lisp",
    ".clj": "clojure",
    ".vim": "vim",
    ".html": "html",
    ".md": "markdown",
    ".css": "css",
    ".ml": "ocaml",
    ".php": "php",
    ".swift": "swift",
    ".yaml": "yaml",
    ".yml": "yaml",
    ".toml": "toml",
}


def language_from_path(path: str) -> str:
    """The language of a file by its extension (a path or URI), ``""`` when unknown."""
    return LANGUAGE_OF_EXTENSION.get(PurePosixPath(path).suffix.lower(), "")
