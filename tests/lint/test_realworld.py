"""Shapes seen in deployment files people really publish, each reduced to a small fixture
written for this project (not copied): compose ``configs:`` with inline content, configs
with keys Qdrant ignores, umbrella-chart values, other charts' values that only mention the
Qdrant image, deploy-time image references, unreadable ``env_file:``s."""

from __future__ import annotations

from pathlib import Path

from qdrantsec.lint.discover import detect_kind
from qdrantsec.lint.engine import lint_paths
from qdrantsec.lint.inputs.source import read_source
from qdrantsec.lint.model import Finding, ValueRef
from qdrantsec.lint.rules.qs208_unknown_setting import _suggest, suggest
from tests.lint.filehelpers import write


def lint(*paths: str) -> list[Finding]:
    return lint_paths(list(paths)).findings


def by_rule(findings: list[Finding], rule: str) -> list[Finding]:
    return [f for f in findings if f.rule == rule]


# -- compose configs: / secrets: -------------------------------------------------------
COMPOSE_INLINE_KEY = """
services:
  vectors:
    image: qdrant/qdrant:v1.19.0-unprivileged
    configs:
      - source: qdrant_settings
        target: /qdrant/config/production.yaml
configs:
  qdrant_settings:
    content: |
      log_level: INFO
      service:
        api_key: ${VECTORS_KEY:?set it}
        enable_cors: false
"""


def test_compose_inline_config_content_is_layered_with_positions(tmp_path: Path) -> None:
    path = write(tmp_path, "docker-compose.yml", COMPOSE_INLINE_KEY)
    result = lint_paths([path])
    (t,) = result.targets
    key = t.config.get("service.api_key")
    assert isinstance(key, ValueRef)  # interpolated as compose interpolates the file
    setting = t.config.setting("service.enable_cors")
    assert setting is not None and setting.value is False
    assert (setting.source.file, setting.source.line, setting.source.column) == (path, 13, 22)
    rules = {f.rule for f in result.findings}
    assert "QS201" not in rules and "QS601" not in rules


def test_compose_config_file_source_and_secret_target(tmp_path: Path) -> None:
    write(tmp_path, "qdrant.yaml", """
        service:
          api_key: ""
        """)
    path = write(tmp_path, "compose.yaml", """
        services:
          db:
            image: qdrant/qdrant:v1.19.0
            secrets:
              - source: qdrant_conf
                target: /qdrant/config/local.yaml
        secrets:
          qdrant_conf:
            file: ./qdrant.yaml
        """)
    findings = lint(path)
    (empty,) = by_rule(findings, "QS202")
    assert Path(empty.location.file or "").name == "qdrant.yaml" and empty.location.line == 2


def test_compose_inline_config_with_bad_yaml_points_into_the_compose_file(tmp_path: Path) -> None:
    path = write(tmp_path, "docker-compose.yml", """
        services:
          q:
            image: qdrant/qdrant:v1.19.0
            configs:
              - source: c
                target: /qdrant/config/config.yaml
        configs:
          c:
            content: |
              service:
                api_key: [unclosed
        """)
    (bad,) = by_rule(lint(path), "QS001")
    assert bad.location.file == path and bad.location.line is not None and bad.location.line > 10


# -- kind detection ------------------------------------------------------------------------
def test_qdrant_config_with_keys_qdrant_ignores_is_still_a_qdrant_config(tmp_path: Path) -> None:
    path = write(tmp_path, "qdrant/config.yaml", """
        service:
          http_port: 6333
          enable_tls: false
        optimizer:
          deleted_threshold: 0.2
        log_level: INFO
        """)
    assert detect_kind(read_source(path), hint="yaml") == "qdrant-config"
    findings = lint(str(tmp_path))
    (unknown,) = by_rule(findings, "QS208")
    assert "`optimizer`" in unknown.message and unknown.location.line == 4
    assert by_rule(findings, "QS201")


