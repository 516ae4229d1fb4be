"""Configuration layering exactly as Qdrant 1.19 does it (facts 1.1-1.3).

Layers (lowest first): built-in defaults (the values of Qdrant's embedded config.yaml that the
peer uses), ``config/config``, ``config/{RUN_MODE}`` (default ``development``), ``config/local``
(each relative to the working directory, ``.yaml``/``.yml``), the ``--config-path`` file, then
``QDRANT__*`` environment variables.  Known keys are type-coerced like config-rs + serde would;
unknown keys are kept but never read.
"""

from __future__ import annotations

import copy
import decimal
import logging
import math
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

log = logging.getLogger("qdrant_peer.settings")


class ConfigError(Exception):
    """A configuration problem that aborts start-up (type errors, bad enums)."""


DEFAULTS: dict[str, Any] = {
    "log_level": "INFO",
    "storage": {
        "storage_path": "./storage",
        "snapshots_path": "./snapshots",
        "snapshots_config": {"snapshots_storage": "local"},
        "temp_path": None,
        "on_disk_payload": True,
        "wal": {"wal_capacity_mb": 32, "wal_segments_ahead": 0},
        "optimizers": {
            "deleted_threshold": 0.2,
            "vacuum_min_vector_number": 1000,
            "default_segment_number": 0,
            "max_segment_size_kb": None,
            "indexing_threshold_kb": 10000,
            "flush_interval_sec": 5,
            "max_optimization_threads": None,
        },
        "hnsw_index": {
            "m": 16,
            "ef_construct": 100,
            "full_scan_threshold_kb": 10000,
            "max_indexing_threads": 0,
            "on_disk": False,
            "payload_m": None,
        },
        "collection": {"replication_factor": 1, "write_consistency_factor": 1},
    },
    "service": {
        "max_request_size_mb": 32,
        "max_workers": 0,
        "host": "0.0.0.0",
        "http_port": 6333,
        "grpc_port": 6334,
        "enable_cors": True,
        "enable_tls": False,
        "verify_https_client_certificate": False,
    },
    "cluster": {
        "enabled": False,
        "p2p": {"port": 6335, "enable_tls": False},
        "consensus": {"tick_period_ms": 100, "compact_wal_entries": 128},
    },
    "telemetry_disabled": False,
    "tls": {
        "cert": "./tls/cert.pem",
        "key": "./tls/key.pem",
        "ca_cert": "./tls/cacert.pem",
        "cert_ttl": 3600,
    },
}

# kind: "req" = must be present and non-null (always provided by the defaults), "opt" = Option
# (null allowed, missing -> None), ("def", value) = serde default when missing (null is a type
# error), ("optdef", value) = Option with a serde default (missing -> value, null -> None).
REQ = "req"
OPT = "opt"


def _d(value: Any) -> tuple[str, Any]:
    return ("def", value)


# dotted key -> (type, kind).  Types: bool, u16, u64, usize, f32, str, rotation.
SCHEMA: dict[str, tuple[str, Any]] = {
    "log_level": ("str", OPT),
    "telemetry_disabled": ("bool", _d(False)),
    "service.host": ("str", REQ),
    "service.http_port": ("u16", REQ),
    "service.grpc_port": ("u16", OPT),
    "service.metrics_port": ("u16", OPT),
    "service.max_request_size_mb": ("usize", REQ),
    "service.max_workers": ("usize", OPT),
    "service.http_keep_alive_timeout_sec": ("u64", _d(5)),
    "service.http_client_request_timeout_sec": ("u64", _d(5)),
    "service.http_client_disconnect_timeout_sec": ("u64", _d(5)),
    "service.enable_cors": ("bool", _d(True)),
    "service.enable_tls": ("bool", _d(False)),
    "service.verify_https_client_certificate": ("bool", _d(False)),
    "service.api_key": ("str", OPT),
    "service.alt_api_key": ("str", OPT),
    "service.read_only_api_key": ("str", OPT),
    "service.jwt_rbac": ("bool", OPT),
    "service.enforce_internal_auth": ("bool", OPT),
    "service.hide_jwt_dashboard": ("bool", OPT),
    "service.static_content_dir": ("str", OPT),
    "service.enable_static_content": ("bool", OPT),
    "service.slow_query_secs": ("f32", OPT),
    "service.hardware_reporting": ("bool", OPT),
    "service.metrics_prefix": ("str", OPT),
    "service.enable_snapshot_url_recovery": ("bool", _d(True)),
    "tls.cert": ("str", REQ),
    "tls.key": ("str", REQ),
    "tls.ca_cert": ("str", OPT),
    "tls.cert_ttl": ("u64", ("optdef", 3600)),
    "cluster.enabled": ("bool", _d(False)),
    "cluster.peer_id": ("u64", OPT),
    "cluster.grpc_timeout_ms": ("u64", _d(60000)),
    "cluster.connection_timeout_ms": ("u64", _d(2000)),
    "cluster.resharding_enabled": ("bool", _d(False)),
    "cluster.p2p.port": ("u16", OPT),
    "cluster.p2p.connection_pool_size": ("usize", _d(2)),
    "cluster.p2p.enable_tls": ("bool", _d(False)),
    "cluster.consensus.tick_period_ms": ("u64", _d(100)),
    "cluster.consensus.bootstrap_timeout_sec": ("u64", _d(15)),
    "cluster.consensus.max_message_queue_size": ("usize", _d(100)),
    "cluster.consensus.message_timeout_ticks": ("u64", _d(10)),
    "cluster.consensus.compact_wal_entries": ("u64", _d(128)),
    "audit.enabled": ("bool", _d(False)),
    "audit.dir": ("str", _d("./storage/audit")),
    "audit.rotation": ("rotation", _d("daily")),
    "audit.max_log_files": ("usize", _d(7)),
    "audit.trust_forwarded_headers": ("bool", _d(False)),
    "audit.log_api": ("bool", _d(True)),
    "storage.storage_path": ("str", REQ),
    "storage.snapshots_path": ("str", _d("./snapshots")),
    "storage.temp_path": ("str", OPT),
}

