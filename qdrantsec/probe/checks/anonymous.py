"""QP1xx: what anyone who can reach the port gets without a credential."""

from __future__ import annotations

from collections.abc import Iterator

from qdrantsec.lint.model import Finding, Severity
from qdrantsec.probe.context import TargetContext
from qdrantsec.probe.model import ProbeCheck


class OpenInstance(ProbeCheck):
    id = "QP101"
    name = "open-instance"
    severity = Severity.CRITICAL
    summary = "`GET /collections` answers 200 without any credential: the instance has no authentication."
    rationale = ("With no `api_key`, `alt_api_key` or `read_only_api_key`, Qdrant gives every request "
                 "full manage access: anyone who reaches the port can read, change and delete every "
                 "collection and snapshot.")
    fix = ("Set `service.api_key` (a random 32-byte key from `qdrantsec key generate`, passed as a "
           "secret, e.g. QDRANT__SERVICE__API_KEY) and `service.enable_tls: true`; keep the port off "
           "public networks.")
    references = ("https://qdrant.tech/documentation/guides/security/#authentication",)


class TelemetryOpen(ProbeCheck):
    id = "QP102"
    name = "telemetry-without-credentials"
    severity = Severity.HIGH
    summary = "`GET /telemetry` answers 200 without any credential."
    rationale = ("Telemetry describes the deployment: version, collections and their configuration, "
                 "cluster peers and, with `app.jwt_rbac` and `app.audit`, how access is controlled "
                 "and logged. Qdrant answers it without credentials only when authentication is off.")
    fix = "Enable authentication (`service.api_key`); then only authenticated callers read telemetry."


CHECKS = (OpenInstance, TelemetryOpen)


def run(ctx: TargetContext) -> Iterator[Finding]:
    collections = ctx.get("/collections")
    if collections.ok:
        names = [c.get("name") for c in (collections.json_result() or {}).get("collections", [])
                 if isinstance(c, dict)] if isinstance(collections.json_result(), dict) else []
        yield OpenInstance().finding(
            ctx.url, f"collections can be listed without credentials ({len(names)} collections)",
            collections.url, collections.evidence())
    telemetry = ctx.get("/telemetry")
    if telemetry.ok:
        ctx.telemetry.append(("without credentials", telemetry))
        yield TelemetryOpen().finding(ctx.url, "telemetry can be read without credentials",
                                      telemetry.url, telemetry.evidence())
    if collections.ok or telemetry.ok:
        ctx.open = True
