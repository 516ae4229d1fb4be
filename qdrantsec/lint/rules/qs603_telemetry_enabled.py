"""QS603 telemetry-enabled: ``telemetry_disabled`` is false (the default)."""

from __future__ import annotations

from collections.abc import Iterable

from qdrantsec.lint.model import Finding, Rule, Severity, Target
from qdrantsec.lint.rules import default_applies, fix_location, flag, node_value, where_set


def command_disables_telemetry(target: Target) -> bool:
    """``--disable-telemetry`` on the compose command or the container's command/args."""
    parts: list[object] = []
    if target.compose_service is not None:
        svc = target.compose_service
        parts += [node_value(svc, "command"), node_value(svc, "entrypoint")]
    if target.container is not None:
        parts += [node_value(target.container, "command"), node_value(target.container, "args")]
    if target.helm_values is not None:
        parts.append(node_value(target.helm_values, "args"))
    return any("--disable-telemetry" in (" ".join(map(str, p)) if isinstance(p, list) else str(p))
               for p in parts if p is not None)


class TelemetryEnabled(Rule):
    id = "QS603"
    name = "telemetry-enabled"
    severity = Severity.LOW
    summary = "`telemetry_disabled` is false (the default): Qdrant reports to telemetry.qdrant.io hourly."
    rationale = (
        "Qdrant sends an anonymised usage report every hour, and panic reports, to "
        "https://telemetry.qdrant.io. It is outbound traffic from a database host, reveals that "
        "(and roughly how) Qdrant runs there, and fails noisily behind egress filtering."
    )
    example = "telemetry_disabled: false\n"
    fix = "Set `telemetry_disabled: true` (or `QDRANT__TELEMETRY_DISABLED=true`, or `--disable-telemetry`)."
    references = (
        "https://qdrant.tech/documentation/guides/telemetry/",
        "qdrant-security-facts 1.8",
    )

    def check(self, target: Target) -> Iterable[Finding]:
        if flag(target, "telemetry_disabled") is not False or command_disables_telemetry(target):
            return
        if not default_applies(target, "telemetry_disabled"):
            return
        yield self.finding(f"telemetry reporting is on ({where_set(target, 'telemetry_disabled')})",
                           fix_location(target, "telemetry_disabled"), target=target)
