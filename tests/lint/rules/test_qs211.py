from qdrantsec.lint.model import Severity
from qdrantsec.lint.rules.qs105_host_not_ip_literal import HostNotIpLiteral
from qdrantsec.lint.rules.qs203_weak_key import WeakKey
from qdrantsec.lint.rules.qs210_invalid_setting_value import InvalidSettingValue
from qdrantsec.lint.rules.qs211_unexpanded_variable import UnexpandedVariable

from .helpers import at, compose_target, config_target, one, run

RULE = UnexpandedVariable()

CONFIG = """\
service:
  host: ${BIND_ADDR:-0.0.0.0}
  http_port: ${HTTP_PORT:-6333}
  api_key: ${VECTOR_DB_KEY}
storage:
  storage_path: /data/${TENANT}
"""


def test_references_in_a_config_file_are_literal_text() -> None:
    found = {f.message.split("`")[1]: f for f in run(RULE, config_target(CONFIG))}
    assert set(found) == {"service.host", "service.http_port", "service.api_key", "storage.storage_path"}
    key = found["service.api_key"]
    assert key.severity is Severity.HIGH and at(key) == (4, 12)
    assert "readable by anyone" in key.message
    assert "refuses to start" in found["service.http_port"].message
    assert found["service.host"].severity is Severity.MEDIUM


def test_other_rules_leave_the_reference_to_qs211() -> None:
    target = config_target(CONFIG + "cluster:\n  enabled: true\n")
    assert run(WeakKey(), target) == []
    assert run(HostNotIpLiteral(), target) == []
    assert run(InvalidSettingValue(), target) == []


def test_env_overrides_and_compose_environment_are_not_reported() -> None:
    # an env var is expanded by the shell / compose before Qdrant sees it
    target = config_target("", env={"QDRANT__SERVICE__API_KEY": "${KEY:?}"})
    assert run(RULE, target) == []
    compose = compose_target("services:\n  qdrant:\n    image: qdrant/qdrant:v1.19.0\n    environment:\n"
                             "      QDRANT__SERVICE__API_KEY: ${KEY:?}\n")
    assert run(RULE, compose) == []


def test_bind_mounted_config_file_of_a_compose_service() -> None:
    target = compose_target("services:\n  qdrant:\n    image: qdrant/qdrant:v1.19.0\n",
                            config_yaml="service:\n  api_key: $QDRANT_KEY\n", config_file="production.yaml")
    f = one(RULE, target)
    assert f.location.file == "production.yaml" and f.severity is Severity.HIGH


def test_unknown_keys_and_plain_dollars_pass() -> None:
    assert run(RULE, config_target("service:\n  apikey: ${KEY}\n")) == []  # QS208's
    assert run(RULE, config_target("service:\n  api_key: pa$$word-with-dollars-0123456789abcdef\n")) == []


def test_kubernetes_configmap_is_low() -> None:
    manifest = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: qdrant-config
data:
  production.yaml: |
    service:
      api_key: ${QDRANT_API_KEY}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: qdrant
spec:
  template:
    spec:
      containers:
        - name: qdrant
          image: qdrant/qdrant:v1.19.0
          volumeMounts:
            - name: config
              mountPath: /qdrant/config/production.yaml
              subPath: production.yaml
      volumes:
        - name: config
          configMap:
            name: qdrant-config
"""
    import tempfile
    from pathlib import Path

    from qdrantsec.lint.engine import lint_paths

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "qdrant.yaml"
        path.write_text(manifest, encoding="utf-8")
        (f,) = [f for f in lint_paths([str(path)]).findings if f.rule == "QS211"]
    assert f.severity is Severity.LOW and "envsubst" in f.message
    assert at(f) == (8, 16)
