"""A stand-in for ``POST /audit/logs`` behind ``httpx.MockTransport``: the same window,
filter and limit rules as Qdrant's reader (facts 5.6), over an in-memory list, recording
every request body. Used where a real peer would need hours of traffic (paging past
10,000 entries that share timestamps)."""

from __future__ import annotations

import json
from typing import Any

import httpx

from qdrantsec.audit.timeparse import parse_rfc3339


class FakeAudit:
    def __init__(self, entries: list[dict[str, Any]], *, status: int = 200, error: str = "",
                 extra: dict[str, Any] | None = None) -> None:
        # newest first, ties in a fixed order (as a server's reader would give them)
        self.entries = sorted(entries, key=lambda e: parse_rfc3339(e["timestamp"]), reverse=True)
        self.status = status
        self.error = error
        self.extra = extra or {}
        self.bodies: list[dict[str, Any]] = []
        self.headers: list[httpx.Headers] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        assert request.method == "POST" and request.url.path == "/audit/logs"
        body = json.loads(request.content)
        self.bodies.append(body)
        self.headers.append(request.headers)
        if self.status != 200:
            return httpx.Response(self.status, json={"status": {"error": self.error}, "time": 0.0})
        lo = parse_rfc3339(body["time_from"]) if body.get("time_from") else None
        hi = parse_rfc3339(body["time_to"]) if body.get("time_to") else None
        limit = body.get("limit", 100)
        assert 1 <= limit <= 10000
        out = []
        for e in self.entries:
            ts = parse_rfc3339(e["timestamp"])
            if (lo is not None and ts < lo) or (hi is not None and ts >= hi):
                continue
            if all(e.get(k) == v for k, v in body.get("filters", {}).items()):
                out.append(e)
                if len(out) == limit:
                    break
        return httpx.Response(200, json={"result": {"entries": out, **self.extra}, "status": "ok",
                                         "time": 0.001})

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self)


def entry(ts: str, **fields: Any) -> dict[str, Any]:
    data = {"timestamp": ts, "method": "scroll", "auth_type": "ApiKey", "remote": "10.0.0.5",
            "result": "ok", **fields}
    order = ("timestamp", "method", "api", "auth_type", "subject", "remote", "collection",
             "tracing_id", "result", "error")
    return {k: data[k] for k in order if k in data}
