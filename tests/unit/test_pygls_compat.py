"""One test per pygls internal that codestral_ls.pygls_compat relies on.

When a pygls release changes one of them, the test named after it fails here, instead of an
editor session hanging or leaking somewhere else.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import threading
from typing import Any

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pygls.protocol import LanguageServerProtocol

from codestral_ls import pygls_compat
from codestral_ls.server import CodestralServer, create_server

INVALID_POSITION = {
    "jsonrpc": "2.0",
    "id": 7,
    "method": types.TEXT_DOCUMENT_COMPLETION,
    "params": {"textDocument": {"uri": "file:///a.py"}, "position": {"line": -1}},
}


class Capture:
    """A writer keeping what the server sends (bodies only: no headers)."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def write(self, data: bytes) -> None:
        self.sent.append(json.loads(data))


def server_with_output() -> tuple[CodestralServer, Capture]:
    server = create_server({"CODESTRAL_API_KEY": "test-key"})
    output = Capture()
    server.protocol.set_writer(output, include_headers=False)
    return server, output


def deliver(server: CodestralServer, message: dict[str, Any]) -> None:
    """Hand a message to the protocol exactly as pygls's readers do."""
    protocol = server.protocol
    protocol.handle_message(json.loads(json.dumps(message), object_hook=protocol.structure_message))


async def settled() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


def test_pygls_structure_message_raises_for_a_request_it_cannot_read() -> None:
    """Assumption: pygls raises (and would drop the request); our override answers it."""
    server, output = server_with_output()
    with pytest.raises(JsonRpcException):
        LanguageServerProtocol.structure_message(server.protocol, INVALID_POSITION)
    assert output.sent == []
    deliver(server, INVALID_POSITION)
    [answer] = output.sent
    assert answer["id"] == 7 and answer["error"]["code"] == types.ErrorCodes.InvalidParams
    assert "textDocument/completion" in answer["error"]["message"]


def test_an_unreadable_notification_is_still_pygls_s_to_report() -> None:
    server, output = server_with_output()
    notification = {k: v for k, v in INVALID_POSITION.items() if k != "id"}
    with pytest.raises(JsonRpcException):
        server.protocol.structure_message(notification)
    assert output.sent == []


async def test_pygls_files_a_notification_s_future_and_never_removes_it() -> None:
    """Assumption: ``_execute_handler`` files generator handlers in ``_request_futures``
    under the message id, and only a request's answer removes the entry."""
    server, _output = server_with_output()
    protocol = server.protocol

    def handler() -> Any:
        yield from ()

    LanguageServerProtocol._execute_handler(protocol, "n1", handler, lambda _future: None)
    await settled()
    assert "n1" in protocol._request_futures  # the leak our override closes
    protocol._execute_handler("n2", handler, lambda _future: None)
    await settled()
    assert "n2" not in protocol._request_futures
    assert pygls_compat.pending_requests(protocol) == 1


def test_features_are_registered_by_method_name() -> None:
    server = create_server({"CODESTRAL_API_KEY": "test-key"})
    handler = pygls_compat.feature_handler(server.protocol, types.TEXT_DOCUMENT_COMPLETION)
    assert callable(handler) and inspect.iscoroutinefunction(handler)
    assert pygls_compat.feature_handler(server.protocol, "no/such-method") is None


async def test_shutdown_is_recorded_on_the_protocol() -> None:
    server, output = server_with_output()
    server.protocol.initialize_received = True  # a request before it gets -32002
    assert pygls_compat.shutdown_requested(server.protocol) is False
    deliver(server, {"jsonrpc": "2.0", "id": 1, "method": types.SHUTDOWN})
    await settled()
    assert any(message.get("id") == 1 for message in output.sent)
    assert pygls_compat.shutdown_requested(server.protocol) is True


