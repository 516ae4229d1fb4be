"""QS306 cert-expiry: a certificate has expired or expires soon."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from qdrantsec.lint.model import Finding, Rule, Severity, Target
from qdrantsec.lint.rules.qs305_tls_file_problem import load, settings_in_use, tls_file


def _now(target: Target) -> dt.datetime:
    now = target.extra.get("now", getattr(target.options, "now", None))
    if isinstance(now, dt.datetime):
        return now if now.tzinfo else now.replace(tzinfo=dt.timezone.utc)
    return dt.datetime.now(dt.timezone.utc)


class CertExpiry(Rule):
    id = "QS306"
    name = "cert-expiry"
    severity = Severity.MEDIUM
    summary = ("A certificate in `tls.cert` or `tls.ca_cert` has expired, is not valid yet, or expires "
               "within `--cert-expiry-days` (default 30).")
    rationale = (
        "An expired server certificate breaks every TLS client, an expired CA or peer certificate "
        "breaks the cluster's p2p links. gRPC and p2p never reload certificates (only REST does, "
        "every `cert_ttl` seconds), so a renewal needs a restart: plan it before the date. "
        "Severity: high when expired or not yet valid, medium when expiring soon."
    )
    example = "tls:\n  cert: ./tls/cert.pem   # notAfter is 3 days from now\n"
    fix = "Renew the certificate (`qdrantsec certs issue`) and roll it out, restarting for gRPC/p2p."
    references = ("qdrant-security-facts 6.1, 6.3",)

    def check(self, target: Target) -> Iterable[Finding]:
        now = _now(target)
        default_days = getattr(target.options, "cert_expiry_days", 30)
        # (timedelta stops at 999,999,999 days: a larger --cert-expiry-days means "any")
        days = min(int(target.extra.get("cert_expiry_days", default_days)), 999_999_999)

        for setting in settings_in_use(target):
            if setting == "tls.key":
                continue
            file = tls_file(target, setting)
            loaded = load(file) if file is not None else None
            if loaded is None:
                continue
            for index, cert in enumerate(loaded.certs):
                what = "the CA certificate" if setting == "tls.ca_cert" else (
                    "the certificate" if index == 0 else f"chain certificate #{index + 1}")
                subject = cert.subject.rfc4514_string() or "(empty subject)"
                end, start = cert.not_valid_after_utc, cert.not_valid_before_utc
                if end <= now:
                    yield self.finding(f"{what} in `{setting}` ({subject}) expired on {end:%Y-%m-%d}",
                                       target.loc(setting), severity=Severity.HIGH, target=target)
                elif start > now:
                    yield self.finding(f"{what} in `{setting}` ({subject}) is not valid before "
                                       f"{start:%Y-%m-%d}", target.loc(setting), severity=Severity.HIGH,
                                       target=target)
                elif end - now <= dt.timedelta(days=days):
                    left = (end - now).days
                    yield self.finding(f"{what} in `{setting}` ({subject}) expires in {left} days "
                                       f"({end:%Y-%m-%d})", target.loc(setting), target=target)
