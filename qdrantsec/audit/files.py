"""Audit files on disk: which ones, in which order, and their lines read forward or
backward in blocks, with a byte prefilter before any JSON is parsed.

Names (facts 5.3): ``audit.YYYY-MM-DD.log`` (daily), ``audit.YYYY-MM-DD-HH.log`` (hourly),
dates in UTC, any other ``audit*.log`` (``audit.log``) is undated; a trailing ``.gz`` is a
compressed copy. A dated name gives the file's period, so files whose period cannot overlap
the window are skipped unopened; an undated plain file's period is read from its first and
last entries. Files are read in time order; files whose periods overlap (a daily and an
hourly file of the same day, an undated file) are merged entry by entry.

Memory stays constant: files are read in blocks of ``BLOCK`` bytes and only the lines of
one block are held. Newest first is read backward (blocks from the end); a compressed or
piped source cannot seek, so for newest first its matching lines are first copied to a
temporary file, which is then read backward.
"""

from __future__ import annotations

import calendar
import contextlib
import gzip
import heapq
import json
import os
import re
import stat
import tempfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from qdrantsec.audit.filters import AUTH_TYPES, RESULTS, Filter, Window
from qdrantsec.audit.model import Entry, RunStats
from qdrantsec.audit.timeparse import NS, parse_rfc3339
from qdrantsec.errors import InputError

BLOCK = 1 << 20
#: a "line" longer than this is not an audit entry; it is skipped, not held in memory
MAX_LINE = 1 << 24
_HOUR = 3600 * NS
_DAY = 24 * _HOUR
_DATED = re.compile(r"audit\.([0-9]{4})-([0-9]{2})-([0-9]{2})(?:-([0-9]{2}))?\.log")
_SLACK = NS  # Qdrant's lines can be out of order by a few ms; probed ranges get 1 s slack


@dataclass
class AuditFile:
    path: str  # "-" for standard input
    start: int | None  # epoch ns, None = unknown
    end: int | None  # exclusive; None = unknown
    gz: bool = False
    dated: bool = False

    @property
    def seekable(self) -> bool:
        return not self.gz and self.path != "-"


def is_audit_name(name: str) -> bool:
    base = name[:-3] if name.endswith(".gz") else name
    return base.startswith("audit") and base.endswith(".log")


def name_period(name: str) -> tuple[int, int] | None:
    """``[start, end)`` of a dated audit file name (``.gz`` allowed), else None."""
    base = name[:-3] if name.endswith(".gz") else name
    m = _DATED.fullmatch(base)
    if not m:
        return None
    y, mo, d = int(m.group(1)), int(m.group(2)), int(m.group(3))
    hour = m.group(4)
    try:
        import datetime

        datetime.datetime(y, mo, d, int(hour) if hour else 0)
    except ValueError:
        return None
    start = calendar.timegm((y, mo, d, int(hour) if hour else 0, 0, 0, 0, 0, 0)) * NS
    return start, start + (_HOUR if hour else _DAY)


def describe(path: str) -> AuditFile:
    """An AuditFile with its period from the name, or probed from the content."""
    name = os.path.basename(path)
    gz = name.endswith(".gz")
    period = name_period(name)
    if period is not None:
        return AuditFile(path, period[0], period[1], gz=gz, dated=True)
    if path == "-":
        return AuditFile(path, None, None)
    first, last = _probe(path, gz)
    return AuditFile(path, None if first is None else first - _SLACK,
                     None if last is None else last + _SLACK, gz=gz)


def _first_ts(lines: list[bytes]) -> int | None:
    for line in lines:
        try:
            obj = json.loads(line)
            return parse_rfc3339(obj["timestamp"])
        except (ValueError, KeyError, TypeError, RecursionError):
            continue
    return None


def _probe(path: str, gz: bool) -> tuple[int | None, int | None]:
    """The first and last timestamps of an undated file (the last only for plain files)."""
    try:
        with _open(path, gz) as fh:
            head = fh.read(64 * 1024)
            first = _first_ts(head.split(b"\n")[:50])
            last = None
            if not gz:
                size = fh.seek(0, os.SEEK_END)
                fh.seek(max(0, size - 64 * 1024))
                tail = fh.read().split(b"\n")
                last = _first_ts(list(reversed(tail[1:] if size > 64 * 1024 else tail))[:50])
    except (OSError, EOFError, zlib.error):
        return None, None  # reported when the file is read
    return first, None if gz else last


def _open(path: str, gz: bool) -> IO[bytes]:
    if gz:
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return open(path, "rb")


