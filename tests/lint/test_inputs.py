"""Targets and their effective config, built from every input kind, with exact positions."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from qdrantsec.lint.engine import lint_paths
from qdrantsec.lint.model import Target, ValueRef
from tests.lint.filehelpers import where, write


def targets(*paths: str, **kw: object) -> list[Target]:
    return lint_paths(list(paths), rules=[], **kw).targets  # type: ignore[arg-type]



# -- Qdrant config files ---------------------------------------------------------------
def test_layered_config_files_in_qdrant_order(tmp_path: Path) -> None:
    write(tmp_path, "config/local.yaml", """
        service:
          api_key: from-local-layer-0123456789abcdef
        """)
    write(tmp_path, "config/config.yaml", """
        service:
          host: 127.0.0.1
          api_key: from-config-layer
        cluster:
          enabled: true
        """)
    write(tmp_path, "config/production.yaml", """
        log_level: INFO
        service:
          host: 10.0.0.5
        """)
    (t,) = targets(str(tmp_path / "config"))
    assert [Path(f).name for f in t.config_files] == ["config.yaml", "production.yaml", "local.yaml"]
    assert t.config.get("service.host") == "10.0.0.5"
    assert where(t, "service.host") == ("production.yaml", 3, 9, None)
    assert t.config.get("service.api_key") == "from-local-layer-0123456789abcdef"
    assert where(t, "service.api_key") == ("local.yaml", 2, 12, None)
    assert where(t, "cluster.enabled") == ("config.yaml", 5, 12, None)
    # untouched settings are Qdrant's defaults
    assert t.config.setting("service.enable_tls").source.kind == "default"  # type: ignore[union-attr]


def test_other_files_are_config_path_layers_over_the_base(tmp_path: Path) -> None:
    write(tmp_path, "config.yaml", "service:\n  host: 127.0.0.1\n")
    write(tmp_path, "node-a.yaml", "service:\n  enable_tls: true\n")
    write(tmp_path, "node-b.yaml", "cluster:\n  enabled: true\n")
    ts = targets(str(tmp_path))
    assert sorted([Path(f).name for f in t.config_files] for t in ts) == [
        ["config.yaml", "node-a.yaml"], ["config.yaml", "node-b.yaml"]]
    for t in ts:
        assert t.config.get("service.host") == "127.0.0.1"


def test_development_is_the_run_mode_layer_only_without_production(tmp_path: Path) -> None:
    write(tmp_path, "config.yaml", "service:\n  host: 0.0.0.0\n")
    write(tmp_path, "development.yaml", "service:\n  host: 127.0.0.1\n")
    (t,) = targets(str(tmp_path))
    assert t.config.get("service.host") == "127.0.0.1"


def test_env_file_overrides_with_positions(tmp_path: Path) -> None:
    cfg = write(tmp_path, "qdrant.yaml", "service:\n  api_key: in-the-file\n  enable_tls: true\n")
    env = write(tmp_path, "prod.env", """
        # production overrides
        QDRANT__SERVICE__API_KEY=from-env
        export QDRANT__SERVICE__ENABLE_TLS="false"
        QDRANT_URI=http://ignored:6335
        """)
    (t,) = targets(cfg, env_files=[env])
    assert t.config.get("service.api_key") == "from-env"
    assert where(t, "service.api_key") == ("prod.env", 2, 1, "QDRANT__SERVICE__API_KEY")
    assert t.config.get("service.enable_tls") is False
    assert where(t, "service.enable_tls") == ("prod.env", 3, 8, "QDRANT__SERVICE__ENABLE_TLS")
    assert "env file" not in t.label and "prod.env" in t.label


def test_env_file_alone_is_a_target(tmp_path: Path) -> None:
    env = write(tmp_path, "qdrant.env", 'QDRANT__SERVICE__HOST=0.0.0.0\nQDRANT__SERVICE__API_KEY=""\n')
    (t,) = targets(env)
    assert t.kind == "env" and t.runs_qdrant and t.label == f"env file {env}"
    assert t.config.get("service.api_key") == ""
    assert where(t, "service.api_key") == ("qdrant.env", 2, 1, "QDRANT__SERVICE__API_KEY")


# -- compose ---------------------------------------------------------------------------
COMPOSE = """
services:
  web:
    image: nginx:1.27
    ports: ["80:80"]
  qdrant:
    image: qdrant/qdrant:${QDRANT_TAG:-v1.19.0}
    ports:
      - "127.0.0.1:6333:6333"
      - "${GRPC_PORT:-6334}:6334"
      - target: 6335
        published: "6335"
        host_ip: 0.0.0.0
    environment:
      QDRANT__SERVICE__API_KEY: ${QDRANT_API_KEY}
      QDRANT__SERVICE__ENABLE_TLS: ${QDRANT_TLS:-true}
      QDRANT__SERVICE__READ_ONLY_API_KEY: ${RO_KEY:-changeme}
      QDRANT__CLUSTER__ENABLED: "true"
    env_file:
      - qdrant.env
    volumes:
      - ./prod.yaml:/qdrant/config/production.yaml:ro
      - qdrant_data:/qdrant/storage
