"""HTTPS, mTLS, key-file rules and cert_ttl reloading (facts 6) over real TLS sockets."""

from __future__ import annotations

import shutil
import socket
import ssl
import time
from pathlib import Path

import httpx
import pytest
from cryptography import x509

from tests.peer.conftest import API_KEY, TlsMaterial
from tests.peer.peerlib import PeerFactory, PeerProcess, make_leaf, ssl_context, wait_for

pytestmark = pytest.mark.integration


def served_cert(peer: PeerProcess, port: int | None = None,
                client: tuple[Path, Path] | None = None) -> x509.Certificate:
    """The leaf certificate the server presents on a fresh handshake."""
    ctx = ssl.create_default_context(cafile=peer.ca_path)
    if client:
        ctx.load_cert_chain(str(client[0]), str(client[1]))
    with socket.create_connection(("127.0.0.1", port or peer.http_port), timeout=5) as raw, \
            ctx.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
        der = tls.getpeercert(binary_form=True)
    assert der is not None
    return x509.load_der_x509_certificate(der)


def tls_config(tls: TlsMaterial, **service: object) -> dict[str, object]:
    return {"service": {"enable_tls": True, "api_key": API_KEY, **service},
            "tls": tls.tls_section()}


@pytest.fixture(scope="module")
def https_peer(module_peer_factory: PeerFactory, tls_material: TlsMaterial) -> PeerProcess:
    from tests.peer.peerlib import free_port

    cfg = tls_config(tls_material, metrics_port=free_port())
    return module_peer_factory(cfg, name="https", ca_path=tls_material.ca.cert)


@pytest.fixture(scope="module")
def mtls_peer(module_peer_factory: PeerFactory, tls_material: TlsMaterial) -> PeerProcess:
    from tests.peer.peerlib import free_port

    cfg = tls_config(tls_material, verify_https_client_certificate=True,
                     metrics_port=free_port())
    return module_peer_factory(
        cfg, name="mtls", ca_path=tls_material.ca.cert,
        client_cert=(str(tls_material.client.cert), str(tls_material.client.key)),
    )


def test_https_serves_chain_and_requires_key(https_peer: PeerProcess,
                                             tls_material: TlsMaterial) -> None:
    assert https_peer.url.startswith("https://")
    r = https_peer.request("GET", "/collections", api_key=API_KEY)
    assert r.status_code == 200
    assert https_peer.request("GET", "/collections").status_code == 401
    expected = x509.load_pem_x509_certificate(tls_material.server.cert.read_bytes())
    assert served_cert(https_peer).serial_number == expected.serial_number


def test_https_rejects_untrusted_and_plain_clients(https_peer: PeerProcess,
                                                   tls_material: TlsMaterial) -> None:
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{https_peer.url}/healthz", verify=True)
    other = tls_material.other_ca_full[0].cert
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{https_peer.url}/healthz", verify=ssl_context(other))
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"http://127.0.0.1:{https_peer.http_port}/healthz", timeout=3)
    # hostname in the SAN is checked by clients: localhost is a SAN, 127.0.0.2 is not
    r = httpx.get(f"https://localhost:{https_peer.http_port}/healthz",
                  verify=ssl_context(tls_material.ca.cert))
    assert r.status_code == 200


def test_https_without_client_cert_verification_accepts_anonymous(
        https_peer: PeerProcess) -> None:
    with httpx.Client(verify=https_peer.verify()) as c:
        assert c.get(f"{https_peer.url}/healthz").status_code == 200


def test_metrics_port_tls_no_auth(https_peer: PeerProcess, tls_material: TlsMaterial) -> None:
    port = https_peer.metrics_port
    base = f"https://127.0.0.1:{port}"
    ca = ssl_context(tls_material.ca.cert)
    r = httpx.get(f"{base}/metrics", verify=ca)
    assert r.status_code == 200
    assert 'app_info{name="qdrant",version="1.19.0"} 1' in r.text
    assert httpx.get(f"{base}/collections", verify=ca).status_code == 404
    # REST port still needs credentials for /metrics
    assert https_peer.request("GET", "/metrics").status_code == 401
    assert https_peer.request("GET", "/metrics", api_key=API_KEY).status_code == 200


