"""QS304 ca-cert-missing: p2p TLS or client-certificate checks without ``tls.ca_cert``."""

from __future__ import annotations

from collections.abc import Iterable

from qdrantsec.lint.model import Finding, Rule, Severity, Target
from qdrantsec.lint.rules import cluster_enabled, fix_location, flag, p2p_tls_enabled, tls_enabled


def ca_needed_by(target: Target) -> list[str]:
    users = []
    if cluster_enabled(target) and p2p_tls_enabled(target):
        users.append("`cluster.p2p.enable_tls`")
    if tls_enabled(target) and flag(target, "service.verify_https_client_certificate") is True:
        users.append("`verify_https_client_certificate`")
    return users


class CaCertMissing(Rule):
    id = "QS304"
    name = "ca-cert-missing"
    severity = Severity.HIGH
    summary = "p2p TLS or `verify_https_client_certificate` is on but `tls.ca_cert` is null or empty."
    rationale = (
        "Peers verify each other, and the REST port verifies client certificates, against "
        "`tls.ca_cert` only. Without it Qdrant fails to start (\"No ca_cert provided\", \"CA "
        "certificate is required for TLS configuration\"), and with `ca_cert: null` the client used "
        "for shard transfers accepts any certificate."
    )
    example = "cluster:\n  enabled: true\n  p2p:\n    enable_tls: true\ntls:\n  ca_cert: null\n"
    fix = "Set `tls.ca_cert` to the PEM file of the CA that signed every peer and client certificate."
    references = ("qdrant-security-facts 1.5, 6.4, 6.5",)

    def check(self, target: Target) -> Iterable[Finding]:
        users = ca_needed_by(target)
        if not users:
            return
        if target.config.has_section("tls") and target.config.get("tls.ca_cert") not in (None, ""):
            return
        yield self.finding(f"{' and '.join(users)} need `tls.ca_cert`, which is not set",
                           fix_location(target, "tls.ca_cert"), target=target)