# Sections that are Option<...> as a whole: `tls: null` / missing `audit` disable them.
OPTIONAL_SECTIONS = {"tls", "audit"}

_TRUE = {"true", "1", "on", "yes"}
_FALSE = {"false", "0", "off", "no"}
_INT_RANGES = {"u16": (0, 65535), "u64": (0, 2**64 - 1), "usize": (0, 2**64 - 1)}


def deep_merge(base: dict[str, Any], overlay: Mapping[str, Any]) -> dict[str, Any]:
    """Merge ``overlay`` into ``base`` map by map (later values win for single keys)."""
    for key, value in overlay.items():
        key = str(key)
        if isinstance(value, Mapping) and isinstance(base.get(key), dict):
            deep_merge(base[key], value)
        elif isinstance(value, Mapping):
            base[key] = deep_merge({}, value)
        else:
            base[key] = copy.deepcopy(value)
    return base

_RUST_INT_RE = re.compile(r"^[+-]?[0-9]+$")


def _config_rs_int(value: Any, key: str) -> int:
    """config-rs ``Value::into_uint``/``into_int``: bools are 0/1, floats are rounded (half away
    from zero), strings ``true/on/yes`` and ``false/off/no`` (any case) are 1 and 0, other
    strings are parsed like Rust's ``str::parse`` (optional ``+``/``-``, digits only: no spaces,
    no ``_``, no ``0x``)."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if value != value:  # NaN: `as` casts saturate to 0
            return 0
        if value in (float("inf"), float("-inf")):
            raise ConfigError(f"invalid value for `{key}`: {value!r} is not an integer")
        return math.floor(abs(value) + 0.5) * (1 if value >= 0 else -1)
    if isinstance(value, str):
        low = value.lower()
        if low in ("true", "on", "yes"):
            return 1
        if low in ("false", "off", "no"):
            return 0
        if _RUST_INT_RE.match(value):
            return int(value)
        raise ConfigError(f"invalid type for `{key}`: string {value!r}, expected an integer")
    raise ConfigError(f"invalid type for `{key}`: {value!r} is not an integer")


def _rust_float_display(value: float) -> str:
    """Rust's ``Display`` for f64 (what config-rs' ``into_string`` gives a YAML float)."""
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "inf" if value > 0 else "-inf"
    if value.is_integer():
        return str(int(value))
    text = repr(value)
    if "e" in text or "E" in text:  # Rust never uses exponent notation in Display
        text = format(decimal.Decimal(text), "f")
    return text


def coerce(value: Any, typ: str, key: str) -> Any:
    """Convert ``value`` to ``typ`` like config-rs' deserialiser, or raise ConfigError."""
    if typ == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, int | float):
            return value != 0
        if isinstance(value, str):
            low = value.lower()
            if low in _TRUE:
                return True
            if low in _FALSE:
                return False
        raise ConfigError(f"invalid type for `{key}`: {value!r} is not a boolean")
    if typ in _INT_RANGES:
        lo, hi = _INT_RANGES[typ]
        result = _config_rs_int(value, key)
        if not lo <= result <= hi:
            raise ConfigError(f"invalid value for `{key}`: {result} out of range for {typ}")
        return result
    if typ == "f32":
        if isinstance(value, bool):
            return float(value)
        if isinstance(value, int | float):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                raise ConfigError(f"invalid value for `{key}`: {value!r} is not a float") from None
        raise ConfigError(f"invalid type for `{key}`: {value!r} is not a float")
    if typ == "str":
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, float):
            return _rust_float_display(value)
        if isinstance(value, int | str):
            return str(value)
        raise ConfigError(f"invalid type for `{key}`: expected a string, got {value!r}")
    if typ == "rotation":
        if value in ("daily", "hourly"):
            return value
        raise ConfigError(
            f"unknown variant `{value}` for `{key}`, expected `daily` or `hourly`"
        )
    raise AssertionError(typ)