def test_mtls_requires_client_certificate(mtls_peer: PeerProcess,
                                          tls_material: TlsMaterial) -> None:
    r = mtls_peer.request("GET", "/collections", api_key=API_KEY)
    assert r.status_code == 200
    # no client certificate: handshake refused (TLS 1.3 may report it on first read)
    with pytest.raises(httpx.HTTPError), \
            httpx.Client(verify=ssl_context(tls_material.ca.cert)) as c:
        c.get(f"{mtls_peer.url}/healthz")
    foreign = (str(tls_material.foreign_client.cert), str(tls_material.foreign_client.key))
    with pytest.raises(httpx.HTTPError), \
            httpx.Client(verify=ssl_context(tls_material.ca.cert, foreign)) as c:
        c.get(f"{mtls_peer.url}/healthz")
    # a server-only certificate (EKU serverAuth only) is not a valid client certificate
    server_only = make_leaf(tls_material.root / "srvonly", tls_material.ca_full, "srvonly",
                            client=False)
    with pytest.raises(httpx.HTTPError), httpx.Client(
            verify=ssl_context(tls_material.ca.cert, (server_only.cert, server_only.key))) as c:
        c.get(f"{mtls_peer.url}/healthz")


def test_mtls_applies_to_metrics_port(mtls_peer: PeerProcess, tls_material: TlsMaterial) -> None:
    base = f"https://127.0.0.1:{mtls_peer.metrics_port}/metrics"
    with pytest.raises(httpx.HTTPError):
        httpx.get(base, verify=ssl_context(tls_material.ca.cert))
    client = (tls_material.client.cert, tls_material.client.key)
    r = httpx.get(base, verify=ssl_context(tls_material.ca.cert, client))
    assert r.status_code == 200


def test_client_verification_without_ca_fails(peer_factory: PeerFactory,
                                              tls_material: TlsMaterial) -> None:
    cfg = tls_config(tls_material, verify_https_client_certificate=True)
    cfg["tls"] = tls_material.tls_section(ca_cert=None)
    p = peer_factory(cfg, wait=False)
    assert p.wait_exit(10) != 0
    assert "No ca_cert provided" in p.stderr_text()


@pytest.mark.parametrize(
    ("key_format", "key_type"),
    [("pkcs8", "ec"), ("traditional", "ec"), ("traditional", "rsa"), ("pkcs8", "rsa")],
    ids=["pkcs8-ec", "sec1", "pkcs1", "pkcs8-rsa"],
)
def test_key_formats(peer_factory: PeerFactory, tls_material: TlsMaterial,
                     key_format: str, key_type: str, tmp_path: Path) -> None:
    pair = make_leaf(tmp_path, tls_material.ca_full, "srv", key_format=key_format,
                     key_type=key_type)
    label = pair.key.read_text().splitlines()[0]
    expected = {"pkcs8": "-----BEGIN PRIVATE KEY-----",
                "traditional": f"-----BEGIN {key_type.upper()} PRIVATE KEY-----"}[key_format]
    assert label == expected
    cfg = tls_config(tls_material)
    cfg["tls"] = tls_material.tls_section(cert=str(pair.cert), key=str(pair.key))
    p = peer_factory(cfg, ca_path=tls_material.ca.cert)
    assert p.request("GET", "/healthz").status_code == 200


def test_key_file_block_order(peer_factory: PeerFactory, tls_material: TlsMaterial,
                              tmp_path: Path) -> None:
    key_pem = tls_material.server.key.read_text()
    cert_pem = tls_material.server.cert.read_text()
    params = "-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n"
    ok_file = tmp_path / "params-then-key.pem"
    ok_file.write_text(params + key_pem + cert_pem)
    cfg = tls_config(tls_material)
    cfg["tls"] = tls_material.tls_section(key=str(ok_file))
    p = peer_factory(cfg, ca_path=tls_material.ca.cert)
    assert p.request("GET", "/healthz").status_code == 200
    bad_file = tmp_path / "cert-then-key.pem"
    bad_file.write_text(cert_pem + key_pem)
    cfg["tls"] = tls_material.tls_section(key=str(bad_file))
    bad = peer_factory(cfg, wait=False)
    assert bad.wait_exit(10) != 0
    assert "invalid private key" in bad.stderr_text()


def test_missing_cert_files_fail_start(peer_factory: PeerFactory,
                                       tls_material: TlsMaterial) -> None:
    cfg = tls_config(tls_material)
    cfg["tls"] = tls_material.tls_section(cert="./tls/missing.pem")
    p = peer_factory(cfg, wait=False)
    assert p.wait_exit(10) != 0


