from qdrantsec.lint.model import Severity
from qdrantsec.lint.rules.qs505_no_network_policy import NoNetworkPolicy

from .helpers import at, k8s_target, one, run

RULE = NoNetworkPolicy()

WORKLOAD = """apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: qdrant
  namespace: db
spec:
  template:
    metadata:
      labels: {app: qdrant}
    spec:
      containers:
        - name: qdrant
          image: qdrant/qdrant:v1.19.0
"""


def policy(selector: str, namespace: str = "db", types: str = "") -> str:
    return (f"---\nkind: NetworkPolicy\nmetadata:\n  name: p\n  namespace: {namespace}\n"
            f"spec:\n  podSelector: {selector}\n{types}")


def test_no_policy() -> None:
    f = one(RULE, k8s_target(WORKLOAD))
    assert f.severity is Severity.MEDIUM
    assert at(f) == (4, 9)


def test_matching_policy_passes() -> None:
    assert run(RULE, k8s_target(WORKLOAD + policy("{matchLabels: {app: qdrant}}"))) == []
    assert run(RULE, k8s_target(WORKLOAD + policy("{}"))) == []


def test_non_matching_policies_fire() -> None:
    assert one(RULE, k8s_target(WORKLOAD + policy("{matchLabels: {app: web}}")))
    assert one(RULE, k8s_target(WORKLOAD + policy("{}", namespace="other")))
    assert one(RULE, k8s_target(WORKLOAD + policy("{}", types="  policyTypes: [Egress]\n")))
