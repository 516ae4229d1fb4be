from qdrantsec.lint.model import Severity
from qdrantsec.lint.rules.qs304_ca_cert_missing import CaCertMissing

from .helpers import at, config_target, one, run

RULE = CaCertMissing()
P2P = "cluster:\n  enabled: true\n  p2p:\n    enable_tls: true\n"


def test_p2p_tls_with_null_ca() -> None:
    f = one(RULE, config_target(P2P + "tls:\n  ca_cert: null\n"))
    assert f.severity is Severity.HIGH
    assert at(f) == (6, 12)


def test_client_verification_with_tls_null() -> None:
    f = one(RULE, config_target("service:\n  enable_tls: true\n  verify_https_client_certificate: true\n"
                                "tls: null\n"))
    assert "verify_https_client_certificate" in f.message


def test_default_ca_path_counts_as_set() -> None:
    assert run(RULE, config_target(P2P)) == []
    text = "service:\n  verify_https_client_certificate: true\ntls:\n  ca_cert: null\n"
    assert run(RULE, config_target(text)) == []  # client verification needs TLS on
