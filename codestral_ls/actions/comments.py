"""Comment syntax per language: to write an explanation as a comment, and to read instructions.

Explain inserts the model's answer above the selection as a comment block, so it needs the
language's comment syntax; languages with line comments get one prefix per line, the few with
only block comments get one block. The Custom instruction is read from a comment line
directly above the selection (``# codestral: make this async``) in *any* comment syntax, so
that reading it needs no language table at all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from codestral_ls.languages import language_from_path


@dataclass(frozen=True)
class CommentStyle:
    """A line-comment prefix, or a block comment's opening and closing marks."""

    line: str | None = None
    block: tuple[str, str] | None = None


_HASH = CommentStyle(line="#")
_SLASHES = CommentStyle(line="//")
_DASHES = CommentStyle(line="--")
_SEMICOLONS = CommentStyle(line=";;")
_PERCENT = CommentStyle(line="%")
_HTML = CommentStyle(block=("<!--", "-->"))
_C_BLOCK = CommentStyle(block=("/*", "*/"))
_ML = CommentStyle(block=("(*", "*)"))

#: LSP language ids (and a few common aliases) to their comment syntax.
_BY_LANGUAGE: dict[str, CommentStyle] = {
    **dict.fromkeys(
        (
            "python",
            "shellscript",
            "sh",
            "bash",
            "zsh",
            "fish",
            "ruby",
            "perl",
            "r",
            "yaml",
            "toml",
            "makefile",
            "dockerfile",
            "powershell",
            "julia",
            "elixir",
            "nim",
            "coffeescript",
            "cmake",
            "nix",
            "gdscript",
            "crystal",
            "tcl",
            "ini",
        ),
        _HASH,
    ),
    **dict.fromkeys(
        (
            "c",
            "cpp",
            "objective-c",
            "objective-cpp",
            "csharp",
            "java",
            "javascript",
            "javascriptreact",
            "typescript",
            "typescriptreact",
            "go",
            "rust",
            "swift",
            "kotlin",
            "scala",
            "dart",
            "php",
            "groovy",
            "zig",
            "d",
            "fsharp",
            "jsonc",
            "proto",
            "solidity",
            "vue",
            "svelte",
            "less",
            "scss",
            "verilog",
            "glsl",
            "hlsl",
            "odin",
            "v",
        ),
        _SLASHES,
    ),
    **dict.fromkeys(("lua", "sql", "haskell", "elm", "ada", "purescript", "vhdl"), _DASHES),
    **dict.fromkeys(("lisp", "clojure", "scheme", "racket", "commonlisp", "fennel"), _SEMICOLONS),
    "elisp": _SEMICOLONS,
    "emacs-lisp": _SEMICOLONS,
    **dict.fromkeys(("erlang", "latex", "tex", "matlab", "prolog"), _PERCENT),
    "vim": CommentStyle(line='"'),
    "bat": CommentStyle(line="REM"),
    "fortran": CommentStyle(line="!"),
    "vb": CommentStyle(line="'"),
    **dict.fromkeys(("html", "xml", "markdown", "svg", "xsl"), _HTML),
    "css": _C_BLOCK,
    **dict.fromkeys(("ocaml", "reason", "pascal", "sml"), _ML),
}


def language_of(language_id: str, uri: str) -> str:
    """The language id to use: the editor's when we know it, else guessed from the file name."""
    if language_id in _BY_LANGUAGE:
        return language_id
    return language_from_path(uri) or language_id


def comment_style(language_id: str, uri: str = "") -> CommentStyle:
    """How to write a comment in this language (``#`` for languages we do not know)."""
    return _BY_LANGUAGE.get(language_of(language_id, uri), _HASH)


def as_comment(lines: list[str], style: CommentStyle, indent: str) -> list[str]:
    """``lines`` of prose as comment lines, each starting with ``indent``.

    Empty lines stay part of the block (a bare prefix), so the comment reads as one unit.
    Inside a block comment the closing mark is broken up so the text cannot end it early.
    """
    if style.line is not None:
        prefix = style.line
        return [
            f"{indent}{prefix} {line}".rstrip() if line else f"{indent}{prefix}" for line in lines
        ]
    assert style.block is not None
    opening, closing = style.block
    safe = [line.replace(closing, " ".join(closing)) for line in lines]
    return [
        f"{indent}{opening}",
        *[f"{indent}{line}".rstrip() for line in safe],
        f"{indent}{closing}",
    ]


#: A comment line holding an instruction: any comment opener, ``codestral:``, the instruction,
#: and an optional block-comment closer.
_INSTRUCTION = re.compile(
    r"""^\s*
    (?:\#+|//+|--+|;+|%+|"|'|!|REM\b|/\*+|<!--|\(\*|\{-)
    \s*codestral\s*:\s*
    (?P<text>.*?)
    \s*(?:\*+/|-->|\*\)|-\})?\s*$""",
    re.IGNORECASE | re.VERBOSE,
)


def instruction_in(line: str) -> str | None:
    """The instruction in a ``codestral: ...`` comment line, or ``None``."""
    match = _INSTRUCTION.match(line)
    if match is None:
        return None
    text = match.group("text").strip()
    return text or None


__all__ = ["CommentStyle", "as_comment", "comment_style", "instruction_in", "language_of"]
