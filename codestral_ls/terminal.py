"""``codestral-ls complete``: one completion in the terminal, through the same engine.

Useful to try a key and an endpoint without an editor, and for scripts. Lines and columns
count from 1, columns in characters, as compilers and editors' status lines show them.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

from codestral_ls.config import Settings
from codestral_ls.documents import Document, PositionEncoding
from codestral_ls.endpoint import Endpoint, resolve_endpoint
from codestral_ls.engine import CompletionEngine
from codestral_ls.upstream import Upstream

_LANGUAGES = {
    ".py": "python",
    ".js": "javascript",
    ".ts": "typescript",
    ".rs": "rust",
    ".go": "go",
    ".c": "c",
    ".h": "c",
    ".cpp": "cpp",
    ".java": "java",
    ".rb": "ruby",
    ".lua": "lua",
    ".sh": "shellscript",
    ".md": "markdown",
    ".el": "emacs-lisp",
    ".tsx": "typescriptreact",
}


def run_complete(args: argparse.Namespace) -> int:
    """Print the completion at ``args.line``/``args.column`` of ``args.file``.

    Exit status: 0 printed a completion, 1 the model had none, 2 the request could not be made.
    """
    path = Path(args.file)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        print(f"codestral-ls: cannot read {path}: {error}", file=sys.stderr)
        return 2
    document = Document(
        path.resolve().as_uri(),
        text,
        language_id=args.language or _LANGUAGES.get(path.suffix.lower(), ""),
        encoding=PositionEncoding.UTF32,
    )
    if not document.is_valid_position(args.line - 1, args.column - 1):
        print(
            f"codestral-ls: {path} has no line {args.line}, column {args.column}", file=sys.stderr
        )
        return 2
    settings, problems = Settings.from_options({"multiline": args.multiline})
    endpoint = resolve_endpoint(settings, os.environ)
    if not endpoint.usable:
        print(f"codestral-ls: {endpoint.problem}", file=sys.stderr)
        return 2
    messages: list[str] = list(problems)
    completion = asyncio.run(_complete(settings, endpoint, document, args, messages))
    for message in messages:
        print(f"codestral-ls: {message}", file=sys.stderr)
    if completion is None:
        return 2 if messages else 1
    sys.stdout.write(completion + ("" if completion.endswith("\n") else "\n"))
    return 0


async def _complete(
    settings: Settings,
    endpoint: Endpoint,
    document: Document,
    args: argparse.Namespace,
    messages: list[str],
) -> str | None:
    upstream = Upstream(settings, endpoint)
    engine = CompletionEngine(settings, upstream, notify=messages.append)
    try:
        cursor = document.cursor(args.line - 1, args.column - 1)
        completion = await engine.complete(document, cursor, invoked=True)
        return None if completion is None else completion.text
    finally:
        await engine.aclose()
        await upstream.aclose()
