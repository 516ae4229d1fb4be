"""QP3xx: the credentials the probe was given, tried against what the server really does.
Every write probe names a collection that cannot exist (``qdrantsec-probe-<random>``), so
even a request that is wrongly allowed changes nothing: it answers 200 (nothing deleted) or
404 instead of 403."""

from __future__ import annotations

import time
from collections.abc import Iterator

from qdrantsec.lint.model import Finding, Severity
from qdrantsec.probe.context import TargetContext
from qdrantsec.probe.model import Exchange, ProbeCheck

DENIED = (401, 403)


class ReadOnlyKeyCanWrite(ProbeCheck):
    id = "QP301"
    name = "read-only-key-can-write"
    severity = Severity.CRITICAL
    summary = ("The key given as the read-only key (--read-only-key-file) is allowed a manage "
               "operation: deleting a collection that does not exist answers 200 or 404, not 403.")
    rationale = ("Qdrant checks `api_key`/`alt_api_key` before `read_only_api_key`: the same string in "
                 "both, a read-only key handed out that is really the admin key, or authentication "
                 "off, all give the holder of the \"read-only\" key full manage access.")
    example = "DELETE /collections/qdrantsec-probe-3f9a1c (read-only key) -> 200 OK, not 403 Forbidden"
    fix = ("Give `service.read_only_api_key` its own random key (`qdrantsec key generate`), different "
           "from `api_key` and `alt_api_key`, and hand that one to readers.")


class KeyNotAccepted(ProbeCheck):
    id = "QP302"
    name = "key-not-accepted"
    severity = Severity.MEDIUM
    summary = ("A key given to the probe (admin or read-only) cannot read: `GET /collections` answers "
               "401 or 403.")
    rationale = ("The key is not the one the server runs with (a rotation half done, a typo, another "
                 "instance's key): its users are locked out, and the checks that need it were not made.")
    fix = ("Compare the fingerprint qdrantsec shows for the key you hold with the key in the server's "
           "config; finish or roll back a rotation (`qdrantsec rotate-key`).")


class TokenPredictionMismatch(ProbeCheck):
    id = "QP303"
    name = "token-prediction-mismatch"
    severity = Severity.HIGH
    summary = ("What `qdrantsec token explain` predicts for the token (--token-file) differs from what "
               "the server answers, for a read or a non-mutating write probe.")
    rationale = ("Either the server does not run the access rules you expect (another version, "
                 "`jwt_rbac` off, another signing key) or the token is not what you think it is; a "
                 "token allowed more than predicted is a privilege problem.")
    fix = ("Check `service.jwt_rbac: true`, the signing key (`qdrantsec token verify`) and the "
           "server version; re-mint the token with the access it needs (`qdrantsec token mint`).")


CHECKS = (ReadOnlyKeyCanWrite, KeyNotAccepted, TokenPredictionMismatch)


def run(ctx: TargetContext) -> Iterator[Finding]:
    keys = ctx.keys
    if not keys.any:
        return
    if not ctx.keys_allowed:
        ctx.notes.append(f"{ctx.url}: keys are not sent over plain http:// (--allow-http-keys sends "
                         "them); the key and token checks were skipped")
        return
    if keys.admin is not None:
        who = f"with the admin key {keys.admin.fingerprint}"
        read = ctx.get("/collections", who, _key(keys.admin.value))
        if read.status in DENIED:
            yield KeyNotAccepted().finding(ctx.url, "the admin key is refused", read.url, read.evidence())
        _learn(ctx, who, _key(keys.admin.value))
    if keys.read_only is not None:
        yield from _read_only(ctx)
    if keys.token is not None:
        yield from _token(ctx)


def _key(value: str) -> dict[str, str]:
    return {"api-key": value}


def _learn(ctx: TargetContext, who: str, headers: dict[str, str]) -> None:
    """Read /cluster (peer URIs for the cluster checks) and /telemetry with a credential."""
    if ctx.cluster is None:
        cluster = ctx.get("/cluster", who, headers)
        if cluster.ok and isinstance(cluster.json_result(), dict):
            ctx.cluster = cluster.json_result()
    telemetry = ctx.get("/telemetry", who, headers)
    if telemetry.ok and not who.startswith("with the admin key"):
        ctx.telemetry.append((who, telemetry))