def _get_path(tree: Mapping[str, Any], parts: list[str]) -> tuple[bool, Any]:
    node: Any = tree
    for part in parts:
        if not isinstance(node, Mapping) or part not in node:
            return False, None
        node = node[part]
    return True, node


def _set_path(tree: dict[str, Any], parts: list[str], value: Any) -> None:
    node = tree
    for part in parts[:-1]:
        nxt = node.get(part)
        if not isinstance(nxt, dict):
            nxt = {}
            node[part] = nxt
        node = nxt
    node[parts[-1]] = value


def validate(tree: dict[str, Any]) -> dict[str, Any]:
    """Type-check and coerce known keys in place; raise ConfigError like a serde failure."""
    for section in {k.split(".")[0] for k in SCHEMA if "." in k}:
        if section in tree and tree[section] is not None and not isinstance(tree[section], dict):
            raise ConfigError(f"invalid type for `{section}`: expected a map")
        if section not in OPTIONAL_SECTIONS and tree.get(section) is None:
            tree[section] = {}
    for sub in ("cluster.p2p", "cluster.consensus"):
        parts = sub.split(".")
        found, node = _get_path(tree, parts)
        if found and node is not None and not isinstance(node, dict):
            raise ConfigError(f"invalid type for `{sub}`: expected a map")
        if not found or node is None:
            _set_path(tree, parts, {})
    for key, (typ, kind) in SCHEMA.items():
        parts = key.split(".")
        if parts[0] in OPTIONAL_SECTIONS and not isinstance(tree.get(parts[0]), dict):
            continue
        found, value = _get_path(tree, parts)
        if not found or value is None:
            if kind == REQ:
                if found:
                    raise ConfigError(f"invalid type for `{key}`: null, expected {typ}")
                raise ConfigError(f"missing configuration field `{key}`")
            if kind == OPT or (found and kind[0] == "optdef"):
                _set_path(tree, parts, None)
                continue
            if found:  # explicit null for a non-Option key
                raise ConfigError(f"invalid type for `{key}`: null, expected {typ}")
            _set_path(tree, parts, kind[1])
            continue
        _set_path(tree, parts, coerce(value, typ, key))
    if isinstance(tree.get("audit"), dict) and tree["audit"]["max_log_files"] < 1:
        pass  # behaves as 1; left as configured (the audit writer applies the floor)
    return tree


_I64 = (-(2**63), 2**63 - 1)
_RUST_FLOAT_RE = re.compile(
    r"^[+-]?(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|inf|infinity|nan)$", re.I
)


def _i64(text: str, base: int = 10) -> int | None:
    digits = text[1:] if text[:1] in "+-" and base == 10 else text
    if not digits or not all(c in "0123456789abcdefABCDEF"[: base + (6 if base == 16 else 0)]
                             for c in digits):
        return None
    number = int(text, base)
    return number if _I64[0] <= number <= _I64[1] else None


