"""The probe's vocabulary: a check (ID, severity, docs, as a lint rule), what the user
handed in (URLs, keys, options), what was seen (exchanges) and the result (a lint result
whose inputs are URLs)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from qdrantsec.lint.model import URLS, Finding, Inputs, LintResult, Location, RuleSpec, Severity

if TYPE_CHECKING:  # pragma: no cover
    from qdrantsec.secrets import Secret

#: the collection the write probes name: random, so it cannot exist (a 404 means "allowed")
PROBE_COLLECTION_PREFIX = "qdrantsec-probe-"
#: the Origin the CORS probe sends: under .invalid (RFC 2606), so it is nobody's site
PROBE_ORIGIN = "https://qdrantsec-probe.invalid"


class ProbeCheck(RuleSpec):
    """Base of every probe check: the docs of a lint rule, and findings about a URL."""

    def finding(self, target: str, message: str, url: str, evidence: str, *,
                severity: Severity | None = None, fix: str | None = None) -> Finding:
        return Finding(
            rule=self.id, name=self.name, severity=severity if severity is not None else self.severity,
            message=message, location=Location.of_url(url), fix=fix if fix is not None else self.fix,
            target=target, evidence=evidence,
        )


@dataclass(frozen=True)
class ProbeKeys:
    """The credentials the probe may present; each one is optional."""

    admin: Secret | None = None
    read_only: Secret | None = None
    token: str | None = field(default=None, repr=False)

    @property
    def any(self) -> bool:
        return bool(self.admin or self.read_only or self.token)


@dataclass(frozen=True)
class ProbeOptions:
    cert_expiry_days: int = 30
    #: --p2p-port; None: the port GET /cluster gives for the URL's peer, else Qdrant's 6335
    p2p_port: int | None = None
    metrics_urls: tuple[str, ...] = ()
    #: send keys over plain http:// (off: a probe must not leak the keys it checks)
    allow_http_keys: bool = False
    now: datetime | None = None  # None = the real clock


@dataclass
class Exchange:
    """One request the probe made and what came back (``status`` None: no answer)."""

    method: str
    url: str
    path: str
    credential: str  # "without credentials", "with the read-only key sha256:..."
    status: int | None = None
    reason: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None  # parsed JSON, or text
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    def evidence(self) -> str:
        seen = (f"{self.status} {self.reason}".strip() if self.status is not None
                else f"no answer ({self.error})")
        return f"{self.method} {self.path} {self.credential}: {seen}"

    def json_result(self) -> Any:
        return self.body.get("result") if isinstance(self.body, dict) else None


@dataclass
class ProbeResult(LintResult):
    """A lint result whose inputs are the URLs probed (``files``) and those that could not
    be reached (``errors``); ``versions`` maps each reached URL to its ``GET /`` version."""

    inputs: ClassVar[Inputs] = URLS
    versions: dict[str, str | None] = field(default_factory=dict)
    request_id: str = ""
    requests: int = 0

    def json_extra(self) -> dict[str, Any]:
        return {"probe": {"request_id": self.request_id, "requests": self.requests,
                          "versions": dict(self.versions)}}
