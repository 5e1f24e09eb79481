"""Fixtures every test layer shares: the fake Mistral API, and an engine talking to it."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import pytest_asyncio

from codestral_ls.config import Settings
from codestral_ls.endpoint import resolve_endpoint
from codestral_ls.engine import CompletionEngine
from codestral_ls.upstream import Upstream
from tests.fake_mistral import FakeMistral
from tests.tools import under_ci

#: Engine-level tests ask at once: no debounce to wait out.
NO_DEBOUNCE = Settings(debounce_ms=0, adaptive_debounce=False, debounce_min_ms=0)


@pytest.fixture(autouse=True, scope="session")
def _server_files_in_a_temporary_folder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Servers started by the tests (which inherit this environment) count their usage
    statistics and keep their start-up cache in folders of the test run, never in the user's
    own: the first server of a run starts without a cache, the others with it."""
    folders = {"CODESTRAL_LS_STATE_DIR": "state", "CODESTRAL_LS_CACHE_DIR": "cache"}
    old = {name: os.environ.get(name) for name in folders}
    for name, folder in folders.items():
        os.environ[name] = str(tmp_path_factory.mktemp(folder))
    yield
    for name, value in old.items():
        if value is None:
            del os.environ[name]
        else:
            os.environ[name] = value


def _fail_skips_under_ci(report: pytest.TestReport | pytest.CollectReport) -> None:
    """Under ``CI=true`` a skip is a failure: CI installs every editor and tool, so a test
    that skips there hides a broken install step or a missing feature."""
    if under_ci() and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"skipped under CI=true, which counts as a failure: {reason}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):
    outcome = yield
    _fail_skips_under_ci(outcome.get_result())


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector: pytest.Collector):
    outcome = yield
    _fail_skips_under_ci(outcome.get_result())


@pytest.fixture
def fake() -> Iterator[FakeMistral]:
    """A fresh fake Mistral API on 127.0.0.1; answers from fixtures/api/fim_answers.json."""
    with FakeMistral(api_key="test-key") as server:
        yield server


def fake_environ(fake: FakeMistral) -> dict[str, str]:
    """The environment that points the server's endpoint at ``fake``."""
    return {"CODESTRAL_API_BASE": fake.base_url, "CODESTRAL_API_KEY": "test-key"}


def engine_for(
    fake: FakeMistral, settings: Settings = NO_DEBOUNCE, **options: Any
) -> CompletionEngine:
    """A completion engine on ``fake`` (``options``: the engine's, e.g. ``notify``)."""
    upstream = Upstream(settings, resolve_endpoint(settings, fake_environ(fake)))
    return CompletionEngine(settings, upstream, **options)


@pytest_asyncio.fixture
async def engine(fake: FakeMistral) -> AsyncIterator[CompletionEngine]:
    """A completion engine on the fake API, without debounce, closed after the test."""
    started = engine_for(fake)
    yield started
    await started.aclose()
    await started.upstream.aclose()
