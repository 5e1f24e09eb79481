"""Streaming early stop: tokens received in single-line situations, with and without it.

Each case puts the cursor where only the rest of one line is wanted (mid-line, or at the end of
a statement) and lets the fake answer that line followed by a long tail, as a model does when
it keeps writing. The fake counts the tokens it actually wrote before the server hung up
(``tokens_sent``); without early stop the same request would have received the whole answer,
cut only by ``max_tokens`` (what the fake sends to a client that reads to the end).
"""

from __future__ import annotations

import asyncio

from bench.lsp import NEOVIM_CAPABILITIES, LspProcess, inline_text, server_environment
from bench.stats import Row
from tests.fake_mistral import FakeMistral, shape_answer

TAIL = "\n".join(f"    step_{i} = transform(step_{i - 1}, factor={i})" for i in range(1, 40))
#: (document with a "|" cursor, the first line the model writes)
CASES = [
    ("print(|)\n", "total, count)"),
    ("result = compute(|)\n", "alpha, beta)"),
    ("def area(radius):\n    return |\n", "math.pi * radius ** 2"),
    ("names = [user.name for user in |]\n", "users if user.active]"),
    ("if value is None:\n    raise ValueError(|)\n", '"value is required")'),
    ("total = |\n", "sum(item.price for item in basket)"),
    ("with open(path) as handle:\n    data = |\n", "json.load(handle)"),
    ("log.info(|)\n", '"loaded %d rows", len(rows))'),
]


async def run(rounds: int = 5, token_delay: float = 0.004) -> list[Row]:
    received = 0
    without = 0
    shown = 0
    with FakeMistral(api_key="test-key", token_delay=token_delay) as fake:
        server = await LspProcess.spawn(server_environment(fake.base_url))
        try:
            await server.initialize(NEOVIM_CAPABILITIES, {"debounceMs": 0, "alternatives": 1})
            for r in range(rounds):
                for n, (marked, line) in enumerate(CASES):
                    answer = line + "\n" + TAIL + f"  # {r}"
                    fake.fim_responder = lambda body, answer=answer: answer
                    marked_round = f"# round {r}\n" + marked  # a new prompt: no cache hit
                    text = marked_round.replace("|", "")
                    before = marked_round.split("|")[0].split("\n")
                    uri = f"file:///bench/early_{r}_{n}.py"
                    server.did_open(uri, text)
                    sent_before = fake.tokens_sent
                    calls_before = len(fake.fim_requests)
                    _ident, future = server.inline_request(
                        uri, len(before) - 1, len(before[-1]), invoked=True
                    )
                    result = await asyncio.wait_for(future, 30)
                    shown += bool(inline_text(result))
                    body = fake.fim_requests[calls_before].body
                    without += len(shape_answer(answer, body).tokens)
                    # The fake notices the hang-up a little later; let its counter settle.
                    await asyncio.sleep(0.05)
                    received += fake.tokens_sent - sent_before
        finally:
            await server.close()
    cases = rounds * len(CASES)
    saved = 1 - received / without
    return [
        Row(
            "early stop",
            f"tokens received, {cases} single-line completions ({shown} shown), "
            f"{token_delay * 1000:g} ms/token",
            f"{received} vs {without} without early stop ({saved:.0%} saved)",
            "fewer than without",
            received < without,
        )
    ]
