from qdrantsec.lint.model import Severity
from qdrantsec.lint.rules.qs303_p2p_tls_disabled import P2pTlsDisabled

from .helpers import at, compose_target, config_target, one, run

RULE = P2pTlsDisabled()


def test_cluster_without_p2p_tls() -> None:
    f = one(RULE, config_target("cluster:\n  enabled: true\n  p2p:\n    enable_tls: false\n"))
    assert f.severity is Severity.HIGH
    assert at(f) == (4, 17)


def test_env_enabled_cluster_default_p2p_points_at_cluster_section() -> None:
    t = config_target("cluster:\n  p2p:\n    port: 6335\n", env={"QDRANT__CLUSTER__ENABLED": "true"})
    f = one(RULE, t)
    assert at(f) == (2, 3)
    assert f.location.note == "Qdrant default"


def test_compose_env_cluster() -> None:
    t = compose_target("services:\n  qdrant:\n    image: qdrant/qdrant\n    environment:\n"
                       "      - QDRANT__CLUSTER__ENABLED=true\n")
    assert at(one(RULE, t)) == (2, 3)


def test_passes() -> None:
    assert run(RULE, config_target("cluster:\n  enabled: true\n  p2p:\n    enable_tls: true\n")) == []
    assert run(RULE, config_target("cluster:\n  enabled: false\n")) == []
