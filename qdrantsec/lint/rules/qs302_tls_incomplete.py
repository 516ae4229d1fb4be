"""QS302 tls-incomplete: TLS is on but the ``tls`` section or its cert/key is missing."""

from __future__ import annotations

from collections.abc import Iterable

from qdrantsec.lint.model import Finding, Rule, Severity, Target
from qdrantsec.lint.rules import cluster_enabled, fix_location, p2p_tls_enabled, tls_enabled


def tls_users(target: Target) -> list[str]:
    """Which listeners use the ``tls`` files: REST/gRPC and/or p2p."""
    users = []
    if tls_enabled(target):
        users.append("`service.enable_tls`")
    if cluster_enabled(target) and p2p_tls_enabled(target):
        users.append("`cluster.p2p.enable_tls`")
    return users


class TlsIncomplete(Rule):
    id = "QS302"
    name = "tls-incomplete"
    severity = Severity.HIGH
    summary = "TLS is on (REST or p2p) but `tls` is null or `tls.cert` / `tls.key` is unset or empty."
    rationale = (
        "With `enable_tls` or `cluster.p2p.enable_tls` Qdrant loads `tls.cert` and `tls.key` at "
        "start; without them it refuses to start, and the usual quick fix under pressure is turning "
        "TLS off again. Leaving both at Qdrant's defaults (`./tls/cert.pem`, `./tls/key.pem`, "
        "relative to the working directory) works only by accident (reported as low)."
    )
    example = "service:\n  enable_tls: true\ntls: null\n"
    fix = ("Set `tls.cert` and `tls.key` to the PEM files (absolute paths, or relative to Qdrant's "
           "working dir).")
    references = (
        "https://qdrant.tech/documentation/guides/security/#tls",
        "qdrant-security-facts 1.5, 6",
    )

    def check(self, target: Target) -> Iterable[Finding]:
        users = tls_users(target)
        if not users:
            return
        on = " and ".join(users)
        cfg = target.config
        if not cfg.has_section("tls"):
            yield self.finding(f"{on} is on but the `tls` section is null", fix_location(target, "tls"),
                               target=target)
            return
        missing = [p for p in ("tls.cert", "tls.key") if cfg.get(p) in (None, "")]
        for path in missing:
            yield self.finding(f"{on} is on but `{path}` is not set; Qdrant will not start",
                               fix_location(target, path), target=target)
        if not missing and not cfg.is_set("tls.cert") and not cfg.is_set("tls.key"):
            yield self.finding(
                f"{on} is on and `tls.cert`/`tls.key` are left at Qdrant's defaults "
                "(./tls/cert.pem, ./tls/key.pem relative to the working directory)",
                fix_location(target, "tls.cert"), severity=Severity.LOW, target=target)
