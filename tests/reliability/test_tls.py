"""TLS end to end: verification is on, and a custom CA bundle from the environment works.

The fake API is served over TLS with a certificate of a throw-away CA made here (for
127.0.0.1, which loopback rules let the key go to). Without that CA, the handshake fails and
nothing is sent; with it in ``SSL_CERT_FILE`` or ``REQUESTS_CA_BUNDLE``, completions work.
"""

from __future__ import annotations

import datetime
import ipaddress
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.fake_mistral import FakeMistral
from tests.reliability.lsp_process import LspProcess, environment

URI = "file:///project/calc.py"


def make_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (it is its own CA) and its key."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "codestral-ls test CA")])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "ca.pem", folder / "server-key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@pytest.fixture
def tls_fake(tmp_path: Path) -> Iterator[tuple[FakeMistral, Path]]:
    cert, key = make_certificate(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    with FakeMistral() as fake:
        fake.fim_responder = lambda body: "return a + b"
        # Accepted connections are TLS from now on (the fake itself speaks plain HTTP).
        fake._server.socket = context.wrap_socket(fake._server.socket, server_side=True)
        yield fake, cert


def complete(fake: FakeMistral, **env: str) -> list:
    base = fake.base_url.replace("http://", "https://")
    extra = {"SSL_CERT_FILE": "", "SSL_CERT_DIR": "", "REQUESTS_CA_BUNDLE": "", **env}
    with LspProcess(environment(base, **extra)) as server:
        server.initialize({"completionTimeoutMs": 3000})
        server.open(URI, "def add(a, b):\n    \n")
        items = [server.inline(URI, 1, 4)["result"]["items"] for _ in range(2)]
        messages = server.messages()
        assert server.shutdown_and_exit() == 0
    return [items, messages]


def test_an_unknown_certificate_is_refused(tls_fake: tuple[FakeMistral, Path]) -> None:
    fake, _cert = tls_fake
    items, messages = complete(fake)
    assert items == [[], []]
    assert fake.fim_requests == [], "nothing was sent over the unverified connection"
    assert len(messages) == 1 and "Cannot reach Codestral" in messages[0]


@pytest.mark.parametrize("variable", ["SSL_CERT_FILE", "REQUESTS_CA_BUNDLE"])
def test_a_custom_ca_bundle_from_the_environment(
    tls_fake: tuple[FakeMistral, Path], variable: str
) -> None:
    fake, cert = tls_fake
    items, messages = complete(fake, **{variable: str(cert)})
    assert items[0][0]["insertText"] == "return a + b"
    assert messages == []
    assert fake.fim_requests[0].headers["authorization"] == "Bearer test-key"
