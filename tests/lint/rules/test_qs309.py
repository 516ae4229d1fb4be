from qdrantsec.lint.model import Severity
from qdrantsec.lint.rules.qs309_mtls_not_on_grpc import MtlsNotOnGrpc

from .helpers import at, config_target, one, run

RULE = MtlsNotOnGrpc()
MTLS = "service:\n  enable_tls: true\n  verify_https_client_certificate: true\n"


def test_mtls_with_default_grpc() -> None:
    f = one(RULE, config_target(MTLS))
    assert f.severity is Severity.MEDIUM
    assert at(f) == (3, 36)
    assert "6334" in f.message


def test_grpc_disabled_passes() -> None:
    assert run(RULE, config_target(MTLS + "  grpc_port: null\n")) == []
    assert run(RULE, config_target("service:\n  verify_https_client_certificate: false\n")) == []
