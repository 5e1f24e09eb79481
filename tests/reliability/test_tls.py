"""TLS end to end: verification is on, and a custom CA bundle from the environment works.

The fake API is served over TLS with a certificate of a throw-away CA made here (for
127.0.0.1, which loopback rules let the key go to). Without that CA, the handshake fails and
nothing is sent; with it in ``SSL_CERT_FILE`` or ``REQUESTS_CA_BUNDLE``, completions work.
"""

from __future__ import annotations

import datetime
import ipaddress
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.fake_mistral import FakeMistral
from tests.reliability.lsp_process import SERVER_COMMAND, LspProcess, environment

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


@pytest.fixture(params=["missing", "directory", "not-pem"])
def bad_bundle(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    """A CA bundle path that cannot be loaded, of each kind a user gets wrong."""
    if request.param == "directory":
        return tmp_path
    path = tmp_path / "company-ca.pem"
    if request.param == "not-pem":
        path.write_text("this is not a certificate\n")
    return path


def test_a_ca_bundle_that_cannot_be_loaded_is_told_once_in_one_line(
    fake: FakeMistral, bad_bundle: Path, tmp_path: Path
) -> None:
    """Before: no completion, no message, and a traceback in the log on every keystroke."""
    stderr = tmp_path / "stderr.txt"
    env = environment(fake.base_url, SSL_CERT_FILE=str(bad_bundle))
    with LspProcess(env, stderr_path=stderr) as server:
        server.initialize({"completionTimeoutMs": 3000})
        server.open(URI, "def add(a, b):\n    \n")
        items = [server.inline(URI, 1, 4)["result"]["items"] for _ in range(3)]
        messages = server.messages()
        assert server.shutdown_and_exit() == 0
    assert items == [[], [], []]
    assert fake.fim_requests == []
    assert len(messages) == 1, messages
    assert messages[0].startswith("Codestral cannot load the CA bundle in SSL_CERT_FILE: ")
    assert "Traceback" not in stderr.read_text()


def test_the_complete_command_calls_a_bad_ca_bundle_a_configuration_problem(
    fake: FakeMistral, bad_bundle: Path, tmp_path: Path
) -> None:
    source = tmp_path / "calc.py"
    source.write_text("def add(a, b):\n    \n")
    env = environment(fake.base_url, SSL_CERT_FILE=str(bad_bundle))
    result = subprocess.run(
        [*SERVER_COMMAND, "complete", str(source), "--line", "2", "--column", "5"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2  # a configuration problem (1 would be: nothing to add)
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith("codestral-ls: cannot load the CA bundle in SSL_CERT_FILE: ")
    assert str(bad_bundle) in line
    assert fake.fim_requests == []
