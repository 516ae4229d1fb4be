"""QS104 metrics-port-unauthenticated: ``service.metrics_port`` is set."""

from __future__ import annotations

from collections.abc import Iterable

from qdrantsec.lint.model import Finding, Rule, Severity, Target
from qdrantsec.lint.rules import qdrant_ports
from qdrantsec.lint.rules.qs102_port_published_publicly import exposures_of


class MetricsPortUnauthenticated(Rule):
    id = "QS104"
    name = "metrics-port-unauthenticated"
    severity = Severity.MEDIUM
    summary = "`service.metrics_port` opens a `/metrics` listener that has no authentication."
    rationale = (
        "The dedicated metrics listener serves `GET /metrics` without any API-key check (the "
        "`/metrics` route on the REST port needs global read access). Metrics reveal collection "
        "names, sizes and traffic. It binds on `service.host` like every other listener. "
        "Severity: high when the port is also published outside the host or cluster."
    )
    example = "service:\n  metrics_port: 9090\n"
    fix = ("Remove `metrics_port` and scrape `/metrics` on the REST port with a read-only key, or "
           "keep the metrics port on a network only the monitoring system reaches.")
    references = (
        "https://qdrant.tech/documentation/guides/monitoring/",
        "qdrant-security-facts 1.4, 2.4, 8",
    )

    def check(self, target: Target) -> Iterable[Finding]:
        port = qdrant_ports(target).metrics
        if port is None:
            if target.config.get("service.metrics_port") is not None:  # an unresolvable reference
                yield self.finding("`service.metrics_port` is set: that listener has no authentication",
                                   target.loc("service.metrics_port"), target=target)
            return
        published = exposures_of(target, port)
        sev = Severity.HIGH if published else self.severity
        extra = f" and is reachable from outside ({published[0].how})" if published else ""
        yield self.finding(f"metrics port {port} serves /metrics with no authentication{extra}",
                           target.loc("service.metrics_port"), severity=sev, target=target)
