"""What the sources produce: entries (the raw line kept for byte-exact output) and the
counters and warnings of one run."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


class Entry:
    """One audit entry: ``ts`` (epoch ns), ``raw`` (the line as Qdrant wrote it, no
    newline; for API entries the compact JSON of the object as received), ``fields`` (the
    parsed object, members in their original order) and ``peer`` (the URL it came from,
    for ``--peers``)."""

    __slots__ = ("fields", "peer", "raw", "ts")

    def __init__(self, ts: int, raw: bytes, fields: dict[str, Any], peer: str | None = None) -> None:
        self.ts = ts
        self.raw = raw
        self.fields = fields
        self.peer = peer

    @classmethod
    def from_object(cls, ts: int, obj: dict[str, Any], peer: str | None = None) -> Entry:
        raw = json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "surrogatepass")
        return cls(ts, raw, obj, peer)

    def __repr__(self) -> str:
        return f"Entry({self.ts}, {self.raw!r}, peer={self.peer!r})"


@dataclass
class RunStats:
    """Counters and warnings of one query; ``partial`` marks an incomplete answer."""

    malformed: int = 0
    #: lines read from files that are audit entries (whatever the window and filters)
    valid: int = 0
    #: a byte prefilter skipped lines unparsed, so ``valid`` may undercount
    prefiltered: bool = False
    incomplete_last_lines: int = 0
    files_read: int = 0
    files_skipped: int = 0
    partial: bool = False
    warnings: list[str] = field(default_factory=list)
    #: called for each problem as it is found (the CLI prints it on stderr at once)
    report: Callable[[str], None] | None = None
    #: at most this many malformed lines are reported one by one
    max_reported: int = 20

    def warn(self, message: str) -> None:
        self.warnings.append(message)
        if self.report is not None:
            self.report(message)

    def malformed_line(self, where: str, reason: str) -> None:
        self.malformed += 1
        if self.malformed <= self.max_reported:
            self.warn(f"{where}: skipped malformed line ({reason})")
        elif self.malformed == self.max_reported + 1:
            self.warn("more malformed lines: only the first "
                      f"{self.max_reported} are named; the total is given at the end")
