"""Finding the files to lint and telling their kind by content.

``discover`` walks the given paths (files or directories), skipping VCS, dependency and
virtualenv directories, and yields candidate files: YAML by extension, env files by name,
compose files by name, and files without an extension (sniffed later). ``detect_kind``
decides what a file is from what it contains, not from its name:

* ``k8s``: a document with ``apiVersion`` and ``kind``;
* ``compose``: a ``services:`` mapping whose entries have ``image``, ``build`` or
  ``extends``, or a compose file made of ``include:`` entries;
* ``helm-values``: Qdrant chart values (``image.repository`` naming qdrant, ``apiKey`` /
  ``readOnlyApiKey``, or a ``config:`` section with Qdrant settings next to chart keys);
* ``qdrant-config``: only Qdrant's top-level sections, with Qdrant-like keys inside;
* ``env``: ``KEY=VALUE`` lines with at least one ``QDRANT__`` variable.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from qdrantsec.lint.inputs.envfile import has_qdrant_overrides, looks_like_env
from qdrantsec.lint.inputs.source import SourceFile
from qdrantsec.qdrant import schema

KINDS = ("qdrant-config", "compose", "k8s", "helm-values", "env")

SKIP_DIRS = frozenset({
    ".git", ".hg", ".svn", "node_modules", ".venv", "venv", ".tox", ".nox", "__pycache__",
    ".mypy_cache", ".pytest_cache", ".ruff_cache", "vendor", "third_party", "site-packages",
    ".terraform", ".idea", ".vscode", "bower_components",
})
YAML_SUFFIXES = (".yaml", ".yml")
#: Go templates (helmfile's ``values.yaml.gotmpl``): not YAML until rendered
TEMPLATE_SUFFIXES = (".gotmpl",)

#: Qdrant's own top-level sections (the fields of its ``Settings``), and names real files put
#: at the top level by mistake (QS208 reports those): strays do not make a file a Qdrant
#: config, but they do not count against it either.
QDRANT_SECTIONS = frozenset(schema.SCHEMA)
QDRANT_STRAYS = frozenset({"debug", "hsw_index", "hnsw_index", "optimizers", "performance"})
QDRANT_TOP = QDRANT_SECTIONS | QDRANT_STRAYS
_SCALAR_SECTIONS = frozenset({"log_level", "telemetry_disabled"})
#: keys only other tools put under a section of the same name (a Helm chart's ``service:``
#: is a Kubernetes Service, its ``storage:`` a volume claim); camelCase keys count too
#: (Qdrant's keys are snake_case), unless they are a spelling of one of Qdrant's keys
_FOREIGN_SUBKEYS: dict[str, frozenset[str]] = {
    "service": frozenset({"type", "ports", "annotations", "labels", "selector", "enabled", "name",
                          "replicas", "image", "spec", "metadata"}),
    "storage": frozenset({"size", "class", "driver", "enabled", "annotations", "labels", "filesystem"}),
    "cluster": frozenset({"name", "domain", "annotations", "labels"}),
    "tls": frozenset({"enabled", "hosts", "secret", "issuer", "annotations"}),
}
QDRANT_SUBKEYS: dict[str, frozenset[str]] = {
    "service": frozenset({
        "host", "http_port", "grpc_port", "metrics_port", "api_key", "alt_api_key",
        "read_only_api_key", "jwt_rbac", "enable_tls", "enable_cors", "max_request_size_mb",
        "verify_https_client_certificate", "enforce_internal_auth", "max_workers",
        "static_content_dir", "enable_static_content", "enable_snapshot_url_recovery",
        "hide_jwt_dashboard", "metrics_prefix", "hardware_reporting", "slow_query_secs",
    }),
    "storage": frozenset({
        "storage_path", "snapshots_path", "temp_path", "on_disk_payload", "performance",
        "optimizers", "hnsw_index", "wal", "node_type", "snapshots_config", "update_queue_size",
    }),
    "cluster": frozenset({"enabled", "p2p", "consensus", "peer_id", "resharding_enabled"}),
    "tls": frozenset({"cert", "key", "ca_cert", "cert_ttl"}),
    "audit": frozenset({"enabled", "dir", "rotation", "max_log_files", "trust_forwarded_headers"}),
}
HELM_KEYS = frozenset({
    "replicaCount", "image", "persistence", "snapshotPersistence", "apiKey", "readOnlyApiKey",
    "additionalVolumes", "additionalVolumeMounts", "containerSecurityContext",
    "podSecurityContext", "sidecarContainers", "ingress", "service", "config", "metrics",
    "updateVolumeFsOwnership", "podDisruptionBudget", "snapshotRestoration",
})


@dataclass(frozen=True)
class Candidate:
    path: str
    explicit: bool  # named on the command line (always linted, problems always reported)
    by_name: bool  # its name says YAML/env/compose (problems reported) vs sniffed


def name_kind_hint(name: str) -> str | None:
    """"yaml", "env" or None (no extension: sniff the content) for a candidate name;
    "skip" for names that are neither."""
    low = name.lower()
    if low.endswith(YAML_SUFFIXES) or low.endswith(TEMPLATE_SUFFIXES):
        return "yaml"  # (a Go template is found, then skipped as a template)
    if low.endswith(".env") or low.startswith(".env") or ".env." in low or low == "env":
        return "env"
    if low.startswith(("docker-compose", "compose")):
        return "yaml"
    if "." not in low.lstrip("."):
        return None
    return "skip"


def discover(
    paths: list[str], *, ignored: Callable[[str], bool] | None = None,
    on_skip: Callable[[str, str], None] | None = None,
    on_error: Callable[[str, str], None] | None = None,
) -> Iterator[Candidate]:
    """Candidate files under ``paths`` in a stable order. Missing paths are the caller's
    concern (they are yielded as explicit candidates and fail to read); a directory that
    cannot be listed is reported through ``on_error`` (a silent skip could pass a CI run
    that linted nothing)."""

    def walk_error(exc: OSError) -> None:
        if on_error is not None:
            where = exc.filename or "a directory"
            reason = "permission denied" if isinstance(exc, PermissionError) else exc.strerror
            on_error(str(where), f"cannot list directory: {reason}")

    for given in paths or ["."]:
        p = Path(given)
        if not os.path.isdir(given):  # (False for a name too long, which read_source reports)
            yield Candidate(given, explicit=True, by_name=name_kind_hint(p.name) not in (None, "skip"))
            continue
        for root, dirs, files in os.walk(given, onerror=walk_error):
            dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.endswith(".egg-info")
                             and not os.path.islink(os.path.join(root, d)))
            for name in sorted(files):
                full = os.path.join(root, name)
                if full.startswith("./"):
                    full = full[2:]
                hint = name_kind_hint(name)
                if hint == "skip":
                    continue
                if ignored is not None and ignored(full):
                    if on_skip:
                        on_skip(full, "ignored by .qdrantsec.yaml")
                    continue
                # a FIFO or socket would block the run forever (a dangling link still fails)
                if not os.path.isfile(full) and os.path.exists(full):
                    if on_skip:
                        on_skip(full, "not a regular file")
                    continue
                yield Candidate(full, explicit=False, by_name=hint is not None)


# -- kind detection --------------------------------------------------------------------
def _mapping(node: Any) -> dict[str, Any] | None:
    value = getattr(node, "value", None)
    return value if isinstance(value, dict) else None


def _is_k8s(root: dict[str, Any]) -> bool:
    api, kind = root.get("apiVersion"), root.get("kind")
    return api is not None and kind is not None and isinstance(api.value, str) and isinstance(kind.value, str)


def _is_compose(root: dict[str, Any]) -> bool:
    services = _mapping(root.get("services"))
    if not services:
        return False
    return any(
        (m := _mapping(svc)) is not None and ("image" in m or "build" in m or "extends" in m)
        for svc in services.values()
    )


def _is_compose_include(root: dict[str, Any], path: str) -> bool:
    """A compose file made of ``include:`` entries (``- other.yml`` or ``- path: other.yml``):
    a file named like a compose file, or entries in compose's ``path:`` form (GitLab CI's
    ``include:`` uses ``local:`` / ``project:``)."""
    node = root.get("include")
    entries = getattr(node, "value", None)
    if not isinstance(entries, list) or not entries:
        return False
    def path_form(e: Any) -> bool:
        m = _mapping(e)
        return m is not None and "path" in m

    if os.path.basename(path).lower().startswith(("compose", "docker-compose")):
        return all(isinstance(e.value, str) or path_form(e) for e in entries)
    return all(path_form(e) for e in entries)


def _norm(key: str) -> str:
    """``apiKey``, ``api-key`` and ``API_KEY`` alike: lower case, no separators."""
    return re.sub(r"[-_\s]", "", key).lower()


@cache
def _normed_children(section: str) -> dict[str, str]:
    return {_norm(k): k for k in schema.children(section)}


def _spelled_as(section: str, key: str) -> str | None:
    """The Qdrant key under ``section`` that ``key`` is, or is a misspelling of
    (``api_keys``, ``apiKey``, ``api-key`` for ``api_key``), else None."""
    known = _normed_children(section)
    n = _norm(key)
    if n in known:
        return known[n]
    if n.endswith("s") and n[:-1] in known:
        return known[n[:-1]]
    close = difflib.get_close_matches(n, list(known), n=1, cutoff=0.85) if len(n) >= 5 else []
    return known[close[0]] if close else None


def _qdrant_keys(section: str, node: Any) -> set[str]:
    """Qdrant's keys that ``node`` (a section) sets, by their exact name or a misspelling."""
    m = _mapping(node)
    if not m:
        return set()
    return {found for k in m if isinstance(k, str) and (found := _spelled_as(section, k)) is not None}


