"""Audit log writer and reader of the Qdrant-compatible test peer (facts section 5).

The writer produces JSON lines with exactly the field order Qdrant 1.19 uses, into
``audit.YYYY-MM-DD.log`` (daily) or ``audit.YYYY-MM-DD-HH.log`` (hourly) files named after the
UTC period, with rotation on the first write after a period boundary and retention pruning at
start-up and at each rotation.  The reader implements the local part of ``POST /audit/logs``.

Differences from Qdrant (see the README section "Audit and cluster"):
- lines are written synchronously and flushed at once (Qdrant uses a lossy non-blocking writer
  with a 128k-line buffer, so its lines may appear a few ms later or be dropped under load);
- "creation time" for retention is approximated by the file's birth time where the platform
  reports one, else its modification time, ties broken by the date in the name.

Stdlib only; this module must not import anything from the ``qdrantsec`` package.
"""

from __future__ import annotations

import calendar
import contextlib
import datetime as _dt
import json
import os
import pathlib
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

__all__ = [
    "AUDIT_DEFAULTS",
    "FIELD_ORDER",
    "FILTER_KEYS",
    "AuditLog",
    "format_timestamp",
    "parse_timestamp",
    "remote_from_request",
    "tracing_id_from_headers",
]

# facts 1.7: defaults of each field when the `audit` section exists.
AUDIT_DEFAULTS: dict[str, Any] = {
    "enabled": False,
    "dir": "./storage/audit",
    "rotation": "daily",
    "max_log_files": 7,
    "trust_forwarded_headers": False,
    "log_api": True,
}

# facts 5.2: on-disk field order.
FIELD_ORDER: tuple[str, ...] = (
    "timestamp",
    "method",
    "api",
    "auth_type",
    "subject",
    "remote",
    "collection",
    "tracing_id",
    "result",
    "error",
)

# facts 5.6: keys accepted by `filters` (anything else, `timestamp` included, matches nothing).
FILTER_KEYS: frozenset[str] = frozenset(
    {"method", "api", "auth_type", "result", "subject", "remote", "collection", "tracing_id", "error"}
)

TRACING_HEADERS: tuple[str, ...] = ("x-request-id", "x-tracing-id", "traceparent")
MAX_TRACING_ID_LEN = 256

_NS = 1_000_000_000
_HOUR_NS = 3600 * _NS
_DAY_NS = 24 * _HOUR_NS

Clock = Callable[[], "int | _dt.datetime"]

_TS_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?"
    r"(Z|z|[+-]\d{2}:?\d{2})$"
)
_DAILY_RE = re.compile(r"^audit\.(\d{4})-(\d{2})-(\d{2})\.log$")
_HOURLY_RE = re.compile(r"^audit\.(\d{4})-(\d{2})-(\d{2})-(\d{2})\.log$")


# --------------------------------------------------------------------------- time helpers


def _now_ns() -> int:
    return time.time_ns()


def _to_ns(value: int | _dt.datetime) -> int:
    """Epoch nanoseconds from an int (already ns) or a datetime (naive = UTC)."""
    if isinstance(value, _dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(_dt.timezone.utc).replace(tzinfo=None)
        seconds = calendar.timegm(value.timetuple())
        return seconds * _NS + value.microsecond * 1000
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"clock must return int nanoseconds or datetime, got {value!r}")
    return value


def format_timestamp(ns: int) -> str:
    """RFC 3339 UTC with a ``Z``, as chrono's serde renders a ``DateTime<Utc>``
    (``SecondsFormat::AutoSi``): no fraction when the sub-second part is zero, otherwise 3, 6
    or 9 digits, whichever is the shortest that shows the value exactly."""
    seconds, frac = divmod(ns, _NS)
    base = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
    if frac == 0:
        return f"{base}Z"
    for digits in (3, 6):
        step = 10 ** (9 - digits)
        if frac % step == 0:
            return f"{base}.{frac // step:0{digits}d}Z"
    return f"{base}.{frac:09d}Z"


