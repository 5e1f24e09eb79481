"""Where requests go and which key goes with them, decided once per settings change.

The rules protect the user's Mistral key from the project they happen to open: some editors
merge settings from the project folder, so a hostile repository could point the base URL at
its own server. A Mistral key (from the environment or the ``apiKey`` setting) is therefore
only ever sent to Mistral's hosts, to loopback, or to hosts the user lists in
``CODESTRAL_ALLOWED_HOSTS`` in their own environment. Any other host is "self-hosted" and gets
only ``selfHostedApiKey``. Plain http is accepted for loopback only, since a key sent in clear
over a network is a key given away, unless ``CODESTRAL_ALLOW_INSECURE_HTTP=1`` says otherwise.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from codestral_ls.config import Settings

CODESTRAL_BASE = "https://codestral.mistral.ai/v1"
MISTRAL_BASE = "https://api.mistral.ai/v1"
MISTRAL_HOSTS = frozenset({"codestral.mistral.ai", "api.mistral.ai"})


@dataclass(frozen=True)
class Endpoint:
    """A usable base URL and its key, or the reason there is none (``problem``)."""

    base_url: str
    api_key: str | None
    #: Where the key came from, for messages ("CODESTRAL_API_KEY", "the apiKey setting"...).
    key_source: str
    problem: str | None = None

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


def resolve_endpoint(settings: Settings, environ: Mapping[str, str]) -> Endpoint:
    """Pick the base URL and key from settings and environment, refusing unsafe combinations."""
    codestral_key = environ.get("CODESTRAL_API_KEY") or None
    mistral_key = environ.get("MISTRAL_API_KEY") or None
    base = settings.api_base or environ.get("CODESTRAL_API_BASE") or None
    if base is None:
        only_mistral = mistral_key and not codestral_key and not settings.api_key
        base = MISTRAL_BASE if only_mistral else CODESTRAL_BASE
    base = base.strip().rstrip("/")
    for suffix in ("/fim/completions", "/chat/completions"):
        base = base.removesuffix(suffix)

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
            f"the base URL {base!r} uses plain http to a non-local host, which would send your "
            "code and key unencrypted; use https (or set CODESTRAL_ALLOW_INSECURE_HTTP=1)",
        )

    if host in MISTRAL_HOSTS or is_loopback(host) or host in allowed_hosts(environ):
        candidates = _mistral_key_candidates(host, settings, codestral_key, mistral_key)
    else:
        candidates = [(settings.self_hosted_api_key, "the selfHostedApiKey setting")]
    for key, source in candidates:
        if key:
            return Endpoint(base, key, source)
    if host in MISTRAL_HOSTS:
        wanted = "MISTRAL_API_KEY" if host == "api.mistral.ai" else "CODESTRAL_API_KEY"
        return Endpoint(base, None, "", f"no API key: set {wanted} in the editor's environment")
    # Self-hosted and loopback servers may well need no key at all.
    return Endpoint(base, None, "none")


def _mistral_key_candidates(
    host: str, settings: Settings, codestral_key: str | None, mistral_key: str | None
) -> list[tuple[str | None, str]]:
    setting_key = (settings.api_key, "the apiKey setting")
    if host == "api.mistral.ai":
        # A Codestral key is refused there (401), so it is not worth trying.
        return [setting_key, (mistral_key, "MISTRAL_API_KEY")]
    if host == "codestral.mistral.ai":
        return [setting_key, (codestral_key, "CODESTRAL_API_KEY")]
    return [setting_key, (codestral_key, "CODESTRAL_API_KEY"), (mistral_key, "MISTRAL_API_KEY")]