def _stat(path: str, what: str) -> os.stat_result:
    """``os.stat`` with every failure (missing, permission, a name too long, a loop) as a
    one-line InputError."""
    try:
        return os.stat(path)
    except FileNotFoundError:
        raise InputError(f"{what} not found: {path}",
                         hint="pass Qdrant's audit.dir (default ./storage/audit under its working "
                              "directory)" if what == "audit directory" else None) from None
    except PermissionError:
        raise InputError(f"{what} not readable (permission denied): {path}") from None
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read {what} {path}: {getattr(exc, 'strerror', None) or exc}") from None


def check_file(path: str) -> None:
    """An audit file argument must be a regular file (a FIFO or a device would block or
    never end)."""
    st = _stat(path, "audit file")
    if stat.S_ISDIR(st.st_mode):
        raise InputError(f"{path} is a directory", hint=f"use --dir {path}")
    if not stat.S_ISREG(st.st_mode):
        raise InputError(f"audit file {path} is not a regular file",
                         hint="to read a pipe or a device, redirect it to standard input and pass -")


def list_dir(directory: str, *, file_hint: str = "pass files as arguments instead") -> list[str]:
    """The audit files of ``directory``; a missing or unreadable directory is an error.
    ``file_hint``: what to do with a file given as --dir (tail takes no file arguments)."""
    p = Path(directory)
    if not stat.S_ISDIR(_stat(directory, "audit directory").st_mode):
        raise InputError(f"--dir {directory} is not a directory", hint=file_hint)
    try:
        names = sorted(e.name for e in os.scandir(p) if is_audit_name(e.name) and e.is_file())
    except PermissionError:
        raise InputError(f"audit directory not readable (permission denied): {directory}") from None
    except OSError as exc:
        raise InputError(f"cannot list audit directory {directory}: {exc.strerror}") from None
    if not names:
        raise InputError(f"no audit files in {directory}",
                         hint="Qdrant writes audit.YYYY-MM-DD.log or audit.YYYY-MM-DD-HH.log once "
                              "audit.enabled is true and a request was checked")
    return [str(p / n) for n in names]


def plan(paths: list[str], window: Window, stats: RunStats) -> list[list[AuditFile]]:
    """The files to read, grouped: groups in time order (oldest first), the files of a
    group overlapping in time (merged entry by entry). Files outside the window are
    dropped (counted in ``stats.files_skipped``)."""
    files: list[AuditFile] = []
    for path in paths:
        if path != "-":
            check_file(path)
        f = describe(path)
        if window.overlaps(f.start, f.end):
            files.append(f)
        else:
            stats.files_skipped += 1
    files.sort(key=lambda f: (-(2**63) if f.start is None else f.start, f.path))
    groups: list[list[AuditFile]] = []
    group_end: int | None = None
    for f in files:
        if groups and (group_end is None or f.start is None or f.start < group_end):
            groups[-1].append(f)
            group_end = None if (group_end is None or f.end is None) else max(group_end, f.end)
        else:
            groups.append([f])
            group_end = f.end
    return groups


class LineParser:
    """Turns candidate lines into Entries: prefilter, JSON, the shape Qdrant's reader
    accepts (else the line is malformed), window, filter."""

    def __init__(self, filt: Filter, window: Window, stats: RunStats) -> None:
        self.filt = filt
        self.window = window
        self.stats = stats
        self.groups = filt.needles()
        if self.groups:
            stats.prefiltered = True
        self._key: bytes | None = None
        self._key_uses = 0

    def key_for(self, singles: list[bytes], body: bytes) -> bytes:
        """The needle to search for: the rarest in a sample, chosen again every 64 blocks."""
        if len(singles) == 1:
            return singles[0]
        if self._key is None or self._key_uses >= 64:
            self._key = min(singles, key=lambda n: body.count(n, 0, 262144))
            self._key_uses = 0
        self._key_uses += 1
        return self._key

    def prefilter(self, line: bytes) -> bool:
        for alts in self.groups:
            for a in alts:
                if a in line:
                    break
            else:
                return b"\\" in line
        return True

    def parse(self, line: bytes, where: Callable[[], str], last: bool = False) -> Entry | None:
        """The Entry of a line that passed ``prefilter``, or None (no match, blank, bad)."""
        try:
            obj = json.loads(line)
        except (ValueError, RecursionError):  # RecursionError: absurdly deep nesting
            if not line.strip():
                return None
            if last:
                self.stats.incomplete_last_lines += 1
                return None
            self.stats.malformed_line(where(), "not JSON")
            return None
        if not isinstance(obj, dict):
            self.stats.malformed_line(where(), "not a JSON object")
            return None
        stamp = obj.get("timestamp")
        try:
            ts = parse_rfc3339(stamp) if isinstance(stamp, str) else None
        except ValueError:
            ts = None
        if ts is None:
            self.stats.malformed_line(where(), "no valid timestamp")
            return None
        if obj.get("auth_type") not in AUTH_TYPES or obj.get("result") not in RESULTS:
            self.stats.malformed_line(where(), "auth_type or result is not one Qdrant writes")
            return None
        self.stats.valid += 1
        if not self.window.contains(ts) or not self.filt.matches(obj):
            return None
        return Entry(ts, line.rstrip(b"\r\n"), obj)


