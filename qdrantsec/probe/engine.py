"""``run_probe``: every URL in turn, every family of checks in a fixed order, then the
cluster-wide checks. Never destructive: reads, handshakes, TCP connects, and writes that
name a collection that cannot exist. Core code: no printing, no exiting."""

from __future__ import annotations

import secrets
from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import Any

from qdrantsec.errors import UsageError
from qdrantsec.lint.model import FileError, Finding
from qdrantsec.probe.checks import anonymous, cluster, credentials, extras, tls, version
from qdrantsec.probe.context import TargetContext, base_url, parse_url
from qdrantsec.probe.http import Prober, RateLimit
from qdrantsec.probe.model import ProbeKeys, ProbeOptions, ProbeResult
from qdrantsec.qdrant.client import ConnectionSettings

DEFAULT_RATE = 4.0  # requests (and handshakes, connects) a second


def normalise(urls: Sequence[str]) -> list[tuple[str, str, int]]:
    """(scheme, host, port) of each URL, duplicates dropped; UsageError before any network."""
    out: list[tuple[str, str, int]] = []
    for url in urls:
        parsed = parse_url(url)
        if parsed not in out:
            out.append(parsed)
    if not out:
        raise UsageError("no URL to probe", hint="e.g. qdrantsec probe https://qdrant.example:6333")
    return out


def run_probe(urls: Sequence[str], *, keys: ProbeKeys, settings: ConnectionSettings,
              options: ProbeOptions, rate: float = DEFAULT_RATE, metrics_port: int | None = None,
              transport: Any = None, limit: RateLimit | None = None) -> ProbeResult:
    parsed = normalise(urls)
    for extra in options.metrics_urls:
        parse_url(extra.rstrip("/").removesuffix("/metrics"))
    if rate <= 0:
        raise UsageError("--rate must be more than 0")
    request_id = f"qdrantsec-probe-{secrets.token_hex(6)}"
    prober = Prober(replace(settings, request_id=request_id), limit or RateLimit(rate),
                    request_id, transport)
    result = ProbeResult(request_id=request_id)
    reached: list[TargetContext] = []
    try:
        for scheme, host, port in parsed:  # bad TLS files fail here, before any network
            prober.client(base_url(scheme, host, port))
        for scheme, host, port in parsed:
            ctx = TargetContext(base_url(scheme, host, port), scheme, host, port, prober, keys, options)
            try:
                result.findings.extend(_probe_one(ctx, metrics_port))
            except ConnectionError as exc:
                why = str(exc)  # the client's text already starts "cannot connect to URL: ..."
                if scheme == "http" and "disconnected without sending a response" in why:
                    # what a TLS listener does with plain HTTP (Qdrant with enable_tls)
                    why += f" (if the port serves TLS, probe https://{ctx.url.split('://', 1)[1]})"
                result.errors.append(FileError(ctx.url, why if why.startswith("cannot connect")
                                               else f"cannot connect: {why}"))
                continue
            finally:
                result.notes.extend(ctx.notes)
                ctx.notes = []
            # only a URL that answered was checked: "No problems found in 1 URL" was printed
            # for a URL that could not be reached at all (lint counts unreadable files the same way)
            result.files.append(ctx.url)
            reached.append(ctx)
        if reached:
            first = reached[0]
            for url in options.metrics_urls:
                result.findings.extend(extras.run_metrics_url(first, url))
            result.findings.extend(cluster.run_p2p(reached))
            result.findings.extend(cluster.run_versions(reached))
            for ctx in reached:
                result.notes.extend(ctx.notes)
        result.versions = {ctx.url: ctx.version for ctx in reached}
        result.requests = prober.limit.count
    finally:
        prober.close()
    return result


def _probe_one(ctx: TargetContext, metrics_port: int | None) -> Iterator[Finding]:
    yield from tls.run(ctx)  # raises ConnectionError when nothing answers at all
    if not ctx.http_ok:
        return
    root = ctx.get("/")
    if root.status is None:
        if not ctx.tls:
            raise ConnectionError(root.error or "no answer")
        ctx.notes.append(f"{ctx.url}: GET / got no answer ({root.error}); HTTP checks skipped")
        return
    body = root.body if isinstance(root.body, dict) else {}
    ctx.version = body.get("version") if isinstance(body.get("version"), str) else None
    if "qdrant" not in str(body.get("title", "")).lower():
        ctx.notes.append(f"{ctx.url}: GET / does not look like Qdrant ({root.status}); checks made anyway")
    if not ctx.tls:
        yield tls.PlaintextHttp().finding(ctx.url, "the REST API answers over plain HTTP", root.url,
                                          root.evidence())
    yield from anonymous.run(ctx)
    if ctx.open and ctx.cluster is None:
        status = ctx.get("/cluster")
        if status.ok and isinstance(status.json_result(), dict):
            ctx.cluster = status.json_result()
    yield from credentials.run(ctx)
    yield from extras.run(ctx)
    if metrics_port is not None:
        yield from extras.run_metrics_url(ctx, base_url(ctx.scheme, ctx.host, metrics_port))
    yield from version.run(ctx, root)
