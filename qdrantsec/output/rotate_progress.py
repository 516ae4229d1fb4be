"""rotate-key progress: Rich lines with a phase/peer status on a terminal, plain timestamped
lines otherwise (both on stderr), or one JSON object per event on stdout (``--format json``).

Events come from ``qdrantsec.rotation.executor`` as dicts holding names, fingerprints and
timings only (never a key).
"""

from __future__ import annotations

import atexit
import json
import sys
from collections.abc import Callable
from typing import IO, Any

from qdrantsec.output import printable

Event = dict[str, Any]

_STYLE = {"phase": "bold cyan", "step": "", "wait": "dim", "peer-done": "green",
          "switch": "bold yellow", "paused": "bold yellow", "halted": "bold red",
          "done": "bold green", "aborted": "bold yellow", "warning": "yellow", "plan": ""}
_MARK = {"phase": "==", "peer-done": "ok", "halted": "!!", "done": "ok", "switch": ">>",
         "paused": "||", "aborted": "<<", "warning": "!"}


def plain(stream: IO[str] | None = None) -> Callable[[Event], None]:
    def render(event: Event) -> None:
        out = stream or sys.stderr
        line = f"{event['ts']} {event.get('phase') or '-'}: {printable(str(event['message']))}"
        if event.get("hint"):
            line += f"\n{event['ts']} {event.get('phase') or '-'}: what to do: {printable(event['hint'])}"
        out.write(line + "\n")
        out.flush()
    return render


def json_lines(stream: IO[str] | None = None) -> Callable[[Event], None]:
    def render(event: Event) -> None:
        out = stream or sys.stdout
        out.write(json.dumps(event, ensure_ascii=False, separators=(",", ":")) + "\n")
        out.flush()
    return render


def rich(peers: list[str]) -> Callable[[Event], None]:
    """Styled event lines scrolling above a live table: one row per peer, one column per
    pass, each cell the step's state. No refresh thread: it redraws on each event, so a
    confirmation prompt is never overdrawn."""
    from rich.live import Live
    from rich.table import Table
    from rich.text import Text

    from qdrantsec.output import console

    con = console(stderr=True)
    passes: list[str] = []
    cells: dict[tuple[str, str], str] = {}
    current = {"phase": "-"}
    live = Live(console=con, auto_refresh=False, transient=False)
    started = [False]

    def table() -> Table:
        t = Table(title=f"rotate-key: {current['phase']}", title_justify="left", box=None)
        t.add_column("peer", style="bold")
        for name in passes:
            t.add_column(name)
        for peer in peers:
            row = []
            for name in passes:
                st = cells.get((peer, name), "-")
                style = {"done": "green", "HALTED": "bold red", "-": "dim"}.get(st, "yellow")
                row.append(Text(st, style=style))
            t.add_row(printable(peer), *row)
        return t

    def render(event: Event) -> None:
        kind = event.get("event", "")
        peer = event.get("peer")
        current["phase"] = event.get("phase") or current["phase"]
        if kind == "phase" and event.get("pass") and event["pass"] not in passes:
            passes.append(event["pass"])
        if peer in peers and passes:
            state = {"peer-done": "done", "halted": "HALTED"}.get(kind, event.get("action") or kind)
            cells[(peer, passes[-1])] = state
        text = Text(f"{event['ts'][11:19]} ", style="dim")
        text.append(f"{_MARK.get(kind, '..'):>2} ", style=_STYLE.get(kind, ""))
        text.append(f"[{event.get('phase') or '-'}] ", style="cyan")
        text.append(printable(str(event["message"])), style=_STYLE.get(kind, ""))
        if not started[0]:
            live.start()
            started[0] = True
            # an error that ends the command without a final event must not leave the
            # terminal with a hidden cursor
            atexit.register(lambda: live.stop() if started[0] else None)
        con.print(text)
        if event.get("hint"):
            con.print(Text("   what to do: " + printable(event["hint"]), style="yellow"))
        live.update(table(), refresh=True)
        if kind in ("done", "halted", "paused", "aborted"):
            live.stop()
            started[0] = False
    return render


