"""QS208 unknown-setting: a config key or ``QDRANT__`` variable Qdrant does not know."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Iterator
from typing import Any

from qdrantsec.lint.model import Finding, Location, Rule, Severity, Target
from qdrantsec.qdrant import schema
from qdrantsec.qdrant.config import Setting

_SECURITY_WORDS = re.compile(
    r"api|key|auth|token|tls|ssl|cert|jwt|rbac|secret|passw|https|cors|read_?only|hsts|acl|user", re.I)


def _norm(name: str) -> str:
    return name.lower().replace("-", "").replace("_", "")


def suggest(path: list[str]) -> str | None:
    """The setting the user most likely meant."""
    parent, key = path[:-1], path[-1]
    siblings = schema.children(".".join(parent))
    for cand in siblings:
        if _norm(cand) == _norm(key):
            return ".".join([*parent, cand])
    # a known key under the wrong section (top-level `api_key`, `service.cert`)
    for full in schema.all_paths():
        if _norm(full.rsplit(".", 1)[-1]) == _norm(key) and full != ".".join(path):
            return full
    close = difflib.get_close_matches(key.lower(), siblings, n=1, cutoff=0.6)
    if close:
        return ".".join([*parent, close[0]])
    if key.lower() in ("tls", "ssl", "https"):
        return "service.enable_tls"
    return None


def _first_leaf(node: Any) -> Setting | None:
    if isinstance(node, Setting):
        return node if node.source.kind != "default" else None
    if isinstance(node, dict):
        for child in node.values():
            found = _first_leaf(child)
            if found is not None:
                return found
    return None


def unknown_settings(
    tree: dict[str, Any], prefix: list[str] | None = None,
) -> Iterator[tuple[list[str], Setting]]:
    """(path, a setting under it) for each unknown key, top-most only."""
    prefix = prefix or []
    for key, child in tree.items():
        path = [*prefix, key]
        node, _ = schema.lookup(path)
        if node is None:
            leaf = _first_leaf(child)
            if leaf is not None:
                yield path, leaf
            continue
        if node in (schema.LEAF, schema.OPEN) or not isinstance(child, dict):
            continue
        yield from unknown_settings(child, path)


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
        for path, leaf in unknown_settings(target.config.tree):
            dotted = ".".join(path)
            sev = Severity.HIGH if _SECURITY_WORDS.search(dotted) else Severity.LOW
            hint = suggest(path)
            src = leaf.source
            if src.env_var:
                meant = f"; did you mean {env_name(hint)}?" if hint else ""
                msg = (f"{src.env_var} maps to `{dotted}`, which Qdrant does not know; it is silently "
                       f"ignored{meant}")
                fix = (f"Rename it to {env_name(hint)}." if hint else
                       "Remove it, or use a variable from Qdrant's configuration reference.")
            else:
                meant = f"; did you mean `{hint}`?" if hint else ""
                msg = f"unknown setting `{dotted}` is silently ignored by Qdrant{meant}"
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
        return Location.of_source(src, target.file)
