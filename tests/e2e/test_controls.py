"""The user's controls through LSP: toggle, status notifications, accept commands and the
local usage statistics they feed."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from lsprotocol import types

from codestral_ls import usage
from tests.e2e.client import EditorSession, server_environment
from tests.fake_mistral import FakeMistral, Hang
from tests.reliability.lsp_process import LspProcess, environment
from tests.tools import HANG

A = "file:///work/project/a.py"
B = "file:///work/project/b.py"


async def execute(session: EditorSession, command: str, *arguments: Any) -> Any:
    params = types.ExecuteCommandParams(command=command, arguments=list(arguments))
    return await asyncio.wait_for(
        session.request(types.WORKSPACE_EXECUTE_COMMAND, params).future, 10
    )


async def test_toggle_stops_upstream_calls_globally_and_per_file(
    fake: FakeMistral, session: EditorSession
) -> None:
    fake.fim_responder = lambda body: "return 1"
    session.open(A, "def f():\n    \n")
    session.open(B, "def g():\n    \n")
    commands = session.result.capabilities.execute_command_provider.commands
    assert {"codestral.toggle", "codestral.accepted"} <= set(commands)

    off = await execute(session, "codestral.toggle", {"action": "disable"})
    assert off["state"] == "disabled"
    assert (await session.inline(A, 1, 4, invoked=True)).items == ()
    assert not (await session.complete(A, 1, 4)).items
    assert fake.fim_requests == []

    await execute(session, "codestral.toggle", {"action": "toggle"})
    await execute(session, "codestral.toggle", {"action": "disable", "uri": A})
    status = await execute(session, "codestral.toggle", {"action": "status", "uri": A})
    assert status["state"] == "disabled" and "this file" in status["message"]
    assert (await session.inline(A, 1, 4, invoked=True)).items == ()
    assert fake.fim_requests == []
    assert (await session.inline(B, 1, 4)).items[0].insert_text.startswith("return 1")
    assert len(fake.fim_requests) == 1


async def test_the_status_of_a_credentials_file_says_why_nothing_is_sent(
    fake: FakeMistral, session: EditorSession
) -> None:
    """A ``.env`` under another name gets no completion (maskSecrets); asked for its status
    (Emacs does when C-M-i finds nothing, Neovim for its statusline), the server says why."""
    keys = "file:///work/project/settings.txt"
    session.open(keys, "API_KEY=sk-live-51HbXyZaBcDeFgHiJkLmN0pQ\nDB_PASSWORD=hunter2hunter2\n")
    status = await execute(session, "codestral.toggle", {"action": "status", "uri": keys})
    assert status == {
        "state": "disabled",
        "message": "This file looks like credentials and is never sent to Codestral (maskSecrets)",
    }
    assert (await session.inline(keys, 1, 0, invoked=True)).items == ()
    assert fake.fim_requests == []


async def test_bad_toggle_arguments_are_an_error_not_a_crash(
    fake: FakeMistral, session: EditorSession
) -> None:
    try:
        await execute(session, "codestral.toggle", {"action": "explode"})
    except Exception as error:  # pygls's client raises the JSON-RPC error
        assert "unknown action" in str(error)
    else:
        raise AssertionError("an unknown action was accepted")
    assert (await execute(session, "codestral.toggle", "status"))["state"] == "idle"


async def test_status_notifications_follow_a_call(
    fake: FakeMistral, session: EditorSession
) -> None:
    states: list[str] = []
    changed = asyncio.Event()

    @session.client.feature("codestral/status")
    def on_status(params: Any) -> None:
        states.append(params.state)
        changed.set()

    fake.script(Hang())
    session.open(A, "def f():\n    \n")
    pending = session.inline_request(A, 1, 4, invoked=True)
    while "waiting" not in states:
        changed.clear()
        await asyncio.wait_for(changed.wait(), HANG)
    pending.cancel()
    while states[-1] != "idle":
        changed.clear()
        await asyncio.wait_for(changed.wait(), HANG)
    assert states[-2:] == ["waiting", "idle"]


async def test_accepting_counts_in_the_usage_file(fake: FakeMistral, tmp_path: Path) -> None:
    fake.fim_responder = lambda body: "return 42"
    env = server_environment(fake.base_url, CODESTRAL_LS_STATE_DIR=str(tmp_path))
    session = await EditorSession.start("neovim", env)
    try:
        session.open(A, "def answer():\n    \n")
        item = (await session.inline(A, 1, 4)).items[0]
        assert item.command.command == "codestral.accepted"
        session.type_text(A, 1, 4, "ret")  # typing through it: the same suggestion
        again = (await session.inline(A, 1, 7)).items[0]
        assert again.command.arguments == item.command.arguments
        await execute(session, item.command.command, *item.command.arguments)
    finally:
        await session.stop()
    counts = usage.read(tmp_path / "usage.jsonl")
    total = usage.Counts()
    for value in counts.values():
        total.add(value)
    assert (total.shown, total.typed_over, total.accepted, total.calls) == (1, 1, 1, 1)
    assert total.prompt_tokens > 0 and total.completion_tokens > 0
    assert {language for _hour, language in counts} == {"python"}
    line = json.loads((tmp_path / "usage.jsonl").read_text().splitlines()[0])
    assert "return" not in json.dumps(line)  # counts only: no code, no names


async def test_an_explicit_request_offers_distinct_alternatives_and_an_automatic_one_does_not(
    fake: FakeMistral, session: EditorSession
) -> None:
    def answer(body: dict[str, Any]) -> str:
        seed = body.get("random_seed")
        return {None: "return a + b", 1: "return b + a", 2: "return a + b"}.get(seed, "?")

    fake.fim_responder = answer
    code = "import math\nimport os\n\nTAU = 2 * math.pi\n"  # not "mostly credentials"
    session.open(A, code + 'API_KEY = "sk-' + "x" * 40 + '"\ndef add(a, b):\n    \n')
    automatic = await session.inline(A, 6, 4)
    assert len(automatic.items) == 1 and len(fake.fim_requests) == 1

    explicit = await session.inline(A, 6, 4, invoked=True)
    texts = [item.insert_text for item in explicit.items]
    assert texts == ["return a + b", "return b + a"]  # the duplicate (seed 2) is left out
    extra = [request.body for request in fake.fim_requests[1:]]
    assert sorted(body["random_seed"] for body in extra) == [1, 2]
    assert all(body["temperature"] > 0 for body in extra)
    assert all("x" * 40 not in body["prompt"] for body in extra)  # masked like the first
    ids = {item.command.arguments[0]["id"] for item in explicit.items}
    assert len(ids) == 2

    again = await session.inline(A, 6, 4, invoked=True)  # cycling again: all from the cache
    assert [item.insert_text for item in again.items] == texts
    assert len(fake.fim_requests) == 3


def test_usage_is_written_when_the_editor_leaves_without_shutdown(
    fake: FakeMistral, tmp_path: Path
) -> None:
    """Neovim quitting under load may close the pipe before its shutdown is read: the counts of
    the last minute are written at the end of stdin too, not only at ``exit``."""
    fake.fim_responder = lambda body: "return 1"
    env = environment(fake.base_url, CODESTRAL_LS_STATE_DIR=str(tmp_path))
    with LspProcess(env) as server:
        server.initialize({"debounceMs": 0})
        server.open(A, "def f():\n    \n")
        assert server.inline(A, 1, 4, invoked=False)["result"]["items"]
        server.proc.stdin.close()  # the editor is gone, no shutdown, no exit
        assert server.wait() == 1
    totals = usage.Counts()
    for counts in usage.read(tmp_path / "usage.jsonl").values():
        totals.add(counts)
    assert (totals.shown, totals.calls) == (1, 1)
