"""Findings of a lint run, kept compact and in output order.

The engine hands every finding over as soon as its deployment has been linted, with a
sequence key that says where it stood in the run (file findings before rule findings,
then by target kind and file order). ``FindingStore`` keeps each one as a flat tuple (no
``Finding``/``Location`` objects, which cost about 1 KiB each), and with ``spill`` it
writes sorted runs of them to an anonymous temporary file once a run is full, so the
memory a run needs does not grow with the number of findings. Iterating merges the runs
in the formatters' order (file, line, column, rule, message) and drops duplicates (one
finding per rule, place, variable and message: a config file layered into several targets
yields the same finding from each; the first one in run order is kept), exactly as
sorting and de-duplicating the whole list would.
"""

from __future__ import annotations

import dataclasses
import heapq
import operator
import pickle
import tempfile
from collections.abc import Iterator
from typing import IO, Any

from qdrantsec.lint.model import Finding, Location, Severity
from qdrantsec.lint.paths import display_path

_F_FIELDS = tuple(f.name for f in dataclasses.fields(Finding))
_L_FIELDS = tuple(f.name for f in dataclasses.fields(Location))
_LOC = _F_FIELDS.index("location")
_SEV = _F_FIELDS.index("severity")
_SUPP = _F_FIELDS.index("suppressed")
_L_FILE, _L_LINE, _L_COL = _L_FIELDS.index("file"), _L_FIELDS.index("line"), _L_FIELDS.index("column")
_L_ENV = _L_FIELDS.index("env_var")
#: every field at once, in field order (one C call)
_F_GET, _L_GET = operator.attrgetter(*_F_FIELDS), operator.attrgetter(*_L_FIELDS)

#: records per sorted run before it goes to disk, and per chunk read back while merging
#: (a merge holds a chunk of each run: runs x CHUNK records, about 1.4 MB at 10,000 files)
RUN_SIZE = 4096
CHUNK = 128


def pack(f: Finding, seq: tuple[int, ...], shown: dict[str, str] | None = None) -> tuple[Any, ...]:
    """The record of a finding: its sort key (as the formatters order findings, with the raw
    path and the run-order ``seq`` breaking ties as a stable sort would), then its fields.
    ``shown``: display paths already worked out, by raw path."""
    loc = f.location
    lvals = _L_GET(loc)
    fvals = list(_F_GET(f))
    fvals[_LOC] = None
    fvals[_SEV] = int(f.severity)
    raw = loc.file or ""
    if raw:
        where = shown.get(raw) if shown is not None else None
        if where is None:
            where = display_path(raw)
            if shown is not None:
                if len(shown) > 256:
                    shown.clear()
                shown[raw] = where
    else:
        where = getattr(loc, "url", None) or ""
    return (where, loc.line or 0, loc.column or 0, f.rule, f.message, raw, seq,
            lvals, tuple(fvals))


_SEVERITY = {int(s): s for s in Severity}  # (a dict lookup; calling the enum is slower)


def unpack(rec: tuple[Any, ...]) -> Finding:
    fvals = list(rec[8])
    fvals[_LOC] = Location(*rec[7])
    fvals[_SEV] = _SEVERITY[fvals[_SEV]]
    return Finding(*fvals)