def _foreign(section: str, node: Any) -> bool:
    """The section holds keys of another tool's section of that name (a Kubernetes Service
    under a Helm chart's ``service:``)."""
    m = _mapping(node)
    if not m:
        return False
    vocab = _FOREIGN_SUBKEYS.get(section, frozenset())
    return any(isinstance(k, str) and _spelled_as(section, k) is None
               and (k in vocab or k != k.lower()) for k in m)


def _shaped(section: str, node: Any) -> bool:
    """A value of the shape Qdrant reads there: a scalar for ``log_level`` and
    ``telemetry_disabled``, a mapping (or nothing) for the others."""
    value = getattr(node, "value", None)
    if section in _SCALAR_SECTIONS:
        return not isinstance(value, (dict, list))
    return value is None or isinstance(value, dict)


def _qdrantish(section: str, node: Any) -> bool:
    return section in _SCALAR_SECTIONS or bool(_qdrant_keys(section, node))


#: keys that only a Qdrant config has (``host`` alone is too common to count)
_STRONG_SUBKEYS = frozenset(QDRANT_SUBKEYS["service"] | QDRANT_SUBKEYS["storage"] | {"p2p", "consensus"}) - {
    "host", "performance", "optimizers", "wal"}


def _strongly_qdrantish(root: dict[str, Any]) -> bool:
    """A section with two of Qdrant's keys, or one that only Qdrant uses (``http_port``,
    ``storage_path``, ``api_key``, ``p2p``...), each by its name or a misspelling of it."""
    for section in ("service", "storage", "cluster", "tls"):
        keys = _qdrant_keys(section, root.get(section)) & QDRANT_SUBKEYS[section]
        if len(keys) >= 2 or keys & _STRONG_SUBKEYS:
            return True
    return False


