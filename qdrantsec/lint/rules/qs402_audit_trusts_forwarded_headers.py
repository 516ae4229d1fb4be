"""QS402 audit-trusts-forwarded-headers: ``audit.trust_forwarded_headers`` is true."""

from __future__ import annotations

from collections.abc import Iterable

from qdrantsec.lint.model import Finding, Rule, Severity, Target
from qdrantsec.lint.rules import flag
from qdrantsec.lint.rules.qs401_audit_disabled import audit_enabled


class AuditTrustsForwardedHeaders(Rule):
    id = "QS402"
    name = "audit-trusts-forwarded-headers"
    severity = Severity.MEDIUM
    summary = ("`audit.trust_forwarded_headers` is true: the audit `remote` field comes from "
               "client-supplied headers.")
    rationale = (
        "With this flag Qdrant logs the `Forwarded` or `X-Forwarded-For` header value as the "
        "client address. Unless every request passes a proxy that overwrites those headers, a "
        "client can write any address into the audit trail and hide where it came from. "
        "Severity: low when audit logging is off."
    )
    example = "audit:\n  enabled: true\n  trust_forwarded_headers: true\n"
    fix = ("Keep it false unless Qdrant is reachable only through a proxy that sets (not appends to) "
           "`Forwarded`/`X-Forwarded-For`.")
    references = ("qdrant-security-facts 1.7, 5.5, 10",)

    def check(self, target: Target) -> Iterable[Finding]:
        if not target.config.has_section("audit"):
            return
        if flag(target, "audit.trust_forwarded_headers") is not True:
            return
        on = audit_enabled(target)
        yield self.finding(
            "the audit log takes the client address from `Forwarded`/`X-Forwarded-For`, which clients "
            "can forge" + ("" if on else " (audit logging is currently off)"),
            target.loc("audit.trust_forwarded_headers"), severity=self.severity if on else Severity.LOW,
            target=target)
