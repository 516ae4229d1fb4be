"""QS105 host-not-ip-literal: ``service.host`` is a host name while gRPC or the cluster is on."""

from __future__ import annotations

from collections.abc import Iterable

from qdrantsec.lint.model import Finding, Rule, Severity, Target, ValueRef
from qdrantsec.lint.rules import cluster_enabled, grpc_enabled, is_ip_literal
from qdrantsec.lint.rules.qs211_unexpanded_variable import unexpanded_reference
from qdrantsec.qdrant.config import shown_host


class HostNotIpLiteral(Rule):
    id = "QS105"
    name = "host-not-ip-literal"
    severity = Severity.MEDIUM
    summary = "`service.host` is a host name (not an IP literal) while gRPC or cluster mode is enabled."
    rationale = (
        "Only the REST listener resolves a host name. The gRPC and p2p servers parse "
        "`service.host` as an IP literal and panic on a name such as `localhost`, so the node "
        "fails to start (or crash-loops) while the REST port alone may have come up in a test. "
        "People then fall back to `0.0.0.0` in a hurry."
    )
    example = "service:\n  host: localhost\n  grpc_port: 6334\n"
    fix = "Use an IP literal: `service.host: 127.0.0.1` (or `::1`, or a private interface address)."
    references = ("qdrant-security-facts 1.4, 9",)

    def check(self, target: Target) -> Iterable[Finding]:
        host = target.config.get("service.host")
        if not isinstance(host, str) or isinstance(host, ValueRef) or not host.strip():
            return
        if is_ip_literal(host) or unexpanded_reference(target, "service.host"):
            return  # a literal `${VAR}` in a config file is QS211's
        users = [name for name, on in (("gRPC", grpc_enabled(target)), ("p2p", cluster_enabled(target)))
                 if on]
        if not users:
            return
        yield self.finding(
            f"`service.host` is the host name {shown_host(host)}; the {' and '.join(users)} server(s) "
            "need an IP literal and Qdrant panics at startup",
            target.loc("service.host"), target=target,
        )
