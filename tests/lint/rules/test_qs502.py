from qdrantsec.lint.model import Severity
from qdrantsec.lint.rules.qs502_writable_root_filesystem import WritableRootFilesystem

from .helpers import at, compose_target, helm_target, k8s_target, one, run

RULE = WritableRootFilesystem()


def test_compose_missing_read_only() -> None:
    f = one(RULE, compose_target("services:\n  qdrant:\n    image: qdrant/qdrant\n"))
    assert f.severity is Severity.LOW
    assert at(f) == (2, 3)
    assert run(RULE, compose_target("services:\n  qdrant:\n    image: q\n    read_only: true\n")) == []


def test_k8s_explicit_false() -> None:
    text = """kind: Deployment
metadata: {name: q}
spec:
  template:
    spec:
      containers:
        - name: q
          image: qdrant/qdrant:v1.19.0
          securityContext:
            readOnlyRootFilesystem: false
"""
    assert at(one(RULE, k8s_target(text))) == (10, 37)
    assert run(RULE, k8s_target(text.replace("false", "true"))) == []


def test_helm_override() -> None:
    text = "containerSecurityContext:\n  readOnlyRootFilesystem: false\n"
    assert at(one(RULE, helm_target(text))) == (2, 27)
    assert run(RULE, helm_target("replicaCount: 1\n")) == []
