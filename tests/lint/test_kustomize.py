"""Kustomize: generated ConfigMaps/Secrets linted from their local files, and a
kustomization's resources (with its bases) as one manifest set."""

from __future__ import annotations

from pathlib import Path

from qdrantsec.lint.engine import lint_paths
from qdrantsec.lint.model import ValueRef
from tests.lint.filehelpers import unsuppressed as by_rule
from tests.lint.filehelpers import where, write

STATEFULSET = """
    apiVersion: apps/v1
    kind: StatefulSet
    metadata:
      name: qdrant
      labels: {app: qdrant}
    spec:
      selector:
        matchLabels: {app: qdrant}
      template:
        metadata:
          labels: {app: qdrant}
        spec:
          containers:
            - name: qdrant
              image: qdrant/qdrant:v1.15.0
              envFrom:
                - configMapRef:
                    name: qdrant-env
              env:
                - name: QDRANT__SERVICE__API_KEY
                  valueFrom:
                    secretKeyRef:
                      name: qdrant-keys
                      key: api-key
              volumeMounts:
                - name: config
                  mountPath: /qdrant/config/production.yaml
                  subPath: production.yaml
                - name: local
                  mountPath: /qdrant/config/config.yaml
                  subPath: config.yaml
          volumes:
            - name: config
              configMap:
                name: qdrant-config
            - name: local
              configMap:
                name: qdrant-base-config
    """


def base_and_overlay(tmp_path: Path) -> Path:
    write(tmp_path, "base/statefulset.yaml", STATEFULSET)
    write(tmp_path, "base/networkpolicy.yaml", """
        apiVersion: networking.k8s.io/v1
        kind: NetworkPolicy
        metadata:
          name: qdrant
        spec:
          podSelector:
            matchLabels: {app: qdrant}
          policyTypes: [Ingress]
        """)
    write(tmp_path, "base/config.yaml", """
        cluster:
          enabled: false
        """)
    write(tmp_path, "base/kustomization.yaml", """
        apiVersion: kustomize.config.k8s.io/v1beta1
        kind: Kustomization
        resources:
          - statefulset.yaml
          - networkpolicy.yaml
        configMapGenerator:
          - name: qdrant-base-config
            files:
              - config.yaml
        """)
    write(tmp_path, "overlays/prod/cfg/prod.yaml", """
        service:
          host: 0.0.0.0
          enable_tls: false
          api-key: typo-is-ignored
        """)
    write(tmp_path, "overlays/prod/qdrant.env", """
        # generated into the qdrant-env ConfigMap
        QDRANT__TELEMETRY_DISABLED=true
        QDRANT__SERVICE__ENABLE_CORS=false
        """)
    write(tmp_path, "overlays/prod/kustomization.yaml", """
        resources:
          - ../../base
        namePrefix: prod-
        configMapGenerator:
          - name: qdrant-config
            files:
              - production.yaml=cfg/prod.yaml
          - name: qdrant-env
            envs:
              - qdrant.env
            literals:
              - QDRANT__LOG_LEVEL=DEBUG
        secretGenerator:
          - name: qdrant-keys
            literals:
              - api-key=short
        """)
    return tmp_path / "overlays" / "prod"