def test_other_app_config_with_a_service_section_is_not_a_qdrant_config(tmp_path: Path) -> None:
    path = write(tmp_path, "config.yaml", """
        name: something
        slug: other
        arch: [amd64]
        service:
          host: 0.0.0.0
        ports:
          6333/tcp: 6333
        """)
    assert detect_kind(read_source(path), hint="yaml") is None


def test_values_of_another_chart_naming_the_qdrant_image_are_not_qdrant_chart_values(tmp_path: Path) -> None:
    path = write(tmp_path, "values.yaml", """
        nameOverride: ""
        image:
          registry: docker.io
          repository: qdrant/qdrant
          tag: v1.19.0
        versions:
          - major: "1"
        dataMountPath: /qdrant/storage
        """)
    assert detect_kind(read_source(path), hint="yaml") is None


def test_umbrella_chart_values_under_a_qdrant_key(tmp_path: Path) -> None:
    path = write(tmp_path, "values.yaml", """
        qdrant:
          image:
            repository: qdrant/qdrant
            tag: v1.19.0
          apiKey: true
          config:
            service:
              kind: ClusterIP
        namespace:
          create: true
        """)
    assert detect_kind(read_source(path), hint="yaml") == "helm-values"
    result = lint_paths([path])
    (t,) = result.targets
    assert t.kind == "helm-values" and "qdrant:" in t.label
    assert isinstance(t.config.get("service.api_key"), ValueRef)
    (unknown,) = by_rule(result.findings, "QS208")
    assert unknown.location.line == 8
    assert not by_rule(result.findings, "QS201")


# -- compose images and env files ---------------------------------------------------------------
def test_deploy_time_image_of_a_service_named_qdrant_is_linted(tmp_path: Path) -> None:
    path = write(tmp_path, "docker-compose.yml", """
        services:
          qdrant:
            image: ${REGISTRY_REPO}:${REGISTRY_TAG}
            ports:
              - "6333:6333"
          web:
            image: ${WEB_IMAGE}
            ports:
              - "8080:8080"
        """)
    result = lint_paths([path])
    assert [t.compose_service_name for t in result.targets] == ["qdrant"]
    assert by_rule(result.findings, "QS102")
    assert not by_rule(result.findings, "QS504")  # the tag is not known here
    assert any("set at deploy time" in n for n in result.notes)


def test_tag_from_a_variable_without_default_is_not_called_latest(tmp_path: Path) -> None:
    path = write(tmp_path, "docker-compose.yml", """
        services:
          qdrant:
            image: qdrant/qdrant:${QDRANT_TAG}
          other:
            image: qdrant/qdrant:${QDRANT_TAG:-latest}
        """)
    flagged = by_rule(lint(path), "QS504")
    assert [f.location.line for f in flagged] == [5]


def test_unreadable_env_file_softens_the_no_key_findings(tmp_path: Path) -> None:
    path = write(tmp_path, "docker-compose.yml", """
        services:
          qdrant:
            image: qdrant/qdrant:v1.19.0
            env_file: .env.local
            ports:
              - "6333:6333"
        """)
    findings = lint(path)
    (no_auth,) = by_rule(findings, "QS201")
    assert no_auth.severity.label == "medium" and ".env.local" in no_auth.message
    assert all(f.severity.label != "critical" for f in findings)


# -- QS208 suggestions -------------------------------------------------------------------
def test_suggestions_for_keys_seen_in_real_files() -> None:
    assert suggest(["log"], ("level",)) == "log_level"
    assert suggest(["service", "telemetry_disabled"]) == "telemetry_disabled"
    assert suggest(["api_key"]) == "service.api_key"
    # `port` is a longer sibling's suffix: not the lone `cluster.p2p.port` elsewhere
    assert suggest(["service", "port"]) in ("service.http_port", "service.grpc_port")
    # ambiguous leaf names get no cross-section guess
    assert suggest(["service", "enabled"]) != "cluster.enabled"
    assert suggest(["service", "cors"]) == "service.enable_cors"
    assert suggest(["storage", "on_disk"]) != "logger.on_disk"


