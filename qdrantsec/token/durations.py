"""Durations (``90s``, ``30m``, ``12h``, ``7d``, ``2w``, ``1d12h``), instants and relative times.

Pure functions; the current time is always passed in (seconds since the epoch).
"""

from __future__ import annotations

import re
from datetime import datetime, timezone

from qdrantsec.errors import InputError

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
# ASCII digits only: \d would take "７d" (fullwidth) or Arabic-Indic digits
_PART = re.compile(r"([0-9]+)([smhdw])")
_WHOLE = re.compile(r"(?:[0-9]+[smhdw])+")
#: the latest instant we can print as ISO-8601 (year 9999)
MAX_TIMESTAMP = 253402300799


def parse_duration(text: str) -> int:
    """``"7d"`` -> 604800. Units s, m, h, d, w; parts may be combined (``1d12h``)."""
    s = text.strip().lower()
    if not s or not _WHOLE.fullmatch(s):
        hint = "write it like 90s, 30m, 12h, 7d, 2w or 1d12h"
        if s.isdigit():
            hint = f"add a unit, e.g. {s}s, {s}m, {s}h or {s}d"
        raise InputError(f"bad duration {text!r}", hint=hint)
    parts = _PART.findall(s)
    if any(len(n) > 15 for n, _ in parts):  # int() refuses over 4300 digits; all are too long
        raise InputError(f"duration {text[:40]!r} is too long")
    total = sum(int(n) * UNITS[u] for n, u in parts)
    if total <= 0:
        raise InputError(f"duration {text!r} is zero; a token must expire in the future")
    if total > MAX_TIMESTAMP:
        raise InputError(f"duration {text!r} is too long")
    return total


def format_duration(seconds: int) -> str:
    """The compact form: 604800 -> ``7d``; 5400 -> ``1h30m``."""
    if seconds <= 0:
        return "0s"
    out = []
    for unit in ("d", "h", "m", "s"):
        n, seconds = divmod(seconds, UNITS[unit])
        if n:
            out.append(f"{n}{unit}")
    return "".join(out)


def parse_instant(text: str) -> int:
    """ISO-8601 with ``Z`` or an offset -> seconds since the epoch (fractions dropped)."""
    s = text.strip()
    if s[-1:] in ("Z", "z"):
        s = s[:-1] + "+00:00"
    try:
        when = datetime.fromisoformat(s)
    except ValueError:
        raise InputError(f"bad time {text!r}",
                         hint="use ISO-8601 with Z or an offset, e.g. 2026-12-31T23:59:59Z") from None
    if when.tzinfo is None or when.utcoffset() is None:
        raise InputError(f"time {text!r} has no time zone",
                         hint="add Z (UTC) or an offset such as +02:00")
    return int(when.timestamp() // 1)


def instant_from_datetime(value: datetime) -> int:
    """An aware ``datetime`` (e.g. from YAML) -> seconds since the epoch."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise InputError(f"time {value.isoformat()} has no time zone",
                         hint="add Z (UTC) or an offset such as +02:00")
    return int(value.timestamp() // 1)


def iso(ts: int) -> str:
    """Seconds since the epoch -> ``2026-12-31T23:59:59Z``."""
    clamped = max(min(ts, MAX_TIMESTAMP), -62135596800)
    return datetime.fromtimestamp(clamped, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


_SIZES = (("year", 365 * 86400), ("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1))


def humanize(seconds: int) -> str:
    """A length of time in its largest unit and the next one: ``6 days 23 hours``."""
    seconds = abs(seconds)
    for i, (word, size) in enumerate(_SIZES):
        if seconds >= size:
            n, rest = divmod(seconds, size)
            out = _plural(n, word)
            if i + 1 < len(_SIZES):
                nxt_word, nxt_size = _SIZES[i + 1]
                m = rest // nxt_size
                if m:
                    out += " " + _plural(m, nxt_word)
            return out
    return "0 seconds"


def relative(ts: int, now: int, *, past: str = "ago", future: str = "in") -> str:
    """``in 6 days 23 hours`` / ``3 hours ago`` relative to ``now``."""
    delta = ts - now
    if delta >= 0:
        return f"{future} {humanize(delta)}"
    return f"{humanize(-delta)} {past}"
