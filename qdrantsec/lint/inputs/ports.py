"""Parsing published ports: compose ``ports:`` (short and long syntax, ranges, IPv6) and
host networking, into ``PublishedPort`` entries that keep the position of their node."""

from __future__ import annotations

from collections.abc import Iterator

from qdrantsec.lint.model import Location, PublishedPort
from qdrantsec.qdrant.config import EffectiveConfig
from qdrantsec.yamlloc import Node

#: ports expanded from the ranges of one service's ``ports:`` (every port number once over):
#: 2,000 entries of ``1-65535:1-65535`` in a 52 KB file would otherwise be 131 million
MAX_EXPANDED = 65_536


def _range(text: str) -> range | None:
    lo, _, hi = text.strip().partition("-")
    try:
        start = int(lo)
        end = int(hi) if hi else start
    except ValueError:
        return None
    if not 0 < start <= end <= 65535:
        return None
    return range(start, end + 1)


def parse_short(text: str) -> tuple[str | None, str | None, str, str] | None:
    """``[IP:][HOST:]CONTAINER[/PROTO]`` -> (ip, host, container, proto); None if malformed."""
    text = text.strip()
    proto = "tcp"
    if "/" in text:
        text, proto = text.rsplit("/", 1)
    ip: str | None = None
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            return None
        ip, text = text[1:end], text[end + 1:].lstrip(":")
        parts = text.split(":")
        return (ip, parts[0] if len(parts) > 1 else None, parts[-1], proto)
    parts = text.split(":")
    if len(parts) == 1:
        return (None, None, parts[0], proto)
    if len(parts) == 2:
        return (None, parts[0] or None, parts[1], proto)
    return (":".join(parts[:-2]), parts[-2] or None, parts[-1], proto)


def compose_ports(file: str, service: Node) -> Iterator[PublishedPort]:
    ports = service.get("ports")
    items = ports.value if ports is not None and isinstance(ports.value, list) else []
    budget = MAX_EXPANDED
    for item in items:
        loc = Location.of_node(file, item)
        if isinstance(item.value, dict):
            tgt = item.get("target")
            pub = item.get("published")
            hip = item.get("host_ip")
            proto = item.get("protocol")
            if tgt is None:
                continue
            containers = _range(str(tgt.value))
            host = None if pub is None or pub.value in (None, "") else str(pub.value)
            ip = None if hip is None or hip.value in (None, "") else str(hip.value)
            protocol = str(proto.value) if proto is not None and proto.value else "tcp"
        else:
            if getattr(item.value, "ref_kind", None) is not None:
                continue  # ${VAR} with no default: unknown at lint time
            parsed = parse_short(str(item.value))
            if parsed is None:
                continue
            ip, host, container, protocol = parsed
            containers = _range(container)
        if not containers:
            continue
        hosts = _range(host) if host else None
        if len(containers) > budget:  # the rules read the ports: entries themselves (QS102)
            return
        budget -= len(containers)
        for i, cport in enumerate(containers):
            hport = str(hosts[i]) if hosts and i < len(hosts) else host
            yield PublishedPort(cport, hport, ip or None, protocol, loc)


def listener_ports(config: EffectiveConfig) -> list[int]:
    """Every port Qdrant listens on with this config (REST, gRPC, metrics, p2p)."""
    out = []
    for path in ("service.http_port", "service.grpc_port", "service.metrics_port"):
        value = config.get(path)
        if isinstance(value, int) and not isinstance(value, bool):
            out.append(value)
    if config.get("cluster.enabled") is True:
        p2p = config.get("cluster.p2p.port")
        if isinstance(p2p, int) and not isinstance(p2p, bool):
            out.append(p2p)
    return out


def host_network_ports(config: EffectiveConfig, location: Location) -> list[PublishedPort]:
    """With host networking every listener is on the host's interfaces."""
    host = config.get("service.host")
    ip = None if host in (None, "0.0.0.0", "::") else str(host)
    return [PublishedPort(p, str(p), ip, "tcp", location) for p in listener_ports(config)]