def yaml_plain_scalar(text: str) -> Any:
    """How yaml-rust2 (config-rs' YAML backend) types an unquoted scalar (``Yaml::from_str``).

    Unlike PyYAML's YAML 1.1 rules: only ``~``/``null``/empty are null, only lower-case
    ``true``/``false`` are booleans (``yes``, ``on``, ``True`` stay strings), integers are
    decimal i64 (a leading ``0`` is not octal, ``_`` and ``12:30`` are not numbers), plus
    ``0x``/``0o`` prefixes; floats follow Rust's ``f64`` parser and YAML's ``.inf``/``.nan``.
    """
    if text.startswith("0x"):
        number = _i64(text[2:], 16)
        if number is not None:
            return number
    elif text.startswith("0o"):
        number = _i64(text[2:], 8)
        if number is not None:
            return number
    elif text.startswith("+"):
        number = _i64(text[1:])
        if number is not None:
            return number
    if text in ("", "~", "null"):
        return None
    if text == "true":
        return True
    if text == "false":
        return False
    number = _i64(text)
    if number is not None:
        return number
    if text in (".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF",
                ".nan", ".NaN", ".NAN"):
        # yaml-rust2 types these as reals, then config-rs re-parses the text with Rust's f64
        # parser, which rejects YAML's spelling: loading the file fails.
        raise ConfigError(f"Parsing {text} as floating point number failed")
    if _RUST_FLOAT_RE.match(text):
        return float(text)
    return text


class _QdrantYamlLoader(yaml.SafeLoader):
    """PyYAML's safe loader with yaml-rust2's scalar typing (see ``yaml_plain_scalar``)."""

    def resolve(self, kind: Any, value: Any, implicit: Any) -> str:
        if kind is yaml.ScalarNode and implicit[0]:
            return "tag:qdrant-peer,plain"
        return super().resolve(kind, value, implicit)


_QdrantYamlLoader.add_constructor(
    "tag:qdrant-peer,plain",
    lambda loader, node: yaml_plain_scalar(loader.construct_scalar(node)),
)


def _key_text(key: Any) -> str:
    """config-rs turns integer/boolean/float map keys into strings; null keys are an error."""
    if isinstance(key, bool):
        return "true" if key else "false"
    if key is None or not isinstance(key, int | float | str):
        raise ConfigError(f"Cannot parse {key!r} because it is an unsupported hash key type")
    return key if isinstance(key, str) else str(key)


