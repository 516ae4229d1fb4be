"""Build lint Targets straight from YAML snippets, the way the engine hands them to rules.

These helpers are deliberately small: they parse with ``yamlloc`` (so every node keeps its
line and column), layer the effective config with ``qdrant.config.build_effective`` and fill
the Target fields a rule reads. Compose ``${VAR}`` and Kubernetes ``secretKeyRef`` values
become ``ValueRef``; a ``${VAR}`` / ``${VAR:-}`` with no default may be empty.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from qdrantsec.lint.model import Finding, K8sObject, Rule, Severity, Target, ValueRef
from qdrantsec.qdrant.config import EffectiveConfig, Setting, Source, build_effective, env_var_to_path
from qdrantsec.yamlloc import Node, load_located

_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(:?[-?+=])?([^}]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)")
WORKLOAD_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Pod", "Job", "CronJob"}


def parse(text: str, file: str) -> Node | None:
    docs = load_located(text, name=file)
    return docs[0].root if docs else None


def to_ref(value: str) -> str:
    """A compose value with interpolation becomes a ValueRef; others stay as they are."""
    m = _REF.search(value)
    if m is None:
        return value
    op, arg = m.group(2), m.group(3) or ""
    if m.group(4) is not None or op is None:
        may_be_empty = True  # $VAR / ${VAR}: empty when the variable is unset
    elif op in ("?", ":?"):
        may_be_empty = False  # compose refuses to start without it
    elif op in ("-", ":-", "=", ":="):
        may_be_empty = arg == ""
    else:
        may_be_empty = True
    return ValueRef(value, "env", may_be_empty=may_be_empty)


def _set(cfg: EffectiveConfig, path: str, value: Any, src: Source) -> None:
    node = cfg.tree
    parts = path.split(".")
    for part in parts[:-1]:
        nxt = node.get(part)
        if not isinstance(nxt, dict):
            nxt = {}
            node[part] = nxt
        node = nxt
    node[parts[-1]] = Setting(value, src)


def apply_env(cfg: EffectiveConfig, env: Mapping[str, tuple[str, int | None, int | None]], file: str) -> None:
    """Apply (value, line, column) env entries: literals as Qdrant parses them, references
    as ValueRef."""
    literal = {k: v for k, (v, _, _) in env.items() if not isinstance(v, ValueRef)}
    positions = {k: (ln, col) for k, (_, ln, col) in env.items() if ln is not None and col is not None}
    cfg.apply_env(literal, file=file, positions=positions)  # type: ignore[arg-type]
    for name, (value, line, col) in env.items():
        path = env_var_to_path(name)
        if path is not None and isinstance(value, ValueRef):
            _set(cfg, path, value, Source("env", file=file, line=line, column=col, env_var=name))


def config_target(
    yaml_text: str = "", env: Mapping[str, str] | None = None, *, file: str = "config.yaml",
    env_file: str = ".env", kind: str = "qdrant-config", extra: dict[str, Any] | None = None,
) -> Target:
    """A standalone Qdrant config file, optionally with env overrides (unpositioned)."""
    root = parse(yaml_text, file) if yaml_text.strip() else None
    cfg = build_effective([(file, root)])
    if env:
        apply_env(cfg, {k: (to_ref(v), None, None) for k, v in env.items()}, env_file)
    return Target(kind=kind, file=file, label=file, config=cfg, config_files=[file],
                  extra={"config_nodes": {file: root}, **(extra or {})})


def env_target(text: str, *, file: str = "qdrant.env") -> Target:
    """An env file: ``NAME=value`` lines with positions."""
    env: dict[str, tuple[str, int | None, int | None]] = {}
    for n, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#") or "=" not in stripped:
            continue
        name, _, value = stripped.partition("=")
        value = value.strip().strip('"').strip("'")
        env[name.strip()] = (value, n, line.index(name.strip()) + 1)
    cfg = build_effective()
    apply_env(cfg, env, file)
    return Target(kind="env", file=file, label=file, config=cfg, extra={"config_nodes": {}})


def _compose_env(svc: Node) -> dict[str, tuple[str, int | None, int | None]]:
    out: dict[str, tuple[str, int | None, int | None]] = {}
    env = svc.get("environment")
    if env is None:
        return out
    if isinstance(env.value, dict):
        for name, node in env.value.items():
            value = "" if node.value is None else str(node.plain())
            if isinstance(node.value, bool):
                value = str(node.value).lower()
            out[name] = (to_ref(value), node.key_line, node.key_column)
    elif isinstance(env.value, list):
        for node in env.value:
            name, _, value = str(node.value).partition("=")
            out[name] = (to_ref(value), node.line, node.column)
    return out


def compose_target(
    yaml_text: str, service: str = "qdrant", *, file: str = "docker-compose.yml",
    config_yaml: str | None = None, config_file: str = "config.yaml", extra: dict[str, Any] | None = None,
) -> Target:
    root = parse(yaml_text, file)
    assert root is not None
    svc = root.get("services", service)
    assert svc is not None, f"no service {service}"
    files: list[tuple[str, Node | None]] = []
    nodes: dict[str, Node | None] = {}
    if config_yaml is not None:
        croot = parse(config_yaml, config_file)
        files.append((config_file, croot))
        nodes[config_file] = croot
    cfg = build_effective(files)
    apply_env(cfg, _compose_env(svc), file)
    return Target(kind="compose", file=file, label=f"{file} service {service}", config=cfg,
                  config_files=[f for f, _ in files], compose_service=svc,
                  compose_service_name=service, extra={"config_nodes": nodes, **(extra or {})})


def k8s_objects(text: str, file: str) -> list[K8sObject]:
    out = []
    for doc in load_located(text, name=file):
        root = doc.root
        if root is None or not isinstance(root.value, dict):
            continue
        meta = root.plain().get("metadata") or {}
        out.append(K8sObject(file=file, node=root, kind=str(root.plain().get("kind", "")),
                             name=str(meta.get("name", "")), namespace=meta.get("namespace")))
    return out


def _pod_spec(obj: K8sObject) -> Node | None:
    if obj.kind == "Pod":
        return obj.node.get("spec")
    if obj.kind == "CronJob":
        return obj.node.get("spec", "jobTemplate", "spec", "template", "spec")
    return obj.node.get("spec", "template", "spec")


def k8s_target(yaml_text: str, *, file: str = "qdrant.yaml", extra: dict[str, Any] | None = None) -> Target:
    objects = k8s_objects(yaml_text, file)
    workload = next(o for o in objects if o.kind in WORKLOAD_KINDS)
    spec = _pod_spec(workload)
    containers = spec.get("containers") if spec is not None else None
    container = next(c for c in (containers.value if containers else [])
                     if "qdrant" in str(c.plain().get("image", "")))
    env: dict[str, tuple[str, int | None, int | None]] = {}
    for item in (container.get("env").value if container.get("env") else []):
        name = str(item.get("name").value)
        value_node = item.get("value")
        ref = item.get("valueFrom", "secretKeyRef")
        if ref is not None:
            data = ref.plain()
            env[name] = (ValueRef(f"secretKeyRef {data.get('name')}/{data.get('key')}", "secretKeyRef"),
                         item.line, item.column)
        elif value_node is not None:
            env[name] = (str(value_node.plain()), value_node.line, value_node.column)
    cfg = build_effective()
    apply_env(cfg, env, file)
    return Target(kind="k8s", file=file, label=f"{file} {workload.kind} {workload.name}", config=cfg,
                  workload=workload, container=container, k8s_objects=objects,
                  extra={"config_nodes": {}, **(extra or {})})


def helm_target(yaml_text: str, *, file: str = "values.yaml") -> Target:
    root = parse(yaml_text, file)
    assert root is not None
    config_node = root.get("config")
    cfg = build_effective([(file, config_node)] if config_node is not None else [])
    for key, path in (("apiKey", "service.api_key"), ("readOnlyApiKey", "service.read_only_api_key")):
        node = root.get(key)
        if node is None or node.value is False:
            continue
        src = Source("file", file=file, line=node.line, column=node.column)
        if node.value is True:
            _set(cfg, path, ValueRef("<generated by the Helm chart>", "helm-generated"), src)
        elif isinstance(node.value, dict):
            _set(cfg, path, ValueRef("valueFrom", "secretKeyRef"), src)
        else:
            _set(cfg, path, str(node.value), src)
    return Target(kind="helm-values", file=file, label=f"{file} (Helm values)", config=cfg,
                  config_files=[file] if config_node is not None else [], helm_values=root,
                  extra={"config_nodes": {file: config_node} if config_node is not None else {}})


def run(rule: Rule, target: Target) -> list[Finding]:
    return list(rule.check(target)) if rule.applies_to(target) else []


def one(rule: Rule, target: Target) -> Finding:
    found = run(rule, target)
    assert len(found) == 1, [f"{f.location.describe()}: {f.message}" for f in found]
    return found[0]


def at(finding: Finding) -> tuple[int | None, int | None]:
    return finding.location.line, finding.location.column


def severities(findings: Iterable[Finding]) -> list[Severity]:
    return [f.severity for f in findings]


def write_cert(
    directory: Any, *, name: str = "cert", dns: tuple[str, ...] = ("localhost",),
    ips: tuple[str, ...] = ("127.0.0.1",), not_before: Any = None, days: int = 365,
    san: bool = True,
) -> tuple[Any, Any]:
    """Write ``{name}.pem`` and ``{name}.key`` (EC P-256, self-signed) into ``directory``;
    return their paths."""
    import datetime as dt
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    start = not_before or dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=1)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, dns[0] if dns else "qdrant")])
    builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(start).not_valid_after(start + dt.timedelta(days=days)))
    if san:
        names: list[x509.GeneralName] = [x509.DNSName(d) for d in dns]
        names += [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    cert = builder.sign(key, hashes.SHA256())
    cert_path = directory / f"{name}.pem"
    key_path = directory / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path
