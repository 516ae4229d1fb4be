"""QS601 cors-any-origin: ``service.enable_cors`` is true (the default)."""

from __future__ import annotations

from collections.abc import Iterable

from qdrantsec.lint.model import Finding, Rule, Severity, Target
from qdrantsec.lint.rules import default_applies, fix_location, flag, has_auth, where_set


class CorsAnyOrigin(Rule):
    id = "QS601"
    name = "cors-any-origin"
    severity = Severity.LOW
    summary = "`service.enable_cors` is true (Qdrant's default), allowing any origin, method and header."
    rationale = (
        "With CORS on, Qdrant answers every origin as allowed, so JavaScript on any web page a user "
        "opens can read the REST API through that user's browser, which often sits on the same "
        "network as Qdrant (or on localhost). Without an API key that is full read/write access "
        "from the web; with one, the page still needs the key. There is no origin allow-list. "
        "Severity: medium without an API key, low with one."
    )
    example = "service:\n  enable_cors: true\n"
    fix = ("Set `service.enable_cors: false` unless a browser app calls Qdrant directly; then proxy "
           "it instead.")
    references = (
        "https://qdrant.tech/documentation/guides/configuration/",
        "qdrant-security-facts 1.4, 8",
    )

    def check(self, target: Target) -> Iterable[Finding]:
        if flag(target, "service.enable_cors", default=True) is not True:
            return
        if not default_applies(target, "service.enable_cors"):
            return
        authed = has_auth(target)
        sev = self.severity if authed else Severity.MEDIUM
        tail = "" if authed else " and no API key is set"
        yield self.finding(f"CORS allows any origin ({where_set(target, 'service.enable_cors')}){tail}",
                           fix_location(target, "service.enable_cors"), severity=sev, target=target)
