"""The peers of a rotation, from an inventory file or from ``--peers``.

The inventory is YAML in exactly this shape, so that teams can keep it in their repos::

    defaults:            # optional; merged into every peer
      driver: file
      restart: "systemctl restart qdrant"
    peers:
      - name: node-1
        url: https://10.0.0.11:6333
        driver: file                          # file | env-file | command
        path: /etc/qdrant/config/production.yaml   # for file and env-file
        restart: "ssh node-1 systemctl restart qdrant"
      - name: node-2
        url: https://10.0.0.12:6333
        driver: command
        apply: "./set-keys.sh {name}"         # keys only in its environment
        restart: "./restart.sh {name}"

The schema is strict (a typo in a tool that restarts production must not be ignored): an
unknown key, a missing ``restart`` or ``path``, a duplicate name, URL or file, an unknown
placeholder, all fail with ``file:line:column``. A relative ``path`` is resolved from the
inventory's directory (relative commands run from the current directory, as typed).
The peers are rotated in the order they are listed.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from qdrantsec.errors import InputError
from qdrantsec.rotation.runner import check_template, render_path

DRIVERS = ("file", "env-file", "command")
_PEER_KEYS = ("name", "url", "driver", "path", "restart", "apply")
_DEFAULT_KEYS = ("driver", "path", "restart", "apply")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}\Z")
_MAX_BYTES = 1_000_000
_HINT = "see 'qdrantsec rotate-key --help' and the README's rotate-key section for the inventory format"


@dataclass(frozen=True)
class PeerSpec:
    name: str  # unique; default "peer-<index>" for --peers
    url: str  # REST URL, http(s)://host:port (no trailing slash)
    index: int  # 0-based position in the rollout order
    driver: str  # "file" | "env-file" | "command"
    path: str | None = None  # file / env-file target, absolute
    apply: str | None = None  # command driver: the apply template
    restart: str | None = None  # restart command template (required for every driver)

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or ""

    def template_values(self) -> dict[str, str]:
        """The values of the command placeholders for this peer."""
        return {"name": self.name, "url": self.url, "host": self.host, "index": str(self.index)}


@dataclass(frozen=True)
class Inventory:
    peers: tuple[PeerSpec, ...]
    source: str  # "inventory FILE" or "--peers"

    def peer(self, name: str) -> PeerSpec | None:
        return next((p for p in self.peers if p.name == name), None)


class _Where:
    """Error positions: ``file:line:column: message`` (or just the message for flags)."""

    def __init__(self, file: str | None) -> None:
        self.file = file

    def fail(self, node: Any, message: str) -> InputError:
        if self.file is None:
            return InputError(message, hint=_HINT)
        line, col = (node.line, node.column) if node is not None else (1, 1)
        return InputError(f"{self.file}:{line}:{col}: {message}", hint=_HINT)


def load_inventory(path: str) -> Inventory:
    """Read and validate the inventory at ``path``."""
    from qdrantsec.fsutil import read_text
    from qdrantsec.yamlloc import load_located

    text = read_text(path, what="inventory", limit=_MAX_BYTES)
    where = _Where(path)
    docs = [d for d in load_located(text, name=path) if d.root is not None]
    if not docs:
        raise InputError(f"{path}: the inventory is empty", hint=_HINT)
    if len(docs) > 1:
        raise InputError(f"{path}: expected one YAML document, found {len(docs)}", hint=_HINT)
    doc = docs[0]
    if doc.duplicates:
        dup = doc.duplicates[0]
        raise InputError(f"{path}:{dup.line}:{dup.column}: duplicate key {dup.key!r} "
                         f"(first at line {dup.first_line})", hint=_HINT)
    root = doc.root
    assert root is not None
    if not isinstance(root.value, dict):
        raise where.fail(root, "expected a mapping with the keys defaults and peers")
    _unknown_keys(root, ("defaults", "peers"), where, "top level")
    defaults_node = root.value.get("defaults")
    defaults: dict[str, Any] = {}
    if defaults_node is not None and defaults_node.value is not None:
        if not isinstance(defaults_node.value, dict):
            raise where.fail(defaults_node, "defaults must be a mapping")
        _unknown_keys(defaults_node, _DEFAULT_KEYS, where, "defaults")
        defaults = dict(defaults_node.value)
    peers_node = root.value.get("peers")
    if peers_node is None:
        raise where.fail(root, "peers is required (a list of the cluster's peers)")
    if not isinstance(peers_node.value, list) or not peers_node.value:
        raise where.fail(peers_node, "peers must be a non-empty list")
    base_dir = os.path.dirname(os.path.abspath(path))
    peers = []
    for index, node in enumerate(peers_node.value):
        if not isinstance(node.value, dict):
            raise where.fail(node, "each peer must be a mapping (name, url, driver, ...)")
        _unknown_keys(node, _PEER_KEYS, where, "a peer")
        peers.append(_peer(index, node, defaults, base_dir, where))
    _check_unique(peers, where)
    return Inventory(tuple(spec for spec, _ in peers), f"inventory {path}")


def inventory_from_flags(urls: list[str], *, driver: str, paths: list[str] | None,
                         apply: str | None, restart: str | None) -> Inventory:
    """The peers of ``--peers URL,URL`` with ``--driver``, ``--config-path`` (one per peer,
    or one template with ``{name}``/``{index}``/``{host}``), ``--apply-cmd`` and
    ``--restart-cmd``. Names are ``peer-<index>``; relative paths are taken from the
    current directory."""
    where = _Where(None)
    split_urls = [u.strip() for item in urls for u in item.split(",") if u.strip()]
    if not split_urls:
        raise InputError("--peers needs at least one URL", hint=_HINT)
    split_paths = [p.strip() for item in paths or [] for p in item.split(",") if p.strip()]
    if split_paths and len(split_paths) not in (1, len(split_urls)):
        raise InputError(f"--config-path: {len(split_paths)} paths for {len(split_urls)} peers",
                         hint="give one path per peer, or one with {name}, {index} or {host} in it")
    peers = []
    for index, url in enumerate(split_urls):
        fields: dict[str, Any] = {"name": f"peer-{index}", "url": url, "driver": driver,
                                  "apply": apply, "restart": restart}
        if split_paths:
            fields["path"] = split_paths[0] if len(split_paths) == 1 else split_paths[index]
        peers.append(_build(index, fields, {}, os.getcwd(), where,
                            flags={"path": "--config-path", "apply": "--apply-cmd",
                                   "restart": "--restart-cmd", "driver": "--driver",
                                   "url": "--peers"}))
    _check_unique(peers, where, labels={"url": "--peers", "path": "--config-path"})
    return Inventory(tuple(spec for spec, _ in peers), "--peers")


def validate_url(url: str, *, what: str = "url") -> str:
    """``http(s)://host:port`` with nothing else (no credentials, path, query); returned
    without a trailing slash."""
    text = url.strip()
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise InputError(f"{what} {text!r} is not a valid URL: {exc}") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise InputError(f"{what} {text!r} must start with http:// or https://")
    if not parts.hostname:
        raise InputError(f"{what} {text!r} has no host")
    if port is None:
        raise InputError(f"{what} {text!r} has no port",
                         hint="write the REST port explicitly, e.g. https://10.0.0.11:6333")
    if parts.username is not None or parts.password is not None:
        raise InputError(f"{what} must not contain credentials; the key comes from the secret options")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise InputError(f"{what} {text!r} must be scheme://host:port only (no path or query)")
    return f"{parts.scheme.lower()}://{parts.netloc}"


# -- helpers ---------------------------------------------------------------------------
def _unknown_keys(node: Any, allowed: tuple[str, ...], where: _Where, what: str) -> None:
    for key, value in node.value.items():
        if key not in allowed:
            raise where.fail(_KeyPos(value), f"unknown key {key!r} in {what} (allowed: {', '.join(allowed)})")


class _KeyPos:
    """A node's key position, for messages about the key itself."""

    def __init__(self, node: Any) -> None:
        self.line = node.key_line or node.line
        self.column = node.key_column or node.column


