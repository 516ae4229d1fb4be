"""QS003 suppression-without-reason: an inline ``# qdrantsec: ignore[...]`` comment has no
reason. Raised by the suppression pass (``qdrantsec.lint.suppress``), not by ``check``."""

from __future__ import annotations

from collections.abc import Iterable

from qdrantsec.lint.model import Finding, Rule, Severity, Target


class SuppressionWithoutReason(Rule):
    id = "QS003"
    name = "suppression-without-reason"
    severity = Severity.LOW
    summary = "An inline `# qdrantsec: ignore[...]` comment gives no reason, so it suppresses nothing."
    rationale = (
        "A suppression is a decision that a security finding is acceptable, and the next reader "
        "(or auditor) needs to know why. qdrantsec therefore ignores an inline suppression that "
        "has no reason: the finding it meant to hide is still reported, and the comment itself is "
        "reported by this rule, pointing at the comment."
    )
    example = "service:\n  host: 0.0.0.0  # qdrantsec: ignore[QS101]\n"
    fix = ("Write the reason after the rule IDs: `# qdrantsec: ignore[QS101] bound inside the pod "
           "network only`, or remove the comment and fix the finding.")
    references = ("README: Suppressions",)

    def check(self, target: Target) -> Iterable[Finding]:
        # Comments are looked at after the rules ran, by the suppression pass.
        return ()
