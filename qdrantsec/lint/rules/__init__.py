"""The lint rules, one module per rule (listed explicitly in ``qdrantsec.lint.registry``).

This package module holds the small vocabulary the rules share: how to read a key's state
(unset, empty, a literal, a deploy-time reference), a flag that may be a reference, where to
point when nothing set a value, and how to walk compose services and Kubernetes pod specs.

Values the engine could not resolve arrive as ``ValueRef`` (a compose ``${VAR}``, a
``secretKeyRef``, a Helm-generated key). The rules treat them as "set, not a literal,
strength unknown". When the reference carries a shell-style default (``${VAR:-value}``)
that default is what Qdrant gets if the variable is unset, so rules may look at it.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from enum import Enum
from typing import Any

from qdrantsec.lint.model import K8sObject, Location, Target, ValueRef
from qdrantsec.yamlloc import Node

KEY_PATHS: tuple[str, ...] = (
    "service.api_key",
    "service.alt_api_key",
    "service.read_only_api_key",
)
ADMIN_KEY_PATHS: tuple[str, ...] = ("service.api_key", "service.alt_api_key")

CONTAINER_KINDS: tuple[str, ...] = ("compose", "k8s", "helm-values")

_TRUE = {"true", "1", "on", "yes"}
_FALSE = {"false", "0", "off", "no"}

# ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?message}, ${VAR?message}, ${VAR:+alt}
_INTERP = re.compile(r"^\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?+=])(?P<arg>.*))?\}$", re.S)
_SIMPLE_VAR = re.compile(r"^\$(?P<name>[A-Za-z_][A-Za-z0-9_]*)$")


# -- references -------------------------------------------------------------------------
@dataclass(frozen=True)
class RefParts:
    """A parsed ``${VAR...}`` reference."""

    var: str
    op: str | None  # "-", ":-", "?", ":?", "+", ":+", "=", ":=" or None
    arg: str | None

    @property
    def default(self) -> str | None:
        """The value used when the variable is unset (``${VAR:-x}`` / ``${VAR-x}``)."""
        if self.op in ("-", ":-", "=", ":="):
            return self.arg
        return None

    @property
    def required(self) -> bool:
        return self.op in ("?", ":?")


def ref_parts(value: Any) -> RefParts | None:
    """Parse a ``${VAR...}`` or ``$VAR`` text; None when ``value`` is not one."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    m = _INTERP.match(text)
    if m:
        return RefParts(m.group("name"), m.group("op"), m.group("arg"))
    m = _SIMPLE_VAR.match(text)
    if m:
        return RefParts(m.group("name"), None, None)
    return None


def ref_var(value: Any) -> str | None:
    parts = ref_parts(value)
    return parts.var if parts else None


def ref_default(value: Any) -> str | None:
    """The fallback a ``${VAR:-default}`` reference carries, else None (the engine's
    ``ValueRef.default`` when it set one, else parsed from the text)."""
    default = getattr(value, "default", None)
    if isinstance(value, ValueRef) and default is not None:
        return str(default)
    parts = ref_parts(value)
    return parts.default if parts else None


def describe_ref(value: ValueRef) -> str:
    """Human wording for a reference: "the variable QDRANT_API_KEY", "secretKeyRef x/y"."""
    var = ref_var(value)
    if var:
        return f"${{{var}}}"
    return str(value)


# -- keys -------------------------------------------------------------------------------
class KeyState(Enum):
    UNSET = "unset"  # absent or null
    EMPTY = "empty"  # the literal empty string (Qdrant treats it as unset)
    MAYBE_EMPTY = "maybe-empty"  # a reference that is empty when its variable is unset
    REF = "ref"  # a reference, presumably non-empty
    LITERAL = "literal"  # a non-empty literal value


def key_state(target: Target, path: str) -> KeyState:
    value = target.config.get(path)
    if value is None:
        return KeyState.UNSET
    if isinstance(value, ValueRef):
        return KeyState.MAYBE_EMPTY if value.may_be_empty else KeyState.REF
    if isinstance(value, str) and value == "":
        return KeyState.EMPTY
    return KeyState.LITERAL


def key_literal(target: Target, path: str) -> str | None:
    """The key's literal text (str of a scalar), or None when unset/empty/a reference."""
    if key_state(target, path) is not KeyState.LITERAL:
        return None
    value = target.config.get(path)
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def is_key_set(target: Target, path: str) -> bool:
    """Set to something that may be a usable key (a literal or a reference)."""
    return key_state(target, path) in (KeyState.LITERAL, KeyState.REF, KeyState.MAYBE_EMPTY)


def has_auth(target: Target) -> bool:
    """True when at least one of the three keys may be non-empty (facts 2.1)."""
    return any(is_key_set(target, p) for p in KEY_PATHS)


