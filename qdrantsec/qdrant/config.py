"""Qdrant's configuration as Qdrant 1.19 builds it (facts 1.1-1.3).

Layers, lowest precedence first: the built-in defaults (Qdrant's embedded
``config/config.yaml``), ``config/config``, ``config/{RUN_MODE}``, ``config/local``, the
``--config-path`` file, then ``QDRANT__...`` environment variables. Maps are deep-merged key
by key; lists and scalars are replaced whole.

Every leaf remembers where it came from (a ``Source``), so callers can say "set by
QDRANT__SERVICE__API_KEY in docker-compose.yml:14" or "Qdrant default".
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from qdrantsec.yamlloc import Node

ENV_PREFIX = "QDRANT__"
ENV_SEPARATOR = "__"

_TRUE = {"true", "1", "on", "yes"}
_FALSE = {"false", "0", "off", "no"}

#: The built-in defaults that matter for security (Qdrant 1.19 config/config.yaml plus
#: serde defaults). Keys absent here resolve to None unless a layer sets them.
DEFAULTS: dict[str, Any] = {
    "log_level": "INFO",
    "storage": {
        "storage_path": "./storage",
        "snapshots_path": "./snapshots",
        "temp_path": None,
        "snapshots_config": {"snapshots_storage": "local"},
    },
    "service": {
        "host": "0.0.0.0",
        "http_port": 6333,
        "grpc_port": 6334,
        "max_request_size_mb": 32,
        "enable_cors": True,
        "enable_tls": False,
        "verify_https_client_certificate": False,
        "enable_snapshot_url_recovery": True,
    },
    "cluster": {
        "enabled": False,
        "p2p": {"port": 6335, "enable_tls": False},
        "consensus": {"tick_period_ms": 100},
    },
    "telemetry_disabled": False,
    "tls": {
        "cert": "./tls/cert.pem",
        "key": "./tls/key.pem",
        "ca_cert": "./tls/cacert.pem",
        "cert_ttl": 3600,
    },
}

#: Defaults of the ``audit`` section's fields once the section exists (it is absent by
#: default, which means audit is off).
AUDIT_DEFAULTS: dict[str, Any] = {
    "enabled": False,
    "dir": "./storage/audit",
    "rotation": "daily",
    "max_log_files": 7,
    "trust_forwarded_headers": False,
    "log_api": True,
}

#: Types of the settings whose type matters for parsing environment values.
#: "bool", "int", "str", "float".
SETTING_TYPES: dict[str, str] = {
    "service.host": "str",
    "service.http_port": "int",
    "service.grpc_port": "int",
    "service.metrics_port": "int",
    "service.max_request_size_mb": "int",
    "service.max_workers": "int",
    "service.enable_cors": "bool",
    "service.enable_tls": "bool",
    "service.verify_https_client_certificate": "bool",
    "service.api_key": "str",
    "service.alt_api_key": "str",
    "service.read_only_api_key": "str",
    "service.jwt_rbac": "bool",
    "service.enforce_internal_auth": "bool",
    "service.hide_jwt_dashboard": "bool",
    "service.enable_static_content": "bool",
    "service.enable_snapshot_url_recovery": "bool",
    "service.static_content_dir": "str",
    "service.metrics_prefix": "str",
    "service.slow_query_secs": "float",
    "service.hardware_reporting": "bool",
    "service.http_keep_alive_timeout_sec": "int",
    "service.http_client_request_timeout_sec": "int",
    "service.http_client_disconnect_timeout_sec": "int",
    "tls.cert": "str",
    "tls.key": "str",
    "tls.ca_cert": "str",
    "tls.cert_ttl": "int",
    "cluster.enabled": "bool",
    "cluster.peer_id": "int",
    "cluster.grpc_timeout_ms": "int",
    "cluster.connection_timeout_ms": "int",
    "cluster.resharding_enabled": "bool",
    "cluster.p2p.port": "int",
    "cluster.p2p.enable_tls": "bool",
    "cluster.p2p.connection_pool_size": "int",
    "audit.enabled": "bool",
    "audit.dir": "str",
    "audit.rotation": "str",
    "audit.max_log_files": "int",
    "audit.trust_forwarded_headers": "bool",
    "audit.log_api": "bool",
    "telemetry_disabled": "bool",
    "log_level": "str",
    "storage.storage_path": "str",
    "storage.snapshots_path": "str",
    "inference.token": "str",
    "inference.address": "str",
}


@dataclass(frozen=True)
class Source:
    """Where a setting's value came from."""

    kind: str  # "default" | "file" | "env"
    file: str | None = None
    line: int | None = None
    column: int | None = None
    env_var: str | None = None  # for kind "env": the variable's name

    def describe(self) -> str:
        if self.kind == "default":
            return "Qdrant default"
        where = ""
        if self.file:
            where = self.file
            if self.line:
                where += f":{self.line}"
                if self.column:
                    where += f":{self.column}"
        if self.kind == "env":
            return f"{self.env_var} ({where})" if where else f"{self.env_var} (environment)"
        return where or "unknown"


