"""QS303 p2p-tls-disabled: a cluster whose peers talk without TLS."""

from __future__ import annotations

from collections.abc import Iterable

from qdrantsec.lint.model import Finding, Rule, Severity, Target
from qdrantsec.lint.rules import cluster_enabled, fix_location, flag


class P2pTlsDisabled(Rule):
    id = "QS303"
    name = "p2p-tls-disabled"
    severity = Severity.HIGH
    summary = "`cluster.enabled` is true while `cluster.p2p.enable_tls` is false."
    rationale = (
        "Peers exchange raft messages, points and shard snapshots on the p2p port, and internal "
        "calls carry the primary `api_key`. Without p2p TLS all of it crosses the network in clear "
        "text and any host that can reach port 6335 can impersonate a peer; with p2p TLS every peer "
        "must present a certificate from `tls.ca_cert` (mutual TLS)."
    )
    example = "cluster:\n  enabled: true\n  p2p:\n    enable_tls: false\n"
    fix = ("Set `cluster.p2p.enable_tls: true` with `tls.cert`, `tls.key` and `tls.ca_cert` on every "
           "peer, and use `https://` peer URIs.")
    references = (
        "https://qdrant.tech/documentation/guides/security/#tls",
        "qdrant-security-facts 6.1, 6.5",
    )

    def check(self, target: Target) -> Iterable[Finding]:
        if cluster_enabled(target) and flag(target, "cluster.p2p.enable_tls") is False:
            yield self.finding("cluster mode is on but peer-to-peer traffic is not encrypted "
                               "(`cluster.p2p.enable_tls` is false)",
                               fix_location(target, "cluster.p2p.enable_tls"), target=target)