def unread_env_files(target: Target) -> list[str]:
    """``env_file:`` entries of a compose service that could not be read (usually a
    git-ignored ``.env``): whatever they set is unknown to the linter."""
    return list(target.extra.get("unread_env_files") or [])


def unread_env_note(target: Target) -> str:
    """", unless the env_file ... sets the key" for a finding that says no key is set, when
    an env file the linter could not read may set one; else ""."""
    unread = unread_env_files(target)
    if not unread:
        return ""
    return (f", unless the env_file {', '.join(unread)} (not readable here) sets "
            "QDRANT__SERVICE__API_KEY")


def has_admin_key(target: Target) -> bool:
    return any(is_key_set(target, p) for p in ADMIN_KEY_PATHS)


# -- flags and numbers ------------------------------------------------------------------
def as_bool(value: Any) -> bool | None:
    """A config value as Qdrant reads a bool; None when unknown (a reference without a
    default, or garbage Qdrant would refuse)."""
    if isinstance(value, ValueRef):
        default = ref_default(value)
        return as_bool(default) if default is not None else None
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value != 0
    if isinstance(value, str):
        low = value.strip().lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
    return None


def flag(target: Target, path: str, default: bool = False) -> bool | None:
    """A bool setting: its value, ``default`` when unset, None when it cannot be known."""
    value = target.config.get(path)
    if value is None:
        return default
    return as_bool(value)


def as_int(value: Any) -> int | None:
    if isinstance(value, ValueRef):
        default = ref_default(value)
        return as_int(default) if default is not None else None
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            return None
    return None


def cluster_enabled(target: Target) -> bool:
    return flag(target, "cluster.enabled") is True


def tls_enabled(target: Target) -> bool:
    return flag(target, "service.enable_tls") is True


def p2p_tls_enabled(target: Target) -> bool:
    return flag(target, "cluster.p2p.enable_tls") is True


def grpc_enabled(target: Target) -> bool:
    return target.config.get("service.grpc_port") is not None


WILDCARD_HOSTS = {"0.0.0.0", "::", "[::]", "0:0:0:0:0:0:0:0"}


def is_wildcard_host(host: Any) -> bool:
    return isinstance(host, str) and host.strip() in WILDCARD_HOSTS


def is_ip_literal(text: str) -> bool:
    try:
        ipaddress.ip_address(text.strip().strip("[]"))
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class QdrantPorts:
    http: int | None
    grpc: int | None
    p2p: int | None
    metrics: int | None

    def public(self) -> dict[int, str]:
        """Ports that serve the public API (REST, gRPC) and metrics, by number."""
        out: dict[int, str] = {}
        for number, label in ((self.http, "REST"), (self.grpc, "gRPC"), (self.metrics, "metrics")):
            if number is not None:
                out.setdefault(number, label)
        return out


def qdrant_ports(target: Target) -> QdrantPorts:
    cfg = target.config
    return QdrantPorts(
        http=as_int(cfg.get("service.http_port", 6333)),
        grpc=as_int(cfg.get("service.grpc_port")),
        p2p=as_int(cfg.get("cluster.p2p.port")),
        metrics=as_int(cfg.get("service.metrics_port")),
    )


# -- locations --------------------------------------------------------------------------
def config_section_node(target: Target, section: str) -> tuple[str, Node] | None:
    """The YAML node of a config section (e.g. ``service``) in the target's config files,
    when the engine handed the parsed roots over in ``extra["config_nodes"]`` (file name ->
    root Node). The last file (highest precedence) that has the section wins."""
    roots: dict[str, Node | None] = target.extra.get("config_nodes") or {}
    found: tuple[str, Node] | None = None
    for file, root in roots.items():
        if root is None:
            continue
        node = root.get(*section.split(".")) if section else root
        if node is not None:
            found = (file, node)
    return found


def fix_location(target: Target, path: str) -> Location:
    """Where to point for ``path``: where it was set, or, when nothing set it, the place
    where it could be added (its config section, the compose service, the Qdrant container
    or the Helm ``config:``), noted "Qdrant default"."""
    setting = target.config.setting(path)
    if setting is not None and setting.source.kind != "default":
        return target.loc(path)
    note = "Qdrant default"
    parts = path.split(".")
    for depth in range(len(parts) - 1, 0, -1):
        found = config_section_node(target, ".".join(parts[:depth]))
        if found is not None:
            file, node = found
            loc = Location.of_node(file, node, key=True)
            return Location(loc.file, loc.line, loc.column, note=note)
    if target.helm_values is not None:
        node = target.helm_values.get("config") or target.helm_values
        loc = target.node_loc(node, key=node is not target.helm_values)
        return Location(loc.file, loc.line, loc.column, note=note)
    if target.compose_service is not None:
        loc = target.node_loc(target.compose_service, key=True)
        return Location(loc.file, loc.line, loc.column, note=note)
    if target.container is not None and target.workload is not None:
        loc = Location.of_node(target.workload.file, target.container)
        return Location(loc.file, loc.line, loc.column, note=note)
    found = config_section_node(target, "")
    if found is not None and found[1].line:
        return Location(found[0], found[1].line, found[1].column, note=note)
    return Location(target.file, None, None, note=note)


