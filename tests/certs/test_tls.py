"""Real TLS: generated certificates on a Python ssl server, verified by httpx and ssl clients."""

from __future__ import annotations

import socket
import ssl
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from qdrantsec.cli.app import main


def _client_ctx(ca: Path, cert: Path | None = None, key: Path | None = None) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(ca))  # check_hostname on, CERT_REQUIRED
    if cert is not None:
        ctx.load_cert_chain(cert, key)
    return ctx


def _handshake(port: int, ctx: ssl.SSLContext, server_name: str) -> dict:
    """Connect to 127.0.0.1:port but verify the server as ``server_name`` (like a p2p URI host)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw, \
            ctx.wrap_socket(raw, server_hostname=server_name) as tls:
        tls.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = tls.recv(4096)
        assert data.startswith(b"HTTP/1.")
        return tls.getpeercert()


def test_server_cert_verified_by_httpx(tls_set: Path, https_server: Callable) -> None:
    srv = https_server(tls_set / "server.pem", tls_set / "server-key.pem")
    with httpx.Client(verify=_client_ctx(tls_set / "ca.pem")) as client:
        r = client.get(srv.url)
    assert r.status_code == 200 and r.json() == {"ok": True}
    with httpx.Client(verify=_client_ctx(tls_set / "ca.pem")) as client:
        assert client.get(f"https://localhost:{srv.port}").status_code == 200


def test_server_cert_refused_with_another_ca(tls_set: Path, tmp_path: Path, https_server: Callable) -> None:
    assert main(["certs", "generate", "--out", str(tmp_path / "other")]) == 0
    srv = https_server(tls_set / "server.pem", tls_set / "server-key.pem")
    with httpx.Client(verify=_client_ctx(tmp_path / "other" / "ca.pem")) as client, \
            pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        client.get(srv.url)


def test_client_cert_accepted_when_required(tls_set: Path, https_server: Callable) -> None:
    srv = https_server(tls_set / "server.pem", tls_set / "server-key.pem", client_ca=tls_set / "ca.pem")
    ctx = _client_ctx(tls_set / "ca.pem", tls_set / "client-app.pem", tls_set / "client-app-key.pem")
    with httpx.Client(verify=ctx) as client:
        assert client.get(srv.url).status_code == 200


def test_missing_or_foreign_client_cert_refused(
    tls_set: Path, tmp_path: Path, https_server: Callable
) -> None:
    assert main(["certs", "generate", "--out", str(tmp_path / "other"), "--client", "app"]) == 0
    srv = https_server(tls_set / "server.pem", tls_set / "server-key.pem", client_ca=tls_set / "ca.pem")
    foreign = _client_ctx(tls_set / "ca.pem", tmp_path / "other" / "client-app.pem",
                          tmp_path / "other" / "client-app-key.pem")
    for ctx in (foreign, _client_ctx(tls_set / "ca.pem")):
        with httpx.Client(verify=ctx) as client, pytest.raises(httpx.TransportError):
            client.get(srv.url)


def test_peer_cert_is_server_and_client_with_hostname_checks(tls_set: Path, https_server: Callable) -> None:
    # qdrant-0 serves p2p, requiring a client certificate from the CA (as Qdrant's p2p does) ...
    srv = https_server(tls_set / "peer-qdrant-0.pem", tls_set / "peer-qdrant-0-key.pem",
                       client_ca=tls_set / "ca.pem")
    # ... and qdrant-1 connects with its own peer certificate, checking qdrant-0's host name.
    ctx = _client_ctx(tls_set / "ca.pem", tls_set / "peer-qdrant-1.pem", tls_set / "peer-qdrant-1-key.pem")
    assert ctx.check_hostname
    cert = _handshake(srv.port, ctx, "qdrant-0.qdrant-headless")
    assert ("DNS", "qdrant-0.qdrant-headless") in cert["subjectAltName"]
    # the other direction: qdrant-1 serves, qdrant-0 is the client
    srv1 = https_server(tls_set / "peer-qdrant-1.pem", tls_set / "peer-qdrant-1-key.pem",
                        client_ca=tls_set / "ca.pem")
    ctx0 = _client_ctx(tls_set / "ca.pem", tls_set / "peer-qdrant-0.pem", tls_set / "peer-qdrant-0-key.pem")
    _handshake(srv1.port, ctx0, "qdrant-1.qdrant-headless")
    # a peer addressed by IP (as Qdrant records peers joining without --uri) matches its IP SAN
    srv_a = https_server(tls_set / "peer-node-a.pem", tls_set / "peer-node-a-key.pem",
                         client_ca=tls_set / "ca.pem")
    with httpx.Client(verify=ctx0) as client:
        assert client.get(srv_a.url).status_code == 200


def test_peer_hostname_mismatch_refused(tls_set: Path, https_server: Callable) -> None:
    srv = https_server(tls_set / "peer-qdrant-0.pem", tls_set / "peer-qdrant-0-key.pem")
    with pytest.raises(ssl.SSLCertVerificationError, match=r"match|mismatch"):
        _handshake(srv.port, _client_ctx(tls_set / "ca.pem"), "qdrant-1.qdrant-headless")


def test_server_only_cert_cannot_be_a_peer_client(tls_set: Path, https_server: Callable) -> None:
    """Why peers need clientAuth: a serverAuth-only certificate is refused as a client identity."""
    srv = https_server(tls_set / "peer-qdrant-0.pem", tls_set / "peer-qdrant-0-key.pem",
                       client_ca=tls_set / "ca.pem")
    ctx = _client_ctx(tls_set / "ca.pem", tls_set / "server.pem", tls_set / "server-key.pem")
    with pytest.raises((ssl.SSLError, ConnectionError)):
        _handshake(srv.port, ctx, "qdrant-0.qdrant-headless")


@pytest.mark.parametrize("key_type", ["ecdsa-p256", "ecdsa-p384", "rsa-2048", "ed25519"])
def test_each_key_type_serves_tls(key_type: str, tmp_path: Path, https_server: Callable) -> None:
    out = tmp_path / "tls"
    assert main(["certs", "generate", "--out", str(out), "--key-type", key_type, "--client", "c"]) == 0
    srv = https_server(out / "server.pem", out / "server-key.pem", client_ca=out / "ca.pem")
    ctx = _client_ctx(out / "ca.pem", out / "client-c.pem", out / "client-c-key.pem")
    with httpx.Client(verify=ctx) as client:
        assert client.get(srv.url).status_code == 200