def _candidates(body: bytes, parser: LineParser) -> Iterator[tuple[int, bytes]]:
    """(offset of the line in ``body``, line) for every line of ``body`` that passes the
    prefilter, found with ``bytes.find`` for the rarest single needle when there is one
    (the line's number is counted only when a problem must be reported)."""
    singles = [g[0] for g in parser.groups if len(g) == 1]
    if not singles:
        pre = parser.prefilter if parser.groups else None
        start = 0
        for line in body.split(b"\n"):
            if pre is None or pre(line):
                yield start, line
            start += len(line) + 1
        return
    key = parser.key_for(singles, body)
    find = body.find
    rfind = body.rfind
    pre = parser.prefilter
    n = len(body)
    pos = 0
    bs = find(b"\\")
    while pos < n:
        p = find(key, pos)
        if bs != -1 and bs < pos:
            bs = find(b"\\", pos)
        if bs != -1 and (p == -1 or bs < p):
            p = bs
        if p == -1:
            return
        ls = rfind(b"\n", pos, p) + 1 or pos
        le = find(b"\n", p)
        if le == -1:
            le = n
        line = body[ls:le]
        if pre(line):
            yield ls, line
        pos = le + 1


def _where(name: str, base: int, body: bytes, offset: int) -> str:
    return f"{name}:{base + body.count(NL, 0, offset)}"


NL = b"\n"


def read_forward(f: AuditFile, parser: LineParser, stdin: IO[bytes] | None = None,
                 block: int | None = None) -> Iterator[Entry]:
    """The matching entries of one file, in file order."""
    block = block or BLOCK
    stats = parser.stats
    try:
        fh = stdin if f.path == "-" and stdin is not None else _open(f.path, f.gz)
    except OSError as exc:
        stats.warn(f"cannot read {f.path}: {exc.strerror}")
        stats.partial = True
        return
    stats.files_read += 1
    name = "<stdin>" if f.path == "-" else f.path
    line_base = 1  # counted per block only for sources that cannot be read again
    counting = not f.seekable
    counter = LineCounter(f.path) if f.seekable else None
    consumed = 0
    carry = b""
    try:
        with contextlib.ExitStack() as stack:
            if fh is not stdin:
                stack.enter_context(fh)
            while True:
                chunk = fh.read(block)
                if not chunk:
                    break
                data = carry + chunk if carry else chunk
                cut = data.rfind(b"\n")
                if cut == -1:
                    carry = data
                    if len(carry) > MAX_LINE:
                        stats.malformed_line(f"{name}: a line at byte {consumed}", "line too long")
                        consumed += len(carry)
                        carry = b""  # the rest of this line is skipped with its next part
                    continue
                body, carry = data[:cut], data[cut + 1:]
                base, at = line_base, consumed
                for off, line in _candidates(body, parser):
                    if counter is not None:
                        e = parser.parse(line, lambda o=at + off: f"{name}:{counter.line(o)}")
                    else:
                        e = parser.parse(line, lambda o=off, b=base, body=body: _where(name, b, body, o))
                    if e is not None:
                        yield e
                consumed += cut + 1
                if counting:
                    line_base += body.count(NL) + 1
            if carry and parser.prefilter(carry):
                e = parser.parse(carry, lambda: f"{name}:{counter.line(consumed) if counter else line_base}",
                                 last=True)
                if e is not None:
                    yield e
    except (OSError, EOFError, zlib.error, gzip.BadGzipFile) as exc:
        detail = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        stats.warn(f"{name}: read error after byte {consumed}: {detail}")
        stats.partial = True


