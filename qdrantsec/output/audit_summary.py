"""``audit summary`` for people: totals, the top values of each field, the denied hot
spots, possible credential guessing, and an hourly histogram drawn with block characters
(``#`` when stdout cannot encode them). Values from the log go through ``printable``."""

from __future__ import annotations

import sys
from typing import Any

from qdrantsec.output import printable

TOP = 5
BAR = 40


def _rows(title: str, counts: dict[str, int], total: int, top: int = TOP) -> list[str]:
    if not counts:
        return []
    width = min(32, max(len(printable(k)) for k in list(counts)[:top]))
    lines = [f"{title}:"]
    for key, n in list(counts.items())[:top]:
        share = f"{100 * n / total:5.1f}%" if total else ""
        lines.append(f"  {printable(key)[:width]:<{width}}  {n:>9}  {share}")
    if len(counts) > top:
        rest = sum(list(counts.values())[top:])
        lines.append(f"  {'(' + str(len(counts) - top) + ' more)':<{width}}  {rest:>9}")
    return lines


def _block() -> str:
    enc = (getattr(sys.stdout, "encoding", None) or "ascii").lower()
    return "█" if "utf" in enc else "#"


def render(data: dict[str, Any]) -> str:
    total = data["total"]
    out = [f"{total} entries" + (f" from {data['first']} to {data['last']}" if total else "")
           + (f"; {data['internal']['total']} internal (peer-to-peer) entries counted apart"
              if data["internal"]["total"] else "")]
    for key, title in (("by_result", "result"), ("by_auth_type", "auth type"), ("by_method", "method"),
                       ("by_collection", "collection"), ("by_subject", "subject"), ("by_remote", "remote")):
        rows = _rows(title, data[key], total)
        if rows:
            out += ["", *rows]
    denied = data["by_result"].get("denied", 0)
    if denied:
        out += ["", *_rows("denied, by subject", data["top_denied_subjects"], denied)]
        out += ["", *_rows("denied, by remote", data["top_denied_remotes"], denied)]
    if data["bursts"]:
        out += ["", f"possible credential guessing (more than {data['burst_threshold_per_minute']} "
                    "denied a minute from one remote):"]
        for b in data["bursts"]:
            out.append(f"  {printable(b['remote'])}  {b['denied']} denied  {b['start']} .. {b['end']}")
    if data["hourly"]:
        peak = max(h["ok"] + h["denied"] for h in data["hourly"]) or 1
        block = _block()
        out += ["", "per hour (UTC)          ok  denied"]
        for h in data["hourly"]:
            n = h["ok"] + h["denied"]
            bar = block * max(1 if n else 0, round(BAR * n / peak))
            out.append(f"  {h['hour'][:13]}h  {h['ok']:>8}  {h['denied']:>6}  {bar}")
    if data["internal"]["total"]:
        out += ["", *_rows("internal, by method", data["internal"]["by_method"], data["internal"]["total"])]
    return "\n".join(out) + "\n"