def test_generated_config_is_linted_from_the_local_file(tmp_path: Path) -> None:
    overlay = base_and_overlay(tmp_path)
    result = lint_paths([str(overlay)])
    (t,) = result.targets
    assert t.kind == "k8s" and "kustomization" in t.label
    # the generated files, layered in Qdrant's order, positioned in the local files
    assert [Path(f).name for f in t.config_files] == ["config.yaml", "prod.yaml"]
    assert where(t, "service.enable_tls") == ("prod.yaml", 3, 15, None)
    assert where(t, "cluster.enabled") == ("config.yaml", 2, 12, None)
    # envs / literals through envFrom: overrides at the env file's line, the literal's item
    assert t.config.get("telemetry_disabled") is True
    assert where(t, "telemetry_disabled") == ("qdrant.env", 2, 1, "QDRANT__TELEMETRY_DISABLED")
    assert where(t, "service.enable_cors") == ("qdrant.env", 3, 1, "QDRANT__SERVICE__ENABLE_CORS")
    assert where(t, "log_level") == ("kustomization.yaml", 12, 9, "QDRANT__LOG_LEVEL")
    # a secretGenerator literal via secretKeyRef: the literal, where it is written
    assert t.config.get("service.api_key") == "short"
    assert where(t, "service.api_key") == ("kustomization.yaml", 16, 9, "QDRANT__SERVICE__API_KEY")
    # the base's NetworkPolicy belongs to the overlay's manifest set
    assert sorted(o.kind for o in t.k8s_objects) == ["NetworkPolicy", "StatefulSet"]
    rules = {f.rule for f in result.findings}
    assert "QS505" not in rules
    (unknown,) = by_rule(result.findings, "QS208")
    assert Path(unknown.location.file or "").name == "prod.yaml"
    assert (unknown.location.line, unknown.location.column) == (4, 3)
    (weak,) = by_rule(result.findings, "QS203")
    assert Path(weak.location.file or "").name == "kustomization.yaml" and weak.location.line == 16
    (plain,) = by_rule(result.findings, "QS207")
    assert Path(plain.location.file or "").name == "kustomization.yaml"
    # nothing is linted twice out of context: the config files and env file are consumed
    assert not any(t2.kind in ("qdrant-config", "env") for t2 in result.targets)


def test_lint_from_the_top_builds_the_overlay_not_the_base_alone(tmp_path: Path) -> None:
    base_and_overlay(tmp_path)
    result = lint_paths([str(tmp_path)], rules=[])
    (t,) = result.targets
    assert "overlays" in t.label and t.config.get("service.api_key") == "short"


def test_base_alone_is_its_own_set(tmp_path: Path) -> None:
    base_and_overlay(tmp_path)
    result = lint_paths([str(tmp_path / "base")], rules=[])
    (t,) = result.targets
    assert [Path(f).name for f in t.config_files] == ["config.yaml"]
    key = t.config.get("service.api_key")
    assert isinstance(key, ValueRef) and key.ref_kind == "k8s-secret"


def test_directory_mount_hashed_name_and_merge_behavior(tmp_path: Path) -> None:
    write(tmp_path, "base/deploy.yml", """
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: qdrant}
        spec:
          template:
            spec:
              containers:
                - name: qdrant
                  image: qdrant/qdrant:v1.15.0
                  volumeMounts:
                    - {name: cfg, mountPath: /qdrant/config}
              volumes:
                - name: cfg
                  configMap: {name: qdrant-config-5f7h9k2m8t}
        """)
    write(tmp_path, "base/config.yaml", "service:\n  api_key: from-base-0123456789abcdef0123456789\n")
    write(tmp_path, "base/kustomization.yml", """
        resources: [deploy.yml]
        configMapGenerator:
          - name: qdrant-config
            files: [config.yaml]
        """)
    write(tmp_path, "prod/local.yaml", "service:\n  read_only_api_key: ''\n")
    write(tmp_path, "prod/Kustomization", """
        resources: [../base]
        configMapGenerator:
          - name: qdrant-config
            behavior: merge
            files: [local.yaml]
        """)
    result = lint_paths([str(tmp_path / "prod")])
    (t,) = result.targets
    assert [Path(f).name for f in t.config_files] == ["config.yaml", "local.yaml"]
    assert where(t, "service.read_only_api_key") == ("local.yaml", 2, 22, None)
    (empty,) = by_rule(result.findings, "QS202")
    assert Path(empty.location.file or "").name == "local.yaml" and empty.location.line == 2
    # no NetworkPolicy anywhere in the set
    assert by_rule(result.findings, "QS505")


def test_missing_and_remote_resources_are_noted(tmp_path: Path) -> None:
    write(tmp_path, "kustomization.yaml", """
        resources:
          - https://github.com/example/repo//deploy?ref=v1
          - gone.yaml
        patches:
          - path: patch.yaml
        configMapGenerator:
          - name: qdrant-config
            files: [absent.yaml]
        """)
    write(tmp_path, "patch.yaml", """
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: qdrant}
        spec:
          template:
            spec:
              containers:
                - name: qdrant
                  image: qdrant/qdrant:latest
        """)
    result = lint_paths([str(tmp_path)], rules=[])
    assert result.targets == [] and not result.errors
    notes = "\n".join(result.notes)
    assert "remote resource" in notes and "gone.yaml" in notes and "absent.yaml" in notes
    assert "patch patch.yaml is not applied" in notes
