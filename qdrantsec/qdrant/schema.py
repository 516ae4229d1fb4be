"""Every setting Qdrant 1.19 reads from its configuration, as a tree.

Read from Qdrant's source at the 1.19.0 release (commit 74f3e85b94): ``config/config.yaml``
and the structs behind ``Settings`` in ``src/settings.rs`` (``ServiceConfig``,
``ClusterConfig``/``P2pConfig``/``ConsensusConfig``, ``TlsConfig``, ``GpuConfig``),
``lib/storage/src/types.rs`` (``StorageConfig``, ``PerformanceConfig``),
``lib/collection`` (``OptimizersConfig``, ``WalConfig``, ``SnapshotsConfig``, ``S3Config``,
``PayloadStorageParams``), ``lib/segment`` (``HnswConfig``, ``HnswGlobalConfig``,
``CollectionConfigDefaults``, ``VectorsConfigDefaults``), ``lib/shard/src/quota/config.rs``
(``QuotaConfig``), ``lib/storage/src/audit.rs`` (``AuditConfig``), ``src/tracing``
(``LoggerConfig`` with the flattened default logger and ``on_disk``), ``src/common/debugger.rs``,
``src/common/inference/config.rs`` and ``lib/common/common/src/flags.rs`` (``FeatureFlags``).

Serde aliases are listed as keys of their own (``max_segment_size_kb`` is an alias of
``max_segment_size``). No struct uses ``deny_unknown_fields``, so Qdrant ignores anything not
listed here; that is what ``QS208 unknown-setting`` reports.

Sections marked ``OPEN`` accept any sub-key because their type is a deep or tagged enum this
table does not follow: ``storage.collection.quantization`` (scalar/product/binary variants),
``storage.collection.strict_mode`` (``StrictModeConfig``, many limits), and
``storage.optimizers_overwrite.max_optimization_threads`` is a leaf that may be a number or
``"auto"``.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Final

#: A leaf: any value (scalar, list, or a map Qdrant reads as a whole value).
LEAF: Final = "leaf"
#: A section whose sub-keys are not checked.
OPEN: Final = "open"


def _leaves(*names: str) -> dict[str, Any]:
    return dict.fromkeys(names, LEAF)


_OPTIMIZERS_KEYS = (
    "deleted_threshold", "vacuum_min_vector_number", "default_segment_number", "max_segment_size",
    "max_segment_size_kb", "memmap_threshold", "memmap_threshold_kb", "indexing_threshold",
    "indexing_threshold_kb", "flush_interval_sec", "max_optimization_threads", "prevent_unoptimized",
)

_LOGGER_FIELDS = ("log_level", "span_events", "format", "color")

SCHEMA: dict[str, Any] = {
    "log_level": LEAF,
    "logger": {
        **_leaves(*_LOGGER_FIELDS),  # flattened default logger config
        "on_disk": _leaves("enabled", "log_file", "log_level", "format", "span_events", "buffer_size_bytes"),
    },
    "storage": {
        **_leaves(
            "storage_path", "snapshots_path", "temp_path", "on_disk_payload", "mmap_advice",
            "low_memory_mode", "node_type", "update_queue_size", "handle_collection_load_errors",
            "recovery_mode", "update_concurrency", "shard_transfer_method", "max_collections",
        ),
        "snapshots_config": {
            "snapshots_storage": LEAF,
            "s3_config": _leaves("bucket", "region", "access_key", "secret_key", "endpoint_url"),
        },
        "payload": _leaves("memory"),
        "optimizers": _leaves(*_OPTIMIZERS_KEYS),
        "optimizers_overwrite": _leaves(*_OPTIMIZERS_KEYS),
        "wal": _leaves("wal_capacity_mb", "wal_segments_ahead", "wal_retain_closed"),
        "performance": _leaves(
            "max_search_threads", "max_optimization_runtime_threads", "update_rate_limit",
            "search_timeout_sec", "optimizer_cpu_budget", "optimizer_io_budget",
            "incoming_shard_transfers_limit", "outgoing_shard_transfers_limit", "async_scorer",
            "io_uring",
            # flattened LoadConcurrencyConfig
            "max_concurrent_collection_loads", "max_concurrent_shard_loads", "max_concurrent_segment_loads",
        ),
        "hnsw_index": _leaves(
            "m", "ef_construct", "full_scan_threshold", "full_scan_threshold_kb", "max_indexing_threads",
            "on_disk", "memory", "payload_m", "inline_storage",
        ),
        "hnsw_global_config": _leaves("healing_threshold"),
        "collection": {
            "vectors": _leaves("on_disk", "memory"),
            "quantization": OPEN,
            "strict_mode": OPEN,
            **_leaves("shard_number", "shard_number_per_node", "replication_factor",
                      "write_consistency_factor"),
        },
        "quotas": _leaves("enabled", "max_resident_memory_percent", "max_disk_usage_percent",
                          "release_margin_percent"),
    },
    "service": _leaves(
        "host", "http_port", "grpc_port", "metrics_port", "max_request_size_mb", "max_workers",
        "http_keep_alive_timeout_sec", "http_client_request_timeout_sec",
        "http_client_disconnect_timeout_sec", "enable_cors", "enable_tls",
        "verify_https_client_certificate", "api_key", "alt_api_key", "read_only_api_key", "jwt_rbac",
        "enforce_internal_auth", "hide_jwt_dashboard", "static_content_dir", "enable_static_content",
        "slow_query_secs", "hardware_reporting", "metrics_prefix", "enable_snapshot_url_recovery",
    ),
    "cluster": {
        **_leaves("enabled", "peer_id", "grpc_timeout_ms", "connection_timeout_ms", "resharding_enabled"),
        "p2p": _leaves("port", "connection_pool_size", "enable_tls"),
        "consensus": _leaves("max_message_queue_size", "tick_period_ms", "bootstrap_timeout_sec",
                             "message_timeout_ticks", "compact_wal_entries"),
    },
    "telemetry_disabled": LEAF,
    "tls": _leaves("cert", "key", "ca_cert", "cert_ttl"),
    "debugger": {
        "pyroscope": _leaves("url", "identifier", "user", "password", "sampling_rate"),
    },
    "inference": _leaves("address", "timeout", "token"),
    "gpu": _leaves("indexing", "force_half_precision", "groups_count", "device_filter", "devices",
                   "parallel_indexes", "allow_integrated", "allow_emulated"),
    "feature_flags": _leaves(
        "all", "incremental_hnsw_building", "appendable_quantization", "single_file_mmap_vector_storage",
        "async_payload_storage", "write_segment_manifest", "append_only_mutations", "compact_bitmask",
        "serverless_compatible",
    ),
    "audit": _leaves("enabled", "dir", "rotation", "max_log_files", "trust_forwarded_headers", "log_api"),
}


def lookup(path: str | list[str]) -> tuple[Any, list[str]]:
    """Walk ``path`` down the schema. Returns (node, the known prefix). ``node`` is None when
    the path leaves the schema (then the known prefix tells where); LEAF or OPEN when it ends
    at or below such a node."""
    parts = path.split(".") if isinstance(path, str) else list(path)
    node: Any = SCHEMA
    done: list[str] = []
    for part in parts:
        if node in (LEAF, OPEN):
            return node, done
        if not isinstance(node, dict) or part not in node:
            return None, done
        node = node[part]
        done.append(part)
    return node, done


def is_known(path: str) -> bool:
    node, _ = lookup(path)
    return node is not None


def children(prefix: str) -> list[str]:
    """Known keys directly under ``prefix`` ("" for the top level)."""
    node, _ = lookup(prefix) if prefix else (SCHEMA, [])
    return sorted(node) if isinstance(node, dict) else []


@lru_cache(maxsize=1)
def all_paths() -> tuple[str, ...]:
    """Every known dotted path (sections and leaves)."""
    out: list[str] = []

    def walk(node: Any, prefix: str) -> None:
        if not isinstance(node, dict):
            return
        for key, child in node.items():
            path = f"{prefix}.{key}" if prefix else key
            out.append(path)
            walk(child, path)

    walk(SCHEMA, "")
    return tuple(out)
