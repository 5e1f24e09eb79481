"""What the context code needs to know about a language: its files, comments and keywords.

Snippets from other files go at the start of the prompt as comments *in the current file's
language*, so the model reads them as notes above the code and never as code of this file.
Identifiers are the unit of relevance; a language's keywords and the names every file uses
(``self``, ``None``, ``this``, ``err``) say nothing about which other code matters, so they
are left out of every query and index entry.
"""

from __future__ import annotations

import re

#: File extension -> language family (the families share import syntax and definitions).
_FAMILY_OF_EXTENSION = {
    ".py": "python",
    ".pyi": "python",
    ".js": "javascript",
    ".jsx": "javascript",
    ".mjs": "javascript",
    ".cjs": "javascript",
    ".ts": "javascript",
    ".tsx": "javascript",
    ".mts": "javascript",
    ".cts": "javascript",
    ".go": "go",
    ".rs": "rust",
    ".java": "java",
    ".kt": "java",
    ".c": "c",
    ".h": "c",
    ".cc": "c",
    ".cpp": "c",
    ".hpp": "c",
    ".cs": "java",
    ".rb": "ruby",
    ".php": "php",
    ".lua": "lua",
    ".sh": "shell",
    ".swift": "swift",
    ".scala": "java",
}
#: LSP language ids -> family, for documents whose URI has no telling extension.
_FAMILY_OF_LANGUAGE_ID = {
    "python": "python",
    "javascript": "javascript",
    "javascriptreact": "javascript",
    "typescript": "javascript",
    "typescriptreact": "javascript",
    "go": "go",
    "rust": "rust",
    "java": "java",
    "kotlin": "java",
    "c": "c",
    "cpp": "c",
    "csharp": "java",
    "ruby": "ruby",
    "php": "php",
    "lua": "lua",
    "shellscript": "shell",
    "sh": "shell",
    "swift": "swift",
    "scala": "java",
}
#: Line comment of each family; a family not listed gets ``#``'s neighbour ``//`` if C-like.
_LINE_COMMENT = {
    "python": "#",
    "ruby": "#",
    "shell": "#",
    "lua": "--",
}

INDEXED_EXTENSIONS = frozenset(_FAMILY_OF_EXTENSION)

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{1,}")

#: Keywords and ubiquitous names of the indexed languages: no signal about relevance.
STOPWORDS = frozenset(
    """
    and as assert async await break class continue def del elif else except finally for from
    global if import in is lambda nonlocal not or pass raise return try while with yield
    None True False self cls print len str int float bool dict list set tuple object type
    isinstance range super args kwargs
    const let var function new this typeof instanceof void delete switch case default do
    export extends implements interface enum null undefined true false catch throw static
    public private protected readonly string number boolean any unknown never async of
    func package go defer chan map struct select fallthrough goto nil err error make byte
    rune uint int64 int32 uint64 float64 ctx
    fn mut pub impl use mod crate match loop where trait
    """.split()  # noqa: SIM905 (a word list reads better as text)
)


def family_of(path_or_language: str) -> str:
    """The language family of a path (by extension) or of an LSP language id; "" if unknown."""
    family = _FAMILY_OF_LANGUAGE_ID.get(path_or_language)
    if family:
        return family
    dot = path_or_language.rfind(".")
    if dot < 0 or "/" in path_or_language[dot:]:
        return ""
    return _FAMILY_OF_EXTENSION.get(path_or_language[dot:].lower(), "")


def line_comment(family: str) -> str:
    """The line-comment marker of ``family`` (``#`` for Python, ``//`` for C-like languages)."""
    return _LINE_COMMENT.get(family, "//" if family else "#")


def identifiers(text: str) -> list[str]:
    """The identifiers of ``text`` in order, keywords and one-letter names left out."""
    return [word for word in _IDENTIFIER.findall(text) if word not in STOPWORDS]
