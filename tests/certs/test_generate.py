"""`certs generate`: the files, their modes, their contents, and what happens on bad input."""

from __future__ import annotations

import json
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from cryptography.x509.oid import ExtendedKeyUsageOID as EKU

from qdrantsec.certs import bundle
from qdrantsec.exit_codes import ExitCode


def _cert(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def _ext(cert: x509.Certificate, cls: type) -> object:
    return cert.extensions.get_extension_for_class(cls)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _listing(d: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(d.iterdir())} if d.exists() else {}


def test_default_set_files_and_modes(cli: Callable, tmp_path: Path) -> None:
    out = tmp_path / "tls"
    r = cli("certs", "generate", "--out", out)
    assert r.code == 0, r.err
    assert sorted(p.name for p in out.iterdir()) == ["ca-key.pem", "ca.pem", "server-key.pem", "server.pem"]
    assert _mode(out) == 0o700
    assert _mode(out / "ca-key.pem") == 0o400
    assert _mode(out / "server-key.pem") == 0o600
    assert _mode(out / "ca.pem") == 0o644
    assert (out / "server-key.pem").read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    # what it wrote, SANs, expiry, the config in both forms, kubectl, the reload warning
    for text in ("server.pem", "DNS:localhost, IP:127.0.0.1, IP:::1", "expires", "enable_tls: true",
                 "ca_cert:", "QDRANT__SERVICE__ENABLE_TLS=true", "QDRANT__TLS__CA_CERT=",
                 "kubectl create secret generic qdrant-tls"):
        assert text in r.out
    assert "only at start" in r.err and "restart" in r.err


def test_ca_and_leaf_extensions(tls_set: Path) -> None:
    ca = _cert(tls_set / "ca.pem")
    bc = _ext(ca, x509.BasicConstraints).value
    assert bc.ca and bc.path_length == 0 and _ext(ca, x509.BasicConstraints).critical
    ku = _ext(ca, x509.KeyUsage).value
    assert ku.key_cert_sign and ku.crl_sign and not ku.digital_signature
    ca_ski = _ext(ca, x509.SubjectKeyIdentifier).value.digest
    assert (ca.not_valid_after_utc - ca.not_valid_before_utc).days >= 3650
    expected = {"server.pem": [EKU.SERVER_AUTH], "peer-qdrant-0.pem": [EKU.SERVER_AUTH, EKU.CLIENT_AUTH],
                "client-app.pem": [EKU.CLIENT_AUTH]}
    for name, eku in expected.items():
        leaf = _cert(tls_set / name)
        assert not _ext(leaf, x509.BasicConstraints).value.ca
        lku = _ext(leaf, x509.KeyUsage).value
        assert lku.digital_signature and not lku.key_encipherment and not lku.key_cert_sign
        assert list(_ext(leaf, x509.ExtendedKeyUsage).value) == eku
        assert _ext(leaf, x509.AuthorityKeyIdentifier).value.key_identifier == ca_ski
        assert _ext(leaf, x509.SubjectKeyIdentifier).value.digest
        assert 0 < leaf.serial_number < 2**159
        life = leaf.not_valid_after_utc - leaf.not_valid_before_utc
        assert 397 * 86400 < life.total_seconds() <= 397 * 86400 + 600  # not-before 5 min back
        assert leaf.issuer == ca.subject


def test_peer_sans_include_own_names_and_hosts(tls_set: Path) -> None:
    san = _ext(_cert(tls_set / "peer-qdrant-2.pem"), x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["qdrant-2.qdrant-headless", "localhost"]
    assert [str(i) for i in san.get_values_for_type(x509.IPAddress)] == ["127.0.0.1", "::1"]
    node = _ext(_cert(tls_set / "peer-node-a.pem"), x509.SubjectAlternativeName).value
    assert "node-a.lan" in node.get_values_for_type(x509.DNSName)
    assert "127.0.0.1" in [str(i) for i in node.get_values_for_type(x509.IPAddress)]
    client = _cert(tls_set / "client-app.pem")
    assert client.subject.rfc4514_string() == "CN=app"


def test_hosts_sorted_into_san_types(cli: Callable, tmp_path: Path) -> None:
    r = cli("certs", "generate", "--out", tmp_path / "t", "--host", "Qdrant.Example.com",
            "--host", "10.0.0.7", "--host", "[fd00::7]", "--host", "*.svc.example.com", "--format", "json")
    assert r.code == 0, r.err
    data = json.loads(r.out)
    server = next(c for c in data["certificates"] if c["profile"] == "server")
    assert server["sans"] == ["DNS:qdrant.example.com", "DNS:*.svc.example.com", "IP:10.0.0.7", "IP:fd00::7"]
    assert data["ca"]["origin"] == "new"
    assert "enable_tls: true" in data["config"]["yaml"]["single_node"]
    assert data["config"]["yaml"]["cluster_peer"] is None


def test_peer_template_and_k8s_output(cli: Callable, tmp_path: Path) -> None:
    r = cli("certs", "generate", "--out", tmp_path / "t", "--peers", "2",
            "--peer-template", "db-{i}.db-headless,db-{i}.db-headless.prod.svc.cluster.local",
            "--tls-dir", "/qdrant/tls")
    assert r.code == 0, r.err
    san = _ext(_cert(tmp_path / "t" / "peer-db-1.pem"), x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName)[:2] == [
        "db-1.db-headless", "db-1.db-headless.prod.svc.cluster.local"]
    assert "QDRANT__CLUSTER__P2P__ENABLE_TLS=true" in r.out
    assert "p2p:\n    enable_tls: true" in r.out
    assert "cert: /qdrant/tls/peer-db-0.pem" in r.out
    assert "QDRANT__TLS__CERT=/qdrant/tls/peer-$(POD_NAME).pem" in r.out
    assert "kubectl create secret generic qdrant-peer-tls" in r.out
    assert "verify_https_client_certificate" not in r.out  # no --client: no mTLS for REST


def test_client_enables_verify_https_client_certificate(cli: Callable, tmp_path: Path) -> None:
    r = cli("certs", "generate", "--out", tmp_path / "t", "--client", "app")
    assert "verify_https_client_certificate: true" in r.out
    assert "QDRANT__SERVICE__VERIFY_HTTPS_CLIENT_CERTIFICATE=true" in r.out


@pytest.mark.parametrize(("key_type", "cls", "bits"), [
    ("ecdsa-p256", ec.EllipticCurvePrivateKey, 256), ("ecdsa-p384", ec.EllipticCurvePrivateKey, 384),
    ("rsa-2048", rsa.RSAPrivateKey, 2048), ("rsa-3072", rsa.RSAPrivateKey, 3072),
    ("rsa-4096", rsa.RSAPrivateKey, 4096), ("ed25519", ed25519.Ed25519PrivateKey, None),
])
def test_each_key_type(cli: Callable, tmp_path: Path, key_type: str, cls: type, bits: int | None) -> None:
    out = tmp_path / "t"
    assert cli("certs", "generate", "--out", out, "--key-type", key_type).code == 0
    for name in ("ca-key.pem", "server-key.pem"):
        key = load_pem_private_key((out / name).read_bytes(), None)
        assert isinstance(key, cls)
        if bits:
            assert key.key_size == bits
    ku = _ext(_cert(out / "server.pem"), x509.KeyUsage).value
    assert ku.key_encipherment == key_type.startswith("rsa")


def test_no_overwrite_without_force(cli: Callable, tmp_path: Path) -> None:
    out = tmp_path / "t"
    assert cli("certs", "generate", "--out", out).code == 0
    before = _listing(out)
    r = cli("certs", "generate", "--out", out, "--host", "other.example")
    assert r.code == ExitCode.USAGE
    assert "server.pem already exists" in r.err and "nothing was written" in r.err and "--force" in r.err
    assert r.err.count("\n") == 2  # one error line + one hint line
    assert _listing(out) == before


def test_force_keeps_backups_and_reuses_ca(cli: Callable, tmp_path: Path) -> None:
    out = tmp_path / "t"
    assert cli("certs", "generate", "--out", out).code == 0
    old_server, old_ca = (out / "server.pem").read_bytes(), (out / "ca.pem").read_bytes()
    r = cli("certs", "generate", "--out", out, "--host", "other.example", "--force")
    assert r.code == 0, r.err
    assert (out / "server.pem.bak").read_bytes() == old_server
    assert _mode(out / "server-key.pem") == 0o600 and _mode(out / "server-key.pem.bak") == 0o600
    assert (out / "ca.pem").read_bytes() == old_ca  # the CA in DIR is reused, not replaced
    assert not (out / "ca.pem.bak").exists()
    assert "kept the previous file" in r.err
    assert _cert(out / "server.pem").issuer == _cert(out / "ca.pem").subject


def test_reuse_ca_in_dir_to_add_a_peer(cli: Callable, tmp_path: Path) -> None:
    out = tmp_path / "t"
    assert cli("certs", "generate", "--out", out).code == 0
    ca = (out / "ca.pem").read_bytes()
    r = cli("certs", "generate", "--out", out / "more", "--ca-cert", out / "ca.pem",
            "--ca-key", out / "ca-key.pem", "--peer", "qdrant-9.lan")
    assert r.code == 0, r.err
    assert (out / "more" / "ca.pem").read_bytes() == ca
    assert not (out / "more" / "ca-key.pem").exists()  # the CA key is not copied around
    assert _cert(out / "more" / "peer-qdrant-9.pem").issuer == _cert(out / "ca.pem").subject


def test_new_ca_requires_force_and_keeps_backup(cli: Callable, tmp_path: Path) -> None:
    out = tmp_path / "t"
    assert cli("certs", "generate", "--out", out).code == 0
    old = (out / "ca.pem").read_bytes()
    assert cli("certs", "generate", "--out", out, "--new-ca").code == ExitCode.USAGE
    assert (out / "ca.pem").read_bytes() == old
    assert cli("certs", "generate", "--out", out, "--new-ca", "--force").code == 0
    assert (out / "ca.pem").read_bytes() != old and (out / "ca.pem.bak").read_bytes() == old
    assert _mode(out / "ca-key.pem") == 0o400


@pytest.mark.parametrize(("args", "message"), [
    (["--key-type", "dsa"], "unknown key type 'dsa'"),
    (["--key-type", "ecdsa-p521"], "unknown key type"),
    (["--host", "bad host"], "contains whitespace"),
    (["--host", "under score!"], "contains whitespace"),
    (["--host", "a..b"], "empty label"),
    (["--host", "foo.*.example.com"], "wildcard must be the whole leftmost label"),
    (["--host", "*.com"], "at least two labels"),
    (["--host", "qdrant:6333"], "includes a port"),
    (["--host", "https://qdrant"], "looks like a URL"),
    (["--host", "1.2.3"], "all digits"),
    (["--host", "-x.example"], "hyphen"),
    (["--peer", "a.one", "--peer", "a.two"], "share the file name"),
    (["--peers", "2", "--peer-template", "qdrant"], "no {i}"),
    (["--client", "bad/name"], "client name"),
    (["--days", "0"], "--days must be between"),
    (["--days", "5000"], "--days must be between"),
    (["--ca-cert", "x.pem"], "--ca-cert and --ca-key go together"),
])
def test_bad_inputs_write_nothing(cli: Callable, tmp_path: Path, args: list[str], message: str) -> None:
    out = tmp_path / "t"
    r = cli("certs", "generate", "--out", out, *args)
    assert r.code == ExitCode.USAGE
    assert message in r.err
    assert r.err.startswith("qdrantsec: error: ")
    assert "Traceback" not in r.err
    assert not out.exists()


def _other_ca(cli: Callable, where: Path) -> Path:
    assert cli("certs", "generate", "--out", where).code == 0
    return where


def test_unreadable_or_mismatched_ca(cli: Callable, tmp_path: Path) -> None:
    a, b = _other_ca(cli, tmp_path / "a"), _other_ca(cli, tmp_path / "b")
    out = tmp_path / "out"
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a key\n")
    cases = [
        (["--ca-cert", a / "ca.pem", "--ca-key", b / "ca-key.pem"], "do not match"),
        (["--ca-cert", a / "ca.pem", "--ca-key", tmp_path / "missing.pem"], "CA key not found"),
        (["--ca-cert", a / "ca.pem", "--ca-key", tmp_path], "is a directory"),
        (["--ca-cert", a / "ca.pem", "--ca-key", garbage], "does not hold a usable private key"),
        (["--ca-cert", a / "server.pem", "--ca-key", a / "server-key.pem"], "not a CA certificate"),
        (["--ca-cert", a / "ca-key.pem", "--ca-key", a / "ca-key.pem"], "holds no certificate"),
    ]
    for args, message in cases:
        r = cli("certs", "generate", "--out", out, *args)
        assert r.code == ExitCode.USAGE, args
        assert message in r.err, (args, r.err)
        assert not out.exists()


def test_half_ca_in_dir_is_an_error(cli: Callable, tmp_path: Path) -> None:
    out = _other_ca(cli, tmp_path / "t")
    (out / "ca-key.pem").unlink()
    r = cli("certs", "generate", "--out", out, "--force")
    assert r.code == ExitCode.USAGE and "ca-key.pem does not" in r.err


def test_failed_write_midway_leaves_nothing(
    cli: Callable, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    import qdrantsec.certs.fileset as fileset

    real = fileset._write_file
    calls = {"n": 0}

    def flaky(path: Path, data: bytes, mode: int) -> None:
        calls["n"] += 1
        if calls["n"] == 4:
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        real(path, data, mode)

    monkeypatch.setattr(fileset, "_write_file", flaky)
    out = tmp_path / "t"
    r = cli("certs", "generate", "--out", out, "--peers", "1")
    assert r.code == ExitCode.USAGE
    assert r.err == (f"qdrantsec: error: cannot write the files in {out}: No space left on device; "
                     "nothing was changed\n")
    assert list(tmp_path.iterdir()) == []  # no directory, no staging left beside it

    # with --force over an existing set, the old files stay
    monkeypatch.setattr(fileset, "_write_file", real)
    assert cli("certs", "generate", "--out", out, "--peers", "1").code == 0
    before = _listing(out)
    calls["n"] = 0
    monkeypatch.setattr(fileset, "_write_file", flaky)
    r = cli("certs", "generate", "--out", out, "--peers", "1", "--force", "--host", "x.example")
    assert r.code == ExitCode.USAGE and "No space left on device; nothing was changed" in r.err
    assert _listing(out) == before and [p.name for p in tmp_path.iterdir()] == ["t"]


def test_plan_is_pure_until_write(tmp_path: Path) -> None:
    cs = bundle.plan(bundle.Request(out=tmp_path / "t", peer_count=1, clients=["c"]))
    assert not (tmp_path / "t").exists()
    assert [f.path.name for f in cs.files] == [
        "ca.pem", "ca-key.pem", "server.pem", "server-key.pem", "peer-qdrant-0.pem", "peer-qdrant-0-key.pem",
        "client-c.pem", "client-c-key.pem"]


def test_leaf_cannot_outlive_ca() -> None:
    from qdrantsec.certs import issue, keys
    from qdrantsec.certs.names import parse_names
    from qdrantsec.certs.profiles import SERVER
    from qdrantsec.errors import InputError

    kind = keys.key_type("ecdsa-p256")
    ca = issue.new_ca(kind, days=30)
    with pytest.raises(InputError, match="outlive the CA"):
        issue.issue(ca, SERVER, "localhost", parse_names(["localhost"]), kind, days=31)
    assert issue.issue(ca, SERVER, "localhost", parse_names(["localhost"]), kind, days=29).cert


def test_records_keep_keys_out_of_their_reprs(tmp_path: Path) -> None:
    from qdrantsec.certs import fileset

    cs = bundle.plan(bundle.Request(out=tmp_path / "t", peer_count=1, clients=["c"]))
    keys_pem = [f.data for f in cs.files if f.what.endswith("key")]
    assert len(keys_pem) == 4 and all(k.startswith(b"-----BEGIN PRIVATE KEY-----") for k in keys_pem)
    texts = [repr(cs), repr(cs.ca), *map(repr, cs.files), *(repr(i.leaf) for i in cs.leaves),
             *(repr(fileset.Entry(f.path.name, f.data, f.mode)) for f in cs.files)]
    for text in texts:
        assert "PRIVATE KEY" not in text and "BEGIN" not in text and "key=" not in text, text
    assert "server-key.pem" in repr(cs.files[3]) and "mode=384" in repr(cs.files[3])
