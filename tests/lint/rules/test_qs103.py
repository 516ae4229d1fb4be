from qdrantsec.lint.model import Severity
from qdrantsec.lint.rules.qs103_p2p_port_exposed import P2pPortExposed

from .helpers import at, compose_target, helm_target, one, run

RULE = P2pPortExposed()


def svc(ports: str, env: str = "") -> str:
    return f"services:\n  qdrant:\n    image: qdrant/qdrant\n    ports:\n{ports}\n{env}"


def test_published_p2p_in_cluster_is_critical() -> None:
    env = "    environment:\n      - QDRANT__CLUSTER__ENABLED=true\n"
    f = one(RULE, compose_target(svc('      - "6335:6335"', env)))
    assert f.severity is Severity.CRITICAL
    assert at(f) == (5, 9)


def test_internal_auth_on_is_high() -> None:
    env = ("    environment:\n      - QDRANT__CLUSTER__ENABLED=true\n"
           "      - QDRANT__SERVICE__ENFORCE_INTERNAL_AUTH=true\n")
    assert one(RULE, compose_target(svc("      - 6335:6335", env))).severity is Severity.HIGH


def test_cluster_off_is_low() -> None:
    assert one(RULE, compose_target(svc("      - 6335:6335"))).severity is Severity.LOW


def test_custom_p2p_port_from_mounted_config() -> None:
    cfg = "cluster:\n  enabled: true\n  p2p:\n    port: 7000\n"
    t = compose_target(svc("      - 7000:7000"), config_yaml=cfg)
    assert one(RULE, t).severity is Severity.CRITICAL


def test_expose_and_other_ports_pass() -> None:
    text = ("services:\n  qdrant:\n    image: qdrant/qdrant\n    expose:\n      - 6335\n"
            "    ports:\n      - 127.0.0.1:6335:6335\n      - 6333:6333\n")
    assert run(RULE, compose_target(text)) == []


def test_helm_loadbalancer_exposes_p2p() -> None:
    t = helm_target("service:\n  type: LoadBalancer\nconfig:\n  cluster:\n    enabled: true\n")
    f = one(RULE, t)
    assert at(f) == (2, 9)
