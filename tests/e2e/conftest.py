"""End-to-end fixtures: a server process per test, driven like Neovim, VS Code or Helix."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from tests.e2e.client import EditorSession, server_environment
from tests.fake_mistral import FakeMistral


@pytest.fixture(params=["neovim", "vscode"])
def editor(request: pytest.FixtureRequest) -> str:
    """An editor with inline completion: Neovim (utf-8) and VS Code (utf-16)."""
    return request.param


@pytest_asyncio.fixture
async def session(fake: FakeMistral, editor: str) -> AsyncIterator[EditorSession]:
    session = await EditorSession.start(editor, server_environment(fake.base_url))
    yield session
    await session.stop()
