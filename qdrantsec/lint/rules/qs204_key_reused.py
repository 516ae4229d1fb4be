"""QS204 key-reused: the same value in two key settings."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from qdrantsec.lint.model import Finding, Rule, Severity, Target, ValueRef
from qdrantsec.lint.rules import KEY_PATHS, KeyState, key_state


def _same(a: Any, b: Any) -> bool:
    """Equal literals, or references to the same variable/secret text."""
    if isinstance(a, ValueRef) != isinstance(b, ValueRef):
        return False
    return str(a) == str(b)


class KeyReused(Rule):
    id = "QS204"
    name = "key-reused"
    severity = Severity.HIGH
    summary = ("`read_only_api_key` equals `api_key` or `alt_api_key` (it then grants manage), or "
               "`alt_api_key` equals `api_key`.")
    rationale = (
        "Qdrant checks a presented key against `api_key` and `alt_api_key` first, so a "
        "`read_only_api_key` with the same value grants full manage access to every \"read-only\" "
        "client. An `alt_api_key` equal to `api_key` makes a key rotation a no-op. Severity: high "
        "for a read-only key that is an admin key, medium for alt equal to primary."
    )
    example = "service:\n  api_key: 3f9c2b...\n  read_only_api_key: 3f9c2b...\n"
    fix = "Give every key its own random value; generate the read-only key separately."
    references = ("qdrant-security-facts 2.3",)

    def check(self, target: Target) -> Iterable[Finding]:
        cfg = target.config
        present = {p: cfg.get(p) for p in KEY_PATHS
                   if key_state(target, p) in (KeyState.LITERAL, KeyState.REF)}
        ro = present.get("service.read_only_api_key")
        for admin in ("service.api_key", "service.alt_api_key"):
            if ro is not None and admin in present and _same(ro, present[admin]):
                yield self.finding(
                    f"`read_only_api_key` has the same value as `{admin}`, so read-only clients get "
                    "full manage access", target.loc("service.read_only_api_key"), target=target)
        alt, main = present.get("service.alt_api_key"), present.get("service.api_key")
        if alt is not None and main is not None and _same(alt, main):
            yield self.finding("`alt_api_key` equals `api_key`: the rotation changes nothing",
                               target.loc("service.alt_api_key"), severity=Severity.MEDIUM, target=target)
