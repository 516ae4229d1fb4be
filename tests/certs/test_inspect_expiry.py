"""`certs inspect` (files and https://) and `certs check-expiry`."""

from __future__ import annotations

import datetime as dt
import json
import socket
from collections.abc import Callable
from pathlib import Path

from qdrantsec.exit_codes import ExitCode
from tests.certs.factory import NOW, make


def test_inspect_file_text(cli: Callable, tls_set: Path) -> None:
    r = cli("certs", "inspect", tls_set / "peer-qdrant-0.pem")
    assert r.code == 0, r.err
    for text in ("subject:    CN=qdrant-0.qdrant-headless", "DNS:qdrant-0.qdrant-headless, DNS:localhost",
                 "key:        ECDSA P-256 (256 bits)", "EKU:        serverAuth, clientAuth", "days left",
                 "SHA-256:", "CA:         no"):
        assert text in r.out


def test_inspect_json_and_chain_order(cli: Callable, tls_set: Path, tmp_path: Path) -> None:
    good = tmp_path / "good.pem"
    good.write_bytes((tls_set / "server.pem").read_bytes() + (tls_set / "ca.pem").read_bytes())
    r = cli("certs", "inspect", good, "--format", "json")
    assert r.code == 0
    data = json.loads(r.out)
    assert [c["is_ca"] for c in data["certificates"]] == [False, True]
    assert data["chain"] == {"checked": True, "ok": True, "problems": []}
    assert data["certificates"][1]["path_length"] == 0
    assert data["certificates"][0]["sans"] == ["DNS:localhost", "IP:127.0.0.1", "IP:::1"]
    bad = tmp_path / "bad.pem"
    bad.write_bytes((tls_set / "ca.pem").read_bytes() + (tls_set / "server.pem").read_bytes())
    r = cli("certs", "inspect", bad)
    assert r.code == ExitCode.FAILED
    assert "chain order: WRONG" in r.out and "the leaf must come first" in r.out


def test_inspect_der_and_errors(cli: Callable, tls_set: Path, tmp_path: Path) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    der = tmp_path / "c.der"
    ca = x509.load_pem_x509_certificate((tls_set / "ca.pem").read_bytes())
    der.write_bytes(ca.public_bytes(Encoding.DER))
    assert cli("certs", "inspect", der).code == 0
    r = cli("certs", "inspect", tls_set / "ca-key.pem")
    assert r.code == ExitCode.USAGE and "holds no certificate" in r.err
    junk = tmp_path / "junk.pem"
    junk.write_text("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
    r = cli("certs", "inspect", junk)
    assert r.code == ExitCode.USAGE and "malformed" in r.err
    assert cli("certs", "inspect", tmp_path / "nope.pem").code == ExitCode.USAGE


def test_inspect_https_fetches_chain_without_verifying(cli: Callable, tls_set: Path, tmp_path: Path,
                                                       https_server: Callable) -> None:
    chain = tmp_path / "chain.pem"
    chain.write_bytes((tls_set / "server.pem").read_bytes() + (tls_set / "ca.pem").read_bytes())
    srv = https_server(chain, tls_set / "server-key.pem")
    r = cli("certs", "inspect", srv.url, "--format", "json")
    assert r.code == 0, r.err
    data = json.loads(r.out)
    assert data["source"] == srv.url
    assert data["certificates"][0]["subject"] == "CN=localhost"
    assert len(data["certificates"]) == 2 and data["chain"]["ok"]


def test_inspect_https_network_errors(cli: Callable) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    r = cli("certs", "inspect", f"https://127.0.0.1:{port}", "--timeout", "2")
    assert r.code == ExitCode.NETWORK and "cannot connect to 127.0.0.1" in r.err
    # a listener that never answers the handshake: timeout
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        r = cli("certs", "inspect", f"https://127.0.0.1:{s.getsockname()[1]}", "--timeout", "0.3")
    assert r.code == ExitCode.NETWORK and "did not answer" in r.err
    r = cli("certs", "inspect", "https://")
    assert r.code == ExitCode.USAGE


def test_check_expiry(cli: Callable, tls_set: Path) -> None:
    r = cli("certs", "check-expiry", tls_set)
    assert r.code == 0, r.err
    assert r.out.count("\n") == 7  # ca, server, 4 peers, client; key files skipped
    assert "0 of 7" in r.err
    r = cli("certs", "check-expiry", "--within", "400d", tls_set / "server.pem", "--format", "json")
    assert r.code == ExitCode.FAILED
    data = json.loads(r.out)
    assert data["expiring"] == 1 and data["certificates"][0]["status"] == "expiring"


def test_check_expiry_expired_and_errors(cli: Callable, tmp_path: Path) -> None:
    root = make("root", ca=True, pathlen=0, start=NOW - dt.timedelta(days=10), days=3650)
    old = make("old", issuer=root, start=NOW - dt.timedelta(days=10), days=5)
    d = tmp_path / "d"
    d.mkdir()
    root.write(d / "ca.crt")
    old.write(d / "old.pem")
    r = cli("certs", "check-expiry", d)
    assert r.code == ExitCode.FAILED
    assert "EXPIRED" in r.out and "old.pem" in r.out
    r = cli("certs", "check-expiry", d, tmp_path / "missing.pem")
    assert r.code == ExitCode.USAGE and "not found" in r.err
    assert "EXPIRED" in r.out  # errors do not hide what was found
    empty = tmp_path / "empty"
    empty.mkdir()
    r = cli("certs", "check-expiry", empty)
    assert r.code == ExitCode.USAGE and "no certificates found" in r.err
    r = cli("certs", "check-expiry", "--within", "soon", d)
    assert r.code == ExitCode.USAGE and "bad duration" in r.err


def test_parse_duration() -> None:
    from qdrantsec.certs.expiry import parse_duration

    assert parse_duration("30d") == dt.timedelta(days=30)
    assert parse_duration("12h") == dt.timedelta(hours=12)
    assert parse_duration("2w") == dt.timedelta(days=14)
    assert parse_duration("7") == dt.timedelta(days=7)
    assert parse_duration("0") == dt.timedelta(0)


def test_whole_days_round_toward_zero() -> None:
    import datetime as dt

    from qdrantsec.certs.expiry import whole_days

    assert whole_days(dt.timedelta(hours=-30)) == -1
    assert whole_days(dt.timedelta(hours=30)) == 1
    assert whole_days(dt.timedelta(hours=-5)) == 0
