"""Counts over a stream of entries: by result, method, collection, subject, remote and
auth type; the denied hot spots; an hourly histogram; bursts of denied requests from one
remote (possible credential guessing). Internal traffic (``filters.is_internal``) is
counted apart and left out of every other count.

Memory is bounded by the number of distinct values (and, for bursts, by one minute of one
remote's denied entries), not by the number of entries.
"""

from __future__ import annotations

import collections
from dataclasses import dataclass, field
from typing import Any

from qdrantsec.audit.filters import is_internal
from qdrantsec.audit.model import Entry
from qdrantsec.audit.timeparse import NS, format_ns

WINDOW = 60 * NS
HOUR = 3600 * NS
NONE = "(none)"


@dataclass
class Burst:
    remote: str
    start: int
    end: int
    count: int

    def as_dict(self) -> dict[str, Any]:
        return {"remote": self.remote, "start": format_ns(self.start, digits=3),
                "end": format_ns(self.end, digits=3), "denied": self.count}


@dataclass
class Summary:
    """Feed entries with ``add`` (in time order, oldest first, for the burst windows)."""

    burst_per_minute: int = 30
    total: int = 0
    by: dict[str, collections.Counter[str]] = field(default_factory=lambda: {
        k: collections.Counter() for k in ("result", "method", "collection", "subject", "remote",
                                           "auth_type")})
    denied_subjects: collections.Counter[str] = field(default_factory=collections.Counter)
    denied_remotes: collections.Counter[str] = field(default_factory=collections.Counter)
    hourly: dict[int, collections.Counter[str]] = field(default_factory=dict)
    internal: collections.Counter[str] = field(default_factory=collections.Counter)
    bursts: list[Burst] = field(default_factory=list)
    first: int | None = None
    last: int | None = None
    _recent: dict[str, collections.deque[int]] = field(default_factory=dict)
    _open: dict[str, Burst] = field(default_factory=dict)

    def add(self, e: Entry) -> None:
        f = e.fields
        if is_internal(f):
            self.internal[str(f.get("method") or f.get("api") or NONE)] += 1
            return
        self.total += 1
        self.first = e.ts if self.first is None else min(self.first, e.ts)
        self.last = e.ts if self.last is None else max(self.last, e.ts)
        for name, counter in self.by.items():
            value = f.get(name)
            if name == "method" and value is None:
                value = f.get("api")  # denied authentication: no method, the path says what
            counter[str(value) if value is not None else NONE] += 1
        result = str(f.get("result"))
        hour = self.hourly.setdefault(e.ts - e.ts % HOUR, collections.Counter())
        hour[result] += 1
        if result == "denied":
            self.denied_subjects[str(f.get("subject") or NONE)] += 1
            remote = str(f.get("remote") or NONE)
            self.denied_remotes[remote] += 1
            self._burst(remote, e.ts)

    def _burst(self, remote: str, ts: int) -> None:
        recent = self._recent.setdefault(remote, collections.deque())
        recent.append(ts)
        while recent and recent[0] <= ts - WINDOW:
            recent.popleft()
        burst = self._open.get(remote)
        if len(recent) > self.burst_per_minute:
            if burst is None or recent[0] > burst.end:
                burst = Burst(remote, recent[0], ts, len(recent))
                self._open[remote] = burst
                self.bursts.append(burst)
            else:
                # extend: count every denied entry since the burst began
                burst.count += 1
                burst.end = ts
        elif burst is not None and ts - burst.end > WINDOW:
            del self._open[remote]

    def as_dict(self, top: int = 10) -> dict[str, Any]:
        def ranked(c: collections.Counter[str], n: int | None = None) -> dict[str, int]:
            return dict(sorted(c.items(), key=lambda kv: (-kv[1], kv[0]))[:n])

        return {
            "total": self.total,
            "first": format_ns(self.first, digits=3) if self.first is not None else None,
            "last": format_ns(self.last, digits=3) if self.last is not None else None,
            **{f"by_{name}": ranked(c) for name, c in self.by.items()},
            "top_denied_subjects": ranked(self.denied_subjects, top),
            "top_denied_remotes": ranked(self.denied_remotes, top),
            "bursts": [b.as_dict() for b in self.bursts],
            "burst_threshold_per_minute": self.burst_per_minute,
            "hourly": [{"hour": format_ns(h, digits=0), "ok": c.get("ok", 0), "denied": c.get("denied", 0)}
                       for h, c in sorted(self.hourly.items())],
            "internal": {"total": sum(self.internal.values()), "by_method": ranked(self.internal)},
        }
