"""QS301 api-key-over-plaintext: a key is configured while ``service.enable_tls`` is false."""

from __future__ import annotations

from collections.abc import Iterable

from qdrantsec.lint.model import Finding, Rule, Severity, Target
from qdrantsec.lint.rules import default_applies, fix_location, flag, has_auth
from qdrantsec.lint.rules.qs201_no_authentication import publicly_reachable


class ApiKeyOverPlaintext(Rule):
    id = "QS301"
    name = "api-key-over-plaintext"
    severity = Severity.MEDIUM
    summary = "An API key is configured while `service.enable_tls` is false, so keys travel in clear text."
    rationale = (
        "Clients send the key (or a JWT signed with it) in the `api-key` / `Authorization` header "
        "of every request. Without TLS anyone on the path (a shared network, a compromised "
        "container, a cloud load balancer's backend leg) reads it and gets the same access. "
        "Severity: high when Qdrant is bound to all interfaces or its port is published, medium "
        "otherwise (e.g. behind a TLS-terminating proxy on a private network)."
    )
    example = ("environment:\n  QDRANT__SERVICE__API_KEY: ${QDRANT_API_KEY:?}\n"
               "  QDRANT__SERVICE__ENABLE_TLS: \"false\"\n")
    fix = ("Set `service.enable_tls: true` with `tls.cert`/`tls.key` (`qdrantsec certs` issues them), "
           "or terminate TLS at a proxy on the same host and keep Qdrant's port private.")
    references = (
        "https://qdrant.tech/documentation/guides/security/#tls",
        "qdrant-security-facts 6.1",
    )

    def check(self, target: Target) -> Iterable[Finding]:
        if not has_auth(target) or flag(target, "service.enable_tls") is not False:
            return
        if not default_applies(target, "service.enable_tls"):
            return
        public = publicly_reachable(target)
        sev = Severity.HIGH if public else self.severity
        where = " and Qdrant is reachable from the network" if public else ""
        yield self.finding(f"API keys are sent in clear text: `service.enable_tls` is false{where}",
                           fix_location(target, "service.enable_tls"), severity=sev, target=target)
