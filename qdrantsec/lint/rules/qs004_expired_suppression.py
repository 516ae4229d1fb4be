"""QS004 expired-suppression: an ``ignore`` entry of ``.qdrantsec.yaml`` is past its
``expires`` date. Raised by the suppression pass (``qdrantsec.lint.suppress``), not by
``check``."""

from __future__ import annotations

from collections.abc import Iterable

from qdrantsec.lint.model import Finding, Rule, Severity, Target


class ExpiredSuppression(Rule):
    id = "QS004"
    name = "expired-suppression"
    severity = Severity.LOW
    summary = "An `ignore` entry in `.qdrantsec.yaml` has passed its `expires` date and no longer suppresses."
    rationale = (
        "Accepting a finding \"until the migration is done\" should not turn into accepting it "
        "forever. Once the `expires` date of an ignore entry has passed, the entry stops "
        "suppressing: the findings it covered are reported again at their own severity, and this "
        "rule points at the stale entry so that it is renewed with a new date or removed."
    )
    example = (
        "ignore:\n"
        "  - rule: QS201\n"
        "    path: dev/docker-compose.yml\n"
        "    reason: until the dev stack gets a key\n"
        "    expires: 2024-01-31\n"
    )
    fix = ("Fix the findings and delete the entry, or, if the exception still holds, move "
           "`expires` to a new date and update the reason.")
    references = ("README: Suppressions",)

    def check(self, target: Target) -> Iterable[Finding]:
        # The project file is looked at after the rules ran, by the suppression pass.
        return ()