DEFAULT_SOURCE = Source("default")


@dataclass
class Setting:
    value: Any
    source: Source


@dataclass
class ConfigError:
    """A problem Qdrant would refuse to start with (type error in a value)."""

    path: str
    message: str
    source: Source


#: dotted setting paths split once (rules ask for the same few hundred over and over)
_PARTS: dict[str, Any] = {}
_MISSING = object()


def _split(path: str) -> tuple[str, ...]:
    parts = tuple(path.split("."))
    if len(_PARTS) < 10_000:
        _PARTS[path] = parts
    return parts


#: paths grouped for EffectiveConfig.settings, by the tuple of paths asked for
_GROUPS: dict[tuple[str, ...], list[tuple[tuple[str, ...], list[str]]]] = {}


def _group_paths(paths: tuple[str, ...]) -> list[tuple[tuple[str, ...], list[str]]]:
    """Consecutive paths with the same section as (section parts, [last parts]), in order."""
    groups: list[tuple[tuple[str, ...], list[str]]] = []
    for path in paths:
        *section, key = path.split(".")
        if groups and groups[-1][0] == tuple(section):
            groups[-1][1].append(key)
        else:
            groups.append((tuple(section), [key]))
    return groups


def _leaves(n: Any, path: str) -> Iterable[tuple[str, Setting]]:
    """Every (dotted path, Setting) under ``n``, depth first in key order. A loop over a
    stack of iterators, not recursion: rules walk the whole tree of every target (a
    generator per dict made that a sizeable part of their time), and a recursive closure
    would be a reference cycle per call."""
    if isinstance(n, Setting):
        yield path, n
        return
    if not isinstance(n, dict):
        return
    stack = [(iter(n.items()), path)]
    while stack:
        items, base = stack[-1]
        for k, v in items:
            here = f"{base}.{k}" if base else k
            if isinstance(v, Setting):
                yield here, v
            elif isinstance(v, dict):
                stack.append((iter(v.items()), here))
                break
        else:
            stack.pop()


