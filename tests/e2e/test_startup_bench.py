"""The start-up bench's first-completion rows (their figures are in the README) rest on these
runs: the first completion, the next ones asked after the same pause, then back to back, then
after longer pauses on the connection kept alive; and the minimal client asked the same ways
as the control. Small counts here: the shape of what the bench measures, not its timings."""

from __future__ import annotations

from bench import startup
from tests.fake_mistral import FakeMistral


async def test_the_first_completion_is_compared_with_the_next_ones_asked_the_same_way() -> None:
    with FakeMistral(api_key="test-key") as fake:
        fake.fim_responder = lambda body: "compute(alpha, beta)"
        run = await startup.first_and_later(
            fake, after_ready=True, spaced=2, in_a_row=3, pauses=1, idle=0.2
        )
        assert len(run.spaced) == 2 and len(run.in_a_row) == 3 and len(run.rested) == 1
        assert run.reconnects == 0  # 0.2 s is well within the keep-alive
        assert run.ratio > 0 and run.in_a_row_ratio > 0
        # Every call was a real completion upstream (an edit before each: no cache hit).
        assert len(fake.fim_requests) == 1 + 2 + 3 + 1

        control = await startup.minimal_client_pauses(
            fake, in_a_row=3, spaced=2, pauses=1, idle=0.2
        )
        assert (len(control.in_a_row), len(control.spaced), len(control.rested)) == (3, 2, 1)
        assert len(fake.fim_requests) == 7 + 1 + 3 + 2 + 1
