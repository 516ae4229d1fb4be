"""QP5xx: the version ``GET /`` reports (never behind credentials) against the table of
security fixes in ``qdrantsec/data/qdrant_security_fixes.json``."""

from __future__ import annotations

from collections.abc import Iterator

from qdrantsec.lint.model import Finding, Severity
from qdrantsec.probe.context import TargetContext
from qdrantsec.probe.fixes import latest_fix_version, missing_fixes
from qdrantsec.probe.model import Exchange, ProbeCheck


class MissingSecurityFix(ProbeCheck):
    id = "QP501"
    name = "missing-security-fix"
    severity = Severity.HIGH
    summary = ("The version `GET /` reports is older than a release that fixed a security problem "
               "(one finding per fix; severity from the fix table).")
    rationale = ("The fixes are public, and so is the version: `GET /` answers without credentials. "
                 "Each finding names the advisory or pull request and when it applies.")
    fix = "Upgrade Qdrant to the release named in the finding or later (all peers of a cluster)."
    references = ("https://github.com/qdrant/qdrant/security/advisories",
                  "https://github.com/qdrant/qdrant/releases")


CHECKS = (MissingSecurityFix,)


def run(ctx: TargetContext, root: Exchange) -> Iterator[Finding]:
    if ctx.version is None:
        ctx.notes.append(f"{ctx.url}: GET / reported no version; version checks skipped")
        return
    newest = latest_fix_version()
    for fix in missing_fixes(ctx.version):
        yield MissingSecurityFix().finding(
            ctx.url, f"Qdrant {ctx.version} lacks the fix in {fix.fixed_in} for {fix.id}: {fix.title} "
                     f"(applies to {fix.applies}; {fix.source})",
            root.url, f"{root.evidence()}; version {ctx.version}", severity=fix.severity,
            fix=f"Upgrade to Qdrant {fix.fixed_in} or later (newest fix in the table: {newest}).")