def _peer(index: int, node: Any, defaults: Mapping[str, Any], base_dir: str,
          where: _Where) -> tuple[PeerSpec, Any]:
    return _build(index, dict(node.value), defaults, base_dir, where, anchor=node)


def _build(index: int, own: Mapping[str, Any], defaults: Mapping[str, Any], base_dir: str,
           where: _Where, *, anchor: Any = None,
           flags: Mapping[str, str] | None = None) -> tuple[PeerSpec, Any]:
    """One PeerSpec from the peer's own fields (Nodes from a file, plain values from flags)
    over the defaults. Returns it with the node to point at for uniqueness errors."""

    def label(key: str) -> str:
        return flags[key] if flags else key

    def get(key: str) -> tuple[str | None, Any]:
        """(value, node) from the peer, else the defaults; the value must be a string."""
        for source in (own, defaults):
            item = source.get(key)
            if item is None:
                continue
            node = item if hasattr(item, "line") else None
            value = item.value if node is not None else item
            if value is None:
                continue
            if not isinstance(value, str) or not value.strip():
                raise where.fail(node, f"{label(key)} must be a non-empty string")
            return value.strip(), node
        return None, None

    name, name_node = get("name")
    if name is None:
        raise where.fail(anchor, "name is required for every peer")
    if not _NAME.match(name):
        raise where.fail(name_node, f"name {name!r} may use only letters, digits, '.', '_' and '-' "
                                    "(it goes into commands and file names)")
    prefix = f"peer {name}: "
    url, url_node = get("url")
    if url is None:
        raise where.fail(anchor, prefix + f"{label('url')} is required")
    try:
        url = validate_url(url, what=label("url"))
    except InputError as exc:
        raise where.fail(url_node, prefix + exc.message) from None
    driver, driver_node = get("driver")
    if driver is None:
        raise where.fail(anchor, prefix + f"{label('driver')} is required ({' | '.join(DRIVERS)})")
    if driver not in DRIVERS:
        raise where.fail(driver_node, prefix + f"unknown driver {driver!r} (use {' | '.join(DRIVERS)})")
    spec_values = {"name": name, "url": url, "host": PeerSpec(name, url, index, driver).host,
                   "index": str(index)}
    restart, restart_node = get("restart")
    if restart is None:
        raise where.fail(anchor, prefix + f"{label('restart')} is required (how the peer is restarted)")
    _template(restart, restart_node, where, prefix + label("restart"))
    path = apply = None
    path_value, path_node = get("path")
    apply_value, apply_node = get("apply")
    if driver == "command":
        if apply_value is None:
            raise where.fail(anchor, prefix + f"the command driver needs {label('apply')} "
                             "(the command that sets the keys)")
        _misplaced(own, "path", driver, where, label)
        _template(apply_value, apply_node, where, prefix + label("apply"))
        apply = apply_value
    else:
        if path_value is None:
            raise where.fail(anchor, prefix + f"the {driver} driver needs {label('path')} "
                             "(the file that holds the keys)")
        _misplaced(own, "apply", driver, where, label)
        _template(path_value, path_node, where, prefix + label("path"))
        rendered = os.path.expanduser(render_path(path_value, spec_values))
        path = os.path.normpath(os.path.join(base_dir, rendered))
        if not os.path.isfile(path):
            state = "is not a regular file" if os.path.exists(path) else "does not exist"
            raise where.fail(path_node, prefix + f"{label('path')} {path} {state}")
    spec = PeerSpec(name=name, url=url, index=index, driver=driver, path=path, apply=apply,
                    restart=restart)
    return spec, {"name": name_node or anchor, "url": url_node or anchor, "path": path_node or anchor}


