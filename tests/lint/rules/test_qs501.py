from qdrantsec.lint.model import Severity
from qdrantsec.lint.rules.qs501_runs_as_root import RunsAsRoot

from .helpers import at, compose_target, helm_target, k8s_target, one, run

RULE = RunsAsRoot()


def compose(extra: str = "", image: str = "qdrant/qdrant:v1.19.0") -> object:
    return compose_target(f"services:\n  qdrant:\n    image: {image}\n{extra}")


def test_compose_default_image_is_root() -> None:
    f = one(RULE, compose())
    assert f.severity is Severity.MEDIUM
    assert at(f) == (3, 12)


def test_compose_user_root() -> None:
    assert at(one(RULE, compose('    user: "0:0"\n'))) == (4, 11)


def test_compose_passes() -> None:
    assert run(RULE, compose('    user: "1000:1000"\n')) == []
    assert run(RULE, compose(image="qdrant/qdrant:v1.19.0-unprivileged")) == []


K8S = """kind: Deployment
metadata: {{name: q}}
spec:
  template:
    spec:
      securityContext:
{pod}
      containers:
        - name: q
          image: qdrant/qdrant:v1.19.0
          securityContext:
{ctr}
"""


def test_k8s_pod_non_root_passes() -> None:
    text = K8S.format(pod="        runAsNonRoot: true", ctr="            privileged: false")
    assert run(RULE, k8s_target(text)) == []


def test_k8s_container_run_as_user_zero() -> None:
    f = one(RULE, k8s_target(K8S.format(pod="        runAsNonRoot: true", ctr="            runAsUser: 0")))
    assert at(f) == (12, 24)


def test_k8s_missing_context() -> None:
    f = one(RULE, k8s_target(K8S.format(pod="        fsGroup: 1000", ctr="            privileged: false")))
    assert at(f) == (10, 18)


def test_helm_explicit_overrides_only() -> None:
    assert run(RULE, helm_target("replicaCount: 1\n")) == []
    f = one(RULE, helm_target("containerSecurityContext:\n  runAsUser: 0\n"))
    assert at(f) == (2, 14)
