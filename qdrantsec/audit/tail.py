"""``audit tail``: the newest entries of an audit directory, then (``follow``) each new
entry as Qdrant writes it, across rotation.

Qdrant appends to the file of the current period and, on the first write after the period
ends, opens the next one and may delete the oldest (facts 5.3). The follower keeps the
current file open, so a pruned file is still read to its end; when a file of a later
period appears, the old one is drained and the new one read from its start. Only whole
lines are taken: a line still being written waits for its newline. A file that shrinks
(truncated by hand) is read again from the start.
"""

from __future__ import annotations

import os
import shlex
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

from qdrantsec.audit import files
from qdrantsec.audit.model import Entry
from qdrantsec.errors import InputError


def _plain_files(directory: str) -> list[str]:
    try:
        names = [e.name for e in os.scandir(directory)
                 if files.is_audit_name(e.name) and not e.name.endswith(".gz") and e.is_file()]
    except OSError:
        return []
    return [str(Path(directory) / n) for n in names]


def _order_key(path: str) -> tuple[int, float, str]:
    period = files.name_period(os.path.basename(path))
    try:
        mtime = os.stat(path).st_mtime
    except OSError:
        mtime = 0.0
    return (period[0] if period else -(2**63), mtime, path)


def current_file(directory: str) -> str | None:
    """The file Qdrant is writing now: the latest dated period (else the newest undated)."""
    plain = _plain_files(directory)
    return max(plain, key=_order_key) if plain else None


def whole_size(path: str) -> int:
    """Bytes of ``path`` up to and including its last newline."""
    try:
        with open(path, "rb") as fh:
            size = fh.seek(0, os.SEEK_END)
            pos = size
            while pos > 0:
                start = max(0, pos - 65536)
                fh.seek(start)
                chunk = fh.read(pos - start)
                cut = chunk.rfind(b"\n")
                if cut != -1:
                    return start + cut + 1
                pos = start
    except OSError:
        pass
    return 0


def newest(directory: str, parser: files.LineParser, n: int, *,
           allow_empty: bool = False) -> tuple[list[Entry], dict[str, int]]:
    """The newest ``n`` entries (oldest first) and, per plain file, where following starts.
    ``allow_empty``: a directory without audit files yet is not an error (for following)."""
    try:
        paths = files.list_dir(directory, file_hint="tail reads Qdrant's audit directory (audit.dir); "
                               f"to read one file: qdrantsec audit query {shlex.quote(directory)}")
    except InputError:
        if not allow_empty or not os.path.isdir(directory):
            raise
        return [], {}
    upto = {p: whole_size(p) for p in paths if not p.endswith(".gz")}
    out: list[Entry] = []
    if n:
        groups = files.plan(paths, parser.window, parser.stats)
        for e in files.entries(groups, parser, newest_first=True, upto=upto):
            out.append(e)
            if len(out) >= n:
                break
    out.reverse()
    return out, upto


class Follower:
    """Yields the entries written after ``offsets`` were taken, polling every ``poll`` s."""

    def __init__(self, directory: str, parser: files.LineParser, offsets: dict[str, int], *,
                 poll: float = 0.25, sleep: Callable[[float], None] = time.sleep) -> None:
        self.directory = directory
        self.parser = parser
        self.offsets = offsets
        self.poll = poll
        self.sleep = sleep
        self.path: str | None = None
        self.fh: IO[bytes] | None = None
        self.pending = b""
        # start on the file that was current when ``offsets`` were taken, so that what it
        # gets after them is read even if the next period's file appears right away
        if offsets:
            start = max(offsets, key=_order_key)
            self._open(start, offsets[start])

    def _open(self, path: str, offset: int) -> None:
        self.close()
        try:
            self.fh = open(path, "rb")  # noqa: SIM115 - kept open across pruning
        except OSError as exc:
            self.parser.stats.warn(f"cannot read {path}: {exc.strerror}")
            self.fh = None
            return
        self.path = path
        self.fh.seek(offset)
        self.pending = b""

    def close(self) -> None:
        if self.fh is not None:
            self.fh.close()
        self.fh = None

    def _read(self, final: bool = False) -> Iterator[Entry]:
        if self.fh is None:
            return
        if os.fstat(self.fh.fileno()).st_size < self.fh.tell():
            self.fh.seek(0)  # truncated
            self.pending = b""
        while True:
            chunk = self.fh.read(files.BLOCK)
            if not chunk:
                break
            data = self.pending + chunk
            cut = data.rfind(b"\n")
            if cut == -1:
                self.pending = data
                continue
            body, self.pending = data[:cut], data[cut + 1:]
            yield from self._lines(body.split(b"\n"))
        if final and self.pending:
            yield from self._lines([self.pending], last=True)
            self.pending = b""

    def _lines(self, lines: list[bytes], last: bool = False) -> Iterator[Entry]:
        where = self.path or "?"
        for line in lines:
            if self.parser.prefilter(line):
                e = self.parser.parse(line, lambda: f"{where}: a followed line", last=last)
                if e is not None:
                    yield e

    def __iter__(self) -> Iterator[Entry]:
        try:
            while True:
                now = current_file(self.directory)
                if now is not None and now != self.path and (
                        self.path is None or _order_key(now) > _order_key(self.path)):
                    yield from self._read(final=True)  # the rest of the old file
                    self._open(now, self.offsets.get(now, 0) if self.path is None else 0)
                yield from self._read()
                self.sleep(self.poll)
        finally:
            self.close()
