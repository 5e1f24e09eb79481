"""Settings parsing, endpoint resolution and the README's settings table."""

from __future__ import annotations

from pathlib import Path

import pytest

from codestral_ls.config import Settings, settings_table
from codestral_ls.endpoint import CODESTRAL_BASE, MISTRAL_BASE, resolve_endpoint

README = Path(__file__).resolve().parents[2] / "README.md"


def test_camel_and_snake_case_and_namespace() -> None:
    settings, problems = Settings.from_options({"codestral": {"maxTokens": 64, "top_p": 0.9}})
    assert (settings.max_tokens, settings.top_p, problems) == (64, 0.9, [])


def test_invalid_values_fall_back_to_defaults_with_one_problem_each() -> None:
    settings, problems = Settings.from_options(
        {"maxTokens": "many", "multiline": "sometimes", "temperature": 9, "enable": "yes"}
    )
    assert settings == Settings()
    assert len(problems) == 4
    assert any("maxTokens" in p and "whole number" in p for p in problems)


def test_unknown_settings_are_reported_not_fatal() -> None:
    settings, problems = Settings.from_options({"maxTokenz": 5})
    assert settings == Settings() and problems == ["unknown setting 'maxTokenz' (ignored)"]
    # A caller that stops at a problem gets the problem, not what the server would do instead.
    stopping = Settings.from_options({"maxTokenz": 5, "maxTokens": "lots"}, carrying_on=False)
    assert stopping[1] == [
        "unknown setting 'maxTokenz'",
        "'maxTokens' must be a whole number, not 'lots'",
    ]


def test_non_mapping_options_are_ignored() -> None:
    assert Settings.from_options(None) == (Settings(), [])
    assert Settings.from_options(["x"]) == (Settings(), [])


def test_readme_documents_every_setting() -> None:
    readme = README.read_text(encoding="utf-8")
    assert settings_table() in readme, "run `python -m codestral_ls.config` and paste the table"


@pytest.mark.parametrize(
    ("environ", "options", "base", "key", "problem"),
    [
        ({"CODESTRAL_API_KEY": "c"}, {}, CODESTRAL_BASE, "c", None),
        ({"MISTRAL_API_KEY": "m"}, {}, MISTRAL_BASE, "m", None),
        ({}, {}, CODESTRAL_BASE, None, "CODESTRAL_API_KEY"),
        ({"CODESTRAL_API_KEY": "c"}, {"apiBase": MISTRAL_BASE}, MISTRAL_BASE, None, "MISTRAL"),
        (
            {"CODESTRAL_API_KEY": "c", "CODESTRAL_API_BASE": "http://127.0.0.1:9/v1/"},
            {},
            "http://127.0.0.1:9/v1",
            "c",
            None,
        ),
        # A project setting cannot send the user's Mistral key to another host...
        ({"CODESTRAL_API_KEY": "c"}, {"apiBase": "https://evil.example/v1"}, None, None, None),
        # ...unless the user allows that host in their own environment.
        (
            {"CODESTRAL_API_KEY": "c", "CODESTRAL_ALLOWED_HOSTS": "proxy.corp"},
            {"apiBase": "https://proxy.corp/v1"},
            "https://proxy.corp/v1",
            "c",
            None,
        ),
        ({"CODESTRAL_API_KEY": "c"}, {"apiBase": "http://example.com/v1"}, None, None, "http"),
    ],
)
def test_endpoint_resolution(
    environ: dict[str, str],
    options: dict[str, str],
    base: str | None,
    key: str | None,
    problem: str | None,
) -> None:
    settings, _ = Settings.from_options(options)
    endpoint = resolve_endpoint(settings, environ)
    if base is not None:
        assert endpoint.base_url == base
    assert endpoint.api_key == key
    if problem is None:
        assert endpoint.problem is None
    else:
        assert endpoint.problem is not None and problem in endpoint.problem
