"""rotate-key against real peer processes with real restarts (tests/qdrant_peer via
tests/rotation/restart_peer.py), qdrantsec itself run as a child process.

Every test ends with the property the tool exists for: every peer accepts the key the
clients hold, and neither key shows up in the journal, the output or any child's argv.
"""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.peer.peerlib import free_port
from tests.rotation.rotlib import (
    FAST,
    NEW,
    OLD,
    Cluster,
    LoadGen,
    keys_absent,
    qdrantsec,
    switch_cmd,
)


@pytest.fixture
def clusters(tmp_path: Path) -> Iterator[list[Cluster]]:
    made: list[Cluster] = []
    yield made
    for c in made:
        c.stop_all()


def _cluster(clusters: list[Cluster], root: Path, n: int = 3, **kw: Any) -> Cluster:
    c = Cluster(root / f"c{len(clusters)}", n, **kw)
    clusters.append(c)
    return c


def _keys(c: Cluster) -> list[str]:
    return ["--api-key-file", str(c.root / "old.key"), "--new-key-file", str(c.root / "new.key")]


def _journal(c: Cluster) -> Path:
    return c.root / "rotate.journal.json"


def _run(c: Cluster, *extra: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return qdrantsec(["rotate-key", "--inventory", str(c.root / "inventory.yaml"), *_keys(c),
                      "--journal", str(_journal(c)), *FAST, *extra], env=env)


def _resume(c: Cluster, *extra: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return qdrantsec(["rotate-key", "resume", *_keys(c), "--journal", str(_journal(c)), *extra], env=env)


def _abort(c: Cluster, *extra: str) -> subprocess.CompletedProcess[str]:
    return qdrantsec(["rotate-key", "abort", *_keys(c), "--journal", str(_journal(c)), "--yes", *extra])


def _accepting(c: Cluster) -> dict[str, tuple[bool, bool]]:
    return {n.name: (c.accepts(n, OLD), c.accepts(n, NEW)) for n in c.nodes}


def _config_keys(c: Cluster) -> list[tuple[str | None, str | None]]:
    out = []
    for node in c.nodes:
        if c.driver == "env-file":
            env = dict(line.split("=", 1) for line in node.env_path.read_text().splitlines()
                       if "=" in line and not line.startswith("#"))
            out.append((env.get("QDRANT__SERVICE__API_KEY"), env.get("QDRANT__SERVICE__ALT_API_KEY")))
        else:
            service = yaml.safe_load(node.config_path.read_text())["service"]
            out.append((service.get("api_key"), service.get("alt_api_key")))
    return out


def _no_leaks(c: Cluster, *results: subprocess.CompletedProcess[str]) -> None:
    journal = _journal(c)
    if journal.exists():
        assert stat.S_IMODE(journal.stat().st_mode) == 0o600
        keys_absent(journal.read_text())
    keys_absent(c.argv_logs(), *(r.stdout + r.stderr for r in results))
    for node in c.nodes:
        keys_absent((node.dir / "launch.json").read_text())


def _final_new(c: Cluster) -> None:
    assert _config_keys(c) == [(NEW, None)] * len(c.nodes)
    assert set(_accepting(c).values()) == {(False, True)}
    for node in c.nodes:
        text = c.path_of(node).read_text()
        assert "comments must survive" in text.lower()


class FailureSampler(threading.Thread):
    """Samples every peer's message_send_failures while a rotation runs."""

    def __init__(self, c: Cluster) -> None:
        super().__init__(daemon=True)
        self.c = c
        self.errors: set[str] = set()
        self._quit = threading.Event()

    def run(self) -> None:
        while not self._quit.is_set():
            for node in self.c.nodes:
                try:
                    for entry in self.c.failures_of(node).values():
                        self.errors.add(str(entry.get("latest_error")))
                except Exception:  # a peer restarting
                    pass
            time.sleep(0.05)

    def stop(self) -> None:
        self._quit.set()
        self.join(10)


# -- the main flows ---------------------------------------------------------------------------


def test_three_step_file_driver_under_load(clusters: list[Cluster], tmp_path: Path) -> None:
    c = _cluster(clusters, tmp_path, 3, enforce=False)
    c.inventory()
    dry = _run(c, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "3-step sequence" in dry.stdout and "enforce_internal_auth is off" in dry.stdout
    assert "nothing was changed" in dry.stdout
    assert not _journal(c).exists() and _config_keys(c) == [(OLD, None)] * 3

    load = LoadGen(c, c.root / "switch.flag", c.root / "switch.ack")
    load.start()
    try:
        res = _run(c, "--switch-cmd", switch_cmd(c.root))
    finally:
        load.stop()
    assert res.returncode == 0, res.stderr
    assert load.auth_failures == []
    assert load.counts["200"] > 100 and load.key == NEW
    _final_new(c)
    journal = json.loads(_journal(c).read_text())
    assert journal["state"] == "done" and journal["sequence"] == "3-step"
    assert "cannot prove that the clients have switched" in res.stderr
    assert "rotation finished" in res.stdout and "backups of the previous configs" in res.stdout
    for backup in journal["backups"]:
        assert stat.S_IMODE(os.stat(backup).st_mode) == 0o600
    _no_leaks(c, dry, res)
    # every request of qdrantsec carried the run's x-request-id: in every peer's audit log,
    # each entry is the harness's, the load generator's or a rotate-key run's (this one or
    # the dry run's)
    resp = c.request(c.nodes[0], "POST", "/audit/logs", NEW, json={"limit": 10000})
    entries = resp.json()["result"]["entries"]
    assert len(entries) < 10000
    ours = [e for e in entries
            if e.get("tracing_id") == f"qdrantsec-rotate-{journal['run_id']}"]
    assert len(ours) > 10
    others = {e.get("tracing_id") for e in entries if e not in ours}
    others = {i for i in others if not (i or "").startswith("qdrantsec-rotate-")}  # the dry run
    assert others <= {"harness", "loadgen"}, others


def test_four_step_keeps_internal_calls_working(clusters: list[Cluster], tmp_path: Path) -> None:
    c = _cluster(clusters, tmp_path, 3, enforce=True)
    c.inventory()
    sampler = FailureSampler(c)
    load = LoadGen(c, c.root / "switch.flag", c.root / "switch.ack")
    sampler.start()
    load.start()
    try:
        res = _run(c, "--switch-cmd", switch_cmd(c.root), "--format", "json")
    finally:
        load.stop()
        sampler.stop()
    assert res.returncode == 0, res.stderr
    events = [json.loads(line) for line in res.stdout.splitlines()]
    assert events[-1]["event"] == "summary" and events[-1]["state"] == "done"
    assert [e["pass"] for e in events if e["event"] == "phase" and "pass" in e] == \
        ["stage", "promote", "finish"]
    assert load.auth_failures == []
    # restarts cause connection errors; never an internal 401
    assert not [e for e in sampler.errors if "Unauthenticated" in e], sampler.errors
    _final_new(c)
    _no_leaks(c, res)


def test_three_step_breaks_internal_auth_and_the_gate_halts(clusters: list[Cluster],
                                                            tmp_path: Path) -> None:
    """enforce_internal_auth is set in config.yaml, which the env-file driver cannot see;
    told --internal-auth off, qdrantsec takes the 3-step sequence. The first promote restart
    makes peers refuse each other (401) although /readyz is 200: the gate sees it in
    message_send_failures and halts before the next peer. Abort repairs it."""
    c = _cluster(clusters, tmp_path, 3, enforce=True, driver="env-file")
    c.inventory()
    res = _run(c, "--internal-auth", "off", "--yes")
    assert res.returncode == 20, res.stderr
    assert "halted at node-1" in res.stderr and "Unauthenticated" in res.stderr
    # refusals that outlast the --settle window end the wait at once, not at --peer-timeout
    assert "internal calls refused" in res.stderr and "--peer-timeout" not in res.stderr
    assert c.request(c.nodes[0], "GET", "/readyz", None).status_code == 200
    errors = " ".join(str(e.get("latest_error")) for f in c.failures().values() for e in f.values())
    assert "Unauthenticated" in errors
    assert _config_keys(c)[1:] == [(OLD, NEW)] * 2      # node-2 and node-3 were not touched
    ab = _abort(c)
    assert ab.returncode == 0, ab.stderr
    assert set(_accepting(c).values()) == {(True, True)}   # clients hold NEW, peers send either
    time.sleep(1)
    assert all(f == {} for f in c.failures().values())
    _no_leaks(c, res, ab)


# -- faults ---------------------------------------------------------------------------------


def test_failed_restart_halts_then_resume_finishes(clusters: list[Cluster], tmp_path: Path) -> None:
    c = _cluster(clusters, tmp_path, 3)
    c.inventory()
    (c.nodes[1].dir / "fail-restart").touch()
    res = _run(c, "--yes")
    assert res.returncode == 20, res.stderr
    assert "stage halted at node-2" in res.stderr
    assert "the restart failed" in res.stderr and "exit" in res.stderr
    assert "simulated restart failure" in res.stderr
    assert "rotate-key resume" in res.stderr
    assert _config_keys(c)[2] == (OLD, None)            # node-3 untouched
    assert not (c.nodes[2].dir / "argv.log").read_text().count("\n") > 1
    status = qdrantsec(["rotate-key", "status", "--journal", str(_journal(c))])
    assert status.returncode == 0 and "halted" in status.stdout and "node-2" in status.stdout
    (c.nodes[1].dir / "fail-restart").unlink()
    again = _resume(c, "--yes")
    assert again.returncode == 0, again.stderr
    _final_new(c)
    _no_leaks(c, res, again, status)


def test_peer_never_back_halts_then_resume(clusters: list[Cluster], tmp_path: Path) -> None:
    c = _cluster(clusters, tmp_path, 3)
    c.inventory()
    (c.nodes[0].dir / "no-start").touch()
    res = _run(c, "--yes", "--peer-timeout", "3")
    assert res.returncode == 20, res.stderr
    assert "halted at node-1" in res.stderr and "not healthy within --peer-timeout 3 s" in res.stderr
    assert _config_keys(c)[1:] == [(OLD, None)] * 2
    (c.nodes[0].dir / "no-start").unlink()
    again = _resume(c, "--yes")
    assert again.returncode == 0, again.stderr
    _final_new(c)


def test_peer_up_but_never_ready_halts_then_resume(clusters: list[Cluster], tmp_path: Path) -> None:
    """node-2 comes back answering HTTP, but its p2p listener is on another port than its URI
    names: the others cannot reach it, so it never gets the entry committed while it was down
    and its /readyz stays 503. The rollout halts before node-3; once the port is fixed, resume
    restarts node-2 again and finishes."""
    c = _cluster(clusters, tmp_path, 3)
    c.inventory()
    node2 = c.nodes[1]
    (node2.dir / "p2p-port").write_text(str(free_port()))
    (node2.dir / "start-delay").write_text("1.0")

    def commit_while_node2_is_down() -> None:
        pid = node2.dir / "pid"
        deadline = time.monotonic() + 60
        while pid.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        resp = c.request(c.nodes[0], "PUT", "/collections/late", OLD,
                         json={"vectors": {"size": 4, "distance": "Cosine"}})
        assert resp.status_code == 200, resp.text

    writer = threading.Thread(target=commit_while_node2_is_down, daemon=True)
    writer.start()
    res = _run(c, "--yes", "--peer-timeout", "4")
    writer.join(timeout=5)
    assert res.returncode == 20, res.stderr
    assert "stage halted at node-2" in res.stderr
    assert "not healthy within --peer-timeout 4 s" in res.stderr and "/readyz not ready" in res.stderr
    assert c.request(node2, "GET", "/readyz", None).status_code == 503   # up, never ready
    assert _config_keys(c)[2] == (OLD, None)                               # node-3 untouched
    (node2.dir / "p2p-port").unlink()
    (node2.dir / "start-delay").unlink()
    again = _resume(c, "--yes")
    assert again.returncode == 0, again.stderr
    _final_new(c)
    listed = c.request(node2, "GET", "/collections", NEW).json()["result"]["collections"]
    assert {"name": "late"} in listed                                     # it caught up
    _no_leaks(c, res, again)


def test_peer_rejecting_the_new_key_halts_and_abort_restores(clusters: list[Cluster],
                                                             tmp_path: Path) -> None:
    c = _cluster(clusters, tmp_path, 3)
    decoy = c.nodes[1].dir / "not-the-config.yaml"
    decoy.write_text(c.nodes[1].config_path.read_text())
    c.inventory(**{"node-2": {"path": str(decoy)}})
    res = _run(c, "--yes")
    assert res.returncode == 20, res.stderr
    assert "halted at node-2" in res.stderr and "rejects the NEW key" in res.stderr
    assert _config_keys(c)[2] == (OLD, None)
    ab = _abort(c)
    assert ab.returncode == 0, ab.stderr
    assert "back to the old key" in ab.stdout
    assert set(_accepting(c).values()) == {(True, False)}
    assert _config_keys(c) == [(OLD, None)] * 3
    _no_leaks(c, res, ab)


def test_sigkill_at_every_step_then_resume(clusters: list[Cluster], tmp_path: Path) -> None:
    """qdrantsec is SIGKILLed after its N-th journal write, again and again (N varying, so
    that every step state is hit), and resumed each time, under client load."""
    c = _cluster(clusters, tmp_path, 3)
    c.inventory()
    load = LoadGen(c, c.root / "switch.flag", c.root / "switch.ack")
    load.start()
    seen: set[tuple[str, str]] = set()
    results = []
    try:
        sw = ["--switch-cmd", switch_cmd(c.root)]
        res = _run(c, *sw, env={"QDRANTSEC_TEST_KILL_AFTER_SAVE": "5"})
        results.append(res)
        for n in [3, 4, 5, 6, 3, 4, 5, 6, 3, 4, 5, 6, 3, 4, 5, 6, 3, 4, 5, 6]:
            assert res.returncode == -signal.SIGKILL, res.stderr
            data = json.loads(_journal(c).read_text())
            for rp in data["passes"]:
                for st in rp["peers"].values():
                    if st["state"] not in ("pending", "done"):
                        seen.add((rp["name"], st["state"]))
            res = _resume(c, *sw, env={"QDRANTSEC_TEST_KILL_AFTER_SAVE": str(n)})
            results.append(res)
            if res.returncode != -signal.SIGKILL:
                break
        if res.returncode == -signal.SIGKILL:
            res = _resume(c, *sw)
            results.append(res)
    finally:
        load.stop()
    assert res.returncode == 0, res.stderr
    assert {s for _, s in seen} >= {"config-written", "restarting", "restarted"}
    assert {p for p, _ in seen} == {"stage", "promote"}
    assert load.auth_failures == []
    _final_new(c)
    _no_leaks(c, *results)


# -- abort in every phase ---------------------------------------------------------------------


def test_abort_in_stage(clusters: list[Cluster], tmp_path: Path) -> None:
    c = _cluster(clusters, tmp_path, 3)
    c.inventory()
    (c.nodes[2].dir / "fail-restart").touch()
    res = _run(c, "--yes")
    assert res.returncode == 20
    assert _config_keys(c) == [(OLD, NEW), (OLD, NEW), (OLD, NEW)]   # node-3 written, not restarted
    (c.nodes[2].dir / "fail-restart").unlink()
    ab = _abort(c)
    assert ab.returncode == 0, ab.stderr
    assert _config_keys(c) == [(OLD, None)] * 3
    assert set(_accepting(c).values()) == {(True, False)}
    assert json.loads(_journal(c).read_text())["state"] == "aborted"
    again = _resume(c, "--yes")
    assert again.returncode == 2 and "aborted; nothing to resume" in again.stderr
    assert "resuming" not in again.stderr   # one line: nothing is said to be resumed


def test_abort_at_the_pause(clusters: list[Cluster], tmp_path: Path) -> None:
    c = _cluster(clusters, tmp_path, 3)
    c.inventory()
    res = _run(c, "--pause")
    assert res.returncode == 21, res.stderr
    assert "paused at the switch" in res.stdout
    assert set(_accepting(c).values()) == {(True, True)}
    status = qdrantsec(["rotate-key", "status", "--journal", str(_journal(c)), "--format", "json"])
    assert json.loads(status.stdout)["state"] == "paused"
    ab = _abort(c)
    assert ab.returncode == 0, ab.stderr
    assert set(_accepting(c).values()) == {(True, False)}
    assert _config_keys(c) == [(OLD, None)] * 3


def test_pause_then_resume_finishes(clusters: list[Cluster], tmp_path: Path) -> None:
    c = _cluster(clusters, tmp_path, 3, enforce=True)
    c.inventory()
    res = _run(c, "--pause")
    assert res.returncode == 21, res.stderr
    again = _resume(c)      # no TTY, no --yes: resuming after --pause means the clients switched
    assert again.returncode == 0, again.stderr
    _final_new(c)


def _kill_when(proc: subprocess.Popen[str], journal: Path, pass_name: str, peer: str) -> None:
    while proc.poll() is None:
        try:
            data = json.loads(journal.read_text())
        except (OSError, ValueError):
            data = None
        if data:
            for rp in data["passes"]:
                if rp["name"] == pass_name and rp["peers"][peer]["state"] == "done":
                    proc.send_signal(signal.SIGKILL)
                    return
        time.sleep(0.02)


@pytest.mark.parametrize("pass_name", ["promote", "finish"])
def test_abort_after_the_switch_keeps_the_clients_key(clusters: list[Cluster], tmp_path: Path,
                                                      pass_name: str) -> None:
    c = _cluster(clusters, tmp_path, 3, enforce=True)
    c.inventory()
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("QDRANT")}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[2])
    proc = subprocess.Popen(
        [sys.executable, "-m", "qdrantsec", "rotate-key", "--inventory", str(c.root / "inventory.yaml"),
         *_keys(c), "--journal", str(_journal(c)), *FAST, "--yes"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    _kill_when(proc, _journal(c), pass_name, "node-1")
    proc.wait(60)
    assert proc.returncode == -signal.SIGKILL
    ab = _abort(c)
    assert ab.returncode == 0, ab.stderr
    assert "aborted after the switch" in ab.stdout
    assert set(_accepting(c).values()) == {(True, True)}
    time.sleep(1)
    assert all(f == {} for f in c.failures().values())


# -- TLS, env-file, 5 peers ------------------------------------------------------------------------


def test_five_peers_tls_env_file(clusters: list[Cluster], tmp_path: Path) -> None:
    from tests.peer.test_cluster import Certs

    certs = Certs(tmp_path / "certs")
    c = _cluster(clusters, tmp_path, 5, enforce=True, driver="env-file", tls=certs)
    c.inventory()
    load = LoadGen(c, c.root / "switch.flag", c.root / "switch.ack")
    load.start()
    try:
        res = _run(c, "--ca-cert", str(certs.ca_path), "--internal-auth", "on",
                   "--switch-cmd", switch_cmd(c.root))
    finally:
        load.stop()
    assert res.returncode == 0, res.stderr
    assert load.auth_failures == []
    _final_new(c)
    _no_leaks(c, res)


def test_peers_flags_and_a_fixed_restart_command_on_resume(clusters: list[Cluster],
                                                           tmp_path: Path) -> None:
    """--peers with --config-path/--restart-cmd instead of an inventory; the first restart
    command is wrong, resume --restart-cmd fixes it (the journal keeps the flags)."""
    from tests.rotation.rotlib import RESTART

    c = _cluster(clusters, tmp_path, 3)
    for i, node in enumerate(c.nodes):
        (c.root / f"peer-{i}").symlink_to(node.dir)
    flags = ["--peers", ",".join(n.url for n in c.nodes),
             "--config-path", ",".join(str(n.config_path) for n in c.nodes)]
    res = qdrantsec(["rotate-key", *flags, "--restart-cmd", "/bin/false", *_keys(c), "--journal",
                     str(_journal(c)), "--yes", *FAST])
    assert res.returncode == 20, res.stderr
    assert "stage halted at peer-0" in res.stderr and "/bin/false" in res.stderr
    fixed = f"{sys.executable} {RESTART} {c.root}/{{name}}"
    again = _resume(c, "--yes", "--restart-cmd", fixed)
    assert again.returncode == 0, again.stderr
    _final_new(c)
    assert json.loads(_journal(c).read_text())["inventory"]["restart"] == fixed
    _no_leaks(c, res, again)