def parse_timestamp(text: str) -> int:
    """Parse an RFC 3339 timestamp (any offset, 0-9 fractional digits) to epoch nanoseconds.

    Raises ValueError for anything else.
    """
    if not isinstance(text, str):
        raise ValueError(f"not an RFC 3339 timestamp: {text!r}")
    m = _TS_RE.match(text.strip())
    if not m:
        raise ValueError(f"not an RFC 3339 timestamp: {text!r}")
    year, month, day, hour, minute, second = (int(m.group(i)) for i in range(1, 7))
    frac = m.group(7) or ""
    offset = m.group(8)
    # validates ranges (second 60 is not accepted; leap seconds are not produced by Qdrant)
    _dt.datetime(year, month, day, hour, minute, second)
    seconds = calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0))
    if offset not in ("Z", "z"):
        sign = -1 if offset[0] == "-" else 1
        digits = offset[1:].replace(":", "")
        off_h, off_m = int(digits[:2]), int(digits[2:])
        if off_h > 23 or off_m > 59:
            raise ValueError(f"bad UTC offset in {text!r}")
        seconds -= sign * (off_h * 3600 + off_m * 60)
    return seconds * _NS + int(frac.ljust(9, "0") or "0")


def _period_start_ns(ns: int, rotation: str) -> int:
    step = _HOUR_NS if rotation == "hourly" else _DAY_NS
    return ns - ns % step


