from qdrantsec.lint.model import Severity
from qdrantsec.lint.rules.qs201_no_authentication import NoAuthentication

from .helpers import at, compose_target, config_target, helm_target, k8s_target, one, run

RULE = NoAuthentication()


def test_default_config_is_critical_at_service_section() -> None:
    f = one(RULE, config_target("storage:\n  storage_path: ./s\nservice:\n  http_port: 6333\n"))
    assert f.severity is Severity.CRITICAL
    assert at(f) == (3, 1)


def test_loopback_is_high() -> None:
    assert one(RULE, config_target("service:\n  host: 127.0.0.1\n")).severity is Severity.HIGH


def test_empty_key_points_at_it() -> None:
    f = one(RULE, config_target('service:\n  host: 127.0.0.1\n  api_key: ""\n'))
    assert at(f) == (3, 12)
    assert "empty" in f.message


def test_any_key_passes() -> None:
    assert run(RULE, config_target("service:\n  read_only_api_key: ro\n")) == []
    assert run(RULE, config_target("", env={"QDRANT__SERVICE__API_KEY": "${K}"})) == []


def test_compose_published_is_critical_unpublished_high() -> None:
    base = "services:\n  qdrant:\n    image: qdrant/qdrant\n"
    assert one(RULE, compose_target(base + "    ports:\n      - 6333:6333\n")).severity is Severity.CRITICAL
    f = one(RULE, compose_target(base))
    assert f.severity is Severity.HIGH
    assert at(f) == (2, 3)


def test_helm_api_key_false() -> None:
    f = one(RULE, helm_target("replicaCount: 1\napiKey: false\n"))
    assert at(f) == (2, 9)
    assert run(RULE, helm_target("apiKey: true\n")) == []


def test_k8s_secret_ref_passes() -> None:
    text = """apiVersion: apps/v1
kind: StatefulSet
metadata: {name: q}
spec:
  template:
    metadata: {labels: {app: q}}
    spec:
      containers:
        - name: q
          image: qdrant/qdrant:v1.19.0
          env:
            - name: QDRANT__SERVICE__API_KEY
              valueFrom:
                secretKeyRef: {name: qdrant, key: api-key}
"""
    assert run(RULE, k8s_target(text)) == []


def test_not_running_qdrant_is_not_reported() -> None:
    t = config_target("log_level: INFO\n")
    t.runs_qdrant = False
    assert run(RULE, t) == []
