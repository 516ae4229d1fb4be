"""QS309 mtls-not-on-grpc: client certificates are required on REST but not on gRPC."""

from __future__ import annotations

from collections.abc import Iterable

from qdrantsec.lint.model import Finding, Rule, Severity, Target
from qdrantsec.lint.rules import flag, grpc_enabled, tls_enabled


class MtlsNotOnGrpc(Rule):
    id = "QS309"
    name = "mtls-not-on-grpc"
    severity = Severity.MEDIUM
    summary = ("`verify_https_client_certificate` is on while the gRPC port is enabled, which never "
               "asks for client certificates.")
    rationale = (
        "Client-certificate verification applies to the REST and metrics listeners only. The "
        "public gRPC port (6334) serves the same API without asking for a certificate, so clients "
        "without one bypass the mTLS requirement there (an API key still applies if set)."
    )
    example = "service:\n  enable_tls: true\n  verify_https_client_certificate: true\n  grpc_port: 6334\n"
    fix = ("Disable gRPC (`service.grpc_port: null`) when you rely on client certificates, or keep "
           "it unreachable.")
    references = ("qdrant-security-facts 1.4, 6.1, 10",)

    def check(self, target: Target) -> Iterable[Finding]:
        if (tls_enabled(target) and flag(target, "service.verify_https_client_certificate") is True
                and grpc_enabled(target)):
            yield self.finding("client certificates are required on REST but the gRPC port "
                               f"{target.config.get('service.grpc_port')} accepts clients without one",
                               target.loc("service.verify_https_client_certificate"), target=target)
