"""QS202 empty-key: a key is the empty string (or a reference that may be empty)."""

from __future__ import annotations

from collections.abc import Iterable

from qdrantsec.lint.model import Finding, Rule, Severity, Target, ValueRef
from qdrantsec.lint.rules import KEY_PATHS, KeyState, describe_ref, key_state


class EmptyKey(Rule):
    id = "QS202"
    name = "empty-key"
    severity = Severity.HIGH
    summary = ("`api_key`, `alt_api_key` or `read_only_api_key` is set to an empty string (in the "
               "config, an env var, or a compose `${VAR}` / `${VAR:-}` with no default).")
    rationale = (
        "Qdrant treats an empty key as unset and only logs a warning. An empty "
        "`QDRANT__SERVICE__API_KEY=` or a compose `${QDRANT_API_KEY}` whose variable is missing "
        "silently turns authentication off, and an empty `read_only_api_key` next to an admin key "
        "is a sign of a half-finished setup (qdrant#8856). Severity: high when no other key "
        "protects the instance, medium when another key does or when the value only may be empty "
        "(a reference whose variable may be unset)."
    )
    example = ("services:\n  qdrant:\n    environment:\n"
               "      - QDRANT__SERVICE__API_KEY=${QDRANT_API_KEY}\n")
    fix = ("Make the variable required (`${QDRANT_API_KEY:?set QDRANT_API_KEY}`) or read it from a "
           "secret; delete keys you do not use instead of leaving them empty.")
    references = (
        "https://github.com/qdrant/qdrant/issues/8856",
        "https://docs.docker.com/reference/compose-file/interpolation/",
        "qdrant-security-facts 1.2, 1.3, 2.1",
    )

    def check(self, target: Target) -> Iterable[Finding]:
        states = {p: key_state(target, p) for p in KEY_PATHS}
        for path, state in states.items():
            others = any(s in (KeyState.LITERAL, KeyState.REF) for p, s in states.items() if p != path)
            if state is KeyState.EMPTY:
                sev = Severity.MEDIUM if others else self.severity
                tail = "" if others else "; no other key is set, so authentication is off"
                yield self.finding(f"`{path}` is empty, which Qdrant treats as unset{tail}",
                                   target.loc(path), severity=sev, target=target)
            elif state is KeyState.MAYBE_EMPTY:
                value = target.config.get(path)
                ref = describe_ref(value) if isinstance(value, ValueRef) else str(value)
                yield self.finding(
                    f"`{path}` comes from {ref} with no default: if the variable is unset the key is "
                    "empty and Qdrant treats it as unset",
                    target.loc(path), severity=Severity.MEDIUM, target=target,
                )
