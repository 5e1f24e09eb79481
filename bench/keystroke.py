"""Keystroke cost: one incremental ``didChange`` on 10 KB, 1 MB and 10 MB documents.

Two figures per size, both in this process so that pipe and scheduler noise stay out:

* **store**: ``codestral_ls.documents.Document.apply_edit`` alone (the pure cost of our
  line-based store), one character typed in the middle of the document, then deleted.
* **LSP**: the whole ``didChange`` path of the real server: the raw JSON-RPC body is parsed
  and structured exactly as pygls's reader does (``json.loads(object_hook=
  protocol.structure_message)``) and handed to ``protocol.handle_message``, which runs our
  notification handler (store edit, version, typing rhythm).

For comparison, pygls's own ``TextDocument`` (which rebuilds the whole text per incremental
edit) is timed on the same edits.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable

from bench.stats import Row, dist_ms, p50_95_99
from codestral_ls.documents import Document

SIZES = (("10 KB", 10_000), ("1 MB", 1_000_000), ("10 MB", 10_000_000))
LINE = "    result = compute(alpha, beta) + offset  # note\n"  # 51 characters


def document_text(size: int) -> str:
    return LINE * max(1, size // len(LINE))


def _edits(text: str) -> tuple[int, int]:
    """Where to type: the middle line, after its indentation."""
    return text.count("\n") // 2, 4


def _time(edit: Callable[[int], None], count: int) -> list[float]:
    timings = []
    for i in range(count):
        started = time.perf_counter()
        edit(i)
        timings.append(time.perf_counter() - started)
    return timings


def store_timings(text: str, count: int) -> list[float]:
    document = Document("file:///bench/big.py", text, version=1, language_id="python")
    line, column = _edits(text)

    def edit(i: int) -> None:
        if i % 2 == 0:
            document.apply_edit((line, column), (line, column), "x")
        else:
            document.apply_edit((line, column), (line, column + 1), "")
        document.version = i + 2

    return _time(edit, count)


def pygls_timings(text: str, count: int) -> list[float]:
    from lsprotocol import types
    from pygls.workspace import TextDocument

    document = TextDocument("file:///bench/big.py", text, version=1)
    line, column = _edits(text)

    def change(i: int) -> types.TextDocumentContentChangePartial:
        end = column if i % 2 == 0 else column + 1
        return types.TextDocumentContentChangePartial(
            range=types.Range(
                start=types.Position(line=line, character=column),
                end=types.Position(line=line, character=end),
            ),
            text="x" if i % 2 == 0 else "",
        )

    changes = [change(i) for i in range(2)]
    return _time(lambda i: document.apply_change(changes[i % 2]), count)


async def lsp_timings(text: str, count: int) -> list[float]:
    from codestral_ls.server import create_server

    async def run() -> list[float]:
        server = create_server({"CODESTRAL_API_KEY": "test-key"})
        protocol = server.protocol
        uri = "file:///bench/big.py"

        def deliver(message: dict) -> None:
            body = json.dumps(message).encode("utf-8")
            protocol.handle_message(json.loads(body, object_hook=protocol.structure_message))

        deliver(
            {
                "jsonrpc": "2.0",
                "method": "textDocument/didOpen",
                "params": {
                    "textDocument": {
                        "uri": uri,
                        "languageId": "python",
                        "version": 1,
                        "text": text,
                    }
                },
            }
        )
        line, column = _edits(text)
        bodies = []
        for i in range(count):
            end = column if i % 2 == 0 else column + 1
            message = {
                "jsonrpc": "2.0",
                "method": "textDocument/didChange",
                "params": {
                    "textDocument": {"uri": uri, "version": i + 2},
                    "contentChanges": [
                        {
                            "range": {
                                "start": {"line": line, "character": column},
                                "end": {"line": line, "character": end},
                            },
                            "text": "x" if i % 2 == 0 else "",
                        }
                    ],
                },
            }
            bodies.append(json.dumps(message).encode("utf-8"))

        timings = []
        for body in bodies:
            started = time.perf_counter()
            protocol.handle_message(json.loads(body, object_hook=protocol.structure_message))
            timings.append(time.perf_counter() - started)
            await asyncio.sleep(0)
        document = server.documents.get(uri)
        assert document is not None and document.version == count + 1
        return timings

    return await run()


async def run(count: int = 2000) -> list[Row]:
    rows = []
    medians = {}
    for label, size in SIZES:
        text = document_text(size)
        store = store_timings(text, count)
        lsp = await lsp_timings(text, count)
        medians[label] = p50_95_99(lsp)[0]
        target, met = "", None
        if label == "1 MB":
            target, met = "p50 ≤ 0.5 ms", medians[label] <= 0.0005
        rows.append(
            Row(
                "didChange",
                f"{label}: LSP didChange (in process), p50/p95/p99",
                dist_ms(lsp),
                target,
                met,
            )
        )
        rows.append(Row("didChange", f"{label}: Document.apply_edit alone", dist_ms(store)))
        if size <= 1_000_000:
            pygls = pygls_timings(text, max(20, count // 20))
            rows.append(
                Row("didChange", f"{label}: pygls TextDocument, for comparison", dist_ms(pygls))
            )
    ratio = medians["10 MB"] / medians["1 MB"]
    rows.append(
        Row(
            "didChange",
            "10 MB p50 / 1 MB p50 (10x the size)",
            f"{ratio:.2f}x",
            "sub-linear (< 10x)",
            ratio < 10,
        )
    )
    return rows