def _is_qdrant_config(root: dict[str, Any]) -> bool:
    """Qdrant's own sections, even when every key below them is unknown or misspelt (Qdrant
    then runs with its defaults, which is what QS208 and the other rules must report)."""
    sections = {k for k in root if k in QDRANT_SECTIONS and _shaped(k, root[k])}
    if not sections or any(_foreign(k, root[k]) for k in sections):
        return False
    others = set(root) - sections - QDRANT_STRAYS
    if not others:
        # one section with Qdrant's keys (or misspellings of them), or two of its sections
        return len(sections) >= 2 or any(_qdrantish(k, root[k]) for k in sections)
    # real files carry keys Qdrant ignores (`optimizer:`, `log:`, `snapshots:`); they are
    # still Qdrant configs (and QS208 reports the unknown keys) when Qdrant's own sections
    # dominate and one of them clearly is Qdrant's
    return len(root) - len(others) >= len(others) and _strongly_qdrantish(root)


def _is_helm_values(root: dict[str, Any]) -> bool:
    image = _mapping(root.get("image"))
    # other charts deploy Qdrant too (KubeBlocks, operators) with values of their own shape:
    # the Qdrant chart's values name one more of its keys, or only the image
    if image and "qdrant" in str(getattr(image.get("repository"), "value", "")) and (
            set(root) & (HELM_KEYS - {"image"}) or set(root) == {"image"}):
        return True
    if "apiKey" in root or "readOnlyApiKey" in root:
        return True
    config = _mapping(root.get("config"))
    if config and any(_qdrantish(k, v) for k, v in config.items()) and set(root) & (HELM_KEYS - {"config"}):
        return True
    # a values override holding only Qdrant's config
    return bool(config and set(root) == {"config"} and _is_qdrant_config(config))


