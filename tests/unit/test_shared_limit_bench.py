"""The shared-limit bench's gateway model: a rolling 60 s window, 429 with an honest
Retry-After (the figures in the README rest on it)."""

from __future__ import annotations

from bench.shared_limit import SharedLimit


def test_requests_beyond_the_rpm_wait_for_the_oldest_to_leave_the_window() -> None:
    gateway = SharedLimit(rpm=3, tpm=10**6)
    assert [gateway.admit(t, 1) for t in (0.0, 10.0, 20.0)] == [None, None, None]
    assert gateway.admit(30.0, 1) == 30.0  # the request at 0 s leaves the window at 60 s
    assert gateway.admit(60.0, 1) is None


def test_tokens_beyond_the_tpm_wait_until_enough_have_left() -> None:
    gateway = SharedLimit(rpm=100, tpm=1000)
    assert gateway.admit(0.0, 600) is None
    assert gateway.admit(5.0, 300) is None
    assert gateway.admit(10.0, 400) == 50.0  # 600 tokens leave at 60 s: then 700 fit
    assert gateway.admit(59.5, 400) == 1.0  # never "retry after 0"
    assert gateway.admit(60.0, 400) is None


def test_rejected_requests_do_not_count() -> None:
    gateway = SharedLimit(rpm=1, tpm=10**6)
    assert gateway.admit(0.0, 1) is None
    for t in range(1, 60):
        assert gateway.admit(float(t), 1) is not None
    assert gateway.admit(60.0, 1) is None
