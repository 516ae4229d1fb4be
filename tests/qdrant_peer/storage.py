"""Collections, points, aliases and snapshots with on-disk persistence.

Everything lives in memory and is written to ``storage_path`` as JSON files replaced atomically
(``os.replace``) after every change, so a SIGKILL never leaves a torn file.  Search is exact
(brute force) over the stored vectors.
"""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import hashlib
import json
import math
import os
import re
import threading
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

PointId = int | str


class StorageError(Exception):
    """A storage error with an HTTP status and Qdrant's error text."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def bad_request(msg: str) -> StorageError:
    return StorageError(400, f"Bad request: {msg}")


def wrong_input(msg: str) -> StorageError:
    return StorageError(400, f"Wrong input: {msg}")


def not_found(name: str) -> StorageError:
    return StorageError(404, f"Not found: Collection `{name}` doesn't exist!")


def now_rfc3339() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="microseconds").replace(
        "+00:00", "Z"
    )


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temp file + rename (crash safe)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def normalize_id(raw: Any) -> PointId:
    """Point ids are unsigned integers or UUID strings."""
    if isinstance(raw, bool):
        raise bad_request(f"Invalid point id: {raw!r}")
    if isinstance(raw, int):
        if raw < 0:
            raise bad_request(f"Invalid point id: {raw}")
        return raw
    if isinstance(raw, str):
        try:
            return str(uuid.UUID(raw))
        except ValueError:
            raise bad_request(f"Unable to parse UUID: {raw}") from None
    raise bad_request(f"Invalid point id: {raw!r}")


def id_key(pid: PointId) -> str:
    return str(pid)


def _sort_key(pid: PointId) -> tuple[int, Any]:
    return (0, pid) if isinstance(pid, int) else (1, pid)


# ---------------------------------------------------------------- payload filtering


def json_path_values(payload: Any, key: str) -> list[Any]:
    """Values at a Qdrant JSON path (``a.b``, ``a[].b``, ``a[0]``); arrays are flattened."""
    parts = [p for p in re.split(r"\.(?![^\[]*\])", key) if p]
    current: list[Any] = [payload]
    for part in parts:
        m = re.fullmatch(r"([^\[\]]+)((?:\[\d*\])*)", part)
        if not m:
            return []
        name, brackets = m.group(1), m.group(2)
        nxt: list[Any] = []
        for node in current:
            if isinstance(node, dict) and name in node:
                nxt.append(node[name])
        for br in re.findall(r"\[(\d*)\]", brackets):
            flat: list[Any] = []
            for node in nxt:
                if not isinstance(node, list):
                    continue
                if br == "":
                    flat.extend(node)
                elif int(br) < len(node):
                    flat.append(node[int(br)])
            nxt = flat
        current = nxt
    out: list[Any] = []
    for value in current:
        if isinstance(value, list):
            out.extend(value)
        else:
            out.append(value)
    return out


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    return a == b


def _condition(cond: dict[str, Any], pid: PointId, payload: dict[str, Any]) -> bool:
    if not isinstance(cond, dict):
        raise bad_request("Format error in JSON body: invalid condition")
    if "must" in cond or "should" in cond or "must_not" in cond or "min_should" in cond:
        return match_filter(cond, pid, payload)
    if "has_id" in cond:
        ids = {id_key(normalize_id(x)) for x in cond["has_id"]}
        return id_key(pid) in ids
    if "is_empty" in cond:
        vals = json_path_values(payload, cond["is_empty"]["key"])
        return all(v is None for v in vals)
    if "is_null" in cond:
        key = cond["is_null"]["key"]
        vals = json_path_values(payload, key)
        return any(v is None for v in vals) and len(vals) > 0
    if "nested" in cond:
        nested = cond["nested"]
        items = json_path_values(payload, nested["key"])
        return any(
            isinstance(it, dict) and match_filter(nested["filter"], pid, it) for it in items
        )
    key = cond.get("key")
    if not isinstance(key, str):
        raise bad_request("Format error in JSON body: condition without key")
    values = json_path_values(payload, key)
    if "match" in cond:
        m = cond["match"]
        if "value" in m:
            return any(_same(v, m["value"]) for v in values)
        if "any" in m:
            return any(_same(v, x) for v in values for x in m["any"])
        if "except" in m:
            return not any(_same(v, x) for v in values for x in m["except"])
        if "text" in m:
            return any(isinstance(v, str) and m["text"] in v for v in values)
        raise bad_request("Format error in JSON body: unknown match")
    if "range" in cond:
        r = cond["range"]
        nums = [v for v in values if isinstance(v, int | float) and not isinstance(v, bool)]

        def ok(v: float) -> bool:
            return (
                (r.get("gt") is None or v > r["gt"])
                and (r.get("gte") is None or v >= r["gte"])
                and (r.get("lt") is None or v < r["lt"])
                and (r.get("lte") is None or v <= r["lte"])
            )

        return any(ok(v) for v in nums)
    if "values_count" in cond:
        r = cond["values_count"]
        n = len(values)
        return (
            (r.get("gt") is None or n > r["gt"])
            and (r.get("gte") is None or n >= r["gte"])
            and (r.get("lt") is None or n < r["lt"])
            and (r.get("lte") is None or n <= r["lte"])
        )
    raise bad_request("Format error in JSON body: unsupported condition")


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def match_filter(flt: dict[str, Any] | None, pid: PointId, payload: dict[str, Any]) -> bool:
    """Evaluate a Qdrant filter (must / should / must_not / min_should)."""
    if not flt:
        return True
    if not isinstance(flt, dict):
        raise bad_request("Format error in JSON body: filter must be an object")
    must = _as_list(flt.get("must"))
    should = _as_list(flt.get("should"))
    must_not = _as_list(flt.get("must_not"))
    if not all(_condition(c, pid, payload) for c in must):
        return False
    if should and not any(_condition(c, pid, payload) for c in should):
        return False
    if any(_condition(c, pid, payload) for c in must_not):
        return False
    ms = flt.get("min_should")
    if isinstance(ms, dict):
        conds = _as_list(ms.get("conditions"))
        if sum(1 for c in conds if _condition(c, pid, payload)) < int(ms.get("min_count", 0)):
            return False
    return True


# ---------------------------------------------------------------- vectors / scoring


def _normalize(vec: list[float]) -> list[float]:
    norm = math.sqrt(sum(x * x for x in vec))
    return [x / norm for x in vec] if norm > 0 else list(vec)


def score(distance: str, a: list[float], b: list[float]) -> float:
    if distance == "Cosine":
        return sum(x * y for x, y in zip(_normalize(a), b, strict=False))
    if distance == "Dot":
        return sum(x * y for x, y in zip(a, b, strict=False))
    if distance == "Euclid":
        return math.sqrt(sum((x - y) ** 2 for x, y in zip(a, b, strict=False)))
    if distance == "Manhattan":
        return sum(abs(x - y) for x, y in zip(a, b, strict=False))
    raise bad_request(f"Unsupported distance {distance}")


def higher_is_better(distance: str) -> bool:
    return distance in ("Cosine", "Dot")


# ---------------------------------------------------------------- collection


def default_collection_config(body: dict[str, Any], settings: dict[str, Any]) -> dict[str, Any]:
    """Build the stored collection config (shape of Qdrant's CollectionConfig)."""
    st = settings.get("storage", {})
    hnsw = st.get("hnsw_index", {})
    opt = st.get("optimizers", {})
    wal = st.get("wal", {})
    vectors = body.get("vectors")
    params: dict[str, Any] = {
        "shard_number": body.get("shard_number") or 1,
        "replication_factor": body.get("replication_factor") or 1,
        "write_consistency_factor": body.get("write_consistency_factor") or 1,
        "on_disk_payload": body.get("on_disk_payload", True),
    }
    if body.get("sharding_method"):
        params["sharding_method"] = body["sharding_method"]
    if vectors is not None:
        params["vectors"] = vectors
    if body.get("sparse_vectors") is not None:
        params["sparse_vectors"] = body["sparse_vectors"]
    config: dict[str, Any] = {
        "params": params,
        "hnsw_config": {
            "m": hnsw.get("m", 16),
            "ef_construct": hnsw.get("ef_construct", 100),
            "full_scan_threshold": hnsw.get("full_scan_threshold_kb", 10000),
            "max_indexing_threads": hnsw.get("max_indexing_threads", 0),
            "on_disk": bool(hnsw.get("on_disk", False)),
        },
        "optimizer_config": {
            "deleted_threshold": opt.get("deleted_threshold", 0.2),
            "vacuum_min_vector_number": opt.get("vacuum_min_vector_number", 1000),
            "default_segment_number": opt.get("default_segment_number", 0),
            "max_segment_size": None,
            "memmap_threshold": None,
            "indexing_threshold": opt.get("indexing_threshold_kb", 10000),
            "flush_interval_sec": opt.get("flush_interval_sec", 5),
            "max_optimization_threads": opt.get("max_optimization_threads"),
        },
        "wal_config": {
            "wal_capacity_mb": wal.get("wal_capacity_mb", 32),
            "wal_segments_ahead": wal.get("wal_segments_ahead", 0),
            "wal_retain_closed": 1,
        },
        "quantization_config": body.get("quantization_config"),
        "strict_mode_config": {"enabled": False},
    }
    if isinstance(body.get("hnsw_config"), dict):
        config["hnsw_config"].update(body["hnsw_config"])
    if isinstance(body.get("optimizers_config"), dict):
        config["optimizer_config"].update(body["optimizers_config"])
    if isinstance(body.get("wal_config"), dict):
        config["wal_config"].update(body["wal_config"])
    if body.get("metadata") is not None:
        config["metadata"] = body["metadata"]
    return config


def vector_specs(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Dense vector name -> {size, distance}; the unnamed vector is ``""``."""
    vectors = config["params"].get("vectors")
    if vectors is None:
        return {}
    if isinstance(vectors, dict) and "size" in vectors and "distance" in vectors:
        return {"": vectors}
    if isinstance(vectors, dict):
        return {k: v for k, v in vectors.items() if isinstance(v, dict)}
    return {}


class Collection:
    def __init__(self, name: str, data: dict[str, Any]) -> None:
        self.name = name
        self.config: dict[str, Any] = data["config"]
        self.points: dict[str, dict[str, Any]] = data.get("points", {})
        self.payload_schema: dict[str, Any] = data.get("payload_schema", {})
        self.created_at: str = data.get("created_at") or now_rfc3339()
        self.version: int = int(data.get("version", 0))
        self.snapshots: list[dict[str, Any]] = data.get("snapshots", [])

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "config": self.config,
            "points": self.points,
            "payload_schema": self.payload_schema,
            "created_at": self.created_at,
            "version": self.version,
        }

    # -- helpers
    def specs(self) -> dict[str, dict[str, Any]]:
        return vector_specs(self.config)

    def sparse_names(self) -> set[str]:
        return set((self.config["params"].get("sparse_vectors") or {}).keys())

    def check_vectors(self, vector: Any) -> dict[str, Any]:
        """Validate a point's vector(s); return them as name -> value."""
        specs = self.specs()
        if vector is None:
            return {}
        if isinstance(vector, list):
            named: dict[str, Any] = {"": vector}
        elif isinstance(vector, dict):
            named = dict(vector)
        else:
            raise bad_request("Format error in JSON body: invalid vector")
        out: dict[str, Any] = {}
        for name, vec in named.items():
            if name in specs:
                if not isinstance(vec, list) or not all(
                    isinstance(x, int | float) and not isinstance(x, bool) for x in vec
                ):
                    raise bad_request("Format error in JSON body: vector must be numbers")
                size = specs[name]["size"]
                if len(vec) != size:
                    raise wrong_input(
                        f"Vector dimension error: expected dim: {size}, got {len(vec)}"
                    )
                if specs[name]["distance"] == "Cosine":
                    vec = _normalize([float(x) for x in vec])
                out[name] = [float(x) for x in vec]
            elif name in self.sparse_names():
                out[name] = vec
            else:
                shown = name or "(default vector)"
                raise wrong_input(f"Not existing vector name error: {shown}")
        return out

    def render(
        self, point: dict[str, Any], with_payload: Any, with_vector: Any
    ) -> dict[str, Any]:
        rec: dict[str, Any] = {"id": point["id"]}
        rec["payload"] = select_payload(point.get("payload") or {}, with_payload)
        vec = select_vector(point.get("vector") or {}, with_vector)
        rec["vector"] = vec
        return rec

    def matching(self, flt: dict[str, Any] | None) -> list[dict[str, Any]]:
        pts = [p for p in self.points.values() if match_filter(flt, p["id"], p["payload"])]
        pts.sort(key=lambda p: _sort_key(p["id"]))
        return pts


def select_payload(payload: dict[str, Any], spec: Any) -> dict[str, Any] | None:
    if spec is None or spec is False:
        return None
    if spec is True:
        return copy.deepcopy(payload)
    if isinstance(spec, list):
        return {k: copy.deepcopy(v) for k, v in payload.items() if k in spec}
    if isinstance(spec, dict):
        if "include" in spec:
            return {k: copy.deepcopy(v) for k, v in payload.items() if k in spec["include"]}
        if "exclude" in spec:
            return {k: copy.deepcopy(v) for k, v in payload.items() if k not in spec["exclude"]}
    return copy.deepcopy(payload)


def select_vector(vectors: dict[str, Any], spec: Any) -> Any:
    if not spec:
        return None
    chosen = vectors if spec is True else {k: v for k, v in vectors.items() if k in spec}
    if set(chosen) == {""}:
        return chosen[""]
    return {k: v for k, v in chosen.items() if k != ""} or ({} if chosen else None)


_NAME_BAD = re.compile(r'[<>:"/\\|?*\x00-\x1f]')


def validate_collection_name(name: str) -> None:
    if not name or len(name) > 255 or _NAME_BAD.search(name) or name in (".", ".."):
        raise StorageError(
            422,
            "Validation error in path parameters: [name: collection name contains "
            "forbidden characters or has invalid length]",
        )


class Storage:
    """All collections of this peer, persisted under ``root``."""

    def __init__(self, root: Path, snapshots_root: Path, settings: dict[str, Any]) -> None:
        self.root = root
        self.snapshots_root = snapshots_root
        self.settings = settings
        self.lock = threading.RLock()
        self.collections: dict[str, Collection] = {}
        self.aliases: dict[str, str] = {}
        self.op_counter = 0
        (root / "collections").mkdir(parents=True, exist_ok=True)
        snapshots_root.mkdir(parents=True, exist_ok=True)
        self._load()

    # ---------------------------------------------------------------- persistence
    def _file(self, name: str) -> Path:
        return self.root / "collections" / f"{name.encode('utf-8').hex()}.json"

    def _load(self) -> None:
        for path in sorted((self.root / "collections").glob("*.json")):
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError):
                continue
            col = Collection(data["name"], data)
            self.collections[col.name] = col
            self.op_counter = max(self.op_counter, col.version)
        alias_file = self.root / "aliases.json"
        if alias_file.exists():
            with contextlib.suppress(OSError, json.JSONDecodeError):
                self.aliases = json.loads(alias_file.read_text(encoding="utf-8"))
        for stale in self.root.rglob(".*.tmp"):
            with contextlib.suppress(OSError):
                stale.unlink()

    def _save(self, col: Collection) -> None:
        atomic_write(self._file(col.name), json.dumps(col.to_json()).encode("utf-8"))

    def _save_aliases(self) -> None:
        atomic_write(self.root / "aliases.json", json.dumps(self.aliases).encode("utf-8"))

    def flush(self) -> None:
        with self.lock:
            for col in self.collections.values():
                self._save(col)
            self._save_aliases()

    # ---------------------------------------------------------------- lookup
    def resolve(self, name: str) -> str | None:
        with self.lock:
            if name in self.collections:
                return name
            target = self.aliases.get(name)
            return target if target in self.collections else None

    def get(self, name: str) -> Collection:
        real = self.resolve(name)
        if real is None:
            raise not_found(name)
        return self.collections[real]

    def names(self) -> list[str]:
        with self.lock:
            return sorted(self.collections)

    def summary(self) -> dict[str, dict[str, Any]]:
        """name -> {config, points_count} (for the Cluster's ``local_collections``)."""
        with self.lock:
            return {
                n: {"config": copy.deepcopy(c.config), "points_count": len(c.points)}
                for n, c in self.collections.items()
            }

    # ---------------------------------------------------------------- collections
    def create_collection(self, name: str, body: dict[str, Any]) -> bool:
        validate_collection_name(name)
        with self.lock:
            if name in self.collections or name in self.aliases:
                raise wrong_input(f"Collection `{name}` already exists!")
            config = default_collection_config(body, self.settings)
            for spec_name, spec in vector_specs(config).items():
                if not isinstance(spec.get("size"), int) or spec["size"] < 1:
                    raise StorageError(
                        422, f"Validation error in JSON body: [vectors{spec_name}.size: "
                        "value 0 invalid, must be 1 or larger]"
                    )
                if spec.get("distance") not in ("Cosine", "Dot", "Euclid", "Manhattan"):
                    raise bad_request(
                        "Format error in JSON body: unknown variant "
                        f"`{spec.get('distance')}`, expected one of `Cosine`, `Euclid`, "
                        "`Dot`, `Manhattan`"
                    )
            col = Collection(name, {"config": config, "points": {}})
            self.collections[name] = col
            self._save(col)
            return True

    def update_collection(self, name: str, body: dict[str, Any]) -> bool:
        with self.lock:
            col = self.get(name)
            cfg = col.config
            if isinstance(body.get("optimizers_config"), dict):
                cfg["optimizer_config"].update(body["optimizers_config"])
            if isinstance(body.get("hnsw_config"), dict):
                cfg["hnsw_config"].update(body["hnsw_config"])
            if isinstance(body.get("params"), dict):
                cfg["params"].update(body["params"])
            if isinstance(body.get("metadata"), dict):
                cfg.setdefault("metadata", {}).update(body["metadata"])
            if isinstance(body.get("strict_mode_config"), dict):
                cfg["strict_mode_config"].update(body["strict_mode_config"])
            self._save(col)
            return True

    def delete_collection(self, name: str) -> bool:
        with self.lock:
            real = name if name in self.collections else None
            if real is None:
                return False
            del self.collections[real]
            with contextlib.suppress(FileNotFoundError):
                self._file(real).unlink()
            self.aliases = {a: c for a, c in self.aliases.items() if c != real}
            self._save_aliases()
            return True

    def change_aliases(self, actions: list[dict[str, Any]]) -> bool:
        with self.lock:
            new = dict(self.aliases)
            for action in actions:
                if "create_alias" in action:
                    a = action["create_alias"]
                    if a["collection_name"] not in self.collections:
                        raise not_found(a["collection_name"])
                    if a["alias_name"] in self.collections:
                        raise wrong_input(f"Collection `{a['alias_name']}` already exists!")
                    new[a["alias_name"]] = a["collection_name"]
                elif "delete_alias" in action:
                    alias = action["delete_alias"]["alias_name"]
                    if alias not in new:
                        raise StorageError(404, f"Not found: Alias {alias} does not exists!")
                    del new[alias]
                elif "rename_alias" in action:
                    r = action["rename_alias"]
                    if r["old_alias_name"] not in new:
                        raise StorageError(
                            404, f"Not found: Alias {r['old_alias_name']} does not exists!"
                        )
                    new[r["new_alias_name"]] = new.pop(r["old_alias_name"])
                else:
                    raise bad_request("Format error in JSON body: unknown alias action")
            self.aliases = new
            self._save_aliases()
            return True

    def collection_aliases(self, name: str) -> list[str]:
        with self.lock:
            real = self.resolve(name)
            return sorted(a for a, c in self.aliases.items() if c == real)

    def all_aliases(self) -> list[tuple[str, str]]:
        with self.lock:
            return sorted(self.aliases.items())

    def create_payload_index(self, name: str, body: dict[str, Any]) -> None:
        with self.lock:
            col = self.get(name)
            field = body.get("field_name")
            if not isinstance(field, str):
                raise bad_request("Format error in JSON body: missing field `field_name`")
            schema = body.get("field_schema") or body.get("field_type") or "keyword"
            data_type = schema if isinstance(schema, str) else schema.get("type", "keyword")
            col.payload_schema[field] = {"data_type": data_type, "points": 0}
            if isinstance(schema, dict):
                col.payload_schema[field]["params"] = schema
            self._bump(col)

    def drop_payload_index(self, name: str, field: str) -> None:
        with self.lock:
            col = self.get(name)
            col.payload_schema.pop(field, None)
            self._bump(col)

    def named_vector(self, name: str, vector_name: str, body: dict[str, Any] | None) -> None:
        with self.lock:
            col = self.get(name)
            vectors = col.config["params"].get("vectors")
            if body is None:
                if isinstance(vectors, dict) and vector_name in vectors:
                    del vectors[vector_name]
                for p in col.points.values():
                    p["vector"].pop(vector_name, None)
            else:
                if vectors is None:
                    vectors = col.config["params"]["vectors"] = {}
                if "size" in vectors and "distance" in vectors:
                    raise bad_request("Cannot add a named vector to an unnamed-vector collection")
                vectors[vector_name] = body
            self._bump(col)

    def _bump(self, col: Collection) -> int:
        self.op_counter += 1
        col.version = self.op_counter
        self._save(col)
        return self.op_counter

    # ---------------------------------------------------------------- points
    def upsert(self, name: str, body: dict[str, Any]) -> int:
        with self.lock:
            col = self.get(name)
            if "points" in body:
                items = body["points"]
                if not isinstance(items, list):
                    raise bad_request("Format error in JSON body: points must be a list")
            elif "batch" in body:
                b = body["batch"]
                ids = b.get("ids") or []
                vecs = b.get("vectors")
                payloads = b.get("payloads") or [None] * len(ids)
                if isinstance(vecs, dict):
                    vec_list = [{k: v[i] for k, v in vecs.items()} for i in range(len(ids))]
                else:
                    vec_list = vecs or [None] * len(ids)
                items = [
                    {"id": i, "vector": v, "payload": p}
                    for i, v, p in zip(ids, vec_list, payloads, strict=False)
                ]
            else:
                raise bad_request("Format error in JSON body: missing field `points`")
            staged = []
            for item in items:
                if not isinstance(item, dict) or "id" not in item:
                    raise bad_request("Format error in JSON body: missing field `id`")
                pid = normalize_id(item["id"])
                vectors = col.check_vectors(item.get("vector", item.get("vectors")))
                payload = item.get("payload") or {}
                if not isinstance(payload, dict):
                    raise bad_request("Format error in JSON body: payload must be an object")
                staged.append((pid, vectors, payload))
            op = self.op_counter + 1
            for pid, vectors, payload in staged:
                col.points[id_key(pid)] = {
                    "id": pid, "vector": vectors, "payload": payload, "version": op
                }
            return self._bump(col)

    def _select(self, col: Collection, body: dict[str, Any]) -> list[str]:
        if body.get("points") is not None:
            selector = body["points"]
            if isinstance(selector, dict):  # {"points": [...]} nested selector forms
                if "points" in selector:
                    return [id_key(normalize_id(x)) for x in selector["points"]]
                return [id_key(p["id"]) for p in col.matching(selector.get("filter"))]
            return [id_key(normalize_id(x)) for x in selector]
        if body.get("filter") is not None:
            return [id_key(p["id"]) for p in col.matching(body["filter"])]
        raise bad_request("Format error in JSON body: expected `points` or `filter`")

    def delete_points(self, name: str, body: dict[str, Any]) -> int:
        with self.lock:
            col = self.get(name)
            for key in self._select(col, body):
                col.points.pop(key, None)
            return self._bump(col)

    def set_payload(self, name: str, body: dict[str, Any], overwrite: bool) -> int:
        with self.lock:
            col = self.get(name)
            payload = body.get("payload")
            if not isinstance(payload, dict):
                raise bad_request("Format error in JSON body: missing field `payload`")
            nested_key = body.get("key")
            for key in self._select(col, body):
                point = col.points.get(key)
                if point is None:
                    continue
                if overwrite:
                    point["payload"] = copy.deepcopy(payload)
                elif nested_key:
                    target = point["payload"]
                    for part in nested_key.split("."):
                        target = target.setdefault(part, {})
                    target.update(copy.deepcopy(payload))
                else:
                    point["payload"].update(copy.deepcopy(payload))
            return self._bump(col)

    def delete_payload(self, name: str, body: dict[str, Any]) -> int:
        with self.lock:
            col = self.get(name)
            keys = body.get("keys") or []
            for key in self._select(col, body):
                point = col.points.get(key)
                if point is not None:
                    for k in keys:
                        point["payload"].pop(k, None)
            return self._bump(col)

    def clear_payload(self, name: str, body: dict[str, Any]) -> int:
        with self.lock:
            col = self.get(name)
            for key in self._select(col, body):
                point = col.points.get(key)
                if point is not None:
                    point["payload"] = {}
            return self._bump(col)

    def update_vectors(self, name: str, body: dict[str, Any]) -> int:
        with self.lock:
            col = self.get(name)
            for item in body.get("points") or []:
                key = id_key(normalize_id(item["id"]))
                if key not in col.points:
                    raise StorageError(404, f"Not found: No point with id {item['id']} found")
                col.points[key]["vector"].update(col.check_vectors(item.get("vector")))
            return self._bump(col)

    def delete_vectors(self, name: str, body: dict[str, Any]) -> int:
        with self.lock:
            col = self.get(name)
            names = body.get("vector") or body.get("vectors") or []
            for key in self._select(col, body):
                point = col.points.get(key)
                if point is not None:
                    for n in names:
                        point["vector"].pop(n, None)
            return self._bump(col)

    def retrieve(
        self, name: str, ids: Iterable[Any], with_payload: Any, with_vector: Any
    ) -> list[dict[str, Any]]:
        with self.lock:
            col = self.get(name)
            out = []
            for raw in ids:
                point = col.points.get(id_key(normalize_id(raw)))
                if point is not None:
                    out.append(col.render(point, with_payload, with_vector))
            return out

    def scroll(self, name: str, body: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            col = self.get(name)
            limit = int(body.get("limit") or 10)
            pts = col.matching(body.get("filter"))
            offset = body.get("offset")
            if offset is not None:
                start = _sort_key(normalize_id(offset))
                pts = [p for p in pts if _sort_key(p["id"]) >= start]
            page = pts[:limit]
            nxt = pts[limit]["id"] if len(pts) > limit else None
            wp = body.get("with_payload", True)
            wv = body.get("with_vector", body.get("with_vectors", False))
            return {
                "points": [col.render(p, wp, wv) for p in page],
                "next_page_offset": nxt,
            }

    def count(self, name: str, body: dict[str, Any]) -> int:
        with self.lock:
            return len(self.get(name).matching(body.get("filter")))

    def value_exists(self, collection: str, matches: list[dict[str, Any]]) -> bool:
        """True if a point matches every key/value pair; raises StorageError 404 if missing."""
        flt = {"must": [{"key": m["key"], "match": {"value": m["value"]}} for m in matches]}
        with self.lock:
            col = self.get(collection)
            return any(
                match_filter(flt, p["id"], p["payload"]) for p in col.points.values()
            )

    def facet(self, name: str, body: dict[str, Any]) -> list[dict[str, Any]]:
        with self.lock:
            col = self.get(name)
            counts: dict[str, tuple[Any, int]] = {}
            for p in col.matching(body.get("filter")):
                for v in set(map(json.dumps, json_path_values(p["payload"], body["key"]))):
                    value = json.loads(v)
                    counts[v] = (value, counts.get(v, (value, 0))[1] + 1)
            hits = sorted(counts.values(), key=lambda t: (-t[1], json.dumps(t[0])))
            return [{"value": v, "count": c} for v, c in hits[: int(body.get("limit") or 10)]]

    # ---------------------------------------------------------------- search
    def _query_vector(self, col: Collection, query: Any, using: str | None) -> list[float] | None:
        if query is None:
            return None
        if isinstance(query, dict):
            if "nearest" in query:
                return self._query_vector(col, query["nearest"], using)
            if "recommend" in query:
                pos = query["recommend"].get("positive") or []
                vecs = [self._query_vector(col, q, using) for q in pos]
                vecs = [v for v in vecs if v]
                if not vecs:
                    raise bad_request("Format error in JSON body: no positive examples")
                return [sum(xs) / len(vecs) for xs in zip(*vecs, strict=False)]
            if "values" in query or "indices" in query:
                raise bad_request("Sparse query vectors are not supported by the test peer")
            raise bad_request("Format error in JSON body: unsupported query")
        if isinstance(query, list):
            if query and isinstance(query[0], list):
                raise bad_request("Multivector queries are not supported by the test peer")
            return [float(x) for x in query]
        pid = normalize_id(query)
        point = col.points.get(id_key(pid))
        if point is None:
            raise StorageError(404, f"Not found: No point with id {query} found")
        vec = point["vector"].get(using or "")
        if vec is None:
            raise wrong_input(f"Not existing vector name error: {using or ''}")
        return vec

    def query(self, name: str, body: dict[str, Any]) -> list[dict[str, Any]]:
        """Exact nearest-neighbour search for the Query and Search APIs."""
        with self.lock:
            col = self.get(name)
            using = body.get("using")
            raw_vector = body.get("vector")
            query = body.get("query")
            if raw_vector is not None:  # Search API: vector may be {"name":..,"vector":..}
                if isinstance(raw_vector, dict) and "vector" in raw_vector:
                    using = raw_vector.get("name")
                    query = raw_vector["vector"]
                else:
                    query = raw_vector
            limit = int(body.get("limit") or body.get("top") or 10)
            offset = int(body.get("offset") or 0)
            wp = body.get("with_payload", False)
            wv = body.get("with_vector", body.get("with_vectors", False))
            candidates = col.matching(body.get("filter"))
            vec = self._query_vector(col, query, using)
            results: list[tuple[float, dict[str, Any]]] = []
            if vec is None:
                results = [(0.0, p) for p in candidates]
            else:
                specs = col.specs()
                spec = specs.get(using or "")
                if spec is None:
                    raise wrong_input(f"Not existing vector name error: {using or ''}")
                if len(vec) != spec["size"]:
                    raise wrong_input(
                        f"Vector dimension error: expected dim: {spec['size']}, got {len(vec)}"
                    )
                dist = spec["distance"]
                for p in candidates:
                    stored = p["vector"].get(using or "")
                    if stored is None:
                        continue
                    results.append((score(dist, vec, stored), p))
                desc = higher_is_better(dist)
                results.sort(key=lambda t: (-t[0] if desc else t[0], _sort_key(t[1]["id"])))
                thr = body.get("score_threshold")
                if thr is not None:
                    results = [r for r in results if (r[0] >= thr if desc else r[0] <= thr)]
            out = []
            for s, p in results[offset : offset + limit]:
                rec = col.render(p, wp, wv)
                rec["version"] = p.get("version", 0)
                rec["score"] = s
                out.append(rec)
            return out

    # ---------------------------------------------------------------- snapshots
    def _snap_dir(self, name: str | None, shard: int | None = None) -> Path:
        if name is None:
            return self.snapshots_root
        d = self.snapshots_root / name
        return d / "shards" / str(shard) if shard is not None else d

    @staticmethod
    def _describe(path: Path) -> dict[str, Any]:
        data = path.read_bytes()
        stamp = dt.datetime.fromtimestamp(path.stat().st_mtime, dt.timezone.utc)
        return {
            "name": path.name,
            "creation_time": stamp.strftime("%Y-%m-%dT%H:%M:%S"),
            "size": len(data),
            "checksum": hashlib.sha256(data).hexdigest(),
        }

    def list_snapshots(self, name: str | None, shard: int | None = None) -> list[dict[str, Any]]:
        if name is not None:
            self.get(name)
        d = self._snap_dir(self.resolve(name) if name else None, shard)
        if not d.is_dir():
            return []
        return [self._describe(p) for p in sorted(d.glob("*.snapshot"))]

    def create_snapshot(self, name: str | None, shard: int | None = None) -> dict[str, Any]:
        with self.lock:
            stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d-%H-%M-%S-%f")
            if name is None:
                content = {n: c.to_json() for n, c in self.collections.items()}
                path = self._snap_dir(None) / f"full-snapshot-{stamp}.snapshot"
            else:
                col = self.get(name)
                content = {col.name: col.to_json()}
                path = self._snap_dir(col.name, shard) / f"{col.name}-{stamp}.snapshot"
            atomic_write(path, json.dumps({"qdrant_peer_snapshot": content}).encode("utf-8"))
            return self._describe(path)

    def snapshot_path(self, name: str | None, snap: str, shard: int | None = None) -> Path:
        real = None
        if name is not None:
            real = self.get(name).name
        path = self._snap_dir(real, shard) / Path(snap).name
        if not path.is_file():
            raise StorageError(404, f"Not found: Snapshot {snap} not found")
        return path

    def delete_snapshot(self, name: str | None, snap: str, shard: int | None = None) -> bool:
        self.snapshot_path(name, snap, shard).unlink()
        return True

    def restore_snapshot(self, name: str, data: bytes) -> bool:
        """Restore collection ``name`` from a snapshot produced by this peer."""
        try:
            content = json.loads(data.decode("utf-8"))["qdrant_peer_snapshot"]
            (state,) = content.values()
        except (ValueError, KeyError, TypeError, UnicodeDecodeError):
            raise bad_request("Snapshot is not a valid qdrant_peer snapshot") from None
        with self.lock:
            col = Collection(name, state)
            self.collections[name] = col
            self._bump(col)
            return True

    def resolve_snapshot_location(self, location: str) -> Path:
        """A ``file://`` location must resolve inside ``snapshots_path`` (facts 8)."""
        path = Path(location[len("file://") :])
        # Qdrant (lib/storage/src/content_manager/snapshots/download.rs) first refuses a
        # missing file (400), then canonicalises and checks the directory (403); paths are
        # shown Debug-quoted.
        if not path.exists():
            raise bad_request(f'Snapshot file "{path}" does not exist')
        real = Path(os.path.realpath(path))
        root = Path(os.path.realpath(self.snapshots_root))
        if root != real and root not in real.parents:
            raise StorageError(
                403,
                "Forbidden: Snapshot file path must be inside the snapshots directory "
                f'"{root}"',
            )
        if not real.is_file():
            raise bad_request(f'Snapshot file "{path}" does not exist')
        return real