def test_chain_file_serves_every_certificate(peer_factory: PeerFactory,
                                             tls_material: TlsMaterial, tmp_path: Path) -> None:
    chain = tmp_path / "chain.pem"
    chain.write_text(tls_material.server.cert.read_text() + tls_material.ca.cert.read_text())
    cfg = tls_config(tls_material)
    cfg["tls"] = tls_material.tls_section(cert=str(chain))
    p = peer_factory(cfg, ca_path=tls_material.ca.cert)
    ctx = ssl.create_default_context(cafile=str(tls_material.ca.cert))
    with socket.create_connection(("127.0.0.1", p.http_port)) as raw, \
            ctx.wrap_socket(raw, server_hostname="localhost") as s:
        peer_cert = s.getpeercert()
        assert peer_cert is not None
        assert peer_cert["subject"][0][0][1] == "server"  # type: ignore[index]


def test_cert_ttl_reload(peer_factory: PeerFactory, tls_material: TlsMaterial,
                         tmp_path: Path) -> None:
    live = tmp_path / "live"
    live.mkdir()
    shutil.copy(tls_material.server.cert, live / "cert.pem")
    shutil.copy(tls_material.server.key, live / "key.pem")
    cfg = tls_config(tls_material)
    cfg["tls"] = tls_material.tls_section(cert=str(live / "cert.pem"), key=str(live / "key.pem"),
                                          cert_ttl=1)
    p = peer_factory(cfg, ca_path=tls_material.ca.cert)
    first = served_cert(p).serial_number
    new = make_leaf(tmp_path / "new", tls_material.ca_full, "server2")
    shutil.copy(new.cert, live / "cert.pem")
    shutil.copy(new.key, live / "key.pem")
    expected = x509.load_pem_x509_certificate(new.cert.read_bytes()).serial_number
    wait_for(lambda: served_cert(p).serial_number == expected, timeout=5, interval=0.2)
    assert expected != first
    # a broken pair keeps the current one and logs the error
    (live / "key.pem").write_text("garbage")
    time.sleep(1.2)
    assert served_cert(p).serial_number == expected
    wait_for(lambda: "Failed to refresh server TLS certificate, keeping current"
             in p.stderr_text(), timeout=3)
    # the next handshake retries and picks up a repaired pair
    shutil.copy(tls_material.server.key, live / "key.pem")
    shutil.copy(tls_material.server.cert, live / "cert.pem")
    wait_for(lambda: served_cert(p).serial_number == first, timeout=5, interval=0.2)


@pytest.mark.parametrize("ttl", [0, None])
def test_cert_ttl_disabled(peer_factory: PeerFactory, tls_material: TlsMaterial,
                           tmp_path: Path, ttl: int | None) -> None:
    live = tmp_path / "live"
    live.mkdir()
    shutil.copy(tls_material.server.cert, live / "cert.pem")
    shutil.copy(tls_material.server.key, live / "key.pem")
    cfg = tls_config(tls_material)
    cfg["tls"] = tls_material.tls_section(cert=str(live / "cert.pem"), key=str(live / "key.pem"),
                                          cert_ttl=ttl)
    p = peer_factory(cfg, ca_path=tls_material.ca.cert)
    first = served_cert(p).serial_number
    new = make_leaf(tmp_path / "new", tls_material.ca_full, "server2")
    shutil.copy(new.cert, live / "cert.pem")
    shutil.copy(new.key, live / "key.pem")
    time.sleep(1.2)
    assert served_cert(p).serial_number == first
    p.restart()
    assert served_cert(p).serial_number != first  # TLS material changes on restart


def test_cert_ttl_reload_keeps_client_verification(peer_factory: PeerFactory,
                                                   tls_material: TlsMaterial,
                                                   tmp_path: Path) -> None:
    cfg = tls_config(tls_material, verify_https_client_certificate=True)
    cfg["tls"] = tls_material.tls_section(cert_ttl=1)
    client = (tls_material.client.cert, tls_material.client.key)
    p = peer_factory(cfg, ca_path=tls_material.ca.cert, client_cert=(str(client[0]),
                                                                       str(client[1])))
    assert p.request("GET", "/healthz").status_code == 200
    time.sleep(1.2)  # the next handshakes reload the pair and swap contexts
    for _ in range(2):
        assert p.request("GET", "/healthz").status_code == 200
        with pytest.raises(httpx.HTTPError), \
                httpx.Client(verify=ssl_context(tls_material.ca.cert)) as c:
            c.get(f"{p.url}/healthz")
        time.sleep(1.1)
    assert "Refreshed server TLS certificate" in p.stderr_text()