def _template(template: str, node: Any, where: _Where, what: str) -> None:
    try:
        check_template(template, what=what)
    except InputError as exc:
        raise where.fail(node, exc.message) from None


def _misplaced(own: Mapping[str, Any], key: str, driver: str, where: _Where, label: Any) -> None:
    """A key the peer itself sets that its driver does not use (from defaults it is ignored,
    so that defaults can serve peers with different drivers)."""
    item = own.get(key)
    if item is None:
        return
    node = item if hasattr(item, "line") else None
    if (node.value if node is not None else item) is not None:
        raise where.fail(_KeyPos(node) if node is not None else None,
                         f"{label(key)} is not used by the {driver} driver")


def _check_unique(peers: list[tuple[PeerSpec, Any]], where: _Where,
                  labels: Mapping[str, str] | None = None) -> None:
    seen: dict[tuple[str, str], str] = {}
    for spec, nodes in peers:
        for field_name, value in (("name", spec.name), ("url", spec.url.lower()),
                                  ("path", os.path.realpath(spec.path) if spec.path else None)):
            if value is None:
                continue
            other = seen.get((field_name, value))
            if other is not None:
                shown = spec.path if field_name == "path" else value
                label = (labels or {}).get(field_name, field_name)
                raise where.fail(nodes[field_name],
                                 f"peer {spec.name}: {label} {shown} is already used by peer {other}"
                                 + (" (each peer needs its own config file)" if field_name == "path" else ""))
            seen[(field_name, value)] = spec.name