def make(fmt: str, peers: list[str]) -> Callable[[Event], None]:
    if fmt == "json":
        return json_lines()
    if sys.stderr is not None and sys.stderr.isatty():
        return rich(peers)
    return plain()


def print_plan(plan: dict[str, Any], fmt: str, stream: IO[str] | None = None) -> None:
    """The --dry-run output (data: stdout)."""
    out = stream or sys.stdout
    if fmt == "json":
        out.write(json.dumps({"event": "plan", **plan}, indent=2, ensure_ascii=False) + "\n")
        return
    p = printable
    lines = [f"rotate-key plan: {plan['sequence']} sequence",
             f"  why: {p(plan['reason'])}",
             f"  current key: {plan['keys']['old']}   new key: {plan['keys']['new']}",
             "  peers, in order:"]
    lines += [f"    {p(x['name'])} {p(x['url'])}: {p(x['driver'])}" for x in plan["peers"]]
    lines.append("  checks before and after every restart:")
    lines += [f"    * {p(c)}" for c in plan["checks"]]
    for w in plan.get("warnings", []):
        lines.append(f"  warning: {p(w)}")
    for n, phase in enumerate(plan["phases"], start=1):
        title = phase["phase"] + (f" ({phase['pass']} pass: {phase['target']})" if "pass" in phase else "")
        lines.append(f"{n}. {title}")
        if phase.get("why"):
            lines.append(f"   why: {p(phase['why'])}")
        for action in phase.get("actions", []):
            lines.append(f"   - {p(action)}")
        for step in phase.get("peers", []):
            actions = "; ".join(p(a) for a in step["actions"])
            lines.append(f"   {step['order']}) {p(step['peer'])}: {actions}")
    lines.append("dry run: nothing was changed")
    out.write("\n".join(lines) + "\n")


def print_summary(outcome: Any, fmt: str, stream: IO[str] | None = None) -> None:
    out = stream or sys.stdout
    if fmt == "json":
        out.write(json.dumps({"event": "summary", "state": outcome.state, "message": outcome.message,
                              **outcome.summary}, ensure_ascii=False, separators=(",", ":")) + "\n")
        return
    lines = [printable(outcome.message)]
    s = outcome.summary
    for peer in s.get("peers", []):
        passes = ", ".join(f"{k} {v['restart_s'] or 0:.1f}+{v['ready_s'] or 0:.1f}s"
                           for k, v in peer["passes"].items())
        lines.append(f"  {printable(peer['name'])}: restart {peer['restart_s']:.1f}s, until healthy "
                     f"{peer['ready_s']:.1f}s ({passes})")
    if s.get("key"):
        lines.append(f"  final key: {s['key']}")
    if s.get("backups"):
        lines.append("  backups of the previous configs (mode 0600: they hold keys):")
        lines += [f"    {printable(b)}" for b in s["backups"]]
    out.write("\n".join(lines) + "\n")


def print_status(status: dict[str, Any], fmt: str, stream: IO[str] | None = None) -> None:
    out = stream or sys.stdout
    if fmt == "json":
        out.write(json.dumps(status, indent=2, ensure_ascii=False) + "\n")
        return
    p = printable
    lines = [f"run {status['run_id']}: {status['state']} (phase {status['phase']}), "
             f"{status['sequence']} sequence",
             f"  keys: old {status['keys']['old']}, new {status['keys']['new']}",
             f"  switch: {status['switch']}"]
    for rp in status["passes"]:
        cells = ", ".join(f"{p(n)} {s['state']}" for n, s in rp["peers"].items())
        lines.append(f"  {rp['name']} ({rp['target']}): {cells}")
    if status.get("halt"):
        h = status["halt"]
        lines.append(f"  halted in {h['phase']}" + (f" at {p(h['peer'])}" if h.get("peer") else "")
                     + f": {p(h['message'])}")
        lines.append(f"  what to do: {p(h['todo'])}")
    lines.append(f"  updated {status['updated']}; journal {p(status['journal'])}")
    out.write("\n".join(lines) + "\n")