def _read_only(ctx: TargetContext) -> Iterator[Finding]:
    key = ctx.keys.read_only
    assert key is not None
    who = f"with the read-only key {key.fingerprint}"
    read = ctx.get("/collections", who, _key(key.value))
    if read.status in DENIED:
        yield KeyNotAccepted().finding(ctx.url, "the read-only key cannot read", read.url, read.evidence())
    write = ctx.request("DELETE", f"/collections/{ctx.probe_collection}", who, _key(key.value))
    if write.status is not None and write.status not in DENIED:
        yield ReadOnlyKeyCanWrite().finding(
            ctx.url, f"the read-only key may delete collections ({write.status} instead of 403)",
            write.url, write.evidence())
    if read.ok:
        _learn(ctx, who, _key(key.value))


#: requests that cannot change anything, each asked with the token: reads, and writes that
#: name a collection that does not exist ({probe}) or read a listed one ({listed})
TOKEN_PROBES = (
    ("GET", "/collections"),
    ("GET", "/telemetry"),
    ("GET", "/cluster"),
    ("GET", "/metrics"),
    ("GET", "/collections/{listed}/exists"),
    ("POST", "/collections/{probe}/points/delete"),
    ("DELETE", "/collections/{probe}"),
)


def _token(ctx: TargetContext) -> Iterator[Finding]:
    from qdrantsec.qdrant.access import match_request
    from qdrantsec.token import explain
    from qdrantsec.token.inspect import inspect
    from qdrantsec.token.jws import decode

    token = ctx.keys.token
    assert token is not None
    keys = [ctx.keys.admin] if ctx.keys.admin is not None else []
    now = int(ctx.options.now.timestamp()) if ctx.options.now else int(time.time())
    subject = explain.subject_for_report(inspect(decode(token), keys, now=now))
    listed = next((name for name, _ in subject.access.collections), None) or ctx.probe_collection
    who = "with the token"
    headers = {"authorization": f"Bearer {token}"}
    for method, template in TOKEN_PROBES:
        path = template.format(listed=listed, probe=ctx.probe_collection)
        answer = explain.answer(subject, match_request(f"{method} {path}"))
        body = {"points": []} if method == "POST" else None
        ex = ctx.request(method, path, who, headers, json=body) if body is not None else \
            ctx.request(method, path, who, headers)
        if ex.status is None:
            continue
        if path == "/telemetry" and ex.ok:
            ctx.telemetry.append((who, ex))
        if path == "/cluster" and ex.ok and ctx.cluster is None and isinstance(ex.json_result(), dict):
            ctx.cluster = ex.json_result()
        server_allowed = ex.status not in DENIED
        if server_allowed != answer.allowed:
            yield _mismatch(ctx, ex, answer.decision.as_dict(), answer.allowed)


def _mismatch(ctx: TargetContext, ex: Exchange, predicted: dict[str, object], allowed: bool) -> Finding:
    said = "allowed" if allowed else \
        f"denied ({predicted.get('status')} {predicted.get('message') or ''}".strip() + ")"
    worse = not allowed  # the server allows what should be denied
    why = _server_error(ex)
    if allowed and ctx.keys.admin is None and ex.status in (401, 403) and (
            ex.status == 401 or "Signature" in why):
        # "predicts allowed, the server answers 403" read as a wrong prediction; the server
        # refused the token itself (another signing key, expired), which explain without the
        # key cannot see
        why += ": the server refuses the token itself; give --api-key-file to check its signature"
    return TokenPredictionMismatch().finding(
        ctx.url,
        f"{ex.method} {ex.path}: token explain predicts {'allowed' if allowed else 'denied'}, the server "
        f"answers {ex.status}" + (f" ({why})" if why else "")
        + (" (more access than predicted)" if worse else ""),
        ex.url, f"{ex.evidence()}; predicted {said}",
        severity=Severity.HIGH if worse else Severity.MEDIUM)


def _server_error(ex: Exchange) -> str:
    """The server's own words for a refusal: Qdrant's JSON status.error, or its plain-text
    authentication answer (``InvalidSignature``, ``Invalid API key or JWT``)."""
    if ex.ok or ex.status is None:
        return ""
    body = ex.body
    if isinstance(body, dict):
        status = body.get("status")
        err = status.get("error") if isinstance(status, dict) else None
        return _clean(str(err)) if err else ""
    text = str(body or "").strip().splitlines()
    return _clean(text[0]) if text else ""


def _clean(text: str) -> str:
    return "".join(c if c.isprintable() else "?" for c in text[:160])