@dataclass
class EffectiveConfig:
    """The merged configuration: a tree of dicts whose leaves are ``Setting``."""

    tree: dict[str, Any] = field(default_factory=dict)
    errors: list[ConfigError] = field(default_factory=list)

    def setting(self, path: str) -> Setting | None:
        node: Any = self.tree
        for part in _PARTS.get(path) or _split(path):
            if not isinstance(node, dict):
                return None
            node = node.get(part, _MISSING)
            if node is _MISSING:
                return None
        return node if isinstance(node, Setting) else None

    def settings(self, paths: tuple[str, ...]) -> list[Setting | None]:
        """``[self.setting(p) for p in paths]``, looking each section up once for the paths
        in it that come one after the other (a rule that checks every typed setting of
        every target asks for 50 at a time)."""
        groups = _GROUPS.get(paths)
        if groups is None:
            groups = _group_paths(paths)
            if len(_GROUPS) < 100:
                _GROUPS[paths] = groups
        out: list[Setting | None] = []
        add = out.append
        for section, keys in groups:
            node: Any = self.tree
            for part in section:
                if not isinstance(node, dict):
                    break
                node = node.get(part)
            if not isinstance(node, dict):
                out.extend([None] * len(keys))
                continue
            for key in keys:
                leaf = node.get(key)
                add(leaf if isinstance(leaf, Setting) else None)
        return out

    def get(self, path: str, default: Any = None) -> Any:
        node: Any = self.tree  # (setting()'s walk, without a second call: rules ask often)
        for part in _PARTS.get(path) or _split(path):
            if not isinstance(node, dict):
                return default
            node = node.get(part)
        return node.value if isinstance(node, Setting) else default

    def has_section(self, path: str) -> bool:
        node: Any = self.tree
        for part in path.split("."):
            if not isinstance(node, dict) or part not in node:
                return False
            node = node[part]
        return isinstance(node, dict)

    def is_set(self, path: str) -> bool:
        """True when some layer other than the defaults set ``path``."""
        s = self.setting(path)
        return s is not None and s.source.kind != "default"

    def plain(self) -> dict[str, Any]:
        def unwrap(n: Any) -> Any:
            if isinstance(n, dict):
                return {k: unwrap(v) for k, v in n.items()}
            return n.value if isinstance(n, Setting) else n

        return unwrap(self.tree)

    def leaves(self, prefix: str = "") -> Iterable[tuple[str, Setting]]:
        return _leaves(self.tree, prefix)  # (a generator: lazy, without a second layer of yields)

    # -- building ------------------------------------------------------------------
    def merge_plain(self, data: Mapping[str, Any], source: Source) -> None:
        """Merge plain data (no positions), e.g. the defaults."""
        _merge(self.tree, _wrap_plain(data, source))

    def merge_node(self, root: Node, file: str) -> None:
        """Merge a located YAML mapping from ``file``."""
        if isinstance(root.value, dict):
            wrapped = _wrap_node(root, file)
            _coerce_file_bools(wrapped)
            _merge(self.tree, wrapped)

    def apply_env(
        self, env: Mapping[str, str], *, file: str | None = None,
        positions: Mapping[str, tuple[int, int]] | None = None,
    ) -> None:
        """Apply ``QDRANT__...`` overrides as Qdrant parses them (facts 1.2)."""
        for name, raw in env.items():
            line, col = (positions or {}).get(name, (None, None))
            self.apply_env_var(name, raw, Source("env", file=file, line=line, column=col, env_var=name))

    def apply_env_var(self, name: str, raw: str, source: Source) -> bool:
        """Apply one ``QDRANT__...`` variable set at ``source``; False when ``name`` is not a
        config override. A value only known at deploy time (a ``ValueRef``: compose
        ``${VAR}``, a Kubernetes secret) is kept as is, without type coercion."""
        path = env_var_to_path(name)
        if path is None:
            return False
        if hasattr(raw, "ref_kind"):
            value: Any = raw
        else:
            value, error = coerce_env_value(path, raw)
            if error:
                self.errors.append(ConfigError(path, error, source))
        _set_path(self.tree, path.split("."), Setting(value, source))
        return True

    def set(self, path: str, value: Any, source: Source) -> None:
        """Set one leaf (dotted path), e.g. a key the Helm chart renders from ``apiKey``."""
        _set_path(self.tree, path.split("."), Setting(value, source))


def env_var_to_path(name: str) -> str | None:
    """``QDRANT__SERVICE__API_KEY`` -> ``service.api_key``; None for non-overrides
    (``QDRANT_URI``, ``QDRANT_API_KEY``, ...)."""
    if not name.upper().startswith(ENV_PREFIX):
        return None
    rest = name[len(ENV_PREFIX):]
    if not rest:
        return None
    return ".".join(part.lower() for part in rest.split(ENV_SEPARATOR))


def shown_value(value: object) -> str:
    """A setting's value for a message. A value that looks like a key (a key pasted into
    the wrong variable) is named by its fingerprint, so a finding never prints it."""
    from qdrantsec.secrets import fingerprint, looks_like_a_key

    text = str(value)
    if looks_like_a_key(text) or (len(text) >= 24 and " " not in text):
        return f"a key-like value ({fingerprint(text)})"
    return repr(value)


_DNS_LABEL = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")


def shown_host(host: str) -> str:
    """A host name for a message: a dotted DNS name as it is (``'qdrant-0.qdrant-headless'``),
    anything else by the rules of :func:`shown_value` (a key pasted into ``service.host``)."""
    from qdrantsec.secrets import looks_like_a_key

    labels = host.rstrip(".").split(".")
    if len(labels) > 1 and all(_DNS_LABEL.match(label) for label in labels) and not looks_like_a_key(host):
        return repr(host)
    return shown_value(host)


def key_like_name(part: str) -> bool:
    """Whether one part of a setting or variable name is more likely a key than a name:
    mixed case with digits (:func:`qdrantsec.secrets.looks_like_a_key`), or long and full of
    digits (a hex key; an env var name is upper-cased). Setting names are words."""
    from qdrantsec.secrets import looks_like_a_key

    digits = sum(c.isdigit() for c in part)
    return looks_like_a_key(part) or (len(part) >= 16 and digits >= 4 and len(part) - digits >= 4)


