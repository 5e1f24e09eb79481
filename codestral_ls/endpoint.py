"""Where requests go and which key goes with them, decided once per settings change.

Trust follows who configured it. Some editors merge settings from the project folder, so a
hostile repository could point ``apiBase`` at its own server: a Mistral key (from the
environment or the ``apiKey`` setting) is therefore sent to a base URL from the *settings*
only on Mistral's hosts, loopback, or hosts the user lists in ``CODESTRAL_ALLOWED_HOSTS`` in
their own environment. A base URL from the *environment* (``CODESTRAL_API_BASE``) was chosen by
the user, together with the keys beside it: its host gets those keys. Any other host gets only
its own key: the ``selfHostedApiKey`` setting or ``CODESTRAL_SELF_HOSTED_API_KEY``. When a key
is kept back, :attr:`Endpoint.withheld` says which, so a 401 is explained as what it is.

Plain http is accepted for loopback only, since a key sent in clear over a network is a key
given away, unless ``CODESTRAL_ALLOW_INSECURE_HTTP=1`` says otherwise.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from codestral_ls.config import Settings

CODESTRAL_BASE = "https://codestral.mistral.ai/v1"
MISTRAL_BASE = "https://api.mistral.ai/v1"
#: La Plateforme (keys from console.mistral.ai: ``MISTRAL_API_KEY``): the global host, which the
#: official SDK lists as its server, and the regional ones of Mistral's regional inference.
PLATFORM_HOSTS = frozenset({"api.mistral.ai", "api.eu.mistral.ai", "api.us.mistral.ai"})
#: Codestral's own host takes Codestral keys (``CODESTRAL_API_KEY``).
CODESTRAL_HOST = "codestral.mistral.ai"
MISTRAL_HOSTS = PLATFORM_HOSTS | {CODESTRAL_HOST}

#: Where a key for a non-Mistral host (gateway, proxy, self-hosted server) may come from.
SELF_HOSTED_SETTING = "the selfHostedApiKey setting"
SELF_HOSTED_ENV = "CODESTRAL_SELF_HOSTED_API_KEY"


@dataclass(frozen=True)
class Endpoint:
    """A usable base URL and its key, or the reason there is none (``problem``)."""

    base_url: str
    api_key: str | None
    #: Where the key came from, for messages ("CODESTRAL_API_KEY", "the apiKey setting"...);
    #: "none" when no key is sent.
    key_source: str
    problem: str | None = None
    #: The key kept back from this host (its source's name), when one was there to send.
    withheld: str | None = None

    @property
    def usable(self) -> bool:
        return self.problem is None

    @property
    def host(self) -> str:
        return urlsplit(self.base_url).hostname or ""


def is_loopback(host: str) -> bool:
    """``localhost`` or an address in 127.0.0.0/8 or ``::1``."""
    if host.lower() in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def allowed_hosts(environ: Mapping[str, str]) -> frozenset[str]:
    """Hosts the user (in their own environment) trusts with their Mistral key."""
    raw = environ.get("CODESTRAL_ALLOWED_HOSTS", "")
    return frozenset(h.strip().lower() for h in raw.split(",") if h.strip())


def _clean_base(base: str) -> str:
    base = base.strip().rstrip("/")
    for suffix in ("/fim/completions", "/chat/completions"):
        base = base.removesuffix(suffix)
    return base


def _host_of(base: str | None) -> str:
    return (urlsplit(_clean_base(base)).hostname or "").lower() if base else ""


def resolve_endpoint(settings: Settings, environ: Mapping[str, str]) -> Endpoint:
    """Pick the base URL and key from settings and environment, refusing unsafe combinations."""
    codestral_key = environ.get("CODESTRAL_API_KEY") or None
    mistral_key = environ.get("MISTRAL_API_KEY") or None
    env_base = environ.get("CODESTRAL_API_BASE") or None
    base = settings.api_base or env_base
    if base is None:
        only_mistral = mistral_key and not codestral_key and not settings.api_key
        base = MISTRAL_BASE if only_mistral else CODESTRAL_BASE
    base = _clean_base(base)

    parts = urlsplit(base)
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("http", "https") or not host:
        return Endpoint(base, None, "", f"the base URL {base!r} is not an http(s) URL")
    if (
        parts.scheme == "http"
        and not is_loopback(host)
        and environ.get("CODESTRAL_ALLOW_INSECURE_HTTP") != "1"
    ):
        return Endpoint(
            base,
            None,
            "",
            "plain http to a non-local host sends code and key unencrypted; use https for "
            f"{base!r} (or set CODESTRAL_ALLOW_INSECURE_HTTP=1)",
        )

    own_keys = [
        (settings.self_hosted_api_key, SELF_HOSTED_SETTING),
        (environ.get(SELF_HOSTED_ENV) or None, SELF_HOSTED_ENV),
    ]
    mistral_keys = _mistral_key_candidates(host, settings, codestral_key, mistral_key)
    trusted = (
        host in MISTRAL_HOSTS
        or is_loopback(host)
        or host in allowed_hosts(environ)
        or host == _host_of(env_base)  # the user's own environment chose this host
    )
    if host in MISTRAL_HOSTS:
        candidates = mistral_keys
    elif trusted:
        candidates = own_keys + mistral_keys
    else:
        candidates = own_keys
    for key, source in candidates:
        if key:
            return Endpoint(base, key, source)
    if host in MISTRAL_HOSTS:
        wanted = "MISTRAL_API_KEY" if host in PLATFORM_HOSTS else "CODESTRAL_API_KEY"
        return Endpoint(base, None, "", f"no API key: set {wanted} in the editor's environment")
    # Self-hosted servers and gateways may well need no key at all: go ahead without one, and
    # remember which key was kept back, for the message if the host asks for one.
    withheld = next((source for key, source in mistral_keys if key), None)
    return Endpoint(base, None, "none", withheld=withheld)


def _mistral_key_candidates(
    host: str, settings: Settings, codestral_key: str | None, mistral_key: str | None
) -> list[tuple[str | None, str]]:
    setting_key = (settings.api_key, "the apiKey setting")
    if host in PLATFORM_HOSTS:
        # A Codestral key is refused there (401), so it is not worth trying.
        return [setting_key, (mistral_key, "MISTRAL_API_KEY")]
    if host == CODESTRAL_HOST:
        return [setting_key, (codestral_key, "CODESTRAL_API_KEY")]
    return [setting_key, (codestral_key, "CODESTRAL_API_KEY"), (mistral_key, "MISTRAL_API_KEY")]


def key_advice(endpoint: Endpoint) -> tuple[str, str]:
    """What to tell a user whose endpoint answered 401/403: (one line, details for the log).

    Three different causes, three different fixes: a key kept back from a host the settings
    chose (allow the host, or give it its own key), no key at all, or a key that was sent
    and refused (then the message names where it came from).
    """
    host = endpoint.host
    if endpoint.withheld:
        short = (
            f"Codestral key withheld from {host}: set CODESTRAL_ALLOWED_HOSTS or selfHostedApiKey"
        )
        detail = (
            f"{host} asked for a key (401/403) and {endpoint.withheld} was not sent to it: a "
            "base URL from editor settings (which a project can set) gets a Mistral key only on "
            "Mistral's hosts. To send it there, add the host to CODESTRAL_ALLOWED_HOSTS (or set "
            "CODESTRAL_API_BASE) in the editor's environment; or give that host its own key with "
            f"the selfHostedApiKey setting or {SELF_HOSTED_ENV}."
        )
        return short, detail
    if endpoint.api_key is None:
        short = f"Codestral: {host} needs an API key: set selfHostedApiKey or {SELF_HOSTED_ENV}"
        detail = (
            f"{host} answered 401/403 and no key is configured for it: set the selfHostedApiKey "
            f"setting or {SELF_HOSTED_ENV} in the editor's environment."
        )
        return short, detail
    source = endpoint.key_source
    short = f"Codestral: {host} rejected the key from {source}"
    if host in PLATFORM_HOSTS:
        hint = "api.mistral.ai takes La Plateforme keys (MISTRAL_API_KEY), not Codestral keys."
    elif host == CODESTRAL_HOST:
        hint = "codestral.mistral.ai takes Codestral keys, not La Plateforme keys."
    else:
        hint = "Check that key with whoever runs that gateway."
    detail = f"{host} refused the key from {source} (401/403). {hint} Then restart the server."
    return short, detail