def umbrella_key(root: dict[str, Any]) -> str | None:
    """The key holding the Qdrant chart's values in an umbrella chart's values file
    (``qdrant:`` with the subchart's values under it), or None."""
    for key, node in root.items():
        if isinstance(key, str) and "qdrant" in key.lower() and (m := _mapping(node)) is not None \
                and _is_helm_values(m):
            return key
    return None


def detect_yaml_kind(src: SourceFile) -> str | None:
    docs = [d for d in src.docs() if d.root is not None]
    roots = [m for d in docs if (m := _mapping(d.root)) is not None]
    if not roots:
        return None
    if any(_is_k8s(r) for r in roots):
        return "k8s"
    first = roots[0]
    if _is_compose(first) or _is_compose_include(first, src.path):
        return "compose"
    if ".override." in os.path.basename(src.path).lower() and _mapping(first.get("services")):
        return "compose"  # an override adds ports or environment to services defined elsewhere
    if _is_helm_values(first) or umbrella_key(first) is not None:
        return "helm-values"
    if _is_qdrant_config(first):
        return "qdrant-config"
    return None


def detect_kind(src: SourceFile, *, hint: str | None = None) -> str | None:
    """The kind of ``src`` by content, or None when it is none of ours."""
    if src.text is None or src.empty:
        return None
    if hint != "env":
        kind = detect_yaml_kind(src)
        if kind is not None:
            return kind
    if looks_like_env(src.text) and has_qdrant_overrides(src.env()):
        return "env"
    return None


def likely_kind(src: SourceFile) -> str | None:
    """For a file that is none of the kinds: the ``--kind`` it most resembles (Qdrant's
    sections, ``services:``, chart keys, ``KEY=VALUE`` lines), to suggest; None when nothing
    in it points anywhere."""
    roots = [m for d in src.docs() if (m := _mapping(d.root)) is not None]
    if roots:
        keys = set(roots[0])
        if keys & QDRANT_SECTIONS:
            return "qdrant-config"
        if "services" in keys:
            return "compose"
        if keys & HELM_KEYS:
            return "helm-values"
        return None
    return "env" if src.text is not None and looks_like_env(src.text) else None