def shown_name(name: str, sep: str = ".") -> str:
    """A setting path (``service.api-key``) or variable name (``QDRANT__SERVICE__X``, with
    ``sep="__"``) for a message: a part that looks like a key is named by its fingerprint."""
    from qdrantsec.secrets import fingerprint

    return sep.join(f"<key-like name {fingerprint(p)}>" if key_like_name(p) else p for p in name.split(sep))


def coerce_env_value(path: str, raw: str) -> tuple[Any, str | None]:
    """Parse an environment value the way Qdrant's deserialiser would for ``path``.

    Returns (value, error). Unknown settings keep the string.
    """
    kind = SETTING_TYPES.get(path)
    if kind == "bool":
        low = raw.strip().lower()
        if low in _TRUE:
            return True, None
        if low in _FALSE:
            return False, None
        return raw, f"invalid boolean {shown_value(raw)} (Qdrant refuses to start)"
    if kind == "int":
        try:
            return int(raw.strip()), None
        except ValueError:
            return raw, f"invalid integer {shown_value(raw)} (Qdrant refuses to start)"
    if kind == "float":
        try:
            return float(raw.strip()), None
        except ValueError:
            return raw, f"invalid number {shown_value(raw)} (Qdrant refuses to start)"
    return raw, None


def build_effective(
    files: Iterable[tuple[str, Node | None]] = (),
    env: Mapping[str, str] | None = None,
    *,
    env_file: str | None = None,
    env_positions: Mapping[str, tuple[int, int]] | None = None,
) -> EffectiveConfig:
    """Defaults, then each (file name, YAML root) in the given order, then env."""
    cfg = EffectiveConfig(tree=_copy_tree(_defaults_tree()))  # = merge_plain(DEFAULTS, DEFAULT_SOURCE)
    for name, root in files:
        if root is not None:
            cfg.merge_node(root, name)
    if env:
        cfg.apply_env(env, file=env_file, positions=env_positions)
    return cfg


# -- helpers ---------------------------------------------------------------------------
_DEFAULTS_TREE: dict[str, Any] | None = None


def _defaults_tree() -> dict[str, Any]:
    """Qdrant's defaults wrapped once: every target starts from them, and their Settings
    are never changed (a file's or env's value replaces a Setting, it does not edit it)."""
    global _DEFAULTS_TREE
    if _DEFAULTS_TREE is None:
        _DEFAULTS_TREE = _wrap_plain(DEFAULTS, DEFAULT_SOURCE)
    return _DEFAULTS_TREE


def _copy_tree(tree: dict[str, Any]) -> dict[str, Any]:
    """New dicts (merging edits them), the same Settings."""
    return {k: _copy_tree(v) if type(v) is dict else v for k, v in tree.items()}


def _wrap_plain(data: Any, source: Source) -> Any:
    if isinstance(data, Mapping):
        return {str(k): _wrap_plain(v, source) for k, v in data.items()}
    return Setting(data, source)


def _coerce_file_bools(tree: dict[str, Any]) -> None:
    """config-rs reads a string into a bool setting as Qdrant's env values are read:
    ``jwt_rbac: on`` (a string for yaml-rust2) means true. Other strings are left for the
    linter to report. (Walks down the bool settings' paths that the tree has, not every
    leaf of the tree.)"""
    _coerce_bools_at(tree, _bool_paths_tree())


def _coerce_bools_at(tree: dict[str, Any], wanted: dict[str, Any]) -> None:
    for key, below in wanted.items():
        item = tree.get(key)
        if item is None:
            continue
        if isinstance(item, dict):
            if below is not None:
                _coerce_bools_at(item, below)
        elif (below is None and isinstance(item.value, str)
              and item.value.strip().lower() in _TRUE_OR_FALSE):
            item.value = item.value.strip().lower() in _TRUE


_TRUE_OR_FALSE = _TRUE | _FALSE
_BOOL_PATHS: dict[str, Any] | None = None


def _bool_paths_tree() -> dict[str, Any]:
    """The bool settings of SETTING_TYPES as a tree of their path parts (None at a leaf)."""
    global _BOOL_PATHS
    if _BOOL_PATHS is None:
        tree: dict[str, Any] = {}
        for path, kind in SETTING_TYPES.items():
            if kind != "bool":
                continue
            *sections, leaf = path.split(".")
            node = tree
            for part in sections:
                node = node.setdefault(part, {})
            node[leaf] = None
        _BOOL_PATHS = tree
    return _BOOL_PATHS