def _stringify_keys(node: Any) -> Any:
    if isinstance(node, dict):
        return {_key_text(k): _stringify_keys(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_stringify_keys(v) for v in node]
    return node


def _yaml_file(path: Path) -> dict[str, Any]:
    text = path.read_text(encoding="utf-8")
    try:
        docs = list(yaml.load_all(text, Loader=_QdrantYamlLoader))
    except yaml.YAMLError as exc:
        raise ConfigError(f"cannot parse config file {path}: {exc}") from exc
    if len(docs) > 1:
        raise ConfigError(f"cannot parse config file {path}: Got {len(docs)} YAML documents, "
                          "expected 1")
    data = docs[0] if docs else None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must contain a mapping")
    return _stringify_keys(data)


_YAML_EXTENSIONS = ("yaml", "yml")


def find_config_file(base: Path) -> Path | None:
    """config-rs ``File::with_name`` lookup (YAML is the only format compiled into Qdrant).

    An existing file at exactly ``base`` is used only when its extension is ``yaml``/``yml``
    (case-sensitive); any other exact match (``x.conf``, ``config/config`` without extension)
    is an error that a non-required source swallows, so the layer is skipped and no extension
    is tried.  Otherwise ``base.yaml`` then ``base.yml`` are tried (a dotted name keeps its
    dots: ``a.b`` -> ``a.b.yaml``).
    """
    if base.is_file():
        return base if base.suffix[1:] in _YAML_EXTENSIONS else None
    for ext in _YAML_EXTENSIONS:
        candidate = base.with_name(f"{base.name}.{ext}")
        if candidate.is_file():
            return candidate
    return None


def env_overrides(environ: Mapping[str, str]) -> dict[str, Any]:
    """``QDRANT__A__B=v`` -> ``{"a": {"b": "v"}}`` (prefix case-insensitive, names lower-cased)."""
    result: dict[str, Any] = {}
    for name, value in sorted(environ.items()):
        if not name.upper().startswith("QDRANT__"):
            continue
        rest = name[len("QDRANT__") :].lower()
        if not rest:
            continue
        parts = rest.split("__")
        if any(p == "" for p in parts):
            continue
        _set_path(result, parts, value)
    return result


def load_settings(
    config_path: str | None,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> tuple[dict[str, Any], list[str]]:
    """Build the merged, validated settings.  Returns (settings, warnings)."""
    environ = os.environ if environ is None else environ
    cwd = Path.cwd() if cwd is None else cwd
    warnings: list[str] = []
    tree: dict[str, Any] = copy.deepcopy(DEFAULTS)
    # Qdrant: `env::var("RUN_MODE").unwrap_or("development")`, so a set-but-empty RUN_MODE
    # looks for `config/` + extension, i.e. `./config.yaml` beside the `config` directory.
    run_mode = environ.get("RUN_MODE", "development")
    for name, required_warning in (("config", True), (run_mode, True), ("local", False)):
        found = find_config_file(cwd / "config" / name)
        if found is None:
            if required_warning:
                warnings.append(f"Config file not found: config/{name}")
            continue
        deep_merge(tree, _yaml_file(found))
    if config_path:
        path = Path(config_path)
        if not path.is_absolute():
            path = cwd / path
        target = find_config_file(path)
        if target is None:
            msg = f"Config file via --config-path is not found: {config_path}"
            log.error(msg)
        else:
            deep_merge(tree, _yaml_file(target))
    deep_merge(tree, env_overrides(environ))
    validate(tree)
    return tree, validation_warnings(tree, warnings)


_MAX_PEER_ID = 2**53 - 1

# `#[validate(range(...))]` attributes of Qdrant's settings structs that the peer parses:
# dotted key -> (min, max or None).  Qdrant only logs these (facts 1.3).
_RANGE_RULES: dict[str, tuple[int, int | None]] = {
    "service.http_keep_alive_timeout_sec": (1, None),
    "service.http_client_request_timeout_sec": (1, None),
    "service.http_client_disconnect_timeout_sec": (1, None),
    "cluster.peer_id": (1, _MAX_PEER_ID),
    "cluster.grpc_timeout_ms": (1, None),
    "cluster.connection_timeout_ms": (1, None),
    "cluster.p2p.connection_pool_size": (1, None),
    "cluster.consensus.tick_period_ms": (1, None),
    "cluster.consensus.bootstrap_timeout_sec": (1, None),
    "cluster.consensus.message_timeout_ticks": (1, None),
    "tls.cert_ttl": (1, None),
}


def settings_validation_errors(tree: Mapping[str, Any]) -> list[str]:
    """``field: message`` lines as Qdrant's ``describe_errors`` renders its validator errors."""
    errors: list[str] = []
    host = get(tree, "service.host")
    if isinstance(host, str) and not host:
        errors.append('service.host: value "" invalid, must be at least 1 characters')
    for key, (lo, hi) in _RANGE_RULES.items():
        value = get(tree, key)
        if not isinstance(value, int) or isinstance(value, bool):
            continue  # None (unset) or a section that is absent
        if value < lo or (hi is not None and value > hi):
            rule = f"must be from {lo} to {hi}" if hi is not None else f"must be {lo} or larger"
            errors.append(f"{key}: value {value} invalid, {rule}")
    prefix = get(tree, "service.metrics_prefix")
    if isinstance(prefix, str) and prefix and not all(
        (c.isascii() and c.isalnum()) or c == "_" for c in prefix
    ):
        errors.append(
            "service.metrics_prefix: Metrics prefix must be of all alphanumeric characters, "
            "with an exception for '_'"
        )
    return errors


def validation_warnings(
    tree: Mapping[str, Any], load_errors: list[str] | None = None
) -> list[str]:
    """The warnings of Qdrant's ``Settings::validate_and_warn``, in its order and words.

    (src/settings.rs: empty keys, then the JWT RBAC advice, then the load errors, then
    ``Settings configuration file has validation errors:`` and one ``- field: message`` line
    per failing ``#[validate]`` rule.)
    """
    out: list[str] = []
    service = tree["service"]
    for key in ("api_key", "alt_api_key", "read_only_api_key"):
        if service.get(key) == "":
            out.append(
                f"Service {key} is set but empty, it is treated as unset and authentication "
                "may be disabled"
            )
    if service.get("jwt_rbac"):
        present = [k for k in (service.get("api_key"), service.get("alt_api_key")) if k is not None]
        if not any(present):
            out.append("JWT RBAC configured but no API key set, JWT RBAC is not enabled")
        elif min(len(k.encode()) for k in present) < 32:
            # Qdrant takes the minimum over every *set* key, an empty alt key included.
            out.append(
                "It is highly recommended to use an API key of 32 bytes when JWT RBAC is enabled"
            )
    out.extend(load_errors or ())
    errors = settings_validation_errors(tree)
    if errors:
        out.append("Settings configuration file has validation errors:")
        out.extend(f"- {line}" for line in errors)
    return out


def get(tree: Mapping[str, Any], dotted: str, default: Any = None) -> Any:
    """Read a dotted key from the settings tree."""
    found, value = _get_path(tree, dotted.split("."))
    return value if found else default
