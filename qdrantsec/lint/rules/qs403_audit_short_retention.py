"""QS403 audit-short-retention: ``audit.max_log_files`` keeps less than 7 days."""

from __future__ import annotations

from collections.abc import Iterable

from qdrantsec.lint.model import Finding, Rule, Severity, Target
from qdrantsec.lint.rules import as_int, fix_location
from qdrantsec.lint.rules.qs401_audit_disabled import audit_enabled
from qdrantsec.qdrant.config import AUDIT_DEFAULTS

MIN_DAYS = 7


class AuditShortRetention(Rule):
    id = "QS403"
    name = "audit-short-retention"
    severity = Severity.LOW
    summary = "`audit.max_log_files` keeps less than 7 days of audit logs for the configured rotation."
    rationale = (
        "Qdrant deletes the oldest audit files once `max_log_files` exist; one file is one day "
        "(`rotation: daily`) or one hour (`hourly`). With hourly rotation the default 7 files keep "
        "only 7 hours, and incidents are often noticed days later. Values below 1 behave as 1."
    )
    example = "audit:\n  enabled: true\n  rotation: hourly\n  max_log_files: 24\n"
    fix = "Keep at least 7 days (`max_log_files: 7` daily, `168` hourly), better 30+, and ship logs off-host."
    references = ("qdrant-security-facts 1.7, 5.3",)

    def check(self, target: Target) -> Iterable[Finding]:
        if not audit_enabled(target):
            return
        rotation = str(target.config.get("audit.rotation") or AUDIT_DEFAULTS["rotation"]).strip()
        files = as_int(target.config.get("audit.max_log_files", AUDIT_DEFAULTS["max_log_files"]))
        if files is None or rotation not in ("daily", "hourly"):
            return
        files = max(files, 1)
        per_day = 24 if rotation == "hourly" else 1
        if files >= MIN_DAYS * per_day:
            return
        span = f"{files} hour(s)" if rotation == "hourly" else f"{files} day(s)"
        path = "audit.max_log_files" if target.config.is_set("audit.max_log_files") else "audit.rotation"
        yield self.finding(f"audit logs are kept for only {span} ({files} {rotation} file(s))",
                           fix_location(target, path), target=target)