def test_suggestions_are_cached() -> None:
    _suggest.cache_clear()
    for _ in range(50):
        suggest(["service", "api-kee"])
    info = _suggest.cache_info()
    assert info.misses == 1 and info.hits == 49


# -- templates -------------------------------------------------------------------------------
CHART_TEMPLATE = """
apiVersion: v1
kind: Service
metadata:
  name: {{ include "vectors.fullname" . }}
  labels:
    {{- include "vectors.labels" . | nindent 4 }}
spec:
  type: {{ .Values.service.type }}
"""


def test_named_template_is_skipped_and_the_summary_says_so(tmp_path: Path) -> None:
    from qdrantsec.output.lint_json import document
    from qdrantsec.output.lint_text import summary_line

    path = write(tmp_path, "templates/service.yaml", CHART_TEMPLATE)
    result = lint_paths([path])
    assert result.findings == [] and [p for p, _ in result.skipped] == [path]
    assert "templates are not YAML until rendered" in summary_line(result, False)
    assert document(result, show_suppressed=False)["skipped"][0]["reason"].startswith("a template")


def test_template_forced_to_a_kind_is_a_low_clear_finding(tmp_path: Path) -> None:
    path = write(tmp_path, "templates/service.yaml", CHART_TEMPLATE)
    (bad,) = lint_paths([path], kind="k8s").findings
    assert bad.rule == "QS001" and bad.severity.label == "low"
    assert bad.message.startswith("a template (`{{ ... }}` at line 4)")
    assert (bad.location.line, bad.location.column) == (4, 9)
    assert "helm template" in bad.fix


def test_real_syntax_error_far_from_a_quoted_placeholder_is_invalid_yaml(tmp_path: Path) -> None:
    text = "\n".join(["services:", "  qdrant:", "    image: qdrant/qdrant:v1.19.0",
                      '    labels: ["x={{ .Name }}"]', *[f"    # line {i}" for i in range(10)],
                      "    ports: [6333", ""])
    path = tmp_path / "docker-compose.yml"
    path.write_text(text, encoding="utf-8")
    (bad,) = lint_paths([str(path)], kind="compose").findings
    assert bad.rule == "QS001" and bad.message.startswith("invalid YAML")
    assert bad.severity.label == "high"


# -- internal load balancers ------------------------------------------------------------------
def test_internal_load_balancer_is_one_step_below_a_public_one(tmp_path: Path) -> None:
    write(tmp_path, "app/qdrant.yaml", """
        apiVersion: apps/v1
        kind: StatefulSet
        metadata:
          name: vectors
        spec:
          selector:
            matchLabels: {app: vectors}
          template:
            metadata:
              labels: {app: vectors}
            spec:
              containers:
                - name: qdrant
                  image: qdrant/qdrant:v1.19.0
        ---
        apiVersion: v1
        kind: Service
        metadata:
          name: vectors-ilb
          annotations:
            networking.gke.io/load-balancer-type: "Internal"
        spec:
          type: LoadBalancer
          selector: {app: vectors}
          ports:
            - {name: http, port: 6333, targetPort: 6333}
        ---
        apiVersion: v1
        kind: Service
        metadata:
          name: vectors-public
        spec:
          type: LoadBalancer
          selector: {app: vectors}
          ports:
            - {name: http, port: 6333, targetPort: 6333}
        """)
    found = sorted(by_rule(lint(str(tmp_path / "app")), "QS102"), key=lambda f: f.location.line or 0)
    assert [(f.location.line, f.severity.label) for f in found] == [(23, "high"), (33, "critical")]
    assert "internal load balancer" in found[0].message


def test_helm_internal_load_balancer(tmp_path: Path) -> None:
    path = write(tmp_path, "values.yaml", """
        image:
          repository: qdrant/qdrant
          tag: v1.19.0
        apiKey: true
        service:
          type: LoadBalancer
          annotations:
            service.beta.kubernetes.io/aws-load-balancer-scheme: internal
        """)
    (exposed,) = by_rule(lint(path), "QS102")
    assert exposed.severity.label == "medium" and "internal load balancer" in exposed.message


