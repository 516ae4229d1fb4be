"""QS101 bind-all-interfaces: ``service.host`` is ``0.0.0.0`` or ``::`` (Qdrant's default)."""

from __future__ import annotations

from collections.abc import Iterable

from qdrantsec.lint.model import Finding, Rule, Severity, Target
from qdrantsec.lint.rules import (
    CONTAINER_KINDS,
    default_applies,
    fix_location,
    has_auth,
    is_wildcard_host,
    unread_env_note,
    where_set,
)
from qdrantsec.lint.rules.qs102_port_published_publicly import api_published


class BindAllInterfaces(Rule):
    id = "QS101"
    name = "bind-all-interfaces"
    severity = Severity.MEDIUM
    summary = "Qdrant listens on every network interface (`service.host` is `0.0.0.0` or `::`)."
    rationale = (
        "`service.host` is the bind address of the REST, gRPC, metrics and p2p listeners, and its "
        "default is `0.0.0.0`. On a host with a public interface every listener is then reachable "
        "from the network; without an API key that means full manage access for anyone. Inside a "
        "container the wildcard bind is needed for published ports, so there it matters mostly when "
        "no key is set. Severity: critical without any API key (high in a container whose ports "
        "are not published), medium with one, low inside a container with a key."
    )
    example = "service:\n  host: 0.0.0.0\n"
    fix = ("Bind to loopback or a private address (`service.host: 127.0.0.1`) and reach Qdrant "
           "through a proxy, or keep the wildcard only inside a container whose ports are not "
           "published publicly; always set `service.api_key`.")
    references = (
        "https://qdrant.tech/documentation/guides/configuration/",
        "https://qdrant.tech/documentation/guides/security/",
        "qdrant-security-facts 1.4, 9",
    )

    def check(self, target: Target) -> Iterable[Finding]:
        host = target.config.get("service.host")
        if not is_wildcard_host(host) or not default_applies(target, "service.host"):
            return
        authed = has_auth(target)
        container = target.kind in CONTAINER_KINDS
        if not authed and container and not api_published(target):
            sev = Severity.HIGH
            tail = ("and no API key is set: every container or pod on its network has full manage "
                    "access")
        elif not authed:
            sev = Severity.CRITICAL
            tail = "and no API key is set: anyone who can reach it has full manage access"
        elif container:
            sev, tail = Severity.LOW, "inside a container; the API key protects it"
        else:
            sev, tail = self.severity, "protected only by the API key"
        note = "" if authed else unread_env_note(target)
        if note:
            sev, tail = min(sev, Severity.MEDIUM), tail + note
        yield self.finding(
            f"Qdrant binds to all interfaces ({host}, {where_set(target, 'service.host')}) {tail}",
            fix_location(target, "service.host"), severity=sev, target=target,
        )
