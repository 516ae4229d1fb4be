"""The Qdrant 1.19 settings tree behind QS208 unknown-setting."""

from pathlib import Path
from typing import Any

import pytest
import yaml

from qdrantsec.qdrant import schema

REAL = Path(__file__).resolve().parents[4] / "shared" / "reference" / "real-configs" / "qdrant-config"

#: Keys Qdrant's own config/config.yaml sets or documents in comments (1.19.0).
QDRANT_DOCUMENTED = [
    "log_level", "storage.storage_path", "storage.snapshots_path",
    "storage.snapshots_config.snapshots_storage",
    "storage.snapshots_config.s3_config.bucket", "storage.snapshots_config.s3_config.region",
    "storage.snapshots_config.s3_config.access_key", "storage.snapshots_config.s3_config.secret_key",
    "storage.snapshots_config.s3_config.endpoint_url", "storage.temp_path", "storage.on_disk_payload",
    "storage.update_concurrency", "storage.wal.wal_capacity_mb", "storage.wal.wal_segments_ahead",
    "storage.node_type", "storage.performance.max_search_threads", "storage.performance.optimizer_cpu_budget",
    "storage.performance.update_rate_limit", "storage.optimizers.deleted_threshold",
    "storage.optimizers.vacuum_min_vector_number", "storage.optimizers.default_segment_number",
    "storage.optimizers.max_segment_size_kb", "storage.optimizers.indexing_threshold_kb",
    "storage.optimizers.flush_interval_sec", "storage.optimizers.max_optimization_threads",
    "storage.hnsw_index.m", "storage.hnsw_index.ef_construct", "storage.hnsw_index.full_scan_threshold_kb",
    "storage.hnsw_index.max_indexing_threads", "storage.hnsw_index.on_disk", "storage.hnsw_index.payload_m",
    "storage.shard_transfer_method", "storage.collection.replication_factor",
    "storage.collection.write_consistency_factor", "storage.collection.vectors.on_disk",
    "storage.collection.quantization", "storage.max_collections", "service.max_request_size_mb",
    "service.max_workers", "service.host", "service.http_port", "service.grpc_port", "service.enable_cors",
    "service.enable_tls", "service.verify_https_client_certificate", "service.api_key",
    "service.read_only_api_key", "service.jwt_rbac", "service.enforce_internal_auth",
    "service.hide_jwt_dashboard", "service.enable_snapshot_url_recovery", "cluster.enabled",
    "cluster.p2p.port", "cluster.p2p.enable_tls", "cluster.consensus.tick_period_ms",
    "cluster.consensus.compact_wal_entries", "telemetry_disabled", "tls.cert", "tls.key", "tls.ca_cert",
    "tls.cert_ttl", "audit.enabled", "audit.dir", "audit.rotation", "audit.max_log_files",
    "audit.trust_forwarded_headers", "feature_flags.all",
]


@pytest.mark.parametrize("path", QDRANT_DOCUMENTED)
def test_documented_keys_are_known(path: str) -> None:
    assert schema.is_known(path)


@pytest.mark.parametrize(
    "path",
    ["service.api-key", "service.apiKey", "service.api_keys", "service.tls", "api_key", "debug",
     "service.max_request_size", "storage.performance.max_optimization_threads", "cluster.p2p.tls",
     "audit.enable", "tls.certificate"],
)
def test_unknown_keys(path: str) -> None:
    assert not schema.is_known(path)


def test_leaf_and_open_nodes() -> None:
    assert schema.lookup("storage.collection.strict_mode.max_query_limit")[0] == schema.OPEN
    node, known = schema.lookup("service.api_key.extra")
    assert node == schema.LEAF and known == ["service", "api_key"]
    assert schema.lookup("service.nope") == (None, ["service"])


def test_children_and_paths() -> None:
    assert "api_key" in schema.children("service")
    assert "service" in schema.children("")
    paths = schema.all_paths()
    assert "cluster.p2p.enable_tls" in paths and len(paths) == len(set(paths))


def _keys(d: Any, prefix: tuple[str, ...] = ()) -> list[str]:
    out = []
    for k, v in d.items():
        out.append(".".join((*prefix, str(k))))
        if isinstance(v, dict):
            out += _keys(v, (*prefix, str(k)))
    return out


@pytest.mark.skipif(not REAL.is_dir(), reason="real-configs corpus not present")
@pytest.mark.parametrize("name", ["qdrant-repo-config.yaml", "qdrant-repo-development.yaml",
                                  "qdrant-repo-production.yaml", "qdrant-repo-deb.yaml"])
def test_qdrant_repo_configs_use_only_known_keys(name: str) -> None:
    data = yaml.safe_load((REAL / name).read_text())
    assert [k for k in _keys(data) if not schema.is_known(k)] == []