def test_server_shutdown_sets_the_stop_event_the_read_loop_watches() -> None:
    server = create_server({"CODESTRAL_API_KEY": "test-key"})
    pygls_compat.write_to_stdout(server, Capture())  # type: ignore[arg-type]
    event = server._stop_event
    assert isinstance(event, threading.Event) and not event.is_set()
    server.shutdown()
    assert event.is_set()


def test_initialize_is_a_generator_our_protocol_extends() -> None:
    """``CodestralProtocol.lsp_initialize`` does ``yield from super().lsp_initialize``."""
    assert inspect.isgeneratorfunction(LanguageServerProtocol.lsp_initialize)
    server = create_server({"CODESTRAL_API_KEY": "test-key"})
    handler = server.protocol._get_handler(types.INITIALIZE)
    assert handler.__func__ is type(server.protocol).lsp_initialize  # ours, not pygls's


async def test_initialize_can_be_run_without_sending_its_answer() -> None:
    server, output = server_with_output()
    params = pygls_compat.structure(
        server.protocol, {"processId": None, "capabilities": {}}, types.InitializeParams
    )
    results: list[Any] = []
    pygls_compat.run_initialize(server.protocol, 1, params, results.append)
    await settled()
    [future] = results
    answer = pygls_compat.as_json(server.protocol, future.result())
    assert answer["serverInfo"]["name"] == "codestral-ls"
    assert answer["capabilities"]["completionProvider"] is not None
    assert not any(message.get("id") == 1 for message in output.sent)


def test_the_converter_rejects_what_pygls_would_reject() -> None:
    server = create_server({"CODESTRAL_API_KEY": "test-key"})
    with pytest.raises(Exception):  # noqa: B017 (cattrs raises its own groups)
        pygls_compat.structure(server.protocol, {"capabilities": 3}, types.InitializeParams)


async def test_a_threaded_reader_feeds_the_loop_until_the_server_stops() -> None:
    server, output = server_with_output()
    pygls_compat.write_to_stdout(server, Capture())  # type: ignore[arg-type]
    server.protocol.set_writer(output, include_headers=False)
    body = json.dumps({"jsonrpc": "2.0", "id": 3, "method": types.SHUTDOWN}).encode()
    frames = [f"Content-Length: {len(body)}\r\n".encode(), b"\r\n"]
    stopping = threading.Event()

    class Input:
        def readline(self) -> bytes:
            if frames:
                return frames.pop(0)
            stopping.wait(5)
            return b""

        def read(self, size: int = -1) -> bytes:
            return body

    loop = asyncio.ensure_future(
        pygls_compat.read_until_stopped(server, pygls_compat.threaded_reader(server, Input()))
    )

    async def answered() -> None:
        while not any(message.get("id") == 3 for message in output.sent):
            await asyncio.sleep(0.01)

    await asyncio.wait_for(answered(), 5)
    server._stop_event.set()
    stopping.set()
    await asyncio.wait_for(loop, 5)


async def test_requests_are_refused_before_initialize_and_after_shutdown() -> None:
    """pygls answers a request before ``initialize`` as any other, and drops every request
    after ``shutdown``; ``PatchedProtocol.handle_message`` answers -32002 and -32600."""
    server, output = server_with_output()
    deliver(server, {"jsonrpc": "2.0", "id": 1, "method": "codestral/stats"})
    server.protocol.initialize_received = True
    deliver(server, {"jsonrpc": "2.0", "id": 2, "method": types.SHUTDOWN})
    await settled()
    deliver(server, {"jsonrpc": "2.0", "id": 3, "method": "codestral/stats"})
    await settled()
    errors = {m.get("id"): m.get("error", {}).get("code") for m in output.sent}
    assert errors == {1: -32002, 2: None, 3: -32600}


