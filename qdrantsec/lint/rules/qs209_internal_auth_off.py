"""QS209 internal-auth-off: a cluster with keys but ``enforce_internal_auth`` not true."""

from __future__ import annotations

from collections.abc import Iterable

from qdrantsec.lint.model import Finding, Rule, Severity, Target
from qdrantsec.lint.rules import cluster_enabled, fix_location, flag, has_auth


class InternalAuthOff(Rule):
    id = "QS209"
    name = "internal-auth-off"
    severity = Severity.MEDIUM
    summary = "Cluster mode with API keys, but `service.enforce_internal_auth` is not true."
    rationale = (
        "Peers always send `api_key` on internal gRPC calls, but the receiving p2p server checks it "
        "only when `enforce_internal_auth: true` (off by default and undocumented). Without it the "
        "keys protect the public ports while anything that reaches port 6335 uses the internal API "
        "(points, raft, audit log) with no credentials."
    )
    example = ("environment:\n  QDRANT__SERVICE__API_KEY: ${QDRANT_API_KEY:?}\n"
               "  QDRANT__CLUSTER__ENABLED: \"true\"\n")
    fix = ("Set `service.enforce_internal_auth: true` on every peer once all peers run a version that "
           "sends the key, and keep the p2p port on a private network.")
    references = (
        "qdrant-security-facts 2.6, 2.7, 10",
        "https://qdrant.tech/documentation/guides/distributed_deployment/",
    )

    def check(self, target: Target) -> Iterable[Finding]:
        if not cluster_enabled(target) or not has_auth(target):
            return
        if flag(target, "service.enforce_internal_auth") is True:
            return
        yield self.finding("cluster mode with API keys, but the p2p port accepts internal calls without "
                           "credentials (`enforce_internal_auth` is not true)",
                           fix_location(target, "service.enforce_internal_auth"), target=target)
