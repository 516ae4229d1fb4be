"""Benchmark: `qdrantsec audit query FILE --result denied --collection X --limit 0 --format
jsonl` vs `jq -c 'select(.result=="denied" and .collection=="X")'` on the same generated
audit log, plus qdrantsec's peak memory for a 100 MB and a 1 GB file.

The log is generated (to /tmp, never the repository) in Qdrant's exact line format:
AuditEvent members in Qdrant's order, compact JSON, RFC 3339 UTC timestamps with nine
fractional digits, with a mix of API-key traffic, JWT traffic with subjects, denials by
access, denied authentication and replica writes from other peers. The tools alternate in
one loop so that machine noise hits both; medians are reported. Peak RSS comes from
wait4's ru_maxrss of the qdrantsec process.

    .venv/bin/python bench/bench_audit.py [--size-mb 1024] [--runs 3] [--dir /tmp/qdrantsec-bench-audit]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QDRANTSEC = ROOT / ".venv" / "bin" / "qdrantsec"
COLLECTION = "tenant_07"
ORDER = ("timestamp", "method", "api", "auth_type", "subject", "remote", "collection",
         "tracing_id", "result", "error")


def _line(fields: dict[str, str]) -> str:
    return json.dumps({k: fields[k] for k in ORDER if k in fields}, separators=(",", ":"),
                      ensure_ascii=False) + "\n"


def generate(path: Path, size: int, seed: int = 7) -> int:
    """Write about ``size`` bytes of audit lines; returns the number of lines."""
    rnd = random.Random(seed)
    collections = [f"tenant_{i:02d}" for i in range(20)] + ["docs", "logs"]
    remotes = [f"10.0.{i // 50}.{i % 50 + 2}" for i in range(200)]
    subjects = [f"user-{i}@example.com" for i in range(60)]
    writes = ["upsert_points", "delete_points", "set_payload", "update_vectors"]
    reads = ["scroll", "core_search_batch", "query_batch", "retrieve", "count", "facet"]
    ts = 1796119200 * 10**9  # 2026-12-01T10:00:00Z
    written = lines = 0
    buf: list[str] = []
    with open(path, "w", encoding="utf-8") as fh:
        while written < size:
            ts += rnd.randint(1, 2_000_000)
            secs, frac = divmod(ts, 10**9)
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs)) + f".{frac:09d}Z"
            c = rnd.choice(collections)
            r = rnd.random()
            f: dict[str, str] = {"timestamp": stamp}
            if r < 0.55:  # api key clients
                m = rnd.choice(reads + writes)
                f.update(method=m, api=f"/collections/{c}/points", auth_type="ApiKey",
                         remote=rnd.choice(remotes), collection=c, result="ok")
            elif r < 0.80:  # JWT clients with a subject
                m = rnd.choice(reads + writes)
                f.update(method=m, api=f"/collections/{c}/points/query", auth_type="Jwt",
                         subject=rnd.choice(subjects), remote=rnd.choice(remotes), collection=c,
                         result="ok")
            elif r < 0.88:  # denied by access
                f.update(method=rnd.choice(writes), api=f"/collections/{c}/points", auth_type="Jwt",
                         subject=rnd.choice(subjects), remote=rnd.choice(remotes), collection=c,
                         result="denied", error=f"Forbidden: Write access to collection {c} is required")
            elif r < 0.93:  # denied authentication
                f.update(api="/collections", auth_type="None", remote=rnd.choice(remotes),
                         result="denied", error="Unauthorized: Invalid API key or JWT")
            else:  # replica writes from another peer
                f.update(method="upsert_points", auth_type="None", collection=c, result="ok")
            if rnd.random() < 0.5 and "remote" in f:
                f["tracing_id"] = f"req-{rnd.getrandbits(48):012x}"
            buf.append(_line(f))
            lines += 1
            if len(buf) >= 10000:
                chunk = "".join(buf)
                fh.write(chunk)
                written += len(chunk.encode())
                buf.clear()
        fh.write("".join(buf))
    return lines


def _timed(argv: list[str], out: Path) -> tuple[float, int]:
    """Wall seconds and peak RSS (KiB, from wait4) of one run writing stdout to ``out``."""
    with open(out, "wb") as fh:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=fh, stderr=subprocess.DEVNULL)
        _pid, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{argv[0]} exited {proc.returncode}")
    return elapsed, usage.ru_maxrss


def qdrantsec_argv(path: Path) -> list[str]:
    return [str(QDRANTSEC), "audit", "query", str(path), "--result", "denied", "--collection", COLLECTION,
            "--limit", "0", "--format", "jsonl"]


def jq_argv(path: Path) -> list[str]:
    return ["jq", "-c", f'select(.result=="denied" and .collection=="{COLLECTION}")', str(path)]


def same_answer(ours: Path, theirs: Path) -> bool:
    a = sorted(json.loads(x)["timestamp"] for x in ours.read_text().splitlines())
    b = sorted(json.loads(x)["timestamp"] for x in theirs.read_text().splitlines())
    return a == b and len(a) > 0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size-mb", type=int, default=1024)
    ap.add_argument("--small-mb", type=int, default=100)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--dir", default="/tmp/qdrantsec-bench-audit")
    args = ap.parse_args()
    if not shutil.which("jq"):
        raise SystemExit("jq is not installed (apt-get install jq)")
    d = Path(args.dir)
    d.mkdir(parents=True, exist_ok=True)
    big, small = d / "audit.big.log", d / "audit.small.log"
    for path, mb in ((big, args.size_mb), (small, args.small_mb)):
        if not path.exists() or abs(path.stat().st_size - mb * 2**20) > 2**20:
            t = time.perf_counter()
            n = generate(path, mb * 2**20)
            print(f"generated {path} ({n} lines, {path.stat().st_size / 2**20:.0f} MiB) in "
                  f"{time.perf_counter() - t:.0f} s", file=sys.stderr)
    size_mb = big.stat().st_size / 2**20
    ours_t: list[float] = []
    jq_t: list[float] = []
    rss_big: list[int] = []
    for i in range(args.runs):
        t, rss = _timed(qdrantsec_argv(big), d / "ours.jsonl")
        ours_t.append(t)
        rss_big.append(rss)
        jq_t.append(_timed(jq_argv(big), d / "jq.jsonl")[0])
        print(f"run {i + 1}: qdrantsec {ours_t[-1]:.2f} s, jq {jq_t[-1]:.2f} s", file=sys.stderr)
    ok = same_answer(d / "ours.jsonl", d / "jq.jsonl")
    rss_small = [_timed(qdrantsec_argv(small), d / "ours-small.jsonl")[1] for _ in range(args.runs)]
    matches = len((d / "ours.jsonl").read_text().splitlines())
    mo, mj = statistics.median(ours_t), statistics.median(jq_t)
    print(json.dumps({
        "file_mib": round(size_mb), "matches": matches, "same_answer_as_jq": ok, "runs": args.runs,
        "qdrantsec_s": round(mo, 2), "jq_s": round(mj, 2), "speedup": round(mj / mo, 1),
        "qdrantsec_mib_per_s": round(size_mb / mo), "jq_mib_per_s": round(size_mb / mj),
        "peak_rss_mib": {f"{round(small.stat().st_size / 2**20)}": round(max(rss_small) / 1024, 1),
                         f"{round(size_mb)}": round(max(rss_big) / 1024, 1)},
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }, indent=2))


if __name__ == "__main__":
    main()