_MESSAGES = {
    "request": {
        "jsonrpc": "2.0",
        "id": 4,
        "method": types.TEXT_DOCUMENT_INLINE_COMPLETION,
        "params": {
            "textDocument": {"uri": "file:///a.py"},
            "position": {"line": 0, "character": 0},
            "context": {"triggerKind": 1},
        },
    },
    "request without params": {"jsonrpc": "2.0", "id": 5, "method": types.SHUTDOWN},
    "custom request": {"jsonrpc": "2.0", "id": "s", "method": "codestral/stats"},
    "notification": {
        "jsonrpc": "2.0",
        "method": types.TEXT_DOCUMENT_DID_CHANGE,
        "params": {"textDocument": {"uri": "file:///a.py", "version": 2}, "contentChanges": []},
    },
    "notification without params": {"jsonrpc": "2.0", "method": types.EXIT},
    "cancel": {"jsonrpc": "2.0", "method": types.CANCEL_REQUEST, "params": {"id": 4}},
    "response": {"jsonrpc": "2.0", "id": 9, "result": {"applied": True}},
    "error response": {"jsonrpc": "2.0", "id": 9, "error": {"code": -1, "message": "no"}},
}


@pytest.mark.parametrize("kind", list(_MESSAGES))
def test_requests_and_notifications_are_told_apart_as_pygls_does(kind: str) -> None:
    """``PatchedProtocol._dispatch`` replaces pygls's ``isinstance`` checks against its
    runtime protocols (24 µs each) with the same rule read off the attributes; it hands
    the message to pygls's ``_handle_request(id, method, params)`` or
    ``_handle_notification(method, params)``."""
    from pygls.protocol.json_rpc import RPCNotification, RPCRequest

    server, _output = server_with_output()
    protocol = server.protocol
    message = json.loads(json.dumps(_MESSAGES[kind]), object_hook=protocol.structure_message)
    calls: list[tuple[str, tuple[Any, ...]]] = []
    protocol._handle_request = lambda *args: calls.append(("request", args))  # type: ignore[method-assign]
    protocol._handle_notification = lambda *args: calls.append(("notification", args))  # type: ignore[method-assign]

    handled = protocol._dispatch(message)

    if isinstance(message, RPCRequest):
        assert calls == [("request", (message.id, message.method, message.params))]
    elif isinstance(message, RPCNotification):
        assert calls == [("notification", (message.method, message.params))]
    else:  # responses go through pygls's handle_message
        assert not handled and calls == []
    assert handled == bool(calls)


def test_pygls_handles_requests_and_notifications_with_these_signatures() -> None:
    handle_request = inspect.signature(LanguageServerProtocol._handle_request)
    handle_notification = inspect.signature(LanguageServerProtocol._handle_notification)
    assert list(handle_request.parameters)[1:] == ["msg_id", "method_name", "params"]
    assert list(handle_notification.parameters)[1:] == ["method_name", "params"]


def test_after_shutdown_pygls_s_own_handling_decides() -> None:
    server, _output = server_with_output()
    server.protocol._shutdown = True
    message = json.loads(
        json.dumps(_MESSAGES["notification"]), object_hook=server.protocol.structure_message
    )
    assert server.protocol._dispatch(message) is False


def test_an_answer_is_written_with_the_envelope_answer_as_json_builds() -> None:
    """Assumption: ``_send_response`` wraps a result in ``JsonRPCResponseMessage`` (the type
    the warm-up has cattrs compile a writer for)."""
    server, output = server_with_output()
    result = types.InlineCompletionList(items=[types.InlineCompletionItem(insert_text="x")])
    server.protocol._send_response(4, result)
    assert output.sent == [pygls_compat.answer_as_json(server.protocol, 4, result)]


def test_a_notification_is_written_with_the_envelope_notification_as_json_builds() -> None:
    server, output = server_with_output()
    params = types.LogMessageParams(type=types.MessageType.Info, message="hello")
    server.protocol.notify(types.WINDOW_LOG_MESSAGE, params)
    server.protocol.notify("codestral/status", {"state": "ready"})
    assert output.sent == [
        pygls_compat.notification_as_json(server.protocol, types.WINDOW_LOG_MESSAGE, params),
        pygls_compat.notification_as_json(server.protocol, "codestral/status", {"state": "ready"}),
    ]
