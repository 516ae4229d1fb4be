from pathlib import Path

from qdrantsec.lint.model import Severity
from qdrantsec.lint.rules.qs305_tls_file_problem import TlsFileProblem

from .helpers import at, compose_target, config_target, one, run, write_cert

RULE = TlsFileProblem()


def tls_config(cert: str, key: str) -> str:
    return f"service:\n  enable_tls: true\ntls:\n  cert: {cert}\n  key: {key}\n"


def test_good_pair_passes(tmp_path: Path) -> None:
    cert, key = write_cert(tmp_path)
    assert run(RULE, config_target(tls_config(str(cert), str(key)))) == []


def test_relative_paths_resolve_from_parent_of_config_dir(tmp_path: Path) -> None:
    (tmp_path / "config").mkdir()
    (tmp_path / "tls").mkdir()
    write_cert(tmp_path / "tls")
    file = str(tmp_path / "config" / "config.yaml")
    assert run(RULE, config_target(tls_config("./tls/cert.pem", "./tls/cert.key"), file=file)) == []
    [f] = run(RULE, config_target(tls_config("./tls/cert.pem", "./tls/other.key"), file=file))
    assert f.severity is Severity.MEDIUM and "does not exist" in f.message
    assert at(f) == (5, 8)


def test_mismatched_key(tmp_path: Path) -> None:
    cert, _ = write_cert(tmp_path, name="a")
    _, key = write_cert(tmp_path, name="b")
    f = one(RULE, config_target(tls_config(str(cert), str(key))))
    assert f.severity is Severity.HIGH
    assert at(f) == (5, 8)
    assert "does not match" in f.message


def test_encrypted_and_swapped_files(tmp_path: Path) -> None:
    _, key = write_cert(tmp_path)
    enc = tmp_path / "enc.key"
    enc.write_text("-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n")
    found = run(RULE, config_target(tls_config(str(key), str(enc))))
    messages = " | ".join(f.message for f in found)
    assert "no PEM certificate" in messages and "encrypted" in messages
    assert [at(f) for f in found] == [(4, 9), (5, 8)]


def test_cert_before_key(tmp_path: Path) -> None:
    cert, key = write_cert(tmp_path)
    combined = tmp_path / "combined.pem"
    combined.write_bytes(cert.read_bytes() + key.read_bytes())
    f = one(RULE, config_target(tls_config(str(cert), str(combined))))
    assert "before the private key" in f.message


def test_absolute_missing_path_is_skipped() -> None:
    assert run(RULE, config_target(tls_config("/nonexistent/qdrantsec/c.pem", "/nonexistent/k.pem"))) == []


def test_compose_bind_mount(tmp_path: Path) -> None:
    (tmp_path / "certs").mkdir()
    write_cert(tmp_path / "certs", name="cert")
    _, other = write_cert(tmp_path / "certs", name="key")
    (tmp_path / "certs" / "key.pem").write_bytes(other.read_bytes())
    text = ("services:\n  qdrant:\n    image: qdrant/qdrant\n    volumes:\n      - ./certs:/qdrant/tls:ro\n"
            "    environment:\n      - QDRANT__SERVICE__ENABLE_TLS=true\n")
    f = one(RULE, compose_target(text, file=str(tmp_path / "docker-compose.yml")))
    assert "does not match" in f.message


def test_reference_with_default_path_is_checked(tmp_path: Path) -> None:
    cert, _ = write_cert(tmp_path, name="a")
    _, key = write_cert(tmp_path, name="b")
    env = {"QDRANT__SERVICE__ENABLE_TLS": "true", "QDRANT__TLS__CERT": f"${{CERT:-{cert}}}",
           "QDRANT__TLS__KEY": str(key)}
    f = one(RULE, config_target("", env=env))
    assert "does not match" in f.message
