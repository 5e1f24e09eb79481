"""Every pygls internal codestral-ls relies on, and nowhere else.

pygls 2.x leaves a few things a server like ours needs without a public API: answering a
request whose parameters it cannot read, forgetting the futures of handled notifications,
whether ``shutdown`` was received, running the stdio loop with our own reader, and running
its ``initialize`` for a message we answered ourselves. Each use of a private name is here,
and ``tests/unit/test_pygls_compat.py`` pins each assumption with a test of its own, so a
pygls release that changes one breaks that test file, not an editor session.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import threading
from collections.abc import Callable
from typing import Any, BinaryIO

from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pygls.io_ import StdinAsyncReader, StdoutWriter, run_async
from pygls.protocol import LanguageServerProtocol
from pygls.protocol.json_rpc import JsonRPCNotification, JsonRPCResponseMessage

log = logging.getLogger(__name__)

#: A message that could not be read and was already answered with an error.
_ANSWERED = object()


#: JSON-RPC and LSP error codes pygls does not send where the specification says to.
PARSE_ERROR = -32700
INVALID_REQUEST = -32600
SERVER_NOT_INITIALIZED = -32002
#: A request's id in a body that is not JSON (the id of a request pygls cannot read).
_ID = re.compile(r""""id"\s*:\s*(-?\d{1,18}|"[^"\\]{0,200}")""")


class PatchedProtocol(LanguageServerProtocol):
    """pygls's protocol with its behaviours fixed where they leave a client waiting: requests
    with unreadable parameters, before ``initialize`` and after ``shutdown`` get their error
    answer; the futures of handled notifications are forgotten."""

    #: Whether ``initialize`` came (through pygls or :func:`run_initialize`).
    initialize_received = False

    def structure_message(self, data: dict[str, Any]) -> Any:
        """Read a message; a request whose params are invalid gets an error answer.

        pygls logs such a request and drops it, leaving the client waiting for an answer
        that never comes (a negative position is enough). Answering with the error keeps
        the client's request queue moving.
        """
        method = data.get("method")
        if "params" not in data and isinstance(method, str) and not self.get_message_type(method):
            # JSON-RPC lets a request leave out params (Neovim does for `codestral/stats`);
            # pygls's reader for methods it has no type for requires the key.
            data = {**data, "params": None}
        try:
            return super().structure_message(data)
        except JsonRpcException as error:
            msg_id = data.get("id")
            if not isinstance(msg_id, (int, str)) or not isinstance(method, str):
                raise
            log.warning("invalid %s request %r: %s", method, msg_id, error.message)
            self._send_response(
                msg_id,
                error=types.ResponseError(
                    code=error.code, message=f"invalid parameters for {method}"
                ),
            )
            return _ANSWERED

    def handle_message(self, message: Any) -> None:
        """pygls's, except that a request is answered with an error where pygls answered
        it anyway (before ``initialize``: -32002) or never (after ``shutdown``: pygls drops
        it and the client waits forever; InvalidRequest, as LSP says), and that requests
        and notifications are told apart by their attributes (:meth:`_dispatch`)."""
        if message is _ANSWERED:
            return
        method = getattr(message, "method", None)
        msg_id = getattr(message, "id", None)
        if method == types.INITIALIZE:
            self.initialize_received = True
        elif isinstance(method, str) and msg_id is not None:
            if self._shutdown and method != types.EXIT:
                self.answer_error(msg_id, INVALID_REQUEST, "the server is shutting down")
                return
            if not self.initialize_received:
                self.answer_error(msg_id, SERVER_NOT_INITIALIZED, "initialize comes first")
                return
        if not self._dispatch(message):
            super().handle_message(message)

    def _dispatch(self, message: Any) -> bool:
        """Hand a request or notification to pygls's handling of it, as ``handle_message``
        does; whether it was one (anything else goes through ``handle_message``).

        pygls tells them apart with ``isinstance`` against runtime-checkable protocols,
        which look up every attribute of the protocol: 23-24 µs a check on Python 3.11
        (measured), two for each keystroke's ``didChange``. Its rule is the same as here:
        a request is what has ``id``, ``method`` and ``params``, a notification what has
        the last two.
        """
        if self._shutdown or getattr(message, "jsonrpc", None) != self.VERSION:
            return False  # pygls's own checks and warnings
        method = getattr(message, "method", None)
        if not isinstance(method, str) or not hasattr(message, "params"):
            return False
        context = contextvars.copy_context()  # each handler in its own, as pygls does
        if hasattr(message, "id"):
            context.run(self._handle_request, message.id, method, message.params)
        else:
            context.run(self._handle_notification, method, message.params)
        return True

    def answer_error(self, msg_id: Any, code: int, message: str) -> None:
        """Answer request ``msg_id`` with an error."""
        self._send_response(msg_id, error=types.ResponseError(code=code, message=message))

    def answer_parse_error(self, body: str) -> bool:
        """Answer -32700 to the request whose body is not JSON, if an id can be read from it
        (searched in its first 64 KB); whether it was answered."""
        match = _ID.search(body, 0, 65536)
        if match is None or '"method"' not in body[:65536]:
            return False  # no id, or a response: nobody waits for an answer
        msg_id = json.loads(match[1])
        self.answer_error(msg_id, PARSE_ERROR, "the message is not valid JSON")
        return True

    def _execute_handler(self, msg_id: Any, handler: Any, *args: Any, **kwargs: Any) -> None:
        """Run a handler as pygls does, then forget its future once it is done.

        pygls files the future of every generator or async handler under ``msg_id`` for
        ``$/cancelRequest``, but only a request's answer removes it: for notifications (our
        ``didChange`` is a generator) the entry stayed forever, about 1 KB per keystroke.
        """
        super()._execute_handler(msg_id, handler, *args, **kwargs)
        futures = self._request_futures
        future = futures.get(msg_id)
        if future is not None:
            future.add_done_callback(
                lambda done: futures.pop(msg_id, None) if futures.get(msg_id) is done else None
            )