def _file_name(ns: int, rotation: str) -> str:
    t = time.gmtime(ns // _NS)
    if rotation == "hourly":
        return time.strftime("audit.%Y-%m-%d-%H.log", t)
    return time.strftime("audit.%Y-%m-%d.log", t)


def _name_range_ns(name: str) -> tuple[int, int] | None:
    """[start, end) covered by a dated audit file name, or None when the name has no date."""
    m = _HOURLY_RE.match(name)
    if m:
        y, mo, d, h = (int(g) for g in m.groups())
        try:
            start = calendar.timegm((y, mo, d, h, 0, 0, 0, 0, 0)) * _NS
            _dt.datetime(y, mo, d, h)
        except ValueError:
            return None
        return start, start + _HOUR_NS
    m = _DAILY_RE.match(name)
    if m:
        y, mo, d = (int(g) for g in m.groups())
        try:
            _dt.date(y, mo, d)
        except ValueError:
            return None
        start = calendar.timegm((y, mo, d, 0, 0, 0, 0, 0, 0)) * _NS
        return start, start + _DAY_NS
    return None


_AUTH_TYPES = frozenset({"Jwt", "ApiKey", "None", "Internal"})
_RESULTS = frozenset({"ok", "denied"})


def _as_audit_event(raw: Any) -> dict[str, Any] | None:
    """A parsed line as Qdrant's reader sees it: deserialised into ``AuditEvent`` and
    serialised again, or None when serde would reject it (and the line is skipped).

    ``auth_type`` must be one of the four ``AuthType`` variants and ``result`` ``ok`` or
    ``denied``; the optional fields must be strings (``null`` counts as absent).  Unknown
    members are dropped and the fields come back in ``FIELD_ORDER``.
    """
    if not isinstance(raw, dict):
        return None
    if not isinstance(raw.get("timestamp"), str):
        return None
    if raw.get("auth_type") not in _AUTH_TYPES or raw.get("result") not in _RESULTS:
        return None
    out: dict[str, Any] = {}
    for key in FIELD_ORDER:
        value = raw.get(key)
        if value is None:
            continue
        if not isinstance(value, str):
            return None
        out[key] = value
    return out


# --------------------------------------------------------------------------- header helpers


def _is_visible_ascii(value: str) -> bool:
    # http's HeaderValue::to_str: bytes 0x20..0x7e and TAB
    return all(ch == "\t" or 32 <= ord(ch) < 127 for ch in value)


def _header_values(headers: Any, name: str) -> list[str]:
    """All values of header `name` (case-insensitive) from an email/http Message (as given to
    BaseHTTPRequestHandler), a mapping, or an iterable of (name, value) pairs."""
    if headers is None:
        return []
    get_all = getattr(headers, "get_all", None)
    if callable(get_all):  # email.message.Message / http.client.HTTPMessage
        return [str(v) for v in (get_all(name) or [])]
    lname = name.lower()
    items: Iterable[Any] = headers.items() if hasattr(headers, "items") else headers
    out: list[str] = []
    for key, value in items:
        if str(key).lower() != lname:
            continue
        if isinstance(value, (list, tuple)):
            out.extend(str(v) for v in value)
        elif isinstance(value, bytes):
            out.append(value.decode("latin-1"))
        else:
            out.append(str(value))
    return out


def _first_header(headers: Any, name: str) -> str | None:
    values = _header_values(headers, name)
    return values[0] if values else None


def tracing_id_from_headers(headers: Any) -> str | None:
    """facts 5.5: first present of x-request-id, x-tracing-id, traceparent.

    A value that is not visible ASCII counts as absent; longer values are cut to 256 chars.
    An empty value is present (written as ``""``).
    """
    for name in TRACING_HEADERS:
        value = _first_header(headers, name)
        if value is None or not _is_visible_ascii(value):
            continue
        return value[:MAX_TRACING_ID_LEN]
    return None


def remote_from_request(peer_ip: str | None, headers: Any, trust_forwarded: bool) -> str | None:
    """facts 5.5: the TCP peer IP, or with trusted forwarded headers the raw `Forwarded`
    value if present, else the raw `X-Forwarded-For` value (unparsed), else the peer IP."""
    if trust_forwarded:
        for name in ("forwarded", "x-forwarded-for"):
            value = _first_header(headers, name)
            if value is not None and _is_visible_ascii(value):
                return value
    if peer_ip is None:
        return None
    ip = str(peer_ip)
    if ip.startswith("[") and ip.endswith("]"):
        ip = ip[1:-1]
    return ip


# --------------------------------------------------------------------------- config helpers

_TRUE = {"true", "1", "on", "yes"}
_FALSE = {"false", "0", "off", "no"}


def _as_bool(value: Any, key: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        low = value.strip().lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
    raise ValueError(f"audit.{key}: invalid boolean {value!r}")


def _as_int(value: Any, key: str) -> int:
    if isinstance(value, bool):
        raise ValueError(f"audit.{key}: invalid integer {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            pass
    raise ValueError(f"audit.{key}: invalid integer {value!r}")


# --------------------------------------------------------------------------- AuditLog


class AuditLog:
    """Audit writer/reader for one peer process.

    ``audit_section`` is the merged ``audit`` mapping (missing keys get facts 1.7 defaults);
    ``audit.dir`` is resolved against ``workdir`` (the process cwd).  When ``enabled`` is true
    the directory is created (failure raises RuntimeError, like Qdrant's start-up panic),
    retention runs and the current period's file is opened for appending.  When disabled,
    nothing is created and ``write`` is a no-op (``query`` still reads whatever is there).

    ``clock`` returns "now" as epoch nanoseconds (int) or a datetime (naive = UTC); it is used
    for timestamps and file periods so tests can cross boundaries without waiting.
    """

    def __init__(
        self,
        audit_section: Mapping[str, Any] | None,
        workdir: pathlib.Path,
        *,
        clock: Clock | None = None,
    ) -> None:
        section = dict(audit_section or {})
        cfg = {**AUDIT_DEFAULTS, **{k: v for k, v in section.items() if v is not None}}
        rotation = cfg["rotation"]
        if rotation not in ("daily", "hourly"):
            raise ValueError(f"audit.rotation: unknown variant {rotation!r}, expected `daily` or `hourly`")
        self.enabled: bool = _as_bool(cfg["enabled"], "enabled")
        self.rotation: str = rotation
        self.configured_max_log_files: int = _as_int(cfg["max_log_files"], "max_log_files")
        self.max_log_files: int = max(1, self.configured_max_log_files)
        self.trust_forwarded_headers: bool = _as_bool(
            cfg["trust_forwarded_headers"], "trust_forwarded_headers"
        )
        self.log_api: bool = _as_bool(cfg["log_api"], "log_api")
        self.dir_setting: str = str(cfg["dir"])
        self.dir: pathlib.Path = pathlib.Path(workdir) / self.dir_setting
        self._clock: Callable[[], int] = _now_ns if clock is None else (lambda: _to_ns(clock()))
        self._lock = threading.Lock()
        self._file: Any = None
        self._period: int | None = None
        self._closed = False
        if self.enabled:
            try:
                self.dir.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise RuntimeError(
                    f"Audit logger must be initialized if audit logging is enabled: "
                    f"cannot create {self.dir}: {exc}"
                ) from exc
            if not self.dir.is_dir():
                raise RuntimeError(
                    "Audit logger must be initialized if audit logging is enabled: "
                    f"{self.dir} is not a directory"
                )
            with self._lock:
                self._open_current(self._clock())

    # ---- info -------------------------------------------------------------------------

    def telemetry(self) -> dict[str, Any]:
        """Members for `GET /telemetry` `result.app.audit` (facts 8)."""
        return {
            "enabled": self.enabled,
            "dir": self.dir_setting,
            "rotation": self.rotation,
            "max_log_files": self.configured_max_log_files,
            "trust_forwarded_headers": self.trust_forwarded_headers,
            "log_api": self.log_api,
        }

    def dir_size_bytes(self) -> int:
        total = 0
        try:
            for entry in os.scandir(self.dir):
                if entry.is_file(follow_symlinks=False):
                    total += entry.stat(follow_symlinks=False).st_size
        except OSError:
            return 0
        return total

    def current_file(self) -> pathlib.Path | None:
        with self._lock:
            return pathlib.Path(self._file.name) if self._file is not None else None

    # ---- writing ----------------------------------------------------------------------

    def _candidate_files(self) -> list[tuple[float, int, str, pathlib.Path]]:
        out: list[tuple[float, int, str, pathlib.Path]] = []
        try:
            entries = list(os.scandir(self.dir))
        except OSError:
            return out
        for entry in entries:
            name = entry.name
            if not (name.startswith("audit") and name.endswith("log")):
                continue
            try:
                if not entry.is_file():
                    continue
                st = entry.stat()
            except OSError:
                continue
            created = getattr(st, "st_birthtime", None)
            key = float(created) if created is not None else st.st_mtime_ns / _NS
            rng = _name_range_ns(name)
            out.append((key, rng[0] if rng else 0, name, pathlib.Path(entry.path)))
        return out

    def _prune(self) -> None:
        files = self._candidate_files()
        if len(files) < self.max_log_files:
            return
        files.sort(key=lambda f: (f[0], f[1], f[2]))
        for _key, _start, _name, path in files[: len(files) - (self.max_log_files - 1)]:
            with contextlib.suppress(OSError):
                path.unlink()

    def _open_current(self, now_ns: int) -> None:
        if self._file is not None:
            with contextlib.suppress(OSError):
                self._file.close()
            self._file = None
        self._prune()
        path = self.dir / _file_name(now_ns, self.rotation)
        self._file = open(path, "a", encoding="utf-8", newline="\n")  # noqa: SIM115
        self._period = _period_start_ns(now_ns, self.rotation)

    def write(
        self,
        *,
        method: str | None,
        api: str | None,
        auth_type: str,
        subject: str | None,
        remote: str | None,
        collection: str | None,
        tracing_id: str | None,
        result: str,
        error: str | None,
    ) -> None:
        """Append one entry. ``None`` omits a field; ``""`` is written as ``""``."""
        if not self.enabled or self._closed:
            return
        with self._lock:
            if self._closed:
                return
            now = self._clock()
            entry: dict[str, str] = {"timestamp": format_timestamp(now)}
            for key, value in (
                ("method", method),
                ("api", api),
                ("auth_type", auth_type),
                ("subject", subject),
                ("remote", remote),
                ("collection", collection),
                ("tracing_id", tracing_id),
                ("result", result),
                ("error", error),
            ):
                if value is not None:
                    entry[key] = value
            line = json.dumps(entry, separators=(",", ":"), ensure_ascii=False) + "\n"
            if self._file is None or _period_start_ns(now, self.rotation) != self._period:
                self._open_current(now)
            self._file.write(line)
            self._file.flush()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            if self._file is not None:
                with contextlib.suppress(OSError):
                    self._file.close()
                self._file = None

    # ---- reading ----------------------------------------------------------------------

    def _readable_files(self) -> list[tuple[int, int, pathlib.Path]]:
        """(start, end, path) of the audit files to read, in Qdrant's reading order
        (audit_reader.rs, ``read_local_audit_logs``).

        Every ``audit*.log`` is listed.  A name without a parsable date (``audit.log``,
        ``audit.imported.log``) counts as a "current" file: these come *first*, before every
        dated file, whatever their contents, and are never skipped by the time window (their
        range is open).  Within each group the order is descending by file name, which for
        dated names is newest first (and puts a daily file before the hourly files of the same
        day, as Qdrant's path comparison does).
        """
        undated: list[tuple[int, int, pathlib.Path]] = []
        dated: list[tuple[int, int, pathlib.Path]] = []
        try:
            entries = list(os.scandir(self.dir))
        except OSError:
            return []
        for entry in entries:
            if not (entry.name.startswith("audit") and entry.name.endswith(".log")):
                continue
            try:
                if not entry.is_file():
                    continue
            except OSError:
                continue
            rng = _name_range_ns(entry.name)
            if rng is None:
                undated.append((-(2**63), 2**63, pathlib.Path(entry.path)))
            else:
                dated.append((rng[0], rng[1], pathlib.Path(entry.path)))
        undated.sort(key=lambda f: f[2].name, reverse=True)
        dated.sort(key=lambda f: f[2].name, reverse=True)
        return undated + dated

    def query(
        self,
        *,
        time_from: str | int | _dt.datetime | None,
        time_to: str | int | _dt.datetime | None,
        limit: int,
        filters: Mapping[str, str] | None,
    ) -> list[dict[str, Any]]:
        """Local entries matching the window and filters, newest first, at most ``limit``.

        ``time_from`` is inclusive, ``time_to`` exclusive (RFC 3339 strings, epoch ns or
        datetimes); a bad timestamp raises ValueError.  Filters are exact, case-sensitive and
        AND-combined; an unknown key matches nothing, an absent field never matches.
        """
        filters = dict(filters or {})
        for key, value in filters.items():
            if not isinstance(value, str):
                raise ValueError(f"filter {key!r} must be a string, got {value!r}")
        if limit <= 0 or any(key not in FILTER_KEYS for key in filters):
            return []
        lo = self._bound(time_from)
        hi = self._bound(time_to)
        results: list[dict[str, Any]] = []
        for start, end, path in self._readable_files():
            if hi is not None and start >= hi:
                continue
            if lo is not None and end <= lo:
                continue
            matched = self._read_file(path, lo, hi, filters)
            matched.reverse()
            results.extend(matched)
            if len(results) >= limit:
                break
        return results[:limit]

    @staticmethod
    def _bound(value: str | int | _dt.datetime | None) -> int | None:
        if value is None:
            return None
        if isinstance(value, str):
            return parse_timestamp(value)
        return _to_ns(value)

    @staticmethod
    def _read_file(
        path: pathlib.Path, lo: int | None, hi: int | None, filters: Mapping[str, str]
    ) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        try:
            fh = open(path, encoding="utf-8", errors="replace")  # noqa: SIM115
        except OSError:
            return out
        with fh:
            for raw in fh:
                raw = raw.strip()
                if not raw:
                    continue
                try:
                    entry = json.loads(raw)
                except ValueError:
                    continue
                entry = _as_audit_event(entry)
                if entry is None:
                    continue
                try:
                    ts = parse_timestamp(entry.get("timestamp"))
                except ValueError:
                    continue
                # Qdrant parses the stamp into a DateTime<Utc> and serialises it again: UTC,
                # `Z`, AutoSi digits (``+02:00`` or ``.500000000`` do not survive)
                entry["timestamp"] = format_timestamp(ts)
                if hi is not None and ts >= hi:
                    break
                if lo is not None and ts < lo:
                    continue
                if all(entry.get(k) == v for k, v in filters.items()):
                    out.append(entry)
        return out
