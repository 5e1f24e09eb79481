"""Reading LSP frames from a real pipe in the event loop, as the server does under an editor."""

from __future__ import annotations

import io
import json
import os

from codestral_ls.stdio import GuardedStdin, PipeReader, message_text, resync_header


async def open_pipe(data: bytes) -> tuple[PipeReader, list[str]]:
    """A reader on a pipe that holds ``data`` and whose writer has closed it."""
    read_end, write_end = os.pipe()
    os.write(write_end, data)
    os.close(write_end)
    ended: list[str] = []
    reader = await PipeReader.open(
        os.fdopen(read_end, "rb", buffering=0), lambda: ended.append("eof")
    )
    assert reader is not None
    return reader, ended


async def test_frames_are_read_from_a_pipe_and_its_end_is_reported() -> None:
    body = b'{"jsonrpc": "2.0", "method": "initialized", "params": {}}'
    reader, ended = await open_pipe(b"Content-Length: %d\r\n\r\n" % len(body) + body)
    assert await reader.readline() == b"Content-Length: %d\r\n" % len(body)
    assert await reader.readline() == b"\r\n"
    assert await reader.readexactly(len(body)) == body.decode()  # text, for json.loads
    assert ended == []
    assert await reader.readline() == b""
    assert ended == ["eof"]


async def test_a_body_cut_by_the_end_of_input_is_reported() -> None:
    reader, ended = await open_pipe(b'Content-Length: 50\r\n\r\n{"jsonrpc"')
    await reader.readline()
    await reader.readline()
    assert await reader.readexactly(50) == b'{"jsonrpc"'
    assert ended == ["eof"]


async def test_a_header_glued_to_a_broken_body_is_recovered() -> None:
    reader, _ended = await open_pipe(b'{"half": 1}Content-Length: 2\r\n\r\n{}')
    assert await reader.readline() == b"Content-Length: 2\r\n"
    assert resync_header(b"Content-Length: 7\r\n") == b"Content-Length: 7\r\n"


async def test_a_file_is_not_a_pipe_and_keeps_the_threaded_reader(tmp_path) -> None:
    path = tmp_path / "input"
    path.write_bytes(b"Content-Length: 2\r\n\r\n{}")
    with path.open("rb") as regular_file:
        assert await PipeReader.open(regular_file, lambda: None) is None


def test_bytes_that_are_not_utf8_read_as_replacement_characters() -> None:
    """Both readers hand json.loads text in which each bad byte is U+FFFD; valid text, an
    encoded lone surrogate included, reads as json.loads would read the bytes."""
    body = b'{"text": "caf\xe9 \xff!"}'
    assert json.loads(message_text(body)) == {"text": "caf\ufffd \ufffd!"}
    stdin = GuardedStdin(io.BytesIO(body), lambda: None)
    assert json.loads(stdin.read(len(body))) == {"text": "caf\ufffd \ufffd!"}
    for valid in ('{"text": "é😀"}'.encode(), b'{"text": "\xed\xa0\x80"}'):
        assert json.loads(message_text(valid)) == json.loads(valid)
