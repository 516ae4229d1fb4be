"""Configuration layering exactly as Qdrant 1.19 does it (facts 1.1-1.3).

Layers (lowest first): built-in defaults (the values of Qdrant's embedded config.yaml that the
peer uses), ``config/config``, ``config/{RUN_MODE}`` (default ``development``), ``config/local``
(each relative to the working directory, ``.yaml``/``.yml``), the ``--config-path`` file, then
``QDRANT__*`` environment variables.  Known keys are type-coerced like config-rs + serde would;
unknown keys are kept but never read.
"""

from __future__ import annotations

import copy
import logging
import os
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
        result: int
        if isinstance(value, bool):
            result = int(value)
        elif isinstance(value, int):
            result = value
        elif isinstance(value, float) and value.is_integer():
            result = int(value)
        elif isinstance(value, str):
            try:
                result = int(value.strip())
            except ValueError:
                raise ConfigError(
                    f"invalid value for `{key}`: {value!r} is not an integer"
                ) from None
        else:
            raise ConfigError(f"invalid type for `{key}`: {value!r} is not an integer")
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
        if isinstance(value, int | float | str):
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


def _yaml_file(path: Path) -> dict[str, Any]:
    text = path.read_text(encoding="utf-8")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"cannot parse config file {path}: {exc}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must contain a mapping")
    return data


def _find_with_ext(base: Path) -> Path | None:
    for ext in (".yaml", ".yml"):
        candidate = base.with_name(base.name + ext)
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
    run_mode = environ.get("RUN_MODE") or "development"
    for name, required_warning in (("config", True), (run_mode, True), ("local", False)):
        found = _find_with_ext(cwd / "config" / name)
        if found is None:
            if required_warning:
                warnings.append(f"Config file not found: config/{name}")
            continue
        deep_merge(tree, _yaml_file(found))
    if config_path:
        path = Path(config_path)
        if not path.is_absolute():
            path = cwd / path
        target: Path | None = path if path.is_file() else _find_with_ext(path)
        if target is None:
            msg = f"Config file via --config-path is not found: {config_path}"
            log.error(msg)
        else:
            deep_merge(tree, _yaml_file(target))
    deep_merge(tree, env_overrides(environ))
    validate(tree)
    warnings.extend(validation_warnings(tree))
    return tree, warnings


def validation_warnings(tree: Mapping[str, Any]) -> list[str]:
    """The warnings Qdrant's ``validate_and_warn`` prints (facts 1.3)."""
    out: list[str] = []
    service = tree["service"]
    for key in ("api_key", "alt_api_key", "read_only_api_key"):
        if service.get(key) == "":
            out.append(
                f"Settings configuration file: service.{key} is set but empty, it is treated "
                "as unset and authentication may be disabled"
            )
    if service.get("jwt_rbac"):
        keys = [k for k in (service.get("api_key"), service.get("alt_api_key")) if k]
        if not keys:
            out.append("JWT RBAC configured but no API key set, JWT RBAC is not enabled")
        elif min(len(k.encode()) for k in keys) < 32:
            out.append(
                "It is highly recommended to use an API key of 32 bytes or more (HMAC-SHA256) "
                "when JWT RBAC is enabled"
            )
    tls = tree.get("tls")
    if isinstance(tls, dict) and tls.get("cert_ttl") == 0:
        out.append("Settings configuration file: tls.cert_ttl must be at least 1")
    for key in (
        "http_keep_alive_timeout_sec",
        "http_client_request_timeout_sec",
        "http_client_disconnect_timeout_sec",
    ):
        if service.get(key) == 0:
            out.append(f"Settings configuration file: service.{key} must be at least 1")
    return out


def get(tree: Mapping[str, Any], dotted: str, default: Any = None) -> Any:
    """Read a dotted key from the settings tree."""
    found, value = _get_path(tree, dotted.split("."))
    return value if found else default
