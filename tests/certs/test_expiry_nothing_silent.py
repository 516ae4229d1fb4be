"""`certs check-expiry DIR` does not pass over a certificate file it cannot read (issue 8):
in a directory, key files (and other PEM blocks) are skipped, but an empty file, garbage or a
cut-off certificate under a certificate name is an error, reported next to what was found."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest

from qdrantsec.exit_codes import ExitCode
from tests.certs.factory import NOW, make


@pytest.fixture
def tls_dir(tmp_path: Path) -> Path:
    d = tmp_path / "tls"
    d.mkdir()
    root = make("root", ca=True, pathlen=0, start=NOW - dt.timedelta(days=1), days=3650)
    root.write(d / "ca.pem")
    (d / "ca-key.pem").write_bytes(b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
    return d


def test_key_files_are_skipped(cli: Callable, tls_dir: Path) -> None:
    r = cli("certs", "check-expiry", tls_dir)
    assert r.code == 0, r.err
    assert r.out.count("\n") == 1 and "ca.pem" in r.out


@pytest.mark.parametrize(("name", "content", "holds"), [
    ("server.pem", b"", ""),
    ("server.pem", b"not a certificate\n", ""),
    ("server.crt", b"-----BEGIN CERTIFICATE-----\nMIIB\n", ""),  # cut off: no END line
    ("bundle.pem", b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"
                   b"-----BEGIN CERTIFICATE-----\nMIIB", " (it holds: PRIVATE KEY)"),
])
def test_unreadable_certificate_files_in_a_directory_are_errors(
    cli: Callable, tls_dir: Path, name: str, content: bytes, holds: str
) -> None:
    (tls_dir / name).write_bytes(content)
    r = cli("certs", "check-expiry", tls_dir)
    assert r.code == ExitCode.USAGE
    assert r.err == f"qdrantsec: error: {tls_dir / name} holds no certificate{holds}\n"
    assert "ca.pem" in r.out  # what could be read is still listed


def test_a_killed_generate_staging_directory_is_not_checked(cli: Callable, tls_dir: Path) -> None:
    # half a set left by a killed `certs generate` (fallback mode) is not a certificate in use
    staging = tls_dir / ".qdrantsec-4242-abcd"
    staging.mkdir()
    (staging / "server.pem").write_bytes(b"-----BEGIN CERTIFICATE-----\nMIIB\n")
    r = cli("certs", "check-expiry", tls_dir)
    assert r.code == 0, r.err
    assert ".qdrantsec-" not in r.out and "ca.pem" in r.out
