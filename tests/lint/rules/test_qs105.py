from qdrantsec.lint.model import Severity
from qdrantsec.lint.rules.qs105_host_not_ip_literal import HostNotIpLiteral

from .helpers import at, config_target, one, run

RULE = HostNotIpLiteral()


def test_hostname_with_default_grpc() -> None:
    f = one(RULE, config_target("service:\n  host: localhost\n"))
    assert f.severity is Severity.MEDIUM
    assert at(f) == (2, 9)
    assert "gRPC" in f.message


def test_hostname_with_grpc_off_and_no_cluster_passes() -> None:
    assert run(RULE, config_target("service:\n  host: localhost\n  grpc_port: null\n")) == []


def test_hostname_with_cluster() -> None:
    cfg = "service:\n  host: qdrant.local\n  grpc_port: null\ncluster:\n  enabled: true\n"
    f = one(RULE, config_target(cfg))
    assert "p2p" in f.message


def test_ip_literals_pass() -> None:
    for host in ("127.0.0.1", "::1", "10.0.0.5", "0.0.0.0"):
        assert run(RULE, config_target(f'service:\n  host: "{host}"\n')) == []
