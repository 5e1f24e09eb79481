"""The TLS context (codestral_ls/tls.py): the bundle the environment chooses, built once,
in the background when asked, with the same errors as building it at once."""

from __future__ import annotations

import ssl
from pathlib import Path

import certifi
import pytest

from codestral_ls import tls


def _one_certificate(tmp_path: Path) -> Path:
    """A bundle of one CA: the first certificate of certifi's."""
    pem = Path(certifi.where()).read_text(encoding="ascii")
    end = "-----END CERTIFICATE-----"
    first = pem[pem.index("-----BEGIN CERTIFICATE-----") : pem.index(end) + len(end)]
    bundle = tmp_path / "one.pem"
    bundle.write_text(first + "\n", encoding="ascii")
    return bundle


def _cas(context: ssl.SSLContext) -> int:
    return context.cert_store_stats()["x509_ca"]


def test_the_environment_chooses_the_bundle_in_httpx_order_then_requests(tmp_path: Path) -> None:
    one = str(_one_certificate(tmp_path))
    everything = _cas(tls.build({}))
    assert everything > 100  # certifi's bundle, httpx's default
    assert _cas(tls.build({"SSL_CERT_FILE": one, "REQUESTS_CA_BUNDLE": certifi.where()})) == 1
    assert _cas(tls.build({"REQUESTS_CA_BUNDLE": one})) == 1
    assert _cas(tls.build({"CURL_CA_BUNDLE": one})) == 1
    # A REQUESTS_CA_BUNDLE left pointing nowhere is ignored, as before: certifi's bundle.
    assert _cas(tls.build({"REQUESTS_CA_BUNDLE": str(tmp_path / "gone.pem")})) == everything
    every_context = [tls.build({}), tls.build({"SSL_CERT_FILE": one})]
    assert all(c.verify_mode == ssl.CERT_REQUIRED and c.check_hostname for c in every_context)


def test_a_context_built_in_the_background_is_the_one_handed_out_every_time(
    tmp_path: Path,
) -> None:
    environ = {"SSL_CERT_FILE": str(_one_certificate(tmp_path))}
    tls.build_in_background(environ)
    first = tls.context(environ)
    assert _cas(first) == 1
    assert tls.context(dict(environ)) is first  # one context for every client
    tls.build_in_background(environ)  # already built: nothing started
    assert tls.context(environ) is first


def test_without_a_background_build_the_context_is_built_on_first_use(tmp_path: Path) -> None:
    environ = {"CURL_CA_BUNDLE": str(_one_certificate(tmp_path))}
    first = tls.context(environ)
    assert _cas(first) == 1 and tls.context(environ) is first
    assert tls.context({"CURL_CA_BUNDLE": certifi.where()}) is not first  # another bundle


@pytest.mark.parametrize("in_background", [False, True])
def test_an_unreadable_bundle_fails_where_the_client_is_built_each_time(
    tmp_path: Path, in_background: bool
) -> None:
    environ = {"SSL_CERT_FILE": str(tmp_path / f"missing-{in_background}.pem")}
    if in_background:
        tls.build_in_background(environ)
    with pytest.raises(tls.BundleError, match="SSL_CERT_FILE: No such file"):
        tls.context(environ)
    with pytest.raises(tls.BundleError):  # not remembered: tried again (the file may be there now)
        tls.context(environ)
