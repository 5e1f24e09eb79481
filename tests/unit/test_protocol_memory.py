"""The server's protocol keeps no state per handled notification (no growth per keystroke)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from codestral_ls.server import create_server


def _deliver(protocol: Any, message: dict[str, Any]) -> None:
    """Hand a message to the protocol exactly as pygls's stdio reader does."""
    body = json.dumps({"jsonrpc": "2.0", **message})
    protocol.handle_message(json.loads(body, object_hook=protocol.structure_message))


async def test_document_notifications_leave_no_pending_futures() -> None:
    server = create_server({"CODESTRAL_API_KEY": "test-key"})
    protocol = server.protocol
    uri = "file:///work/a.py"
    _deliver(
        protocol,
        {
            "method": "textDocument/didOpen",
            "params": {
                "textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": ""}
            },
        },
    )
    for version in range(2, 52):
        _deliver(
            protocol,
            {
                "method": "textDocument/didChange",
                "params": {
                    "textDocument": {"uri": uri, "version": version},
                    "contentChanges": [
                        {
                            "range": {
                                "start": {"line": 0, "character": version - 2},
                                "end": {"line": 0, "character": version - 2},
                            },
                            "text": "x",
                        }
                    ],
                },
            },
        )
    closing = {"method": "textDocument/didClose", "params": {"textDocument": {"uri": uri}}}
    _deliver(protocol, closing)
    await asyncio.sleep(0)
    assert len(protocol._request_futures) == 0
    assert server.documents.get(uri) is None
