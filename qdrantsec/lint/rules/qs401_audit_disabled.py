"""QS401 audit-disabled: no ``audit`` section, or ``audit.enabled`` false."""

from __future__ import annotations

from collections.abc import Iterable

from qdrantsec.lint.model import Finding, Rule, Severity, Target
from qdrantsec.lint.rules import default_applies, fix_location, flag


def audit_enabled(target: Target) -> bool:
    return target.config.has_section("audit") and flag(target, "audit.enabled") is True


class AuditDisabled(Rule):
    id = "QS401"
    name = "audit-disabled"
    severity = Severity.MEDIUM
    summary = "Audit logging is off: there is no `audit` section, or `audit.enabled` is false."
    rationale = (
        "Qdrant's audit log records who did what (auth type, JWT subject, remote address, "
        "operation, collection, result) for every access-checked request, including denied "
        "ones. It is absent from the default config, so a fresh deployment keeps no record of "
        "key misuse, deleted collections or snapshot downloads."
    )
    example = "# no audit section\nservice:\n  host: 10.0.0.5\n"
    fix = ("Add `audit: {enabled: true, dir: /qdrant/storage/audit, rotation: daily, max_log_files: 30}` "
           "and ship the files off the host.")
    references = (
        "https://qdrant.tech/documentation/guides/security/#audit-logging",
        "qdrant-security-facts 1.7, 5",
    )

    def check(self, target: Target) -> Iterable[Finding]:
        if audit_enabled(target) or not default_applies(target, "audit.enabled"):
            return
        if not target.config.has_section("audit"):
            msg = "audit logging is off (no `audit` section)"
        elif flag(target, "audit.enabled") is None:
            return  # an unresolved reference: cannot tell
        else:
            msg = "audit logging is off (`audit.enabled` is false)"
        yield self.finding(msg, fix_location(target, "audit.enabled"), target=target)
