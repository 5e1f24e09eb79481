"""Fixtures every test layer shares: the fake Mistral API."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fake_mistral import FakeMistral


@pytest.fixture
def fake() -> Iterator[FakeMistral]:
    """A fresh fake Mistral API on 127.0.0.1; answers from fixtures/api/fim_answers.json."""
    with FakeMistral(api_key="test-key") as server:
        yield server
