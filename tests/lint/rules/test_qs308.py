from qdrantsec.lint.model import Severity
from qdrantsec.lint.rules.qs308_cert_reload_disabled import CertReloadDisabled

from .helpers import at, config_target, one, run

RULE = CertReloadDisabled()


def test_zero_ttl() -> None:
    f = one(RULE, config_target("service:\n  enable_tls: true\ntls:\n  cert_ttl: 0\n"))
    assert f.severity is Severity.LOW
    assert at(f) == (4, 13)


def test_null_ttl() -> None:
    assert one(RULE, config_target("service:\n  enable_tls: true\ntls:\n  cert_ttl: null\n"))


def test_default_or_tls_off_passes() -> None:
    assert run(RULE, config_target("service:\n  enable_tls: true\n")) == []
    assert run(RULE, config_target("tls:\n  cert_ttl: 0\n")) == []
