from pathlib import Path

from qdrantsec.lint.model import Severity
from qdrantsec.lint.rules.qs307_cert_san_mismatch import CertSanMismatch

from .helpers import at, compose_target, config_target, one, run, write_cert

RULE = CertSanMismatch()


def target(cert: Path, key: Path, host: str = "0.0.0.0", **extra: object) -> object:
    text = f'service:\n  host: "{host}"\n  enable_tls: true\ntls:\n  cert: {cert}\n  key: {key}\n'
    return config_target(text, extra=extra)


def test_host_ip_not_covered_is_medium(tmp_path: Path) -> None:
    cert, key = write_cert(tmp_path, dns=("localhost",), ips=("127.0.0.1",))
    f = one(RULE, target(cert, key, host="10.0.0.5"))
    assert f.severity is Severity.MEDIUM
    assert at(f) == (5, 9)
    assert "10.0.0.5" in f.message


def test_peer_uri_not_covered_is_high(tmp_path: Path) -> None:
    cert, key = write_cert(tmp_path, dns=("*.qdrant.svc",), ips=())
    found = run(RULE, target(cert, key, peer_uris=["https://node1.qdrant.svc:6335", "https://10.1.1.1:6335"]))
    assert [f.severity for f in found] == [Severity.HIGH]
    assert "10.1.1.1" in found[0].message


def test_no_san_extension(tmp_path: Path) -> None:
    cert, key = write_cert(tmp_path, san=False)
    assert "no subjectAltName" in one(RULE, target(cert, key)).message


def test_covered_and_wildcard_host_pass(tmp_path: Path) -> None:
    cert, key = write_cert(tmp_path, dns=("qdrant.internal",), ips=("10.0.0.5",))
    assert run(RULE, target(cert, key, host="10.0.0.5")) == []
    assert run(RULE, target(cert, key, host="0.0.0.0")) == []


def test_peer_uris_from_the_compose_command(tmp_path: Path) -> None:
    (tmp_path / "tls").mkdir()
    write_cert(tmp_path / "tls", name="cert", dns=("node1.qdrant",), ips=())
    (tmp_path / "tls" / "key.pem").write_bytes((tmp_path / "tls" / "cert.key").read_bytes())
    text = ("services:\n  qdrant:\n    image: qdrant/qdrant\n    volumes:\n      - ./tls:/qdrant/tls\n"
            "    environment:\n      - QDRANT__SERVICE__ENABLE_TLS=true\n"
            "    command: ./qdrant --uri 'https://node1.qdrant:6335' --bootstrap https://node0.qdrant:6335\n")
    [f] = run(RULE, compose_target(text, file=str(tmp_path / "docker-compose.yml")))
    assert "node0.qdrant" in f.message
    assert f.severity is Severity.HIGH
