"""The TLS context of every connection to the endpoint: which CA bundle, built once, early.

Certificates are always verified; which CA bundle, the environment may say: ``SSL_CERT_FILE``
and ``SSL_CERT_DIR`` (what httpx itself reads), then ``REQUESTS_CA_BUNDLE`` and
``CURL_CA_BUNDLE``, which many company setups export for their TLS-inspecting proxy, else
certifi's bundle (httpx's default).

Loading a bundle parses ~150 certificates: ~30 ms on a quiet machine, inside OpenSSL, which
lets other Python threads run meanwhile. :func:`build_in_background` starts it on a thread
when the process starts, so it overlaps with importing pygls and lsprotocol instead of
following them; :func:`context` then takes the finished context (or builds it, if nothing
was started for this environment). One context serves every client the server builds, and
the proxies httpx mounts from ``HTTPS_PROXY``.
"""

from __future__ import annotations

import os
import ssl
import threading
from collections.abc import Mapping

#: The variables that choose the bundle, in the order they are honoured.
BUNDLE_VARIABLES = ("SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")

_lock = threading.Lock()
#: Contexts by the bundle variables they were built for; a thread while one is building.
_built: dict[tuple[str, ...], ssl.SSLContext | BaseException] = {}
_building: dict[tuple[str, ...], threading.Thread] = {}


def _key(environ: Mapping[str, str]) -> tuple[str, ...]:
    return tuple(environ.get(name, "") for name in BUNDLE_VARIABLES)


class BundleError(Exception):
    """The CA bundle the environment names cannot be loaded. ``str()`` says which variable,
    which path and why (a missing file, a directory, no certificate in it), for a line
    "cannot load the ...".

    Nothing can be sent without it, and nothing should be sent without the bundle the user
    chose (a company proxy's CA): every call fails until it is fixed, and says why."""


def build(environ: Mapping[str, str]) -> ssl.SSLContext:
    """A verifying context with the bundle ``environ`` chooses (:class:`BundleError` if the
    bundle named there cannot be loaded)."""
    cert_file, cert_dir, requests_bundle, curl_bundle = _key(environ)
    if cert_file:
        return _load("SSL_CERT_FILE", cert_file, cafile=cert_file)
    if cert_dir:
        return _load("SSL_CERT_DIR", cert_dir, capath=cert_dir)
    for name, bundle in (("REQUESTS_CA_BUNDLE", requests_bundle), ("CURL_CA_BUNDLE", curl_bundle)):
        if bundle and os.path.exists(bundle):
            if os.path.isdir(bundle):
                return _load(name, bundle, capath=bundle)
            return _load(name, bundle, cafile=bundle)
    import certifi  # httpx's own dependency and default bundle

    return ssl.create_default_context(cafile=certifi.where())


def _load(variable: str, path: str, **where: str) -> ssl.SSLContext:
    try:
        return ssl.create_default_context(**where)
    except (OSError, ValueError) as error:
        if isinstance(error, ssl.SSLError):  # a file, but not of PEM certificates
            reason = f"no certificates in it ({error.reason or error})"
        elif isinstance(error, OSError) and error.strerror:  # missing, a directory, denied
            reason = error.strerror
        else:
            reason = str(error)
        # The variable and the reason first: a pop-up clips long lines at their end.
        raise BundleError(f"CA bundle in {variable}: {reason}: {path}") from None


def build_in_background(environ: Mapping[str, str] | None = None) -> None:
    """Start building the context for ``environ`` (default: this process's) on a thread."""
    environ = dict(os.environ if environ is None else environ)
    key = _key(environ)
    with _lock:
        if key in _built or key in _building:
            return
        thread = threading.Thread(
            target=_build_into, args=(key, environ), name="codestral-ls TLS", daemon=True
        )
        _building[key] = thread
    thread.start()


def _build_into(key: tuple[str, ...], environ: Mapping[str, str]) -> None:
    try:
        result: ssl.SSLContext | BaseException = build(environ)
    except Exception as error:  # raised again by context(), where a client is being built
        result = error
    with _lock:
        _built[key] = result
        _building.pop(key, None)


def context(environ: Mapping[str, str] | None = None) -> ssl.SSLContext:
    """The context for ``environ`` (default: this process's): the one built in the
    background if it was started, else built now and kept. A bundle that cannot be read
    raises :class:`BundleError` here, and is tried again at the next call."""
    environ = os.environ if environ is None else environ
    key = _key(environ)
    with _lock:
        thread = _building.get(key)
    if thread is not None:
        thread.join()
    with _lock:
        result = _built.get(key)
        if isinstance(result, BaseException):
            del _built[key]
    if isinstance(result, BaseException):
        raise result
    if result is None:
        result = build(environ)
        with _lock:
            result = _built.setdefault(key, result)
    return result
