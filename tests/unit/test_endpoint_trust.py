"""Trust follows who configured it: which key goes to which base URL, and what is said when
one is kept back."""

from __future__ import annotations

import pytest

from codestral_ls.config import Settings
from codestral_ls.endpoint import Endpoint, key_advice, resolve_endpoint

LANGDOCK = "https://api.langdock.com/mistral/eu/v1"


def resolve(environ: dict[str, str], **options: str) -> Endpoint:
    settings, problems = Settings.from_options(options)
    assert problems == []
    return resolve_endpoint(settings, environ)


def test_a_gateway_from_the_environment_gets_the_environments_key() -> None:
    """The issue's first case: the user exported both; the key used to be withheld."""
    endpoint = resolve({"CODESTRAL_API_BASE": LANGDOCK, "CODESTRAL_API_KEY": "ld-key"})
    assert (endpoint.base_url, endpoint.api_key, endpoint.key_source) == (
        LANGDOCK,
        "ld-key",
        "CODESTRAL_API_KEY",
    )


def test_a_gateway_from_settings_does_not_get_the_environments_key() -> None:
    endpoint = resolve({"CODESTRAL_API_KEY": "c"}, apiBase=LANGDOCK)
    assert endpoint.api_key is None and endpoint.usable
    assert endpoint.withheld == "CODESTRAL_API_KEY"


def test_settings_naming_the_host_the_environment_chose_are_trusted_too() -> None:
    env = {"CODESTRAL_API_BASE": LANGDOCK, "CODESTRAL_API_KEY": "c"}
    endpoint = resolve(env, apiBase="https://api.langdock.com/mistral/us/v1")
    assert endpoint.api_key == "c"


def test_a_gateway_from_settings_takes_its_own_key_from_settings_or_environment() -> None:
    from_settings = resolve({"CODESTRAL_API_KEY": "c"}, apiBase=LANGDOCK, selfHostedApiKey="g")
    from_env = resolve(
        {"CODESTRAL_API_KEY": "c", "CODESTRAL_SELF_HOSTED_API_KEY": "g"}, apiBase=LANGDOCK
    )
    for endpoint, source in (
        (from_settings, "the selfHostedApiKey setting"),
        (from_env, "CODESTRAL_SELF_HOSTED_API_KEY"),
    ):
        assert (endpoint.api_key, endpoint.key_source, endpoint.withheld) == ("g", source, None)


def test_allowed_hosts_let_the_mistral_key_through() -> None:
    env = {"CODESTRAL_API_KEY": "c", "CODESTRAL_ALLOWED_HOSTS": "proxy.corp, api.langdock.com"}
    assert resolve(env, apiBase=LANGDOCK).api_key == "c"


@pytest.mark.parametrize("host", ["api.eu.mistral.ai", "api.us.mistral.ai", "api.mistral.ai"])
def test_mistrals_regional_hosts_are_mistral_hosts(host: str) -> None:
    endpoint = resolve(
        {"MISTRAL_API_KEY": "m", "CODESTRAL_API_KEY": "c"}, apiBase=f"https://{host}/v1"
    )
    assert (endpoint.api_key, endpoint.key_source) == ("m", "MISTRAL_API_KEY")
    # With only a Codestral key (refused there), the problem names the key that is missing.
    missing = resolve({"CODESTRAL_API_KEY": "c"}, apiBase=f"https://{host}/v1")
    assert missing.problem is not None and "MISTRAL_API_KEY" in missing.problem


def test_a_local_proxy_prefers_its_own_key_over_the_mistral_key() -> None:
    """A LiteLLM proxy on localhost wants its master key, not the user's Mistral key."""
    env = {"CODESTRAL_API_KEY": "c"}
    endpoint = resolve(env, apiBase="http://127.0.0.1:4000/mistral/v1", selfHostedApiKey="sk-1")
    assert endpoint.api_key == "sk-1"
    assert resolve(env, apiBase="http://localhost:4000/v1").api_key == "c"


def test_a_withheld_key_is_explained_as_withheld_naming_host_and_both_ways() -> None:
    short, detail = key_advice(resolve({"CODESTRAL_API_KEY": "c"}, apiBase=LANGDOCK))
    assert "api.langdock.com" in short and len(short) <= 100
    for way in ("CODESTRAL_ALLOWED_HOSTS", "selfHostedApiKey"):
        assert way in short and way in detail
    assert "CODESTRAL_API_KEY" in detail and "CODESTRAL_SELF_HOSTED_API_KEY" in detail
    assert "reject" not in (short + detail).lower()


def test_no_key_at_all_and_a_refused_key_are_told_apart() -> None:
    short, _ = key_advice(resolve({}, apiBase=LANGDOCK))
    assert "needs an API key" in short and "reject" not in short
    short, detail = key_advice(resolve({"CODESTRAL_API_KEY": "c"}))
    assert short == "Codestral: codestral.mistral.ai rejected the key from CODESTRAL_API_KEY"
    assert "Codestral keys" in detail
