"""QS206 jwt-rbac-without-key: ``jwt_rbac`` on but no ``api_key``/``alt_api_key``."""

from __future__ import annotations

from collections.abc import Iterable

from qdrantsec.lint.model import Finding, Rule, Severity, Target
from qdrantsec.lint.rules import flag, has_admin_key


class JwtRbacWithoutKey(Rule):
    id = "QS206"
    name = "jwt-rbac-without-key"
    severity = Severity.MEDIUM
    summary = "`service.jwt_rbac` is true but neither `api_key` nor `alt_api_key` is set."
    rationale = (
        "JWTs are verified with `api_key` / `alt_api_key` as HS256 secrets. Without either, Qdrant "
        "only warns \"JWT RBAC configured but no API key set, JWT RBAC is not enabled\": scoped tokens "
        "are rejected, and if no read-only key exists there is no authentication at all while the "
        "config looks like access control is in place."
    )
    example = ("environment:\n  QDRANT__SERVICE__JWT_RBAC: \"true\"\n"
               "  QDRANT__SERVICE__READ_ONLY_API_KEY: ${RO_KEY:?}\n")
    fix = "Set `service.api_key` to 32+ random bytes; it signs and verifies the JWTs."
    references = (
        "https://qdrant.tech/documentation/guides/security/#granular-access-control-with-jwt",
        "qdrant-security-facts 1.3, 2.1",
    )

    def check(self, target: Target) -> Iterable[Finding]:
        if flag(target, "service.jwt_rbac") is True and not has_admin_key(target):
            yield self.finding("`jwt_rbac` is on but no `api_key`/`alt_api_key` is set, so JWT RBAC is "
                               "not enabled", target.loc("service.jwt_rbac"), target=target)
