"""QP4xx: what an instance exposes besides its API: metrics, the Web UI, CORS, telemetry."""

from __future__ import annotations

from collections.abc import Iterator

from qdrantsec.lint.model import Finding, Severity
from qdrantsec.probe.context import TargetContext
from qdrantsec.probe.model import PROBE_ORIGIN, ProbeCheck


class MetricsOpen(ProbeCheck):
    id = "QP401"
    name = "metrics-without-credentials"
    severity = Severity.MEDIUM
    summary = "`GET /metrics` on the REST port answers 200 without any credential."
    rationale = ("Prometheus metrics name collections and show request rates per endpoint. On the "
                 "REST port they need global read access, so this answer means authentication is off.")
    fix = "Enable authentication (`service.api_key`); give the scraper the read-only key."


class MetricsPortOpen(ProbeCheck):
    id = "QP402"
    name = "metrics-port-open"
    severity = Severity.MEDIUM
    summary = ("The dedicated metrics port (`service.metrics_port`) answers `GET /metrics` to anyone "
               "who reaches it.")
    rationale = ("The metrics port has no authentication at all (no API key, no JWT): whoever reaches it "
                 "reads the metrics whatever `api_key` says.")
    fix = ("Bind the metrics port to a private interface or firewall it to the scraper; or drop "
           "`service.metrics_port` and scrape `/metrics` on the REST port with the read-only key.")


class DashboardServed(ProbeCheck):
    id = "QP403"
    name = "dashboard-served"
    severity = Severity.LOW
    summary = "The Web UI (`/dashboard`) is served: scanners fingerprint Qdrant by it."
    rationale = ("`/dashboard` never needs credentials. It does not open the API by itself (the UI asks "
                 "for a key), but it announces a Qdrant instance to anyone scanning the port.")
    fix = ("Set `service.enable_static_content: false` where nobody uses the Web UI, or do not "
           "expose the port.")


class CorsAnyOrigin(ProbeCheck):
    id = "QP404"
    name = "cors-any-origin"
    severity = Severity.MEDIUM
    summary = ("The API echoes any `Origin` in `Access-Control-Allow-Origin` (`service.enable_cors`, "
               "on by default).")
    rationale = ("Any web page a user of the API opens may call it from the browser; with no "
                 "authentication (or a key kept in the browser) that page reads and changes data.")
    fix = ("Set `service.enable_cors: false` unless browsers call Qdrant directly; then allow only "
           "known origins in a proxy.")


class TelemetryRevealsConfig(ProbeCheck):
    id = "QP405"
    name = "telemetry-reveals-config"
    severity = Severity.LOW
    summary = ("`GET /telemetry` shows security settings (`app.jwt_rbac`, `app.audit`) to a caller "
               "without manage access (none, the read-only key or a token).")
    rationale = ("Telemetry answers every authenticated caller, even a token for one collection, and "
                 "tells it whether JWTs are in use and where and how the audit log is kept.")
    fix = ("Hand out credentials that can read telemetry only to those who need it; block "
           "`/telemetry` in a proxy for other clients.")


CHECKS = (MetricsOpen, MetricsPortOpen, DashboardServed, CorsAnyOrigin, TelemetryRevealsConfig)


def run(ctx: TargetContext) -> Iterator[Finding]:
    metrics = ctx.get("/metrics")
    if metrics.ok:
        yield MetricsOpen().finding(ctx.url, "Prometheus metrics can be read without credentials",
                                    metrics.url, metrics.evidence())
    dashboard = ctx.get("/dashboard")
    if dashboard.ok:
        yield DashboardServed().finding(ctx.url, "the Web UI is served at /dashboard", dashboard.url,
                                        dashboard.evidence())
    cors = ctx.get("/", f"without credentials, Origin {PROBE_ORIGIN}", headers={"origin": PROBE_ORIGIN})
    allowed = cors.headers.get("access-control-allow-origin")
    if allowed in (PROBE_ORIGIN, "*"):
        yield CorsAnyOrigin().finding(
            ctx.url,
            f"a request from Origin {PROBE_ORIGIN} is allowed (Access-Control-Allow-Origin: {allowed})",
            cors.url, cors.evidence() + f"; Access-Control-Allow-Origin: {allowed}")
    yield from _telemetry(ctx)


def run_metrics_url(ctx: TargetContext, url: str) -> Iterator[Finding]:
    """``GET /metrics`` on a metrics port (``--metrics-url``), without credentials."""
    base = url.rstrip("/")
    if base.endswith("/metrics"):
        base = base[: -len("/metrics")]
    ex = ctx.prober.request(base, "GET", "/metrics")
    if ex.ok:
        yield MetricsPortOpen().finding(ctx.url, f"the metrics port {base} answers without credentials",
                                        ex.url, ex.evidence())
    elif ex.status is None:
        ctx.notes.append(f"{base}: metrics port not reached ({ex.error})")


def _telemetry(ctx: TargetContext) -> Iterator[Finding]:
    for who, ex in ctx.telemetry:
        result = ex.json_result()
        app = result.get("app") if isinstance(result, dict) else None
        if not isinstance(app, dict):
            continue
        shown = [f"app.{k}" for k in ("jwt_rbac", "audit") if k in app]
        if shown:
            yield TelemetryRevealsConfig().finding(
                ctx.url, f"telemetry read {who} shows {' and '.join(shown)}", ex.url,
                ex.evidence() + f"; result has {', '.join(shown)}")
            return  # once per URL: the least privileged caller that saw it