volumes:
  qdrant_data: {}
"""


def test_compose_service_with_environment_env_file_mount_and_ports(tmp_path: Path) -> None:
    compose = write(tmp_path, "docker-compose.yml", COMPOSE)
    write(tmp_path, "qdrant.env", "QDRANT__SERVICE__ENABLE_CORS=false\nQDRANT__SERVICE__API_KEY=overridden\n")
    write(tmp_path, "prod.yaml", "service:\n  host: 0.0.0.0\n  enable_tls: false\n")
    (t,) = targets(str(tmp_path))
    assert t.kind == "compose" and t.compose_service_name == "qdrant"
    assert t.label == f"{compose} service qdrant"
    # the mounted file is the RUN_MODE=production layer, under the environment
    assert [Path(f).name for f in t.config_files] == ["prod.yaml"]
    assert where(t, "service.host") == ("prod.yaml", 2, 9, None)
    assert t.config.get("service.enable_tls") is True  # ${QDRANT_TLS:-true}: the default
    assert where(t, "service.enable_tls") == ("docker-compose.yml", 15, 36, "QDRANT__SERVICE__ENABLE_TLS")
    # environment: wins over env_file; an unknown ${VAR} stays a reference
    key = t.config.get("service.api_key")
    assert isinstance(key, ValueRef) and key == "${QDRANT_API_KEY}" and key.may_be_empty
    assert key.ref_kind == "compose-var"
    assert where(t, "service.api_key") == ("docker-compose.yml", 14, 33, "QDRANT__SERVICE__API_KEY")
    ro = t.config.get("service.read_only_api_key")
    assert isinstance(ro, ValueRef) and ro.default == "changeme" and not ro.may_be_empty
    assert t.config.get("service.enable_cors") is False
    assert where(t, "service.enable_cors") == ("qdrant.env", 1, 1, "QDRANT__SERVICE__ENABLE_CORS")
    assert t.config.get("cluster.enabled") is True
    # the service node is interpolated (defaults used) and keeps positions
    assert t.compose_service is not None
    assert t.compose_service.get("image").value == "qdrant/qdrant:v1.19.0"  # type: ignore[union-attr]
    ports = [(p.container_port, p.host_port, p.host_ip, p.public, p.location.line) for p in t.ports]
    assert ports == [(6333, "6333", "127.0.0.1", False, 8), (6334, "6334", None, True, 9),
                     (6335, "6335", "0.0.0.0", True, 10)]
    assert t.workdir == "/qdrant"
    assert t.host_path("./tls/cert.pem") is None  # not mounted: not visible here


def test_compose_dotenv_interpolation_and_list_form(tmp_path: Path) -> None:
    write(tmp_path, ".env", "QDRANT_API_KEY=from-dotenv-0123456789abcdef0123\nTLS=yes\n")
    write(tmp_path, "compose.yaml", """
        services:
          db:
            image: docker.io/qdrant/qdrant:v1.19.0-unprivileged
            user: "1000"
            environment:
              - QDRANT__SERVICE__API_KEY=${QDRANT_API_KEY}
              - QDRANT__SERVICE__ENABLE_TLS=$TLS
              - QDRANT__SERVICE__JWT_RBAC
              - PRICE=$$5
            volumes:
              - type: bind
                source: ./tls
                target: /qdrant/tls
        """)
    (t,) = targets(str(tmp_path))
    assert t.config.get("service.api_key") == "from-dotenv-0123456789abcdef0123"
    assert where(t, "service.api_key") == ("compose.yaml", 6, 9, "QDRANT__SERVICE__API_KEY")
    assert t.config.get("service.enable_tls") is True
    jwt = t.config.get("service.jwt_rbac")
    assert isinstance(jwt, ValueRef) and jwt.may_be_empty  # passed through from the shell
    assert t.extra["dotenv"].endswith(".env")
    assert t.host_path("./tls/cert.pem") == str(tmp_path / "tls" / "cert.pem")
    assert t.host_path("/qdrant/tls/key.pem") == str(tmp_path / "tls" / "key.pem")


def test_compose_config_path_and_required_variables(tmp_path: Path) -> None:
    write(tmp_path, "conf/tls_config.yaml", "service:\n  enable_tls: true\ntls:\n  cert: ./tls/cert.pem\n")
    write(tmp_path, "docker-compose.yaml", """
        services:
          node1:
            image: ${QDRANT_IMAGE:-qdrant/qdrant:dev}
            command: ./qdrant --uri 'https://node1:6335' --config-path /qdrant/config/tls.yaml
            environment:
              - QDRANT__SERVICE__API_KEY=${QDRANT_API_KEY:?set it}
            volumes:
              - ./conf/tls_config.yaml:/qdrant/config/tls.yaml:ro
        """)
    (t,) = targets(str(tmp_path / "docker-compose.yaml"))
    assert [Path(f).name for f in t.config_files] == ["tls_config.yaml"]
    assert where(t, "service.enable_tls") == ("tls_config.yaml", 2, 15, None)
    key = t.config.get("service.api_key")
    assert isinstance(key, ValueRef) and not key.may_be_empty and key.default is None


def test_compose_config_consumed_is_not_linted_alone(tmp_path: Path) -> None:
    write(tmp_path, "compose.yml", """
        services:
          qdrant:
            image: qdrant/qdrant:v1.19.0
            volumes:
              - ./config.yaml:/qdrant/config/config.yaml
            env_file: qdrant.env
        """)
    write(tmp_path, "config.yaml", "service:\n  host: 0.0.0.0\n")
    write(tmp_path, "qdrant.env", "QDRANT__SERVICE__API_KEY=k\n")
    res = lint_paths([str(tmp_path)], rules=[])
    assert [t.kind for t in res.targets] == ["compose"]
    assert any("linted as part of the service" in n for n in res.notes)


def test_compose_host_network_exposes_every_listener(tmp_path: Path) -> None:
    write(tmp_path, "compose.yml", """
        services:
          qdrant:
            image: qdrant/qdrant:v1.19.0
            network_mode: host
            environment:
              QDRANT__CLUSTER__ENABLED: "true"
              QDRANT__SERVICE__METRICS_PORT: "9090"
        """)
    (t,) = targets(str(tmp_path))
    assert sorted(p.container_port for p in t.ports) == [6333, 6334, 6335, 9090]
    assert {p.location.line for p in t.ports} == {4}
    assert all(p.public for p in t.ports)


# -- Kubernetes ------------------------------------------------------------------------
MANIFEST = """
apiVersion: v1
kind: ConfigMap
metadata:
  name: qdrant-config
