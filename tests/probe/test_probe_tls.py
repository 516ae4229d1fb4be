"""TLS checks against real TLS test peers: certificate expiry, host names, untrusted
chains, mutual TLS, a plain-HTTP port behind an https:// URL, and legacy protocol versions
(against a small TLS 1.0 server in the test, since Qdrant and the peer offer only 1.2+)."""

from __future__ import annotations

import socket
import ssl
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.peer.conftest import API_KEY, TlsMaterial
from tests.peer.peerlib import PeerProcess, make_leaf
from tests.probe.conftest import write_key

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def tls_peer(module_peer_factory: Any, tls_material: TlsMaterial) -> PeerProcess:
    """TLS with an API key, a certificate for 127.0.0.1 and localhost valid for 2 days."""
    return module_peer_factory({"service": {"enable_tls": True, "api_key": API_KEY},
                                "tls": tls_material.tls_section()}, ca_path=tls_material.ca.cert)


@pytest.fixture(scope="module")
def mtls_peer(module_peer_factory: Any, tls_material: TlsMaterial) -> PeerProcess:
    return module_peer_factory(
        {"service": {"enable_tls": True, "api_key": API_KEY, "verify_https_client_certificate": True},
         "tls": tls_material.tls_section()},
        ca_path=tls_material.ca.cert,
        client_cert=(str(tls_material.client.cert), str(tls_material.client.key)))


def test_expiry_window(probe: Any, tls_peer: PeerProcess, tls_material: TlsMaterial) -> None:
    ca = str(tls_material.ca.cert)
    soon = probe(tls_peer.url, "--ca-cert", ca, "--format", "json")  # 2 days < 30 days
    finding = next(f for f in soon.json()["findings"] if f["rule"] == "QP203")
    assert finding["severity"] == "medium" and "expires in 1 days" in finding["message"]
    assert finding["url"] == f"tls://127.0.0.1:{tls_peer.http_port}"
    later = probe(tls_peer.url, "--ca-cert", ca, "--cert-expiry-days", "1", "--format", "json")
    assert "QP203" not in later.rules()
    # a verifying chain and a matching host: no QP202/QP204, and the HTTP checks ran
    assert not {"QP202", "QP204", "QP201"} & set(later.rules())
    assert later.code == 0, later.err


def test_host_name_mismatch(probe: Any, module_peer_factory: Any, tls_material: TlsMaterial,
                            tmp_path: Path) -> None:
    leaf = make_leaf(tmp_path / "dns-only", tls_material.ca_full, "dns-only", sans=("localhost",))
    peer = module_peer_factory({"service": {"enable_tls": True, "api_key": API_KEY},
                                "tls": tls_material.tls_section(cert=str(leaf.cert), key=str(leaf.key))},
                               ca_path=tls_material.ca.cert)
    run = probe(peer.url, "--ca-cert", str(tls_material.ca.cert), "--cert-expiry-days", "0",
                "--format", "json")
    assert run.rules() == ["QP204", "QP206"], run.out
    assert "DNS:localhost" in run.json()["findings"][0]["evidence"]
    assert run.code == 1
    assert "no HTTP checks were made" in run.err
    by_name = peer.url.replace("127.0.0.1", "localhost")
    assert "QP204" not in probe(by_name, "--ca-cert", str(tls_material.ca.cert), "--format", "json").rules()


def test_untrusted_chain(probe: Any, tls_peer: PeerProcess, tls_material: TlsMaterial) -> None:
    run = probe(tls_peer.url, "--cert-expiry-days", "0", "--format", "json")  # system CAs only
    assert "QP202" in run.rules()
    assert "--ca-cert" in run.err  # the HTTP checks were skipped, and why
    insecure = probe(tls_peer.url, "--insecure", "--cert-expiry-days", "0", "--format", "json")
    assert "QP202" in insecure.rules()  # still reported, but the HTTP checks ran
    assert "no HTTP checks were made" not in insecure.err


def test_mutual_tls(probe: Any, mtls_peer: PeerProcess, tls_material: TlsMaterial) -> None:
    ca = str(tls_material.ca.cert)
    without = probe(mtls_peer.url, "--ca-cert", ca, "--cert-expiry-days", "0", "--format", "json")
    assert without.rules() == [], without.out
    assert "demands a client certificate" in without.err and "--client-cert" in without.err
    with_cert = probe(mtls_peer.url, "--ca-cert", ca, "--cert-expiry-days", "0",
                      "--client-cert", str(tls_material.client.cert),
                      "--client-key", str(tls_material.client.key), "--format", "json")
    # mTLS on, the HTTP checks ran with the certificate: only CORS (on by default) is left
    assert with_cert.rules() == ["QP404"] and with_cert.code == 0, with_cert.out + with_cert.err
    assert "demands a client certificate" in with_cert.err


def test_https_url_to_a_plain_http_port(probe: Any, module_peer_factory: Any) -> None:
    peer = module_peer_factory({"service": {"api_key": API_KEY}})
    run = probe(peer.url.replace("http://", "https://"), "--format", "json")
    assert run.rules() == ["QP201"]
    finding = run.json()["findings"][0]
    assert "speaks plain HTTP, not TLS" in finding["message"]
    assert finding["evidence"].endswith("plain GET / over TCP: HTTP/1.1 200 OK")


