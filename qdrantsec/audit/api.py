"""Audit entries from Qdrant's ``POST /audit/logs`` (facts 5.6), with paging.

The API answers the newest ``limit`` (at most 10,000) entries of ``[time_from, time_to)``
that match its exact, AND-combined filters, newest first, and has no cursor. To read more,
``pages`` narrows the window from above:

1. Ask for the newest ``L`` entries of ``[from, to)``.
2. Fewer than ``L`` came back: that is everything left; emit it and stop.
3. Otherwise let ``t`` be the oldest timestamp in the page. Every entry newer than ``t``
   in the window is in this page (the page holds the newest ``L``), so emit those.
   Entries at exactly ``t`` may be cut off, so emit none of them: ask again with
   ``to = t + 1 ns``. The next page starts with *all* entries at ``t`` (the window's end is
   exclusive), then older ones. No entry is emitted twice (everything emitted is newer
   than the next window's end) and none is skipped (the next window holds everything not
   yet emitted).
4. If the whole page has one timestamp ``t``, more than ``L`` entries share it and the API
   cannot enumerate them: the page is emitted, the answer is marked partial with a
   warning, and paging goes on below ``t`` (``to = t``). Qdrant writes nanoseconds, so this
   needs 10,000 entries in one nanosecond, or files written by something coarser.

Timestamps are compared as integer nanoseconds and sent with nine fractional digits, so
``t + 1 ns`` is exact. The answer is only as ordered as Qdrant's own reader makes it
(lines slightly out of order within a file stay so).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from qdrantsec.audit.filters import Window
from qdrantsec.audit.model import Entry, RunStats
from qdrantsec.audit.timeparse import format_api, parse_rfc3339
from qdrantsec.errors import AuthError, NetworkError, ServerError

MAX_LIMIT = 10_000

#: Qdrant 1.19 gathers a cluster's entries on whichever peer is asked: --peers cannot route
#: around a peer that is down or slow (every other peer asks it too); the files can.
CLUSTER_HINT = ("a peer's POST /audit/logs {why}; --peers does not avoid that, as each peer asks "
                "the others. Read the audit files of the peers that are up instead: "
                "qdrantsec audit query --dir AUDIT_DIR on each of them (or copies of their files)")


@dataclass
class ApiQuery:
    window: Window = field(default_factory=Window)
    filters: dict[str, str] = field(default_factory=dict)
    #: stop after this many entries (None: all); only when nothing is filtered locally
    need: int | None = None
    #: the server's per-peer wait (?timeout=, seconds)
    server_timeout: int | None = None
    page_limit: int = MAX_LIMIT


def body(window: Window, filters: dict[str, str], limit: int) -> dict[str, Any]:
    out: dict[str, Any] = {"limit": limit, "filters": dict(filters)}
    if window.start is not None:
        out["time_from"] = format_api(window.start)
    if window.end is not None:
        out["time_to"] = format_api(window.end)
    return out


def fetch_page(client: Any, window: Window, filters: dict[str, str], limit: int,
               server_timeout: int | None, stats: RunStats, peer: str | None) -> list[Entry]:
    """One ``POST /audit/logs``; errors become one-line qdrantsec errors."""
    from qdrantsec.qdrant.client import send

    params = {"timeout": server_timeout} if server_timeout else None
    resp = send(client, "POST", "/audit/logs", json=body(window, filters, limit), params=params)
    where = str(client.base_url).rstrip("/")
    status = resp.status_code
    text = _error_text(resp)
    if status in (401, 403):
        raise AuthError(f"{where}: {status} {text}",
                        hint="POST /audit/logs needs the api_key or a JWT with manage access "
                             "(--api-key-file PATH)")
    if status == 400 and "Audit logging is not" in text:
        raise ServerError(f"{where}: {text}",
                          hint="set audit.enabled: true in the Qdrant config and restart it")
    if status == 408:
        raise NetworkError(f"{where}: 408 {text}", hint=CLUSTER_HINT.format(
            why="waits for every other peer of the cluster, so one slow peer times out the whole "
                "query (try a larger --timeout)"))
    if status == 500 and "Failed to fetch audit logs from peer" in text:
        raise ServerError(f"{where}: {status} {text}", hint=CLUSTER_HINT.format(
            why="asks every other peer of the cluster and fails as a whole while one is down"))
    if status >= 400:
        raise ServerError(f"{where}: {status} {text}")
    try:
        payload = resp.json()
        result = payload["result"]
        raw_entries = result["entries"]
        if not isinstance(raw_entries, list):
            raise TypeError
    except (ValueError, KeyError, TypeError):
        raise ServerError(f"{where}: POST /audit/logs answered a body without result.entries") from None
    missing = result.get("missing_peers") if isinstance(result, dict) else None
    if missing:
        stats.partial = True
        stats.warn(f"{where}: the server could not read the audit logs of peer(s) "
                   f"{', '.join(str(m) for m in missing)}")
    out = []
    for obj in raw_entries:
        try:
            ts = parse_rfc3339(obj["timestamp"])
        except (ValueError, KeyError, TypeError):
            stats.malformed += 1
            continue
        out.append(Entry.from_object(ts, obj, peer))
    return out


def _error_text(resp: Any) -> str:
    if resp.status_code < 400:
        return ""
    try:
        err = resp.json().get("status", {}).get("error")
        if err:
            return str(err)[:300]
    except (ValueError, AttributeError):
        pass
    return resp.text.strip().splitlines()[0][:300] if resp.text.strip() else str(resp.reason_phrase)


def pages(client: Any, query: ApiQuery, stats: RunStats, peer: str | None = None) -> Iterator[Entry]:
    """Every matching entry of the window, newest first (the algorithm above)."""
    start, end = query.window.start, query.window.end
    need = query.need
    while True:
        limit = query.page_limit if need is None else max(1, min(query.page_limit, need))
        page = fetch_page(client, Window(start, end), query.filters, limit,
                          query.server_timeout, stats, peer)
        if len(page) < limit or (need is not None and limit == need):
            yield from page
            return
        oldest = min(e.ts for e in page)
        newer = [e for e in page if e.ts > oldest]
        if newer:
            emitted, end = newer, oldest + 1
        else:
            stats.partial = True
            stats.warn(f"more than {limit} entries share the timestamp {format_api(oldest)}; "
                       f"the API returns only {limit} of them")
            emitted, end = page, oldest
        yield from emitted
        if need is not None:
            need -= len(emitted)
            if need <= 0:
                return
        if start is not None and end <= start:
            return
