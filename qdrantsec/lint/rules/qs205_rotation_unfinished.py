"""QS205 rotation-unfinished: ``alt_api_key`` is set."""

from __future__ import annotations

from collections.abc import Iterable

from qdrantsec.lint.model import Finding, Rule, Severity, Target
from qdrantsec.lint.rules import is_key_set


class RotationUnfinished(Rule):
    id = "QS205"
    name = "rotation-unfinished"
    severity = Severity.LOW
    summary = "`service.alt_api_key` is set: a key rotation has started and not been finished."
    rationale = (
        "`alt_api_key` behaves exactly like `api_key` (admin access and a second JWT secret). It "
        "exists for rolling rotations; left in place, the old key stays valid indefinitely, doubling "
        "what can leak. Internal p2p calls only ever carry `api_key`."
    )
    example = ("environment:\n  QDRANT__SERVICE__API_KEY: ${NEW_KEY:?}\n"
               "  QDRANT__SERVICE__ALT_API_KEY: ${OLD_KEY:?}\n")
    fix = ("Finish the rotation once every client uses the new key: remove `alt_api_key` and roll "
           "the peers (`qdrantsec rotate` plans this).")
    references = (
        "https://qdrant.tech/documentation/guides/security/#key-rotation",
        "qdrant-security-facts 2.6, 2.7",
    )

    def check(self, target: Target) -> Iterable[Finding]:
        if is_key_set(target, "service.alt_api_key"):
            yield self.finding("`alt_api_key` is set: finish the rotation and remove the old key",
                               target.loc("service.alt_api_key"), target=target)