data:
  production.yaml: |
    service:
      host: 0.0.0.0
      enable_tls: true
    cluster:
      enabled: true
---
apiVersion: v1
kind: Service
metadata:
  name: qdrant
spec:
  type: LoadBalancer
  selector: {app: qdrant}
  ports: [{port: 6333}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: qdrant
spec:
  template:
    metadata:
      labels: {app: qdrant}
    spec:
      containers:
        - name: sidecar
          image: busybox:1.36
        - name: qdrant
          image: qdrant/qdrant:v1.19.0
          ports:
            - containerPort: 6333
              hostPort: 6333
          env:
            - name: QDRANT__SERVICE__API_KEY
              valueFrom:
                secretKeyRef: {name: qdrant-key, key: api-key}
            - name: QDRANT__SERVICE__READ_ONLY_API_KEY
              value: ""
          volumeMounts:
            - name: config
              mountPath: /qdrant/config/production.yaml
              subPath: production.yaml
      volumes:
        - name: config
          configMap: {name: qdrant-config}
"""


def test_k8s_workload_with_secret_env_and_mounted_configmap(tmp_path: Path) -> None:
    path = write(tmp_path, "qdrant.yaml", MANIFEST)
    (t,) = targets(path)
    assert t.kind == "k8s" and t.label == f"{path} StatefulSet/qdrant"
    assert t.container is not None and t.container.get("name").value == "qdrant"  # type: ignore[union-attr]
    assert sorted(o.kind for o in t.k8s_objects) == ["ConfigMap", "Service", "StatefulSet"]
    key = t.config.get("service.api_key")
    assert isinstance(key, ValueRef) and key.ref_kind == "k8s-secret" and "qdrant-key" in key
    assert where(t, "service.api_key") == ("qdrant.yaml", 42, 17, "QDRANT__SERVICE__API_KEY")
    assert t.config.get("service.read_only_api_key") == ""
    ro_var = "QDRANT__SERVICE__READ_ONLY_API_KEY"
    assert where(t, "service.read_only_api_key") == ("qdrant.yaml", 44, 22, ro_var)
    # the ConfigMap's YAML, at its real lines and columns in the manifest
    assert t.config_files == [path]
    assert where(t, "service.host") == ("qdrant.yaml", 8, 13, None)
    assert where(t, "service.enable_tls") == ("qdrant.yaml", 9, 19, None)
    assert where(t, "cluster.enabled") == ("qdrant.yaml", 11, 16, None)
    assert [(p.container_port, p.host_port, p.location.line) for p in t.ports] == [(6333, "6333", 38)]


def test_k8s_configmap_env_from_and_secret_string_data(tmp_path: Path) -> None:
    encoded = base64.b64encode(b"service:\n  api_key: s3cr3t\n").decode()
    path = write(tmp_path, "deploy.yaml", f"""
        apiVersion: v1
        kind: List
        items:
          - apiVersion: v1
            kind: ConfigMap
            metadata: {{name: env}}
            data:
              QDRANT__TELEMETRY_DISABLED: "true"
          - apiVersion: v1
            kind: Secret
            metadata: {{name: keys}}
            data:
              local.yaml: {encoded}
          - apiVersion: apps/v1
            kind: Deployment
            metadata: {{name: vec}}
            spec:
              template:
                spec:
                  containers:
                    - name: q
                      image: registry.example/mirror/qdrant:1.19.0
                      envFrom:
                        - configMapRef: {{name: env}}
                        - secretRef: {{name: more}}
                      volumeMounts:
                        - {{name: keys, mountPath: /qdrant/config/local.yaml, subPath: local.yaml}}
                  volumes:
                    - {{name: keys, secret: {{secretName: keys}}}}
        """)
    (t,) = targets(path)
    assert t.config.get("telemetry_disabled") is True
    assert where(t, "telemetry_disabled") == ("deploy.yaml", 8, 7, "QDRANT__TELEMETRY_DISABLED")
    assert t.config.get("service.api_key") == "s3cr3t"
    assert where(t, "service.api_key") == ("deploy.yaml", 13, 19, None)  # base64: the data value
    assert t.extra["env_from"] == [("Secret", "more")]


# -- Helm values -----------------------------------------------------------------------
@pytest.mark.parametrize(("api_key", "expected"), [
    ("true", ValueRef("<generated by chart>", "helm-generated")),
    ('"a-literal-key"', "a-literal-key"),
    ("false", None),
    ('""', None),
])
def test_helm_values_api_key_forms(tmp_path: Path, api_key: str, expected: object) -> None:
    path = write(tmp_path, "values.yaml", f"""
        image:
          repository: docker.io/qdrant/qdrant
          tag: v1.19.0
        apiKey: {api_key}
        config:
          service:
            api_key: overridden-by-apiKey
            enable_tls: true
        """)
    (t,) = targets(path)
    assert t.kind == "helm-values" and t.helm_values is not None
    value = t.config.get("service.api_key")
    if expected is None:
        assert value == "overridden-by-apiKey"
        assert where(t, "service.api_key") == ("values.yaml", 7, 14, None)
    else:
        assert value == expected
        assert where(t, "service.api_key") == ("values.yaml", 4, 9, None)
        assert isinstance(value, ValueRef) == isinstance(expected, ValueRef)
    assert where(t, "service.enable_tls") == ("values.yaml", 8, 17, None)


def test_helm_values_secret_ref_and_env(tmp_path: Path) -> None:
    path = write(tmp_path, "values-prod.yaml", """
        readOnlyApiKey:
          valueFrom:
            secretKeyRef:
              name: qdrant-ro
              key: key
        env:
          - name: QDRANT__SERVICE__ENABLE_TLS
            value: true
        config:
          cluster:
            enabled: true
        """)
    (t,) = targets(path)
    ro = t.config.get("service.read_only_api_key")
    assert isinstance(ro, ValueRef) and ro.ref_kind == "k8s-secret" and "qdrant-ro/key" in ro
    assert t.config.get("service.enable_tls") is True
    assert where(t, "service.enable_tls") == ("values-prod.yaml", 8, 12, "QDRANT__SERVICE__ENABLE_TLS")
    assert t.config.get("service.api_key") is None


def test_compose_unreadable_env_file_is_recorded_for_the_rules(tmp_path: Path) -> None:
    write(tmp_path, "compose.yml", """
        services:
          qdrant:
            image: qdrant/qdrant:v1.19.0
            env_file: [secrets.env]
        """)
    res = lint_paths([str(tmp_path)], rules=[])
    (t,) = res.targets
    assert t.extra["unread_env_files"] == [str(tmp_path / "secrets.env")]
    assert any("secrets.env: file not found" in n for n in res.notes)


def test_compose_config_directory_mount_and_run_mode(tmp_path: Path) -> None:
    write(tmp_path, "qdrant-config/config.yaml", "service:\n  http_port: 7333\n")
    write(tmp_path, "qdrant-config/staging.yaml", "service:\n  host: 10.0.0.7\n")
    write(tmp_path, "qdrant-config/production.yaml", "service:\n  host: 0.0.0.0\n")
    write(tmp_path, "qdrant-config/local.yaml", "log_level: DEBUG\n")
    write(tmp_path, "compose.yml", """
        services:
          qdrant:
            image: qdrant/qdrant:v1.19.0
            environment:
              RUN_MODE: staging
            volumes:
              - ./qdrant-config:/qdrant/config:ro
        """)
    res = lint_paths([str(tmp_path / "compose.yml")], rules=[])
    (t,) = res.targets
    assert [Path(f).name for f in t.config_files] == ["config.yaml", "staging.yaml", "local.yaml"]
    assert t.config.get("service.http_port") == 7333
    assert where(t, "service.host") == ("staging.yaml", 2, 9, None)
    assert t.config.get("log_level") == "DEBUG"


def test_k8s_configmap_problems_point_into_the_manifest(tmp_path: Path) -> None:
    path = write(tmp_path, "m.yaml", """
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: c}
        data:
          config.yaml: |
            service:
              host: 10.0.0.1
              host: 0.0.0.0
          local.yaml: |
            service: [unclosed
        ---
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: q}
        spec:
          template:
            spec:
              containers:
                - name: q
                  image: qdrant/qdrant:v1.19.0
                  volumeMounts: [{name: c, mountPath: /qdrant/config}]
              volumes: [{name: c, configMap: {name: c}}]
        """)
    res = lint_paths([path], rules=[])
    got = sorted((f.rule, f.location.line, f.location.column) for f in res.findings)
    assert got == [("QS001", 11, 5), ("QS002", 8, 7)]
    (t,) = res.targets
    assert t.config.get("service.host") == "0.0.0.0"
    assert where(t, "service.host") == ("m.yaml", 8, 13, None)


@pytest.mark.parametrize("flat", [None, (12, 7)])
def test_embedded_config_shifted_in_place_matches_the_copy(flat: tuple[int, int] | None) -> None:
    # a ConfigMap's embedded config is moved to its place in the manifest on the parsed
    # nodes themselves; every position, tag, file and raw text must be what the copy gives
    from qdrantsec.lint.inputs.context import shift_in_place, shift_node
    from qdrantsec.yamlloc import load_located

    text = ("service:\n  host: 0.0.0.0\n  api_key: 'quoted'\n  enable_tls: yes\n"
            "cluster:\n  peers: [a, {b: 1}]\n  list:\n    - x\n    - - nested\nempty:\n")
    copied = shift_node(load_located(text)[0].root, 9, 4, flat=flat)  # type: ignore[arg-type]
    root = load_located(text)[0].root
    assert root is not None and root.value["service"].value["host"].raw == "0.0.0.0"
    shifted = shift_in_place(root, 9, 4, flat=flat)
    assert shifted is root
    assert shifted == copied  # (dataclass equality: every field, all the way down)
    host = shifted.value["service"].value["host"]
    assert (host.line, host.column, host.key_line, host.key_column) == (
        (11, 13, 11, 7) if flat is None else (12, 7, 12, 7))
    assert (shifted.key_line, shifted.key_column) == ((None, None) if flat is None else flat)


def test_embedded_configs_are_typed_as_qdrant_reads_them(tmp_path: Path) -> None:
    """A config embedded in a ConfigMap or a compose inline config is typed from its text
    as Qdrant's YAML reader types it, like a config file: ``yes`` is the string "yes"
    (PyYAML's YAML 1.1 made it True), a substituted ``${PORT:-6333}`` the integer 6333."""
    write(tmp_path, "k8s/qdrant.yaml", """
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: qdrant-config}
        data:
          production.yaml: |
            service:
              api_key: yes
              http_port: 6334
        ---
        apiVersion: apps/v1
        kind: StatefulSet
        metadata: {name: qdrant}
        spec:
          serviceName: qdrant
          selector: {matchLabels: {app: qdrant}}
          template:
            metadata: {labels: {app: qdrant}}
            spec:
              containers:
                - name: qdrant
                  image: qdrant/qdrant:v1.19.0
                  volumeMounts:
                    - {name: config, mountPath: /qdrant/config/production.yaml, subPath: production.yaml}
              volumes:
                - name: config
                  configMap: {name: qdrant-config}
        """)
    write(tmp_path, "compose/compose.yaml", """
        services:
          qdrant:
            image: qdrant/qdrant:v1.19.0
            configs:
              - {source: qdrant_config, target: /qdrant/config/production.yaml}
        configs:
          qdrant_config:
            content: |
              service:
                api_key: yes
                http_port: ${PORT:-6333}
        """)
    (k8s,) = targets(str(tmp_path / "k8s"))
    assert k8s.config.get("service.api_key") == "yes" and k8s.config.get("service.http_port") == 6334
    (compose,) = targets(str(tmp_path / "compose"))
    assert compose.config.get("service.api_key") == "yes"
    assert compose.config.get("service.http_port") == 6333
