"""`certs verify`: chain, validity, EKU and SAN match, with exit codes 0 / 1 / 2."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from qdrantsec.certs.verify import verify
from qdrantsec.exit_codes import ExitCode
from tests.certs.factory import NOW, make


def test_generated_set_is_valid_for_its_purposes(cli: Callable, tls_set: Path) -> None:
    ca = tls_set / "ca.pem"
    r = cli("certs", "verify", "--ca", ca, tls_set / "server.pem", "--host", "localhost", "--host", "::1")
    assert r.code == 0, r.out
    assert r.out.startswith("valid:") and "host localhost: ok" in r.out
    for host in ("qdrant-0.qdrant-headless", "127.0.0.1", "localhost"):
        r = cli("certs", "verify", "--ca", ca, tls_set / "peer-qdrant-0.pem", "--purpose", "peer",
                "--host", host)
        assert r.code == 0, r.out
    assert cli("certs", "verify", "--ca", ca, tls_set / "client-app.pem", "--purpose", "client").code == 0


@pytest.mark.parametrize(("name", "purpose", "reason"), [
    ("server.pem", "client", "needs clientAuth"),
    ("server.pem", "peer", "needs serverAuth and clientAuth"),
    ("client-app.pem", "server", "needs serverAuth"),
])
def test_wrong_purpose_is_invalid(cli: Callable, tls_set: Path, name: str, purpose: str, reason: str) -> None:
    r = cli("certs", "verify", "--ca", tls_set / "ca.pem", tls_set / name, "--purpose", purpose)
    assert r.code == ExitCode.FAILED
    assert r.out.startswith("INVALID") and reason in r.out


def test_host_mismatch_and_ip_vs_dns(cli: Callable, tls_set: Path) -> None:
    r = cli("certs", "verify", "--ca", tls_set / "ca.pem", tls_set / "peer-qdrant-0.pem", "--purpose", "peer",
            "--host", "qdrant-1.qdrant-headless", "--format", "json")
    assert r.code == ExitCode.FAILED
    data = json.loads(r.out)
    assert data["valid"] is False and data["hosts"] == [{"host": "qdrant-1.qdrant-headless", "ok": False}]
    assert "the CN is ignored" in data["problems"][0]
    r = cli("certs", "verify", "--ca", tls_set / "ca.pem", tls_set / "server.pem", "--host", "10.9.9.9")
    assert r.code == ExitCode.FAILED


def test_other_ca_is_invalid(cli: Callable, tls_set: Path, tmp_path: Path) -> None:
    assert cli("certs", "generate", "--out", tmp_path / "o").code == 0
    r = cli("certs", "verify", "--ca", tmp_path / "o" / "ca.pem", tls_set / "server.pem")
    assert r.code == ExitCode.FAILED and "not issued by a CA in the CA file" in r.out


def test_unreadable_inputs_exit_2(cli: Callable, tls_set: Path, tmp_path: Path) -> None:
    r = cli("certs", "verify", "--ca", tmp_path / "missing.pem", tls_set / "server.pem")
    assert r.code == ExitCode.USAGE and "CA file not found" in r.err
    r = cli("certs", "verify", "--ca", tls_set / "ca.pem", tls_set / "server-key.pem")
    assert r.code == ExitCode.USAGE and "holds no certificate (it holds: PRIVATE KEY)" in r.err
    r = cli("certs", "verify", "--ca", tls_set / "ca.pem", tls_set / "server.pem", "--host", "bad host")
    assert r.code == ExitCode.USAGE
    r = cli("certs", "verify", "--ca", tls_set / "ca.pem", tls_set / "server.pem", "--purpose", "admin")
    assert r.code == ExitCode.USAGE and "unknown purpose" in r.err


def test_wildcard_san(tmp_path: Path) -> None:
    root = make("root", ca=True, pathlen=0)
    leaf = make("w", issuer=root, sans=["*.qdrant.example.com"])
    ca, cert = root.write(tmp_path / "ca.pem"), leaf.write(tmp_path / "leaf.pem")
    assert verify(str(cert), str(ca), hosts=["node1.qdrant.example.com"]).valid
    assert not verify(str(cert), str(ca), hosts=["qdrant.example.com"]).valid
    assert not verify(str(cert), str(ca), hosts=["a.node1.qdrant.example.com"]).valid


def test_expired_and_not_yet_valid(tmp_path: Path) -> None:
    root = make("root", ca=True, pathlen=0, days=3650, start=NOW - dt.timedelta(days=100))
    ca = root.write(tmp_path / "ca.pem")
    old = make("old", issuer=root, sans=["localhost"], start=NOW - dt.timedelta(days=40), days=30)
    r = verify(str(old.write(tmp_path / "old.pem")), str(ca))
    assert not r.valid and "expired on" in r.problems[0]
    future = make("future", issuer=root, sans=["localhost"], start=NOW + dt.timedelta(days=2))
    r = verify(str(future.write(tmp_path / "f.pem")), str(ca))
    assert not r.valid and "not valid before" in r.problems[0]


def test_expired_ca(tmp_path: Path) -> None:
    root = make("root", ca=True, pathlen=0, start=NOW - dt.timedelta(days=40), days=30)
    leaf = make("leaf", issuer=root, sans=["localhost"], start=NOW - dt.timedelta(days=1), days=5)
    r = verify(str(leaf.write(tmp_path / "l.pem")), str(root.write(tmp_path / "ca.pem")))
    assert any("the CA CN=root expired" in p for p in r.problems)


def test_intermediate_chain(tmp_path: Path) -> None:
    root = make("root", ca=True, pathlen=1)
    inter = make("inter", issuer=root, ca=True, pathlen=0)
    leaf = make("leaf", issuer=inter, sans=["qdrant.lan"])
    ca = root.write(tmp_path / "ca.pem")
    good = leaf.write(tmp_path / "chain.pem", inter)
    r = verify(str(good), str(ca), hosts=["qdrant.lan"])
    assert r.valid, r.problems
    assert r.chain == ["CN=leaf", "CN=inter", "CN=root (trust anchor)"]
    # without the intermediate the chain cannot be built
    r = verify(str(leaf.write(tmp_path / "leaf.pem")), str(ca))
    assert not r.valid and "not issued by a CA" in r.problems[0]


def test_intermediate_must_be_a_ca_that_may_sign(tmp_path: Path) -> None:
    root = make("root", ca=True, pathlen=1)
    not_ca = make("fake", issuer=root, ca=False, eku=None, key_cert_sign=True)
    leaf = make("leaf", issuer=not_ca, sans=["x.lan"])
    r = verify(str(leaf.write(tmp_path / "c.pem", not_ca)), str(root.write(tmp_path / "ca.pem")))
    assert any("is not a CA" in p for p in r.problems)


def test_pathlen_respected(tmp_path: Path) -> None:
    root = make("root", ca=True, pathlen=0)
    i1 = make("i1", issuer=root, ca=True, pathlen=0)
    leaf = make("leaf", issuer=i1, sans=["x.lan"])
    # root says pathlen 0 but anchors are not constrained (webpki); i1 below the root is fine,
    # a second intermediate under i1 (pathlen 0) is not
    i2 = make("i2", issuer=i1, ca=True, pathlen=0)
    leaf2 = make("leaf2", issuer=i2, sans=["x.lan"])
    ca = root.write(tmp_path / "ca.pem")
    assert verify(str(leaf.write(tmp_path / "a.pem", i1)), str(ca)).valid
    r = verify(str(leaf2.write(tmp_path / "b.pem", i2, i1)), str(ca))
    assert any("allows 0 intermediates below it, found 1" in p for p in r.problems)


def test_ca_as_leaf_and_missing_eku(tmp_path: Path) -> None:
    root = make("root", ca=True, pathlen=0)
    ca = root.write(tmp_path / "ca.pem")
    r = verify(str(ca), str(ca))
    assert any("is a CA certificate" in p for p in r.problems)
    no_eku = make("n", issuer=root, eku=None, sans=["n.lan"])
    assert verify(str(no_eku.write(tmp_path / "n.pem")), str(ca), purpose="peer").valid  # no EKU: any purpose
    any_eku = make("a", issuer=root, eku="any", sans=["a.lan"])
    r = verify(str(any_eku.write(tmp_path / "a.pem")), str(ca), purpose="server")
    assert not r.valid and "anyExtendedKeyUsage" in r.problems[0]  # webpki does not honour anyEKU


def test_no_san_at_all(tmp_path: Path) -> None:
    root = make("root", ca=True, pathlen=0)
    leaf = make("qdrant.lan", issuer=root)
    ca = root.write(tmp_path / "ca.pem")
    r = verify(str(leaf.write(tmp_path / "l.pem")), str(ca), hosts=["qdrant.lan"])
    assert not r.valid and "SANs: none; the CN is ignored" in r.problems[0]