def test_http_url_to_a_tls_port_suggests_https(probe: Any, tls_peer: PeerProcess) -> None:
    # the server is up: "cannot connect ... Server disconnected" alone sent people looking
    # for a dead server
    url = tls_peer.url.replace("https://", "http://")
    run = probe(url)
    assert run.code == 3
    assert run.err.splitlines()[0].endswith(": 1 request, each with x-request-id: "
                                            + run.err.split()[2].rstrip(":"))
    assert run.err.splitlines()[-1] == (
        f"qdrantsec: error: {url}: cannot connect: {url}: RemoteProtocolError: Server disconnected "
        f"without sending a response. (if the port serves TLS, probe {tls_peer.url})")
    assert run.out.splitlines()[-1] == "No problems found in 0 URLs. 1 URL could not be reached."


def test_admin_key_refused(probe: Any, tls_peer: PeerProcess, tls_material: TlsMaterial,
                           tmp_path: Path) -> None:
    key = write_key(tmp_path, "old.key", "an-old-admin-key-0123456789abcdefghij")
    run = probe(tls_peer.url, "--ca-cert", str(tls_material.ca.cert), "--cert-expiry-days", "0",
                "--api-key-file", key, "--format", "json")
    finding = next(f for f in run.json()["findings"] if f["rule"] == "QP302")
    assert finding["evidence"].startswith("GET /collections with the admin key sha256:")
    assert finding["evidence"].endswith(": 401 Unauthorized")
    right = write_key(tmp_path, "admin.key", API_KEY)
    assert "QP302" not in probe(tls_peer.url, "--ca-cert", str(tls_material.ca.cert),
                                "--api-key-file", right, "--format", "json").rules()


# -- legacy protocol versions --------------------------------------------------------------

@pytest.fixture
def tls10_server(tls_material: TlsMaterial) -> Iterator[int]:
    """A TLS server that accepts only TLS 1.0 and answers every request with 200."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.set_ciphers("ALL:@SECLEVEL=0")
        ctx.minimum_version = ctx.maximum_version = ssl.TLSVersion.TLSv1
    ctx.load_cert_chain(str(tls_material.server.cert), str(tls_material.server.key))
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    stop = threading.Event()

    def serve() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            try:
                with ctx.wrap_socket(conn, server_side=True) as tls:
                    tls.settimeout(2)
                    tls.recv(4096)
                    tls.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}")
            except OSError:
                conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield port
    finally:
        stop.set()
        thread.join(5)
        listener.close()


def test_legacy_tls_accepted(probe: Any, tls10_server: int, tls_material: TlsMaterial) -> None:
    from qdrantsec.probe.checks.tls import legacy_context

    if legacy_context(ssl.TLSVersion.TLSv1) is None:
        pytest.skip("the local OpenSSL cannot offer TLS 1.0 at all")
    run = probe(f"https://127.0.0.1:{tls10_server}", "--insecure", "--cert-expiry-days", "0",
                "--format", "json")
    legacy = next(f for f in run.json()["findings"] if f["rule"] == "QP205")
    assert legacy["message"] == "the TLS port accepts TLS 1.0"


def test_legacy_tls_refused_by_the_peer(probe: Any, tls_peer: PeerProcess, tls_material: TlsMaterial) -> None:
    run = probe(tls_peer.url, "--ca-cert", str(tls_material.ca.cert), "--format", "json")
    assert "QP205" not in run.rules()


def test_unusable_tls_files_are_usage_errors(probe: Any, tls_peer: PeerProcess, tmp_path: Path) -> None:
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate\n")
    for args in (["--ca-cert", str(junk)], ["--client-cert", str(junk), "--client-key", str(junk)]):
        run = probe(tls_peer.url, *args)
        assert run.code == 2, run.err
        assert run.err.startswith("qdrantsec: error: cannot load ") and "Traceback" not in run.err


def test_expired_certificate(probe: Any, module_peer_factory: Any, tls_material: TlsMaterial,
                             tmp_path: Path) -> None:
    leaf = _expired_leaf(tmp_path, tls_material)
    peer = module_peer_factory({"service": {"enable_tls": True, "api_key": API_KEY},
                                "tls": tls_material.tls_section(cert=str(leaf.cert), key=str(leaf.key))},
                               ca_path=tls_material.ca.cert)
    run = probe(peer.url, "--ca-cert", str(tls_material.ca.cert), "--format", "json")
    expired = next(f for f in run.json()["findings"] if f["rule"] == "QP203")
    assert expired["severity"] == "critical" and "expired on" in expired["message"]
    assert "QP202" not in run.rules()  # an expired chain is QP203's finding, not also QP202's
    assert run.code == 1
    assert "the certificate does not verify, so no HTTP checks were made" in run.err


def _expired_leaf(tmp_path: Path, tls_material: TlsMaterial) -> Any:
    """A server certificate for 127.0.0.1 that expired yesterday, from the test CA."""
    import datetime as dt
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    from tests.peer.peerlib import CertPair

    _, ca_cert, ca_key = tls_material.ca_full
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "expired")]))
            .issuer_name(ca_cert.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=3)).not_valid_after(now - dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))
    pair = CertPair(tmp_path / "expired.pem", tmp_path / "expired.key")
    pair.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    pair.key.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return pair
