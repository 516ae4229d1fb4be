"""QS201 no-authentication: no non-empty ``api_key``, ``alt_api_key`` or ``read_only_api_key``."""

from __future__ import annotations

from collections.abc import Iterable

from qdrantsec.lint.model import Finding, Location, Rule, Severity, Target
from qdrantsec.lint.rules import (
    CONTAINER_KINDS,
    KEY_PATHS,
    KeyState,
    fix_location,
    is_wildcard_host,
    key_state,
    unread_env_note,
)
from qdrantsec.lint.rules.qs102_port_published_publicly import api_published


def publicly_reachable(target: Target) -> bool:
    """Bound to all interfaces outside a container, or published from a container."""
    if target.kind in CONTAINER_KINDS:
        return api_published(target)
    return is_wildcard_host(target.config.get("service.host"))


class NoAuthentication(Rule):
    id = "QS201"
    name = "no-authentication"
    severity = Severity.HIGH
    summary = ("No API key is configured: none of `api_key`, `alt_api_key`, `read_only_api_key` is a "
               "non-empty string (Helm: `apiKey` false or absent).")
    rationale = (
        "Qdrant enables authentication only when at least one key is a non-empty string. Without "
        "one there is no auth layer at all: every request, from anyone who reaches a port, gets "
        "full manage access (create/delete collections, snapshots, shard moves). Severity: critical "
        "when Qdrant is bound to all interfaces (outside a container) or its port is published, "
        "high otherwise."
    )
    example = "service:\n  host: 0.0.0.0\n  # api_key: your_secret_api_key_here\n"
    fix = ("Set `service.api_key` (or `QDRANT__SERVICE__API_KEY`) from a secret store to at least "
           "32 random bytes, e.g. `qdrantsec key generate`; give read-only clients "
           "`read_only_api_key` or JWTs.")
    references = (
        "https://qdrant.tech/documentation/guides/security/#authentication",
        "qdrant-security-facts 2.1",
    )

    def check(self, target: Target) -> Iterable[Finding]:
        states = {p: key_state(target, p) for p in KEY_PATHS}
        if not target.runs_qdrant and all(s is KeyState.UNSET for s in states.values()):
            return
        if any(s not in (KeyState.UNSET, KeyState.EMPTY) for s in states.values()):
            return
        reachable = publicly_reachable(target)
        sev = Severity.CRITICAL if reachable else self.severity
        msg = "no API key is set, so every request gets full manage access"
        empties = [p for p, s in states.items() if s is KeyState.EMPTY]
        if empties:
            msg += f" ({', '.join(empties)} is empty, which Qdrant treats as unset)"
        if reachable:
            msg += "; Qdrant is reachable from the network"
        note = unread_env_note(target)
        if note:
            # a git-ignored .env may well hold QDRANT__SERVICE__API_KEY: say so, and do not
            # claim the worst
            sev, msg = min(sev, Severity.MEDIUM), msg + note
        yield self.finding(msg, self._where(target, empties), severity=sev, target=target)

    @staticmethod
    def _where(target: Target, empties: list[str]) -> Location:
        if empties:
            return target.loc(empties[0])
        if target.helm_values is not None:
            node = target.helm_values.get("apiKey")
            if node is not None:
                return target.node_loc(node)
        return fix_location(target, "service.api_key")
