"""rotate-key on 5 peers with the file driver: total wall time against the floor.

The floor is what no rolling rotation can beat: the sum of each peer's restart-to-ready
time (the restart command until ``/readyz`` answers 200, measured alone, median of
``--floor-runs``), times the number of rolling passes (2 for the 3-step sequence, 3 for
4-step). The rotation's wall time is ``qdrantsec rotate-key`` as a child process, from start
to exit, including its own start-up, preflight, the checks before each peer and the gate
after each restart (whose ``--settle`` window watches message_send_failures).

Peers are ``tests.qdrant_peer`` processes restarted through ``tests/rotation/restart_peer.py``
(pid file, like an init system). A test peer restarts in well under a second, far faster
than a Qdrant loading its collections, so each scenario also runs with ``--start-delay``
seconds added to every start (``start-delay`` in the peer's directory), closer to a real
server. Every rotation is checked: exit 0, every config api_key=NEW and no alt_api_key.

Usage::

    .venv/bin/python bench/bench_rotate.py [--peers 5] [--start-delay 3] [--write bench/RESULTS.md]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.rotation.rotlib import RESTART, Cluster, qdrantsec  # noqa: E402

BEGIN = "<!-- bench_rotate:begin -->"
END = "<!-- bench_rotate:end -->"


def restart_to_ready(c: Cluster, node: object) -> float:
    import httpx

    t0 = time.monotonic()
    subprocess.run([sys.executable, str(RESTART), str(node.dir)], check=True,  # type: ignore[attr-defined]
                   capture_output=True, timeout=60)
    while True:
        try:
            if httpx.get(node.url + "/readyz", timeout=2).status_code == 200:  # type: ignore[attr-defined]
                return time.monotonic() - t0
        except httpx.HTTPError:
            pass
        time.sleep(0.005)


def floor_per_pass(c: Cluster, runs: int) -> float:
    total = 0.0
    for node in c.nodes:
        total += statistics.median(restart_to_ready(c, node) for _ in range(runs))
        time.sleep(0.5)  # let the cluster settle before the next peer
    return total


def rotate(c: Cluster, old: Path, new: Path, settle: float | None, extra: list[str]) -> float:
    t0 = time.monotonic()
    res = qdrantsec(["rotate-key", "--inventory", str(c.root / "inventory.yaml"), "--api-key-file",
                     str(old), "--new-key-file", str(new), "--journal",
                     str(c.root / f"j-{time.time_ns()}.json"), "--yes",
                     *([] if settle is None else ["--settle", str(settle)]),
                     "--peer-timeout", "60", *extra], timeout=600)
    wall = time.monotonic() - t0
    if res.returncode != 0:
        raise SystemExit(f"rotation failed ({res.returncode}):\n{res.stderr[-3000:]}")
    return wall


def check(c: Cluster, key: str) -> None:
    import yaml

    for node in c.nodes:
        service = yaml.safe_load(node.config_path.read_text())["service"]
        assert service.get("api_key") == key and "alt_api_key" not in service, node.name


def settle_label(settle: float | None) -> str:
    return "default (2 s, early end)" if settle is None else f"{settle:g} s"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--peers", type=int, default=5)
    ap.add_argument("--floor-runs", type=int, default=3)
    ap.add_argument("--start-delay", type=float, default=3.0)
    ap.add_argument("--write", metavar="RESULTS.md")
    args = ap.parse_args()

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        c = Cluster(Path(tmp) / "c", args.peers)
        c.inventory()
        old, new = c.root / "old.key", c.root / "new.key"
        try:
            for delay in (0.0, args.start_delay):
                for node in c.nodes:
                    (node.dir / "start-delay").write_text(str(delay))
                floor = floor_per_pass(c, args.floor_runs)
                # None: qdrantsec's default (--settle 2, ended early on evidence); 0: no
                # observation window at all, the tool's own cost
                for seq, passes, settle, extra in (
                        ("3-step", 2, None, ["--internal-auth", "off"]),
                        ("4-step", 3, None, ["--internal-auth", "on"]),
                        ("3-step", 2, 0.0, ["--internal-auth", "off"])):
                    wall = rotate(c, old, new, settle, extra)
                    check(c, new.read_text().strip())
                    old, new = new, old          # the next rotation goes back
                    rows.append((delay, seq, passes, settle, floor * passes, wall))
                    print(f"start delay {delay:.1f}s {seq} settle {settle_label(settle)}: "
                          f"floor {floor * passes:.2f}s, "
                          f"wall {wall:.2f}s, overhead {(wall / (floor * passes) - 1) * 100:+.0f}%",
                          flush=True)
        finally:
            c.stop_all()
    table = ["| peer start | sequence | passes | --settle | floor (s) | rotate-key wall (s) | overhead |",
             "|---|---|---|---|---|---|---|"]
    for delay, seq, passes, settle, floor, wall in rows:
        label = "test peer as is" if delay == 0 else f"+{delay:g} s per start"
        table.append(f"| {label} | {seq} | {passes} | {settle_label(settle)} | {floor:.2f} | {wall:.2f} | "
                     f"{(wall / floor - 1) * 100:+.0f}% |")
    text = "\n".join(table)
    print(text)
    if args.write:
        path = Path(args.write)
        doc = path.read_text()
        block = (f"{BEGIN}\n{args.peers} peers, file driver; floor = sum of the peers' "
                 f"restart-to-ready medians ({args.floor_runs} runs each) x passes.\n\n"
                 f"{text}\n{END}")
        if BEGIN in doc:
            doc = doc.split(BEGIN)[0] + block + doc.split(END, 1)[1]
        else:
            doc = doc.rstrip("\n") + "\n\n" + block + "\n"
        path.write_text(doc)


if __name__ == "__main__":
    main()
