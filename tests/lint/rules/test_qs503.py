from qdrantsec.lint.model import Severity
from qdrantsec.lint.rules.qs503_privileged_container import PrivilegedContainer

from .helpers import at, compose_target, helm_target, k8s_target, run

RULE = PrivilegedContainer()


def test_compose_privileged_and_caps() -> None:
    text = ("services:\n  qdrant:\n    image: qdrant/qdrant\n    privileged: true\n"
            "    cap_add:\n      - SYS_ADMIN\n")
    found = run(RULE, compose_target(text))
    assert [(at(f), f.severity) for f in found] == [((4, 17), Severity.HIGH), ((6, 9), Severity.MEDIUM)]


def test_k8s_escalation_caps_and_host_pid() -> None:
    text = """kind: Deployment
metadata: {name: q}
spec:
  template:
    spec:
      hostPID: true
      containers:
        - name: q
          image: qdrant/qdrant:v1.19.0
          securityContext:
            allowPrivilegeEscalation: true
            capabilities:
              add: [NET_ADMIN]
"""
    found = run(RULE, k8s_target(text))
    assert sorted(at(f) for f in found) == [(6, 16), (11, 39), (13, 21)]


def test_helm_privileged() -> None:
    [f] = run(RULE, helm_target("containerSecurityContext:\n  privileged: true\n"))
    assert f.severity is Severity.HIGH and at(f) == (2, 15)


def test_clean_passes() -> None:
    assert run(RULE, compose_target("services:\n  qdrant:\n    image: q\n    privileged: false\n")) == []
    assert run(RULE, helm_target("containerSecurityContext:\n  allowPrivilegeEscalation: false\n")) == []
