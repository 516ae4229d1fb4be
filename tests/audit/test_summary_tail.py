"""`audit summary` counts and bursts, and `audit tail` (newest N; -f across Qdrant's hourly
rotation and pruning, written by the test peer's own audit writer; Ctrl-C exits 130)."""

from __future__ import annotations

import calendar
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.audit.helpers import qline, run, write
from tests.qdrant_peer.audit import AuditLog

REPO = Path(__file__).resolve().parents[2]


def test_summary_counts_and_internal_apart(tmp_path: Path) -> None:
    lines = [
        qline("2026-12-01T10:00:00Z", method="upsert_points", remote="10.0.0.5", collection="docs"),
        qline("2026-12-01T10:10:00Z", method="scroll", auth_type="Jwt", subject="alice", remote="10.0.0.6",
              collection="docs", result="denied", error="Forbidden: Access to collection docs is required"),
        qline("2026-12-01T11:00:00Z", api="/collections", auth_type="None", remote="10.0.0.7",
              result="denied", error="Unauthorized: Invalid API key or JWT"),
        # a replica write on a receiving peer: no remote, no api, auth None
        qline("2026-12-01T11:00:01Z", method="upsert_points", auth_type="None", collection="docs"),
    ]
    f = write(tmp_path / "audit.2026-12-01.log", lines)
    res = run("audit", "summary", str(f), "--format", "json")
    assert res.code == 0, res
    data = json.loads(res.out)
    assert data["total"] == 3
    assert data["by_result"] == {"denied": 2, "ok": 1}
    assert data["by_method"] == {"/collections": 1, "scroll": 1, "upsert_points": 1}
    assert data["by_collection"] == {"docs": 2, "(none)": 1}
    assert data["by_subject"] == {"(none)": 2, "alice": 1}
    assert data["by_remote"] == {"10.0.0.5": 1, "10.0.0.6": 1, "10.0.0.7": 1}
    assert data["by_auth_type"] == {"ApiKey": 1, "Jwt": 1, "None": 1}
    assert data["top_denied_subjects"] == {"(none)": 1, "alice": 1}
    assert data["hourly"] == [{"hour": "2026-12-01T10:00:00Z", "ok": 1, "denied": 1},
                              {"hour": "2026-12-01T11:00:00Z", "ok": 0, "denied": 1}]
    assert data["internal"] == {"total": 1, "by_method": {"upsert_points": 1}}
    assert data["bursts"] == []
    text = run("audit", "summary", str(f))
    assert text.code == 0
    assert text.lines[0] == ("3 entries from 2026-12-01T10:00:00.000Z to 2026-12-01T11:00:00.000Z; "
                             "1 internal (peer-to-peer) entries counted apart")
    assert "per hour (UTC)          ok  denied" in text.out


def test_summary_flags_a_burst_of_denied_requests(tmp_path: Path) -> None:
    guess = [qline(f"2026-12-01T10:00:{i:02d}.5Z", api="/collections", auth_type="None",
                   remote="203.0.113.9", result="denied", error="Unauthorized: Invalid API key or JWT")
             for i in range(40)]
    slow = [qline(f"2026-12-01T1{i % 10}:0{i // 10}:00Z", api="/collections", auth_type="None",
                  remote="10.0.0.8", result="denied", error="Unauthorized: Invalid API key or JWT")
            for i in range(40)]
    f = write(tmp_path / "audit.log", sorted(guess + slow, key=lambda x: json.loads(x)["timestamp"]))
    data = json.loads(run("audit", "summary", str(f), "-f", "json").out)
    assert data["bursts"] == [{"remote": "203.0.113.9", "start": "2026-12-01T10:00:00.500Z",
                               "end": "2026-12-01T10:00:39.500Z", "denied": 40}]
    assert json.loads(run("audit", "summary", str(f), "-f", "json", "--burst", "40/min").out)["bursts"] == []
    res = run("audit", "summary", str(f), "--burst", "many")
    assert res.code == 2 and res.err.startswith("qdrantsec: error: bad --burst 'many'")


def test_tail_prints_the_newest_oldest_first(tmp_path: Path) -> None:
    d = tmp_path / "audit"
    d.mkdir()
    write(d / "audit.2026-12-01-09.log", [qline(f"2026-12-01T09:00:0{i}Z") for i in range(5)])
    write(d / "audit.2026-12-01-10.log", [qline("2026-12-01T10:00:00Z", result="denied"),
                                          qline("2026-12-01T10:00:01Z")])
    res = run("audit", "tail", "--dir", str(d), "-n", "3")
    assert [o["timestamp"] for o in res.objects] == ["2026-12-01T09:00:04Z", "2026-12-01T10:00:00Z",
                                                     "2026-12-01T10:00:01Z"]
    res = run("audit", "tail", "--dir", str(d), "--result", "denied")
    assert [o["timestamp"] for o in res.objects] == ["2026-12-01T10:00:00Z"]
    res = run("audit", "tail", "--dir", str(d / "nope"))
    assert res.code == 2 and res.err.startswith("qdrantsec: error: audit directory not found")


class Clock:
    def __init__(self, ns: int) -> None:
        self.ns = ns

    def __call__(self) -> int:
        return self.ns