class LineCounter:
    """Line numbers of byte offsets in a plain file, counted only when a problem is reported:
    the newlines between the last offset asked for and this one are counted (once from the
    start, then only the distance), so reading backward costs at most one extra pass."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.offset = 0
        self.newlines = 0

    def _count(self, lo: int, hi: int) -> int:
        n = 0
        with open(self.path, "rb") as fh:
            fh.seek(lo)
            while lo < hi:
                chunk = fh.read(min(BLOCK, hi - lo))
                if not chunk:
                    break
                lo += len(chunk)
                n += chunk.count(NL)
        return n

    def line(self, offset: int) -> int:
        if offset >= self.offset:
            self.newlines += self._count(self.offset, offset)
        else:
            self.newlines -= self._count(offset, self.offset)
        self.offset = offset
        return self.newlines + 1


def read_backward(f: AuditFile, parser: LineParser, upto: int | None = None,
                  block: int | None = None) -> Iterator[Entry]:
    """The matching entries of one seekable file, last line first. ``upto``: read only
    the first ``upto`` bytes (a size taken before, for ``tail``)."""
    block = block or BLOCK
    stats = parser.stats
    try:
        fh = open(f.path, "rb")  # noqa: SIM115
    except OSError as exc:
        stats.warn(f"cannot read {f.path}: {exc.strerror}")
        stats.partial = True
        return
    stats.files_read += 1
    counter = LineCounter(f.path)

    def where(offset: int) -> str:
        return f"{f.path}:{counter.line(offset)}"

    with fh:
        end = fh.seek(0, os.SEEK_END)
        if upto is not None:
            end = min(end, upto)
        carry = b""
        first = True
        while end > 0:
            start = max(0, end - block)
            fh.seek(start)
            chunk = fh.read(end - start)
            data = chunk + carry if carry else chunk
            if start > 0:
                cut = data.find(NL)
                if cut == -1:
                    carry = data
                    end = start
                    if len(carry) > MAX_LINE:
                        carry = b""
                        stats.malformed_line(where(start), "line too long")
                    continue
                carry, body = data[:cut], data[cut + 1:]
                body_at = start + cut + 1
            else:
                carry, body, body_at = b"", data, 0
            found: list[Entry] = []
            # a last line without its newline may still be being written
            last_start = body.rfind(NL) + 1 if first and not body.endswith(NL) else -1
            for off, line in _candidates(body, parser):
                e = parser.parse(line, lambda o=off + body_at: where(o), last=off == last_start)
                if e is not None:
                    found.append(e)
            first = False
            yield from reversed(found)
            end = start


def read_backward_spooled(f: AuditFile, parser: LineParser, stdin: IO[bytes] | None) -> Iterator[Entry]:
    """Newest first for a source that cannot seek: its matching lines go to a temporary
    file (disk, not memory), which is then read backward."""
    with tempfile.TemporaryFile() as spool:
        for e in read_forward(f, parser, stdin):
            spool.write(e.raw + b"\n")
        spool.flush()
        yield from _spool_backward(spool)


def lines_backward(fh: Any) -> Iterator[bytes]:
    """The non-empty lines of a seekable binary file, last first, one block in memory."""
    end = fh.seek(0, os.SEEK_END)
    carry = b""
    while end > 0:
        start = max(0, end - BLOCK)
        fh.seek(start)
        data = fh.read(end - start) + carry
        end = start
        if start > 0:
            cut = data.find(b"\n")
            if cut == -1:
                carry = data
                continue
            carry, data = data[:cut], data[cut + 1:]
        else:
            carry = b""
        yield from (line for line in reversed(data.split(b"\n")) if line)


def _spool_backward(spool: Any) -> Iterator[Entry]:
    # the spool holds only lines already parsed and matched: no checks needed again
    for line in lines_backward(spool):
        obj = json.loads(line)
        yield Entry(parse_rfc3339(obj["timestamp"]), line, obj)


def entries(groups: list[list[AuditFile]], parser: LineParser, *, newest_first: bool,
            stdin: IO[bytes] | None = None, upto: dict[str, int] | None = None) -> Iterator[Entry]:
    """Every matching entry of the planned files, in time order (newest first or oldest
    first); overlapping files are merged by timestamp. ``upto``: per path, the bytes to
    read (newest first only)."""
    ordered = reversed(groups) if newest_first else groups
    limits = upto or {}
    for group in ordered:
        # files merged entry by entry are all open at once: share one block's worth of memory
        block = BLOCK if len(group) == 1 else max(min(BLOCK, 64 * 1024), BLOCK // len(group))
        if newest_first:
            streams = [read_backward(f, parser, limits.get(f.path), block) if f.seekable
                       else read_backward_spooled(f, parser, stdin) for f in group]
        else:
            streams = [read_forward(f, parser, stdin, block) for f in group]
        if len(streams) == 1:
            yield from streams[0]
        else:
            yield from heapq.merge(*streams, key=_ts, reverse=newest_first)


def _ts(e: Entry) -> int:
    return e.ts