# -- display paths -------------------------------------------------------------------------
def test_display_path_cache_follows_the_working_directory(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from qdrantsec.lint.paths import _display_path, display_path

    (tmp_path / "a" / "b").mkdir(parents=True)
    target = str(tmp_path / "a" / "b" / "compose.yml")
    monkeypatch.chdir(tmp_path)
    assert display_path(target) == "a/b/compose.yml"
    monkeypatch.chdir(tmp_path / "a")
    assert display_path(target) == "b/compose.yml"
    assert display_path(target, str(tmp_path)) == "a/b/compose.yml"
    hits = _display_path.cache_info().hits
    display_path(target)
    assert _display_path.cache_info().hits == hits + 1


# -- Ingress and Gateway API routes --------------------------------------------------------
WORKLOAD_AND_SERVICE = """
apiVersion: apps/v1
kind: Deployment
metadata:
  name: vectors
  namespace: ai
spec:
  selector:
    matchLabels: {app.kubernetes.io/name: vectors}
  template:
    metadata:
      labels: {app.kubernetes.io/name: vectors}
    spec:
      containers:
        - name: qdrant
          image: qdrant/qdrant:v1.19.0
          ports:
            - {name: rest, containerPort: 6333}
            - {name: grpc, containerPort: 6334}
---
apiVersion: v1
kind: Service
metadata:
  name: vectors
  namespace: ai
spec:
  selector: {app.kubernetes.io/name: vectors}
  ports:
    - {name: http, port: 80, targetPort: rest}
    - {name: grpc, port: 6334, targetPort: grpc}
"""


def test_ingress_to_the_qdrant_service_is_an_exposure(tmp_path: Path) -> None:
    write(tmp_path, "app/all.yaml", WORKLOAD_AND_SERVICE + """
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: vectors
  namespace: ai
spec:
  rules:
    - host: vectors.example.org
      http:
        paths:
          - path: /
            pathType: Prefix
            backend:
              service:
                name: vectors
                port:
                  name: http
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: elsewhere
  namespace: other
spec:
  defaultBackend:
    service: {name: vectors, port: {number: 80}}
""")
    (exposed,) = by_rule(lint(str(tmp_path / "app")), "QS102")
    assert exposed.severity.label == "critical"
    assert "Ingress vectors routes to Service vectors" in exposed.message
    assert "6333 (REST)" in exposed.message and exposed.location.line == 46


def test_httproute_to_the_qdrant_service_is_an_exposure(tmp_path: Path) -> None:
    write(tmp_path, "app/all.yaml", WORKLOAD_AND_SERVICE + """
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: vectors
  namespace: ai
spec:
  parentRefs: [{name: external, namespace: gateway}]
  rules:
    - backendRefs:
        - name: vectors
          port: 80
""")
    (exposed,) = by_rule(lint(str(tmp_path / "app")), "QS102")
    assert "HTTPRoute vectors" in exposed.message and exposed.location.line == 41


def test_helm_ingress_enabled_is_an_exposure(tmp_path: Path) -> None:
    path = write(tmp_path, "values.yaml", """
        image:
          repository: qdrant/qdrant
          tag: v1.19.0
        ingress:
          enabled: true
          hosts:
            - host: vectors.example.org
              paths:
                - path: /
                  servicePort: 6333
        """)
    (exposed,) = by_rule(lint(path), "QS102")
    assert exposed.severity.label == "critical" and exposed.location.line == 5
    disabled = write(tmp_path, "off/values.yaml",
                     "image:\n  repository: qdrant/qdrant\ningress:\n  enabled: false\n")
    assert not by_rule(lint(disabled), "QS102")


# -- compose extends -----------------------------------------------------------------------
def test_compose_extends_in_the_same_file(tmp_path: Path) -> None:
    path = write(tmp_path, "docker-compose.yml", """
        x-defaults: &defaults
          restart: unless-stopped
        services:
          db-base:
            <<: *defaults
            image: qdrant/qdrant:v1.19.0-unprivileged
            environment:
              QDRANT__TELEMETRY_DISABLED: "true"
            profiles: [base]
          db:
            extends:
              service: db-base
            environment:
              QDRANT__SERVICE__API_KEY: tiny
            ports:
              - "6333:6333"
          other:
            extends: {file: ../shared/compose.yml, service: db}
        """)
    result = lint_paths([path])
    by_name = {t.compose_service_name: t for t in result.targets}
    assert set(by_name) == {"db-base", "db"}
    db = by_name["db"]
    assert db.config.get("telemetry_disabled") is True  # inherited environment
    assert db.config.get("service.api_key") == "tiny"
    (weak,) = by_rule(result.findings, "QS203")
    assert weak.location.line == 14
    (published,) = by_rule(result.findings, "QS102")
    assert published.location.line == 16
    assert any("extends db from ../shared/compose.yml" in n for n in result.notes)


# -- services built from a local Dockerfile --------------------------------------------------
def test_service_built_from_a_qdrant_dockerfile_is_linted(tmp_path: Path) -> None:
    write(tmp_path, "docker/vectors/Dockerfile", """
        ARG QDRANT_TAG=v1.19.0
        FROM alpine:3.20 AS fetch
        USER 1000
        FROM qdrant/qdrant:${QDRANT_TAG}
        COPY config.yaml /qdrant/config/production.yaml
        """)
    write(tmp_path, "docker/plain/Dockerfile", "FROM python:3.12-slim\nUSER app\n")
    path = write(tmp_path, "docker-compose.yml", """
        services:
          vectors:
            build:
              context: ./docker/vectors
            ports:
              - "6333:6333"
          api:
            build: ./docker/plain
            ports:
              - "8000:8000"
        """)
    result = lint_paths([path])
    assert [t.compose_service_name for t in result.targets] == ["vectors"]
    assert result.targets[0].extra["image"] == "qdrant/qdrant:v1.19.0"
    (root,) = by_rule(result.findings, "QS501")
    assert "Dockerfile (FROM qdrant/qdrant:v1.19.0) has no `USER`" in root.message
    assert root.location.line == 2  # the service key
    assert by_rule(result.findings, "QS102")


def test_dockerfile_user_counts_as_non_root(tmp_path: Path) -> None:
    write(tmp_path, "Dockerfile", "FROM qdrant/qdrant:v1.19.0\nUSER 1000:1000\n")
    path = write(tmp_path, "compose.yaml", "services:\n  q:\n    build: .\n")
    result = lint_paths([path])
    assert len(result.targets) == 1 and not by_rule(result.findings, "QS501")


# -- images of tools around Qdrant -------------------------------------------------------------
def test_tools_around_qdrant_are_not_qdrant(tmp_path: Path) -> None:
    from qdrantsec.lint.inputs.compose import is_qdrant_image

    for image in ("qdrant/qdrant:v1.19.0", "mirror.local:5000/qdrant/qdrant",
                  "custom-qdrant:v1.13.4-unprivileged", "registry.example/team/team-qdrant:1",
                  "qdrant_consensus:latest"):
        assert is_qdrant_image(image), image
    for image in ("mcp/qdrant:latest", "ghcr.io/qdrant/mcp-server-qdrant", "qdrant/qdrant-web-ui",
                  "apecloud/qdrant-tools:0.1.0", "example/qdrant-loader", "qdrant/qdrant-backup:1"):
        assert not is_qdrant_image(image), image
    path = write(tmp_path, "docker-compose.yml", """
        services:
          memory-mcp:
            image: mcp/qdrant:latest
            ports: ["8000:8000"]
            environment:
              QDRANT_URL: http://vectors:6333
        """)
    assert lint_paths([path]).targets == []


def test_platform_generated_password_variable_is_not_maybe_empty(tmp_path: Path) -> None:
    path = write(tmp_path, "qdrant.yaml", """
        services:
          qdrant:
            image: qdrant/qdrant:v1.19.0
            environment:
              - SERVICE_URL_QDRANT_6333
              - QDRANT__SERVICE__API_KEY=${SERVICE_PASSWORD_QDRANTAPIKEY}
              - QDRANT__SERVICE__READ_ONLY_API_KEY=${READONLY_KEY}
        """)
    result = lint_paths([path])
    key = result.targets[0].config.get("service.api_key")
    assert isinstance(key, ValueRef) and not key.may_be_empty
    empty = by_rule(result.findings, "QS202")
    assert [f.message.split("`")[1] for f in empty] == ["service.read_only_api_key"]


# -- compose override files -------------------------------------------------------------------
def test_default_override_file_is_merged_into_its_base(tmp_path: Path) -> None:
    base = write(tmp_path, "docker-compose.yml", """
        services:
          qdrant:
            image: qdrant/qdrant:v1.19.0
            environment:
              QDRANT__TELEMETRY_DISABLED: "true"
        """)
    override = write(tmp_path, "docker-compose.override.yml", """
        services:
          qdrant:
            ports:
              - "6333:6333"
            environment:
              QDRANT__SERVICE__API_KEY: dev
        """)
    for given in ([str(tmp_path)], [override], [base]):
        result = lint_paths(given)
        (t,) = result.targets
        assert t.config.get("telemetry_disabled") is True and t.config.get("service.api_key") == "dev"
        (published,) = by_rule(result.findings, "QS102")
        assert (published.location.file, published.location.line) == (override, 4)
        (weak,) = by_rule(result.findings, "QS203")
        assert (weak.location.file, weak.location.line) == (override, 6)


def test_api_key_secret_exported_by_a_custom_entrypoint(tmp_path: Path) -> None:
    text = """
        services:
          qdrant:
            image: qdrant/qdrant:v1.19.0-unprivileged
            entrypoint: ["/bin/sh", "/config/entrypoint.sh"]
            secrets:
              - QDRANT_API_KEY
        secrets:
          QDRANT_API_KEY:
            file: ./.secrets/qdrant_api_key.txt
        """
    result = lint_paths([write(tmp_path, "with/docker-compose.yml", text)])
    key = result.targets[0].config.get("service.api_key")
    assert isinstance(key, ValueRef) and key.ref_kind == "compose-secret"
    assert not by_rule(result.findings, "QS201")
    # without its own entrypoint nothing reads the secret: Qdrant has no *_FILE support
    without = "\n".join(ln for ln in text.splitlines() if "entrypoint" not in ln)
    plain = lint_paths([write(tmp_path, "without/docker-compose.yml", without)])
    assert by_rule(plain.findings, "QS201")


def test_deploy_time_tag_makes_runs_as_root_a_maybe(tmp_path: Path) -> None:
    path = write(tmp_path, "docker-compose.yml", """
        services:
          q1:
            image: qdrant/qdrant:${APP_TAG}
          q2:
            image: qdrant/qdrant:v1.19.0
        """)
    found = {f.location.line: f for f in by_rule(lint(path), "QS501")}
    assert found[3].severity.label == "low" and "deploy-time tag" in found[3].message
    assert found[5].severity.label == "medium"


def test_chart_template_that_parses_as_yaml_is_still_a_template(tmp_path: Path) -> None:
    template = write(tmp_path, "chart/templates/deployment.yaml", """
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: "{{ .Release.Name }}-vectors"
        spec:
          template:
            spec:
              containers:
                - name: qdrant
                  image: "qdrant/qdrant:{{ .Values.tag }}"
                  env:
                    - name: QDRANT__SERVICE__API_KEY
                      value: "{{ .Values.apiKey }}"
        """)
    values = write(tmp_path, "chart/values.yaml", """
        image:
          repository: qdrant/qdrant
          tag: v1.19.0
        apiKey: true
        podLabels:
          release: "{{ .Release.Name }}"
        """)
    compose = write(tmp_path, "docker-compose.yml", """
        services:
          qdrant:
            image: qdrant/qdrant:v1.19.0
            healthcheck:
              test: ["CMD-SHELL", "docker inspect --format '{{.State.Health.Status}}' x"]
        """)
    result = lint_paths([template, values, compose])
    assert sorted(t.kind for t in result.targets) == ["compose", "helm-values"]
    assert [p for p, _ in result.skipped] == [template]
    assert not {"QS203", "QS207"} & {f.rule for f in result.findings}
    (forced,) = lint_paths([template], kind="k8s").findings
    assert forced.rule == "QS001" and forced.severity.label == "low"


# -- Secrets committed next to the workload ------------------------------------------------------
SECRET_WORKLOAD = """
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: vectors
spec:
  template:
    spec:
      containers:
        - name: qdrant
          image: qdrant/qdrant:v1.19.0-unprivileged
          env:
            - name: QDRANT__SERVICE__API_KEY
              valueFrom:
                secretKeyRef: {name: vectors-auth, key: api-key}
          envFrom:
            - secretRef: {name: vectors-extra}
"""


def test_secret_with_literal_values_in_the_manifest_set_is_read(tmp_path: Path) -> None:
    write(tmp_path, "app/qdrant.yaml", SECRET_WORKLOAD)
    write(tmp_path, "app/secret.yaml", """
        apiVersion: v1
        kind: Secret
        metadata:
          name: vectors-auth
        stringData:
          api-key: changeme
        ---
        apiVersion: v1
        kind: Secret
        metadata:
          name: vectors-extra
        data:
          QDRANT__SERVICE__READ_ONLY_API_KEY: Y2hhbmdlbWU=
        """)
    result = lint_paths([str(tmp_path / "app")])
    (t,) = result.targets
    assert t.config.get("service.api_key") == "changeme"
    assert t.config.get("service.read_only_api_key") == "changeme"
    weak = by_rule(result.findings, "QS203")
    assert {(Path(f.location.file or "").name, f.location.line) for f in weak} >= {("secret.yaml", 6)}
    assert by_rule(result.findings, "QS207") and by_rule(result.findings, "QS204")


def test_sops_encrypted_secret_stays_a_reference(tmp_path: Path) -> None:
    write(tmp_path, "app/qdrant.yaml", SECRET_WORKLOAD)
    write(tmp_path, "app/secret.yaml", """
        apiVersion: v1
        kind: Secret
        metadata:
          name: vectors-auth
        stringData:
          api-key: ENC[AES256_GCM,data:abc,iv:def,tag:ghi,type:str]
        sops:
          version: 3.8.1
        """)
    result = lint_paths([str(tmp_path / "app")])
    assert isinstance(result.targets[0].config.get("service.api_key"), ValueRef)
    assert not by_rule(result.findings, "QS207")


def test_load_balancer_source_ranges_lower_the_exposure(tmp_path: Path) -> None:
    anchor = "  ports:\n    - {name: http"
    restricted = "  type: LoadBalancer\n  loadBalancerSourceRanges: [203.0.113.0/24]\n" + anchor
    write(tmp_path, "app/all.yaml", WORKLOAD_AND_SERVICE.replace(anchor, restricted, 1))
    (exposed,) = by_rule(lint(str(tmp_path / "app")), "QS102")
    assert exposed.severity.label == "high" and "203.0.113.0/24" in exposed.message


def test_dotenv_used_for_interpolation_is_not_reported_as_skipped(tmp_path: Path) -> None:
    write(tmp_path, ".env", "VECTORS_KEY=Password102!\n")
    write(tmp_path, "docker-compose.yml", """
        services:
          qdrant:
            image: qdrant/qdrant:v1.19.0
            environment:
              - QDRANT__SERVICE__API_KEY=${VECTORS_KEY}
        """)
    result = lint_paths([str(tmp_path)])
    assert result.targets[0].config.get("service.api_key") == "Password102!"
    assert not any(n.startswith("skipped") and n.endswith("file") for n in result.notes)
    assert any(".env was read as part of a compose file" in n for n in result.notes)
