"""QP6xx: the cluster as seen from where the probe runs: p2p ports that answer a TCP
connect (nothing is sent), and peers reporting different versions."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

from qdrantsec.lint.model import Finding, Severity
from qdrantsec.probe.context import TargetContext, base_url
from qdrantsec.probe.model import ProbeCheck


class P2pPortReachable(ProbeCheck):
    id = "QP601"
    name = "p2p-port-reachable"
    severity = Severity.HIGH
    summary = ("A peer's p2p port (`cluster.p2p.port`, 6335) accepts TCP connections from where the "
               "probe runs.")
    rationale = ("The internal API on the p2p port needs no credentials unless "
                 "`service.enforce_internal_auth` is true (off by default): raft, internal point "
                 "operations and the audit log are open to whoever connects. Only the peers need it.")
    fix = ("Firewall the p2p port to the peers' addresses (a private network, a NetworkPolicy); set "
           "`service.enforce_internal_auth: true` and `cluster.p2p.enable_tls: true`.")


class PeerVersionsDiffer(ProbeCheck):
    id = "QP602"
    name = "peer-versions-differ"
    severity = Severity.MEDIUM
    summary = "The peers probed report different Qdrant versions in `GET /`."
    rationale = ("A rolling upgrade left half done leaves some peers without the fixes of the newer "
                 "release, and mixed versions are supported only during an upgrade.")
    fix = "Finish the upgrade: run the same Qdrant release on every peer."


CHECKS = (P2pPortReachable, PeerVersionsDiffer)

DEFAULT_P2P_PORT = 6335  # Qdrant's cluster.p2p.port


def p2p_endpoints(ctx: TargetContext) -> list[tuple[str, int, str]]:
    """(host, port, where it came from): the URL's host, and every peer URI GET /cluster
    listed. The URL's host is tried with --p2p-port when given, else with the port of its
    own peer (``peer_id``) in GET /cluster, and only when that is unknown with Qdrant's
    default: a guessed 6335 must not stand for a port the deployment named."""
    cluster = ctx.cluster or {}
    listed: list[tuple[str, int, str]] = []
    own: tuple[int, str] | None = None
    peers = cluster.get("peers")
    if isinstance(peers, dict):
        for peer_id, info in sorted(peers.items()):
            uri = info.get("uri") if isinstance(info, dict) else None
            parts = urlsplit(uri) if isinstance(uri, str) else None
            if parts and parts.hostname:
                try:
                    port = parts.port or DEFAULT_P2P_PORT
                except ValueError:
                    continue
                listed.append((parts.hostname, port, f"peer {peer_id} in GET /cluster ({uri})"))
                if str(peer_id) == str(cluster.get("peer_id")):
                    own = (port, str(peer_id))
    given = ctx.options.p2p_port
    if given is not None:
        first = (ctx.host, given, f"{ctx.host} with --p2p-port {given}")
    elif own is not None:
        first = (ctx.host, own[0], f"{ctx.host} with the p2p port of its peer {own[1]} in GET /cluster")
    else:
        first = (ctx.host, DEFAULT_P2P_PORT, f"{ctx.host} with Qdrant's default p2p port")
    return [first, *listed]


def run_p2p(targets: list[TargetContext]) -> Iterator[Finding]:
    seen: set[tuple[str, int]] = set()
    for ctx in targets:
        for host, port, origin in p2p_endpoints(ctx):
            if (host, port) in seen:
                continue
            seen.add((host, port))
            failed = ctx.prober.connect(host, port)
            where = base_url("tcp", host, port)
            if failed is None:
                yield P2pPortReachable().finding(
                    ctx.url, f"the p2p port {host}:{port} accepts connections ({origin})", where,
                    f"TCP connect to {host}:{port}: connected (nothing sent)")
            else:
                ctx.notes.append(f"p2p port {host}:{port} ({origin}) does not accept connections from "
                                 f"here ({failed})")


def run_versions(targets: list[TargetContext]) -> Iterator[Finding]:
    versions = {t.url: t.version for t in targets if t.version}
    if len(set(versions.values())) > 1:
        listed = ", ".join(f"{url} {v}" for url, v in sorted(versions.items()))
        first = min(versions)
        yield PeerVersionsDiffer().finding(first, f"the peers run different versions: {listed}",
                                           first + "/", f"GET / on each peer: {listed}")