def feature_handler(protocol: LanguageServerProtocol, method: str) -> Callable[..., Any] | None:
    """The handler a feature registered for ``method`` with ``@server.feature``, if any."""
    return protocol.fm.features.get(method)


def shutdown_requested(protocol: LanguageServerProtocol) -> bool:
    """Whether the client sent ``shutdown`` (then ``exit`` means exit code 0)."""
    return bool(protocol._shutdown)


def pending_requests(protocol: LanguageServerProtocol) -> int:
    """Handlers still filed for ``$/cancelRequest`` (tests check nothing leaks)."""
    return len(protocol._request_futures)


def run_initialize(
    protocol: LanguageServerProtocol,
    msg_id: int | str,
    params: types.InitializeParams,
    on_result: Callable[[Any], None],
) -> None:
    """Run pygls's ``initialize`` (and so our feature's) as if the message had come in,
    handing its result future to ``on_result`` instead of sending the answer."""
    if isinstance(protocol, PatchedProtocol):
        protocol.initialize_received = True
    handler = protocol._get_handler(types.INITIALIZE)
    protocol._execute_handler(msg_id, handler, on_result, args=(params,))


def as_json(protocol: LanguageServerProtocol, value: Any) -> Any:
    """``value`` as the JSON pygls would send for it."""
    return json.loads(json.dumps(value, default=protocol._serialize_message))


def answer_as_json(protocol: LanguageServerProtocol, msg_id: Any, result: Any) -> Any:
    """The JSON pygls writes to answer request ``msg_id`` with ``result`` (the envelope as
    ``_send_response`` builds it: cattrs compiles a writer for it on first use)."""
    return as_json(
        protocol, JsonRPCResponseMessage(id=msg_id, result=result, jsonrpc=protocol.VERSION)
    )


def notification_as_json(protocol: LanguageServerProtocol, method: str, params: Any) -> Any:
    """The JSON pygls writes for notification ``method`` (its envelope as ``notify`` builds
    it: lsprotocol's type for the method, else a plain JSON-RPC notification)."""
    kind = protocol.get_message_type(method) or JsonRPCNotification
    return as_json(protocol, kind(method=method, params=params, jsonrpc=protocol.VERSION))


def structure(protocol: LanguageServerProtocol, value: Any, kind: type[Any]) -> Any:
    """``value`` read as ``kind`` with pygls's own converter (raises what cattrs raises)."""
    return protocol._converter.structure(value, kind)


# -- the stdio loop --------------------------------------------------------------------------


def write_to_stdout(server: Any, stdout: BinaryIO) -> None:
    """Send the server's output to ``stdout``, and give it the stop event
    ``server.shutdown()`` sets to end :func:`read_until_stopped`."""
    server._stop_event = threading.Event()
    server.protocol.set_writer(StdoutWriter(stdout))


def threaded_reader(server: Any, stream: Any) -> Any:
    """pygls's reader of a blocking stream (``readline``/``read``) on its thread pool."""
    return StdinAsyncReader(stream, server.thread_pool)


async def read_until_stopped(server: Any, reader: Any) -> None:
    """Hand each message from ``reader`` to the server until the input ends or it stops."""
    await run_async(
        stop_event=server._stop_event,
        reader=reader,
        protocol=server.protocol,
        logger=logging.getLogger("pygls.server"),  # its errors stay out of the editor log
        error_handler=server.report_server_error,
    )
