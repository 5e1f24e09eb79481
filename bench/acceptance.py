"""``python -m bench.acceptance``: the editing session replayed as a Neovim user, accepting what
the server shows, then ``codestral-ls stats`` and its chart on what the server counted.

The generated session (``bench/session.py``) says when the typist accepts a completion. Here
the accept happens the way Neovim does it: if the ghost text on screen is what the user
accepts (or starts with it, for a partial accept), the editor runs the item's
``codestral.accepted`` command (partial accepts with ``partly``), and the accepted text goes
into the buffer; else the user types it. Time is compressed by ``--scale`` (default x0.08,
as the replay bench). The usage file goes to a temporary folder (or ``--state-dir``); the
report is what ``codestral-ls stats`` prints, and ``--plot`` writes the chart.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.lsp import NEOVIM_CAPABILITIES, LspProcess, server_environment  # noqa: E402
from bench.replay import URI, EditorBuffer, _server_options  # noqa: E402
from bench.session import SessionModel, Trace, generate  # noqa: E402
from codestral_ls.documents import PositionEncoding  # noqa: E402
from tests.fake_mistral import FakeMistral  # noqa: E402

NEOVIM_DELAY = 0.2


def _first_item(answer: Any) -> dict[str, Any] | None:
    items = answer.get("items") if isinstance(answer, dict) else answer
    return items[0] if items else None


async def replay(trace: Trace, state_dir: Path, scale: float) -> dict[str, int]:
    """Replay ``trace`` Neovim-style; returns what the editor saw and did."""
    model = SessionModel()
    seen = {"accepts": 0, "accepted_from_ghost_text": 0, "partly": 0}
    with FakeMistral(api_key="test-key", latency=0.35 * scale, token_delay=0.012 * scale) as fake:
        fake.fim_responder = model.responder
        env = {**server_environment(fake.base_url), "CODESTRAL_LS_STATE_DIR": str(state_dir)}
        server = await LspProcess.spawn(env)
        try:
            result = await server.initialize(NEOVIM_CAPABILITIES, _server_options(scale))
            encoding = PositionEncoding.from_lsp(
                result["capabilities"].get("positionEncoding", "utf-16")
            )
            await _drive(server, trace, scale, encoding, seen)
        finally:
            await server.close()
    return seen


async def _drive(
    server: LspProcess, trace: Trace, scale: float, encoding: PositionEncoding, seen: dict
) -> None:
    loop = asyncio.get_running_loop()
    buffer = EditorBuffer(encoding)
    server.did_open(URI, "")
    version = 1
    shown: dict[str, Any] | None = None  # the item on screen
    pending: tuple[int, asyncio.Future[Any]] | None = None
    timer: asyncio.TimerHandle | None = None

    def on_answer(future: asyncio.Future[Any]) -> None:
        nonlocal shown
        if not future.cancelled() and future.exception() is None:
            shown = _first_item(future.result())

    def ask() -> None:
        nonlocal pending
        line, column = buffer.end()
        ident, future = server.inline_request(URI, line, column)
        future.add_done_callback(on_answer)
        pending = (ident, future)

    for event in trace.events:
        await asyncio.sleep(event.delay * scale)
        if event.kind == "accept":
            seen["accepts"] += 1
            item = shown
            line = buffer.lines[-1]
            text = item.get("insertText", "") if item else ""
            # The item's range starts at the cursor or at the line's start (then its text
            # repeats the line so far).
            start = item["range"]["start"]["character"] if item else 0
            suggested = text[len(line) :] if start == 0 and text.startswith(line) else text
            suggested = suggested.rstrip()
            taken = event.text.rstrip()
            if (
                item
                and item.get("command")
                and suggested
                and (suggested.startswith(taken) or taken.startswith(suggested))
            ):
                partly = len(taken) < len(suggested)
                command = item["command"]
                arguments = [{**command["arguments"][0], "partly": partly}]
                await server.request(
                    "workspace/executeCommand",
                    {"command": command["command"], "arguments": arguments},
                )
                seen["accepted_from_ghost_text"] += 1
                seen["partly"] += partly
        start, end, text = buffer.apply(event)
        version += 1
        server.did_change(URI, version, start, end, text)
        shown = None
        if pending is not None and not pending[1].done():
            server.cancel(pending[0])
        pending = None
        if timer is not None:
            timer.cancel()
        timer = loop.call_later(NEOVIM_DELAY * scale, ask)
    if timer is not None:
        timer.cancel()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.acceptance", description=__doc__)
    parser.add_argument("--scale", type=float, default=0.08)
    parser.add_argument("--state-dir", type=Path, help="keep the usage file here")
    parser.add_argument("--plot", type=Path, help="write the chart here (PNG)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as temporary:
        state_dir = args.state_dir or Path(temporary)
        trace = generate()
        seen = asyncio.run(replay(trace, state_dir, args.scale))
        print(
            f"Replayed {trace.count('type')} keys, {trace.count('accept')} accepts "
            f"({seen['accepted_from_ghost_text']} from the ghost text on screen, "
            f"{seen['partly']} of them partial) at x{args.scale:g}.\n"
        )
        command = [sys.executable, "-m", "codestral_ls", "stats"]
        command += ["--file", str(state_dir / "usage.jsonl")]
        if args.plot:
            command += ["--plot", str(args.plot)]
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        return subprocess.run(command, env=env, check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
