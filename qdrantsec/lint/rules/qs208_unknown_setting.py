"""QS208 unknown-setting: a config key or ``QDRANT__`` variable Qdrant does not know."""

from __future__ import annotations

import dataclasses
import difflib
import re
from collections.abc import Iterable, Iterator
from functools import lru_cache
from typing import Any

from qdrantsec.lint.model import Finding, Location, Rule, Severity, Target
from qdrantsec.qdrant import schema
from qdrantsec.qdrant.config import Setting, shown_name

_SECURITY_WORDS = re.compile(
    r"api|key|auth|token|tls|ssl|cert|jwt|rbac|secret|passw|https|cors|read_?only|hsts|acl|user", re.I)


def _norm(name: str) -> str:
    return name.lower().replace("-", "").replace("_", "")


@lru_cache(maxsize=1)
def _leaves_by_name() -> dict[str, tuple[str, ...]]:
    """Known leaf paths by normalised last component (built once: the schema is fixed)."""
    out: dict[str, list[str]] = {}
    for full in schema.all_paths():
        if schema.lookup(full)[0] == schema.LEAF:
            out.setdefault(_norm(full.rsplit(".", 1)[-1]), []).append(full)
    return {k: tuple(v) for k, v in out.items()}


def suggest(path: list[str], rest: tuple[str, ...] = ()) -> str | None:
    """The setting the user most likely meant for the unknown ``path`` (``rest``: the keys
    set below it, e.g. ``("level",)`` for ``log: {level: ...}``). Cached: a file set with
    many unknown keys asks for the same few again and again."""
    return _suggest(tuple(path), tuple(rest))


@lru_cache(maxsize=4096)
def _suggest(path: tuple[str, ...], rest: tuple[str, ...]) -> str | None:
    parent, key = list(path[:-1]), path[-1]
    siblings = schema.children(".".join(parent))
    for cand in siblings:
        if _norm(cand) == _norm(key):
            return ".".join([*parent, cand])
    # a section split in two (`log: {level: ...}` for `log_level`)
    if rest:
        joined = f"{key}_{rest[0]}"
        for cand in siblings:
            if _norm(cand) == _norm(joined):
                return ".".join([*parent, cand])
    # the key without its section's name in front (`storage.path` for `storage.storage_path`)
    if parent:
        prefixed = _norm(f"{parent[-1]}_{key}")
        for cand in siblings:
            if _norm(cand) == prefixed:
                return ".".join([*parent, cand])
    # a known setting under the wrong section (top-level `api_key`, `service.cert`): only
    # when exactly one leaf has that name, and no sibling is a longer form of it (for
    # `service.port` the user meant `http_port`, not `cluster.p2p.port`)
    low = key.lower()
    if not any(low in cand for cand in siblings):
        elsewhere = [p for p in _leaves_by_name().get(_norm(key), ()) if p != ".".join(path)]
        if len(elsewhere) == 1:
            return elsewhere[0]
    close = difflib.get_close_matches(low, siblings, n=1, cutoff=0.6)
    if close:
        return ".".join([*parent, close[0]])
    if low in ("tls", "ssl", "https"):
        return "service.enable_tls"
    if low == "cors":
        return "service.enable_cors"
    return None


def _first_leaf(node: Any, below: tuple[str, ...] = ()) -> tuple[tuple[str, ...], Setting] | None:
    if isinstance(node, Setting):
        return (below, node) if node.source.kind != "default" else None
    if isinstance(node, dict):
        for key, child in node.items():
            found = _first_leaf(child, (*below, key))
            if found is not None:
                return found
    return None


def unknown_settings(
    tree: dict[str, Any], prefix: list[str] | None = None,
) -> Iterator[tuple[list[str], Setting]]:
    """(path, a setting under it) for each unknown key, top-most only."""
    for path, _, leaf in _unknown(tree, prefix or []):
        yield path, leaf