def _wrap_node(node: Node, file: str) -> Any:
    value = node.value
    if isinstance(value, dict):
        return {k: _wrap_node(v, file) for k, v in value.items()}
    if isinstance(value, list):
        value = qdrant_value(node)
    elif node.raw is not None:  # (qdrant_value's scalar case, without the call)
        value = qdrant_scalar(node.raw)
    return Setting(value, _file_source(node.file or file, node.line, node.column))


_new_object = object.__new__


def _file_source(file: str, line: int, column: int) -> Source:
    """``Source("file", file=file, line=line, column=column)``, made without the frozen
    dataclass's ``__init__`` (an ``object.__setattr__`` call a field: 0.7 us, and every
    leaf of every config file gets one): the same fields, in the same order, in its
    ``__dict__``, so equality, hashing and repr are the same."""
    src = _new_object(Source)
    fields = src.__dict__
    fields["kind"] = "file"
    fields["file"] = file
    fields["line"] = line
    fields["column"] = column
    fields["env_var"] = None
    return src


_INT_DIGITS = re.compile(r"[+-]?[0-9]+")
#: (``[0-9]+(?:\.[0-9]*)?``, not ``[0-9]+\.?[0-9]*``: the same texts, but the latter splits a
#: run of digits two ways and backtracks quadratically on ``000...0x`` in a linted file)
_FLOAT_TEXT = re.compile(
    r"[+-]?(?:(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|inf|infinity|nan)", re.I)
_YAML_SPECIAL_FLOATS = {".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf",
                        "-.INF", ".nan", ".NaN", ".NAN"}
_I64_MIN, _I64_MAX = -(2**63), 2**63 - 1


def qdrant_scalar(text: str) -> Any:
    """Type a plain YAML scalar the way Qdrant's config reader does: see ``_qdrant_scalar``.
    The short texts are memoised (by text; the values are immutable): config files repeat
    the same few (``true``, ``6333``, ``./storage``) in every file."""
    value = _QDRANT_SCALARS.get(text, _MISSING)
    if value is _MISSING:
        value = _qdrant_scalar(text)
        if len(text) <= 64 and len(_QDRANT_SCALARS) < 2_000:  # the values that repeat come early
            _QDRANT_SCALARS[text] = value
    return value


_QDRANT_SCALARS: dict[str, Any] = {}


def _qdrant_scalar(text: str) -> Any:
    """Type a plain YAML scalar the way Qdrant's config reader does (yaml-rust2, YAML 1.2
    core rules), not PyYAML's YAML 1.1: only ``~``, ``null`` and empty are null; only
    lower-case ``true``/``false`` are booleans (``yes``, ``on``, ``True`` stay strings);
    integers are decimal i64 (``0123`` is 123, not octal) or ``0x``/``0o`` prefixed; floats
    as Rust parses them. YAML's ``.inf``/``.nan`` make Qdrant fail to load the file; they are
    kept as text here so the linter can still read the rest."""
    if text in ("", "~", "null"):
        return None
    if text == "true":
        return True
    if text == "false":
        return False
    for prefix, base in (("0x", 16), ("0o", 8)):
        if text.startswith(prefix):
            try:
                number = int(text[2:], base)
            except ValueError:
                return text
            return number if number <= _I64_MAX else text
    if _INT_DIGITS.fullmatch(text):
        if len(text.lstrip("+-0")) > 19:  # past i64 (and past Python's 4300-digit int() limit)
            return text
        number = int(text, 10)
        return number if _I64_MIN <= number <= _I64_MAX else text
    if text in _YAML_SPECIAL_FLOATS:
        return text
    if _FLOAT_TEXT.fullmatch(text):
        return float(text)
    return text


def qdrant_value(node: Node) -> Any:
    """A node's value as Qdrant would read it (see ``qdrant_scalar``)."""
    if isinstance(node.value, dict):
        return {k: qdrant_value(v) for k, v in node.value.items()}
    if isinstance(node.value, list):
        return [qdrant_value(v) for v in node.value]
    if node.raw is not None:
        return qdrant_scalar(node.raw)
    return node.value


def _merge(into: dict[str, Any], new: dict[str, Any]) -> None:
    for key, value in new.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = value


def _set_path(tree: dict[str, Any], parts: list[str], leaf: Setting) -> None:
    node = tree
    for part in parts[:-1]:
        nxt = node.get(part)
        if not isinstance(nxt, dict):
            nxt = {}
            node[part] = nxt
        node = nxt
    node[parts[-1]] = leaf
