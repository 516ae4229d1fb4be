"""Cross-check with OpenSSL: the chain verifies, SANs and EKUs are what Qdrant needs."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl not installed")


def _openssl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["openssl", *args], capture_output=True, text=True, timeout=30)


@pytest.mark.parametrize(("name", "purpose"), [
    ("server.pem", "sslserver"), ("peer-qdrant-0.pem", "sslserver"), ("peer-qdrant-0.pem", "sslclient"),
    ("client-app.pem", "sslclient"),
])
def test_openssl_verify_accepts_chain(tls_set: Path, name: str, purpose: str) -> None:
    r = _openssl("verify", "-CAfile", str(tls_set / "ca.pem"), "-purpose", purpose, str(tls_set / name))
    assert r.returncode == 0 and r.stdout.strip().endswith(": OK"), r.stdout + r.stderr


@pytest.mark.parametrize(("name", "purpose"), [("server.pem", "sslclient"), ("client-app.pem", "sslserver")])
def test_openssl_refuses_wrong_purpose(tls_set: Path, name: str, purpose: str) -> None:
    r = _openssl("verify", "-CAfile", str(tls_set / "ca.pem"), "-purpose", purpose, str(tls_set / name))
    assert r.returncode != 0


def test_openssl_refuses_another_ca(tls_set: Path, tmp_path: Path) -> None:
    from qdrantsec.cli.app import main

    assert main(["certs", "generate", "--out", str(tmp_path / "o")]) == 0
    r = _openssl("verify", "-CAfile", str(tmp_path / "o" / "ca.pem"), str(tls_set / "server.pem"))
    assert r.returncode != 0


def test_openssl_text_shows_sans_and_ekus(tls_set: Path) -> None:
    text = _openssl("x509", "-noout", "-text", "-in", str(tls_set / "peer-qdrant-1.pem")).stdout
    assert ("DNS:qdrant-1.qdrant-headless, DNS:localhost, IP Address:127.0.0.1, "
            "IP Address:0:0:0:0:0:0:0:1") in text
    assert "TLS Web Server Authentication, TLS Web Client Authentication" in text
    assert "CA:FALSE" in text and "Digital Signature" in text
    assert "Subject Key Identifier" in text and "Authority Key Identifier" in text
    ca = _openssl("x509", "-noout", "-text", "-in", str(tls_set / "ca.pem")).stdout
    assert "CA:TRUE, pathlen:0" in ca and "Certificate Sign, CRL Sign" in ca
    client = _openssl("x509", "-noout", "-text", "-in", str(tls_set / "client-app.pem")).stdout
    assert "TLS Web Client Authentication" in client and "Server Authentication" not in client


def test_openssl_reads_keys_as_pkcs8(tls_set: Path) -> None:
    r = _openssl("pkey", "-in", str(tls_set / "server-key.pem"), "-noout")
    assert r.returncode == 0, r.stderr
    # the key belongs to the certificate
    cert_pub = _openssl("x509", "-noout", "-pubkey", "-in", str(tls_set / "server.pem")).stdout
    key_pub = _openssl("pkey", "-pubout", "-in", str(tls_set / "server-key.pem")).stdout
    assert cert_pub == key_pub