def _wait_lines(path: Path, n: int, proc: subprocess.Popen[bytes], timeout: float = 20.0) -> list[dict]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        lines = path.read_text().splitlines() if path.exists() else []
        if len(lines) >= n:
            return [json.loads(x) for x in lines]
        assert proc.poll() is None, path.read_text()
        time.sleep(0.05)
    raise AssertionError(f"wanted {n} lines, got: {path.read_text()}")


def test_tail_follows_across_hourly_rotation_and_pruning(tmp_path: Path) -> None:
    workdir = tmp_path / "peer"
    workdir.mkdir()
    hour = 3600 * 10**9
    clock = Clock(calendar.timegm((2026, 12, 1, 9, 59, 0, 0, 0, 0)) * 10**9)
    log = AuditLog({"enabled": True, "dir": "./audit", "rotation": "hourly", "max_log_files": 2},
                   workdir, clock=clock)

    def write_entry(i: int, **kw: str) -> None:
        log.write(method="upsert_points", api="/collections/docs/points", auth_type="ApiKey",
                  subject=None, remote="10.0.0.5", collection="docs", tracing_id=f"t{i}",
                  result=kw.get("result", "ok"), error=kw.get("error"))
        clock.ns += 10**9

    audit_dir = workdir / "audit"
    write_entry(0)
    write_entry(1, result="denied", error="Forbidden: Write access to collection docs is required")
    out = tmp_path / "out.jsonl"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    with open(out, "wb") as fh:
        proc = subprocess.Popen(
            [sys.executable, "-m", "qdrantsec", "audit", "tail", "--dir", str(audit_dir), "-f", "-n", "1",
             "--poll", "0.05", "--format", "jsonl"], stdout=fh, stderr=subprocess.PIPE, env=env)
    try:
        assert [e["tracing_id"] for e in _wait_lines(out, 1, proc)] == ["t1"]
        write_entry(2)
        _wait_lines(out, 2, proc)
        clock.ns += hour  # the next write opens audit.2026-12-01-10.log
        write_entry(3)
        write_entry(4, result="denied", error="Forbidden: Write access to collection docs is required")
        _wait_lines(out, 4, proc)
        clock.ns += hour  # ...-11.log; max_log_files 2 prunes ...-09.log
        write_entry(5)
        got = _wait_lines(out, 5, proc)
        names = sorted(p.name for p in audit_dir.iterdir())
        assert names == ["audit.2026-12-01-10.log", "audit.2026-12-01-11.log"]
        assert [e["tracing_id"] for e in got] == ["t1", "t2", "t3", "t4", "t5"]
        # jsonl: the writer's lines byte for byte
        written = b"".join(p.read_bytes() for p in sorted(audit_dir.iterdir()))
        assert out.read_bytes().splitlines()[2:] == written.splitlines()
        proc.send_signal(signal.SIGINT)
        code = proc.wait(20)
        err = proc.stderr.read().decode() if proc.stderr else ""
        assert code == 130, err
        assert "Traceback" not in err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
        log.close()


@pytest.mark.parametrize("args", [["--format", "json"]])
def test_tail_refuses_json(tmp_path: Path, args: list[str]) -> None:
    d = tmp_path / "a"
    d.mkdir()
    write(d / "audit.log", [qline("2026-12-01T10:00:00Z")])
    res = run("audit", "tail", "--dir", str(d), *args)
    assert res.code == 2 and res.err.startswith("qdrantsec: error: tail cannot write json")


@pytest.mark.parametrize("follow", [[], ["-f"]])
def test_tail_of_a_file_points_to_query(tmp_path: Path, follow: list[str]) -> None:
    # tail takes no FILE arguments: "pass files as arguments instead" was no way out
    f = write(tmp_path / "audit.2026-12-01.log", [qline("2026-12-01T10:00:00Z")])
    res = run("audit", "tail", "--dir", str(f), *follow)
    assert res.code == 2 and res.out == ""
    assert res.err == (f"qdrantsec: error: --dir {f} is not a directory\n"
                       "qdrantsec: hint: tail reads Qdrant's audit directory (audit.dir); to read one "
                       f"file: qdrantsec audit query {f}\n")
    res = run("audit", "query", "--dir", str(f))
    assert res.code == 2 and res.err.endswith("qdrantsec: hint: pass files as arguments instead\n")


def test_tail_follow_waits_for_the_first_file(tmp_path: Path) -> None:
    audit_dir = tmp_path / "audit"
    audit_dir.mkdir()
    out = tmp_path / "out.jsonl"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    with open(out, "wb") as fh:
        proc = subprocess.Popen(
            [sys.executable, "-m", "qdrantsec", "audit", "tail", "--dir", str(audit_dir), "-f",
             "--poll", "0.05", "--result", "denied"], stdout=fh, stderr=subprocess.PIPE, env=env)
    log = None
    try:
        log = AuditLog({"enabled": True, "dir": "./audit"}, tmp_path)  # creates today's file
        for result in ("ok", "denied"):
            error = "Forbidden: Access to collection docs is required" if result == "denied" else None
            log.write(method="scroll", api=None, auth_type="None", subject=None, remote="10.0.0.9",
                      collection="docs", tracing_id=result, result=result, error=error)
        got = _wait_lines(out, 1, proc)
        assert [e["tracing_id"] for e in got] == ["denied"]
        proc.send_signal(signal.SIGINT)
        assert proc.wait(20) == 130
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
        if log is not None:
            log.close()
