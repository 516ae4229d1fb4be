"""QS308 cert-reload-disabled: ``tls.cert_ttl`` is 0 or null."""

from __future__ import annotations

from collections.abc import Iterable

from qdrantsec.lint.model import Finding, Rule, Severity, Target
from qdrantsec.lint.rules import as_int, tls_enabled


class CertReloadDisabled(Rule):
    id = "QS308"
    name = "cert-reload-disabled"
    severity = Severity.LOW
    summary = "`tls.cert_ttl` is 0 or null while REST TLS is on, so renewed certificates are never picked up."
    rationale = (
        "The REST (and metrics) listener re-reads `tls.cert`/`tls.key` on a handshake once the "
        "loaded pair is `cert_ttl` seconds old (default 3600). With 0 or null it never does, so "
        "short-lived certificates expire in a running process unless it is restarted."
    )
    example = "service:\n  enable_tls: true\ntls:\n  cert_ttl: 0\n"
    fix = "Leave `tls.cert_ttl` at its default (3600) or set it below your certificates' renewal margin."
    references = ("qdrant-security-facts 1.5, 6.3",)

    def check(self, target: Target) -> Iterable[Finding]:
        if not tls_enabled(target) or not target.config.has_section("tls"):
            return
        setting = target.config.setting("tls.cert_ttl")
        if setting is None:
            return  # absent from every layer: the serde default 3600 applies
        ttl = as_int(setting.value)
        if setting.value is None or ttl == 0:
            yield self.finding(f"`tls.cert_ttl` is {setting.value!r}: renewed certificates are never "
                               "reloaded", target.loc("tls.cert_ttl"), target=target)