class FindingStore:
    """An append-only collection of findings that iterates in output order (see the module
    docstring). ``len()`` and iteration count and yield the de-duplicated findings."""

    #: formatters need not sort it again
    in_output_order = True

    def __init__(self, *, spill: bool = False) -> None:
        self._spill = spill
        self._buf: list[tuple[Any, ...]] = []
        self._runs: list[tuple[Any, int, int]] = []  # (file, offset, records) of each sorted run
        self._file: IO[bytes] | None = None
        self._others: list[IO[bytes]] = []
        self._len: int | None = None
        self._tally: tuple[dict[int, int], int] | None = None  # of the last full pass
        self._shown: dict[str, str] = {}

    def add(self, f: Finding, seq: tuple[int, ...]) -> None:
        self._buf.append(pack(f, seq, self._shown))  # (a run does not change directory)
        self._len = self._tally = None
        if self._spill and len(self._buf) >= RUN_SIZE:
            self._flush()

    def _flush(self) -> None:
        if self._file is None:
            # closed by close() or when the store goes away: it outlives any one block
            self._file = tempfile.TemporaryFile(prefix="qdrantsec-findings-")  # noqa: SIM115
        self._buf.sort()
        fh = self._file
        fh.seek(0, 2)
        start = fh.tell()
        for i in range(0, len(self._buf), CHUNK):
            pickle.dump(self._buf[i:i + CHUNK], fh, protocol=pickle.HIGHEST_PROTOCOL)
        self._runs.append((fh, start, len(self._buf)))
        self._buf = []

    def use_file(self, fh: IO[bytes]) -> None:
        """Spill into ``fh`` (a file another process will read: ``spill_to``/``adopt``)."""
        self._file = fh

    def spill_to(self, fh: IO[bytes]) -> list[tuple[int, int]]:
        """Every record into sorted runs in ``fh`` (given to ``use_file`` before any spill);
        their (offset, records), for ``adopt`` in another process."""
        assert self._file is None or self._file is fh
        self._file = fh
        if self._buf:
            self._flush()
        fh.flush()
        return [(start, n) for _, start, n in self._runs]

    def adopt(self, fh: IO[bytes], runs: list[tuple[int, int]]) -> None:
        """Take over the sorted runs another store left in ``fh`` (closed with this one)."""
        self._runs.extend((fh, start, n) for start, n in runs)
        self._others.append(fh)
        self._len = self._tally = None

    def _read_run(self, fh: IO[bytes], start: int, count: int) -> Iterator[tuple[Any, ...]]:
        pos, left = start, count
        while left > 0:
            fh.seek(pos)
            chunk = pickle.load(fh)
            pos = fh.tell()
            left -= len(chunk)
            yield from chunk

    def _records(self) -> Iterator[tuple[Any, ...]]:
        """Every record, sorted, duplicates dropped."""
        self._buf.sort()
        if self._runs:
            merged: Iterator[tuple[Any, ...]] = heapq.merge(
                *(self._read_run(fh, s, n) for fh, s, n in self._runs), iter(self._buf))
        else:
            merged = iter(self._buf)
        group: tuple[Any, ...] | None = None
        seen: set[tuple[Any, ...]] = set()
        # the tally, on the way: a report that lists every finding then counts them in
        # its summary does not merge the runs a second time
        counts: dict[int, int] = {}
        suppressed = 0
        for rec in merged:
            head = rec[:6]
            if head != group:
                group = head
                seen.clear()
            lv = rec[7]
            ident = (lv[_L_LINE], lv[_L_COL], lv[_L_ENV])
            if ident in seen:
                continue
            seen.add(ident)
            fvals = rec[8]
            if fvals[_SUPP]:
                suppressed += 1
            else:
                counts[fvals[_SEV]] = counts.get(fvals[_SEV], 0) + 1
            yield rec
        self._tally = (counts, suppressed)

    def tally(self) -> tuple[dict[int, int], int]:
        """Unsuppressed findings by severity (as ints), and the number suppressed."""
        if self._tally is None:
            for _ in self._records():
                pass
        assert self._tally is not None
        return dict(self._tally[0]), self._tally[1]

    def firsts_and_unlocated(self) -> tuple[dict[str, Finding], list[Finding]]:
        """The first finding of each rule and the findings with neither a file nor a URL,
        in output order: what a SARIF report says before its results, found without
        unpacking every finding."""
        firsts: dict[str, Finding] = {}
        unlocated: list[Finding] = []
        for rec in self._records():
            if rec[3] not in firsts:
                firsts[rec[3]] = unpack(rec)
            if not rec[0]:  # sorted by file, else URL: neither
                unlocated.append(unpack(rec))
        return firsts, unlocated

    def __iter__(self) -> Iterator[Finding]:
        for rec in self._records():
            yield unpack(rec)

    def with_paths(self) -> Iterator[tuple[Finding, str | None]]:
        """Each finding with the display path it was sorted by (None when it has no file):
        what ``display_path`` answers for it, without asking again (a ``getcwd`` each)."""
        for rec in self._records():
            yield unpack(rec), rec[0] if rec[5] else None

    def __len__(self) -> int:
        if self._len is None:
            self._len = sum(1 for _ in self._records())
        return self._len

    def __bool__(self) -> bool:
        return bool(self._buf or self._runs)

    def close(self) -> None:
        for fh in [self._file, *self._others]:
            if fh is not None:
                fh.close()
        self._file, self._others = None, []
        self._buf, self._runs = [], []
