"""QS103 p2p-port-exposed: the cluster (p2p) port is reachable from outside."""

from __future__ import annotations

from collections.abc import Iterable

from qdrantsec.lint.model import Finding, Rule, Severity, Target
from qdrantsec.lint.rules import cluster_enabled, flag, qdrant_ports
from qdrantsec.lint.rules.qs102_port_published_publicly import (
    exposures_of,
    own_exposures_of,
    reported_once,
)


class P2pPortExposed(Rule):
    id = "QS103"
    name = "p2p-port-exposed"
    severity = Severity.CRITICAL
    summary = ("The p2p port (`cluster.p2p.port`, 6335) is published on the host or exposed by a "
               "LoadBalancer/NodePort Service, hostPort or host networking.")
    rationale = (
        "The internal gRPC API on the p2p port answers without any credentials unless "
        "`service.enforce_internal_auth` is true (off by default): raft messages, internal point "
        "operations, the audit log and telemetry are open to whoever reaches it. It must only be "
        "reachable by the other peers, on a private network. Severity: critical in a cluster "
        "without internal auth, high with it, low when cluster mode is off (nothing listens yet)."
    )
    example = 'services:\n  qdrant:\n    ports:\n      - "6335:6335"\n'
    fix = ("Do not publish the p2p port; let peers reach it over a private network (compose "
           "network, ClusterIP/headless Service), enable `cluster.p2p.enable_tls` and set "
           "`service.enforce_internal_auth: true`.")
    references = (
        "https://qdrant.tech/documentation/guides/distributed_deployment/",
        "qdrant-security-facts 2.6, 8",
    )
    kinds = ("compose", "k8s", "helm-values")

    def check(self, target: Target) -> Iterable[Finding]:
        port = qdrant_ports(target).p2p
        if not cluster_enabled(target):
            sev = Severity.LOW
            why = "cluster mode is off, so nothing listens there now, but enabling it would expose"
            what = "the unauthenticated internal API"
        elif flag(target, "service.enforce_internal_auth") is True:
            sev, why, what = Severity.HIGH, "this exposes", "the internal API (internal auth is on)"
        else:
            sev, why, what = self.severity, "this exposes", "the internal API with no authentication"
        # the findings for Services/routes shared with an earlier workload of the manifest set
        # are the same place and message as that workload's: it reports them once
        report, done = reported_once((self.id, port, sev, why, what), target)
        for exp in exposures_of(target, port) if report else own_exposures_of(target, port):
            yield self.finding(f"p2p port {port} is reachable from outside ({exp.how}); {why} {what}",
                               exp.location, severity=sev, target=target)
        done()
