"""QS602 snapshot-url-recovery: ``enable_snapshot_url_recovery`` is true (the default)."""

from __future__ import annotations

from collections.abc import Iterable

from qdrantsec.lint.model import Finding, Rule, Severity, Target
from qdrantsec.lint.rules import default_applies, fix_location, flag, where_set


class SnapshotUrlRecovery(Rule):
    id = "QS602"
    name = "snapshot-url-recovery"
    severity = Severity.LOW
    summary = ("`service.enable_snapshot_url_recovery` is true (the default): snapshot recovery "
               "fetches any http(s) URL.")
    rationale = (
        "`PUT /collections/{c}/snapshots/recover` makes the Qdrant server download from a URL given "
        "in the request, and can send an `api_key` along. Anyone with manage access (or no auth at "
        "all) can use it to probe the internal network or cloud metadata endpoints (SSRF). "
        "`file://` recovery stays limited to the snapshots directory."
    )
    example = "# enable_snapshot_url_recovery not set (default true)\nservice:\n  host: 10.0.0.5\n"
    fix = ("Set `service.enable_snapshot_url_recovery: false` and restore snapshots by upload or from "
           "the snapshots dir.")
    references = ("qdrant-security-facts 1.4, 8, 10",)

    def check(self, target: Target) -> Iterable[Finding]:
        if flag(target, "service.enable_snapshot_url_recovery", default=True) is not True:
            return
        if not default_applies(target, "service.enable_snapshot_url_recovery"):
            return
        yield self.finding("snapshot recovery from remote URLs is enabled "
                           f"({where_set(target, 'service.enable_snapshot_url_recovery')}), an SSRF path",
                           fix_location(target, "service.enable_snapshot_url_recovery"), target=target)