def _unknown(
    tree: dict[str, Any], prefix: list[str], at: Any = None,
) -> Iterator[tuple[list[str], tuple[str, ...], Setting]]:
    """(unknown path, the keys from it down to a setting, that setting), top-most only.
    ``at`` is the schema node of ``prefix`` (looked up when not given): the walk goes down
    the schema with the tree instead of looking every path up from the root."""
    if at is None:
        at = schema.lookup(prefix)[0] if prefix else schema.SCHEMA
    for key, child in tree.items():
        path = [*prefix, key]
        # = schema.lookup(path)[0]: `at` is a dict here (LEAF/OPEN are not walked into)
        node = at.get(key) if isinstance(at, dict) else (at if at in (schema.LEAF, schema.OPEN) else None)
        if node is None:
            found = _first_leaf(child)
            if found is not None:
                yield path, found[0], found[1]
            continue
        if node in (schema.LEAF, schema.OPEN) or not isinstance(child, dict):
            continue
        yield from _unknown(child, path, node)


def env_name(path: str) -> str:
    return "QDRANT__" + "__".join(p.upper() for p in path.split("."))


class UnknownSetting(Rule):
    id = "QS208"
    name = "unknown-setting"
    severity = Severity.MEDIUM
    summary = ("A config key Qdrant does not know (`api-key`, `apiKey`, `api_keys`, `service.tls`), "
               "or a `QDRANT__...` variable that maps to no setting.")
    rationale = (
        "No Qdrant config struct rejects unknown fields: a misspelled or invented key is silently "
        "ignored and the instance runs with the default. `service.api-key: ...` leaves Qdrant "
        "without authentication; `QDRANT__SERVICE__READ_ONLY_MODE=true` makes nothing read-only. "
        "Severity: high when the key looks like an auth, key or TLS setting, low otherwise."
    )
    example = "service:\n  api-key: 9f1c...\n"
    fix = "Use the exact key from Qdrant's configuration reference (here `service.api_key`)."
    references = (
        "https://qdrant.tech/documentation/guides/configuration/",
        "https://github.com/qdrant/qdrant/blob/master/config/config.yaml",
        "qdrant-security-facts 1.2, 1.3",
    )

    def check(self, target: Target) -> Iterable[Finding]:
        for path, rest, leaf in _unknown(target.config.tree, []):
            dotted = ".".join(path)
            sev = Severity.HIGH if _SECURITY_WORDS.search(dotted) else Severity.LOW
            hint = suggest(path, rest)
            src = leaf.source
            shown = shown_name(dotted)  # a key pasted in as a name is shown by its fingerprint
            if src.env_var:
                meant = f"; did you mean {env_name(hint)}?" if hint else ""
                msg = (f"{shown_name(src.env_var, '__')} maps to `{shown}`, which Qdrant does not know; "
                       f"it is silently ignored{meant}")
                fix = (f"Rename it to {env_name(hint)}." if hint else
                       "Remove it, or use a variable from Qdrant's configuration reference.")
            else:
                meant = f"; did you mean `{hint}`?" if hint else ""
                msg = f"unknown setting `{shown}` is silently ignored by Qdrant{meant}"
                fix = (f"Use `{hint}`." if hint else
                       "Remove it, or use a key from Qdrant's configuration reference.")
            yield self.finding(msg, self._where(target, path, leaf), severity=sev, target=target, fix=fix)

    @staticmethod
    def _where(target: Target, path: list[str], leaf: Setting) -> Location:
        src = leaf.source
        roots = target.extra.get("config_nodes") or {}
        root = roots.get(src.file) if src.kind == "file" else None
        if root is not None:
            node = root.get(*path)
            if node is not None and node.key_line is not None:
                return Location.of_node(src.file or target.file, node, key=True)
        loc = Location.of_source(src, target.file)
        if loc.env_var:  # "(set by QDRANT__...)" in every format: the name, guarded as above
            loc = dataclasses.replace(loc, env_var=shown_name(loc.env_var, "__"))
        return loc