def default_applies(target: Target, path: str) -> bool:
    """Findings about a value nobody set are only for targets that run Qdrant
    (``Target.runs_qdrant``); an explicit setting is always reported."""
    return target.runs_qdrant or target.config.is_set(path)


def where_set(target: Target, path: str) -> str:
    """A short "set in ..." phrase for messages."""
    setting = target.config.setting(path)
    if setting is None or setting.source.kind == "default":
        return "Qdrant's default"
    if setting.source.env_var:
        return f"set by {setting.source.env_var}"
    return "set in the config"


# -- containers -------------------------------------------------------------------------
def node_value(node: Node | None, *path: str) -> Any:
    """Plain value at ``path`` under ``node`` (None when absent)."""
    if node is None:
        return None
    child = node.get(*path) if path else node
    return None if child is None else child.plain()


def mapping_items(node: Node | None) -> list[tuple[str, Node]]:
    if node is None or not isinstance(node.value, dict):
        return []
    return list(node.value.items())


def list_items(node: Node | None) -> list[Node]:
    if node is None or not isinstance(node.value, list):
        return []
    return list(node.value)


def pod_spec(obj: K8sObject) -> Node | None:
    """The pod spec of a workload (Deployment, StatefulSet, DaemonSet, Job, CronJob, Pod)."""
    root = obj.node
    if obj.kind == "Pod":
        return root.get("spec")
    if obj.kind == "CronJob":
        return root.get("spec", "jobTemplate", "spec", "template", "spec")
    return root.get("spec", "template", "spec")


def pod_labels(obj: K8sObject) -> dict[str, Any]:
    if obj.kind == "Pod":
        labels = node_value(obj.node, "metadata", "labels")
    elif obj.kind == "CronJob":
        labels = node_value(obj.node, "spec", "jobTemplate", "spec", "template", "metadata", "labels")
    else:
        labels = node_value(obj.node, "spec", "template", "metadata", "labels")
    return labels if isinstance(labels, dict) else {}


def same_namespace(a: K8sObject, b: K8sObject) -> bool:
    return (a.namespace or "default") == (b.namespace or "default")


def selector_matches(selector: Any, labels: dict[str, Any]) -> bool:
    """A plain ``matchLabels``-style selector (a dict) against labels. An empty selector
    matches everything (NetworkPolicy semantics for ``podSelector: {}``)."""
    if not isinstance(selector, dict):
        return False
    match = selector.get("matchLabels", selector) if "matchLabels" in selector else selector
    exprs = selector.get("matchExpressions") or []
    if isinstance(match, dict):
        for k, v in match.items():
            if k in ("matchLabels", "matchExpressions"):
                continue
            if str(labels.get(k)) != str(v):
                return False
    for expr in exprs if isinstance(exprs, list) else []:
        if not isinstance(expr, dict):
            return False
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        present = key in labels
        if op == "In" and not (present and str(labels[key]) in [str(v) for v in values]):
            return False
        if op == "NotIn" and present and str(labels[key]) in [str(v) for v in values]:
            return False
        if op == "Exists" and not present:
            return False
        if op == "DoesNotExist" and present:
            return False
    return True


def image_of(target: Target) -> tuple[str | None, Node | None]:
    """The Qdrant image reference and its node, for compose and Kubernetes targets."""
    if target.compose_service is not None:
        node = target.compose_service.get("image")
        if target.extra.get("dockerfile") is not None:  # built locally: the Dockerfile's FROM
            return str(target.extra.get("image") or "") or None, None
    elif target.container is not None:
        node = target.container.get("image")
    else:
        return None, None
    if node is None or not isinstance(node.value, str):
        return None, node
    return node.value, node


def is_unprivileged_image(image: str | None) -> bool:
    return bool(image) and "-unprivileged" in str(image)


def service_location(target: Target) -> Location:
    """The compose service key, the Qdrant container, or the Helm values root."""
    if target.compose_service is not None:
        return target.node_loc(target.compose_service, key=True)
    if target.container is not None and target.workload is not None:
        return Location.of_node(target.workload.file, target.container)
    if target.helm_values is not None:
        return target.node_loc(target.helm_values)
    return Location(target.file, None, None)
