from qdrantsec.lint.model import Severity
from qdrantsec.lint.rules.qs302_tls_incomplete import TlsIncomplete

from .helpers import at, config_target, one, run

RULE = TlsIncomplete()


def test_tls_null() -> None:
    f = one(RULE, config_target("service:\n  enable_tls: true\ntls: null\n"))
    assert f.severity is Severity.HIGH
    assert at(f) == (3, 6)


def test_key_null_in_p2p_cluster() -> None:
    text = "cluster:\n  enabled: true\n  p2p:\n    enable_tls: true\ntls:\n  cert: /c.pem\n  key: null\n"
    f = one(RULE, config_target(text))
    assert at(f) == (7, 8)
    assert "tls.key" in f.message


def test_defaults_are_low() -> None:
    f = one(RULE, config_target("service:\n  enable_tls: true\n"))
    assert f.severity is Severity.LOW


def test_complete_or_off_passes() -> None:
    assert run(RULE, config_target("service:\n  enable_tls: true\ntls:\n  cert: a\n  key: b\n")) == []
    assert run(RULE, config_target("tls: null\n")) == []
    # p2p TLS without cluster mode does not load the files
    assert run(RULE, config_target("cluster:\n  p2p:\n    enable_tls: true\ntls: null\n")) == []
