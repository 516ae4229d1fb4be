import datetime as dt
from pathlib import Path

from qdrantsec.lint.model import Severity
from qdrantsec.lint.rules.qs306_cert_expiry import CertExpiry

from .helpers import at, config_target, one, run, write_cert

RULE = CertExpiry()
NOW = dt.datetime(2030, 6, 1, tzinfo=dt.timezone.utc)


def target(cert: Path, key: Path, **extra: object) -> object:
    text = f"service:\n  enable_tls: true\ntls:\n  cert: {cert}\n  key: {key}\n"
    return config_target(text, extra={"now": NOW, **extra})


def test_expired_is_high(tmp_path: Path) -> None:
    cert, key = write_cert(tmp_path, not_before=NOW - dt.timedelta(days=100), days=10)
    f = one(RULE, target(cert, key))
    assert f.severity is Severity.HIGH
    assert at(f) == (4, 9)
    assert "expired" in f.message


def test_expiring_soon_uses_threshold(tmp_path: Path) -> None:
    cert, key = write_cert(tmp_path, not_before=NOW - dt.timedelta(days=80), days=90)
    f = one(RULE, target(cert, key))
    assert f.severity is Severity.MEDIUM
    assert "expires in" in f.message
    assert run(RULE, target(cert, key, cert_expiry_days=5)) == []


def test_not_yet_valid(tmp_path: Path) -> None:
    cert, key = write_cert(tmp_path, not_before=NOW + dt.timedelta(days=2))
    assert one(RULE, target(cert, key)).severity is Severity.HIGH


def test_valid_passes(tmp_path: Path) -> None:
    cert, key = write_cert(tmp_path, not_before=NOW - dt.timedelta(days=1), days=365)
    assert run(RULE, target(cert, key)) == []
