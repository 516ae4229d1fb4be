"""Audit timestamps as integer nanoseconds since the epoch (UTC).

Qdrant writes RFC 3339 UTC with ``Z`` and 0, 3, 6 or 9 fractional digits (chrono's AutoSi).
Nanoseconds keep equal timestamps equal and let the API pager step by exactly 1 ns.
"""

from __future__ import annotations

import calendar
import re
import time
from datetime import datetime, timezone

from qdrantsec.errors import InputError

NS = 1_000_000_000
_RFC3339 = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt ]([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]{1,9}))?"
    r"(Z|z|[+-][0-9]{2}:?[0-9]{2})")
_DATE_ONLY = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_RELATIVE = re.compile(r"(?:[0-9]{1,12}[smhdw])+")
_PART = re.compile(r"([0-9]+)([smhdw])")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_DAYS: dict[str, int] = {}


def _day_ns(day: str) -> int:
    """Epoch ns of ``YYYY-MM-DD`` at midnight UTC (cached: one lookup a line)."""
    ns = _DAYS.get(day)
    if ns is None:
        if not (day[:4].isdigit() and day[5:7].isdigit() and day[8:10].isdigit()):
            raise ValueError(f"bad date {day!r}")
        y, m, d = int(day[0:4]), int(day[5:7]), int(day[8:10])
        datetime(y, m, d)  # range check (ValueError)
        ns = calendar.timegm((y, m, d, 0, 0, 0, 0, 0, 0)) * NS
        if len(_DAYS) > 4096:
            _DAYS.clear()
        _DAYS[day] = ns
    return ns


def parse_rfc3339(text: str) -> int:
    """RFC 3339 with ``Z`` or an offset -> epoch ns; ValueError otherwise.

    The fast path takes Qdrant's own shape (``...T..:..:..[.f]Z``); the rest goes through
    the full pattern (offsets, a space for ``T``, 1-9 fractional digits)."""
    n = len(text)
    if (20 <= n <= 30 and text[-1] == "Z" and text[10] == "T" and text[4] == "-" and text[13] == ":"
            and (n == 20 or text[19] == ".") and text.isascii()):
        frac = text[20:-1]
        hh, mm, ss = text[11:13], text[14:16], text[17:19]
        if (frac.isdigit() or not frac) and hh.isdigit() and mm.isdigit() and ss.isdigit():
            h, mi, s = int(hh), int(mm), int(ss)
            if h < 24 and mi < 60 and s < 60 and text[7] == "-" and text[16] == ":":
                base = _day_ns(text[:10])
                return base + (h * 3600 + mi * 60 + s) * NS + (int(frac.ljust(9, "0")) if frac else 0)
    m = _RFC3339.fullmatch(text)
    if not m:
        raise ValueError(f"not an RFC 3339 timestamp: {text!r}")
    y, mo, d, h, mi, s = (int(m.group(i)) for i in range(1, 7))
    datetime(y, mo, d, h, mi, s)
    secs = calendar.timegm((y, mo, d, h, mi, s, 0, 0, 0))
    off = m.group(8)
    if off not in ("Z", "z"):
        digits = off[1:].replace(":", "")
        oh, om = int(digits[:2]), int(digits[2:])
        if oh > 23 or om > 59:
            raise ValueError(f"bad UTC offset in {text!r}")
        secs -= (1 if off[0] == "+" else -1) * (oh * 3600 + om * 60)
    return secs * NS + int((m.group(7) or "").ljust(9, "0") or "0")


def parse_when(text: str, *, now_ns: int, option: str) -> int:
    """A time option's value -> epoch ns.

    Accepts a relative age (``90s``, ``15m``, ``1h``, ``2d``, ``1w``, ``1d12h``: that long
    before now), an RFC 3339 time with ``Z`` or an offset, or a date (``2026-12-01``,
    midnight UTC). A time without a zone is refused: it is ambiguous."""
    s = text.strip()
    if _RELATIVE.fullmatch(s.lower()):
        secs = sum(int(n) * _UNITS[u] for n, u in _PART.findall(s.lower()))
        return now_ns - secs * NS
    if _DATE_ONLY.fullmatch(s):
        try:
            return _day_ns(s)
        except ValueError:
            raise InputError(f"{option}: bad date {text!r}") from None
    try:
        return parse_rfc3339(s)
    except ValueError:
        pass
    hint = "use an age like 15m, 1h, 2d, a date like 2026-12-01, or a time like 2026-12-01T10:00:00Z"
    if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9:.]+", s):
        raise InputError(f"{option}: time {text!r} has no time zone",
                         hint="add Z (UTC) or an offset such as +02:00")
    raise InputError(f"{option}: bad time {text!r}", hint=hint)


def format_ns(ns: int, *, local: bool = False, digits: int = 9) -> str:
    """Epoch ns -> RFC 3339: UTC with ``Z``, or the local zone's offset with ``local``.
    ``digits`` fractional digits (0 for none)."""
    secs, frac = divmod(ns, NS)
    if local:
        dt = datetime.fromtimestamp(secs, tz=timezone.utc).astimezone()
        base = dt.strftime("%Y-%m-%dT%H:%M:%S")
        off = dt.strftime("%z")
        zone = f"{off[:3]}:{off[3:]}" if off not in ("", "+0000") else "Z"
    else:
        base = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs))
        zone = "Z"
    if digits:
        base += "." + f"{frac:09d}"[:digits]
    return base + zone


def format_api(ns: int) -> str:
    """A bound for ``time_from``/``time_to`` of ``POST /audit/logs``: exact to the ns."""
    return format_ns(ns, digits=9)
