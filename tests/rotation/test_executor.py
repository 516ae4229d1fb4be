"""The executor on a simulated cluster (tests/rotation/sim.py): the real Gate, journal and
plan; drivers and peers simulated, time faked. The same flows run against real peer
processes in test_rotate_integration.py."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from qdrantsec.errors import QdrantsecError
from qdrantsec.rotation import executor as X
from qdrantsec.rotation import journal as J
from qdrantsec.rotation.plan import PlannedPeer, build_plan
from tests.rotation.sim import NEW, OLD, SimCluster, make

NAMES = ["n1", "n2", "n3"]


def _runtime(tmp_path: Path, *, enforce: bool = False, internal_auth: bool | None = None,
             mode: str = "yes", journal: J.Journal | None = None, sim: Any = None,
             **kw: Any) -> tuple[X.Runtime, SimCluster, list[dict[str, Any]]]:
    cluster, probe, gate, drivers = sim or make(NAMES, enforce=enforce)
    plan = build_plan(internal_auth=enforce if internal_auth is None else internal_auth,
                      internal_auth_source="test",
                      peers=[PlannedPeer(n, f"http://{n}:6333", f"sim {n}") for n in NAMES],
                      old_fingerprint=OLD.fingerprint, new_fingerprint=NEW.fingerprint,
                      settle=1.0, peer_timeout=10.0,
                      recorded=(journal.data["sequence"], journal.data["reason"]) if journal else None)
    if journal is None:
        journal = J.Journal.create(tmp_path / "j.json", run_id="r1", plan=plan.as_dict(),
                                   inventory={"file": "/inv.yaml", "peers": []}, old_fp=OLD.fingerprint,
                                   new_fp=NEW.fingerprint, options={})
    events: list[dict[str, Any]] = []
    rt = X.Runtime(plan=plan, journal=journal, drivers=drivers, gate=gate, keys=probe.keys,
                   emit=events.append, switch_mode=mode, clock=cluster.clock.now, **kw)
    return rt, cluster, events


def _again(rt: X.Runtime, cluster: SimCluster, tmp_path: Path, **kw: Any) -> X.Runtime:
    """A new process: the journal reloaded from disk, the same (simulated) cluster."""
    sim = (cluster, rt.gate.probe, rt.gate, rt.drivers)
    new_rt, _, _ = _runtime(tmp_path, journal=J.Journal.load(rt.journal.path), sim=sim,
                            enforce=cluster.enforce, **kw)
    return new_rt


def test_three_step_run(tmp_path: Path) -> None:
    rt, cluster, events = _runtime(tmp_path)
    outcome = X.run(rt)
    assert outcome.state == "done"
    assert rt.plan.sequence.value == "3-step"
    assert [p.config for p in cluster.peers.values()] == [(NEW.value, None)] * 3
    # one peer at a time, in order, each pass
    assert [e for e in cluster.log if e.startswith("restart")] == [f"restart {n}" for n in NAMES] * 2
    data = json.loads(rt.journal.path.read_text())
    assert data["state"] == "done"
    assert all(s["state"] == "done" for rp in data["passes"] for s in rp["peers"].values())
    assert OLD.value not in rt.journal.path.read_text() and NEW.value not in rt.journal.path.read_text()
    assert [e["event"] for e in events].count("peer-done") == 6
    assert outcome.summary["key"] == NEW.fingerprint and len(outcome.summary["backups"]) == 6


def test_four_step_run_keeps_internal_auth_working(tmp_path: Path) -> None:
    rt, cluster, _ = _runtime(tmp_path, enforce=True)
    assert rt.plan.sequence.value == "4-step"
    X.run(rt)
    assert [p.config for p in cluster.peers.values()] == [(NEW.value, None)] * 3
    assert len([e for e in cluster.log if e.startswith("restart")]) == 9


def test_three_step_with_internal_auth_halts_at_the_first_promote(tmp_path: Path) -> None:
    rt, cluster, events = _runtime(tmp_path, enforce=True, internal_auth=False)
    with pytest.raises(X.HaltError) as err:
        X.run(rt)
    assert err.value.exit_code == 20
    assert "promote halted at n1" in err.value.message
    assert "Unauthenticated" in err.value.message
    assert [p.config for p in cluster.peers.values()][1:] == [(OLD.value, NEW.value)] * 2
    assert rt.journal.state == "halted"
    assert rt.journal.data["halt"]["peer"] == "n1"
    assert events[-1]["event"] == "halted"


@pytest.mark.parametrize("fault, text", [
    ("fail_restart", "the restart failed: peer n2: the restart command failed"),
    ("no_start", "not healthy within --peer-timeout 10 s"),
    ("ignore_config", "n2: rejects the NEW key, which it should accept"),
])
def test_a_failing_peer_halts_before_the_next(tmp_path: Path, fault: str, text: str) -> None:
    rt, cluster, _ = _runtime(tmp_path)
    setattr(cluster.peers["n2"], fault, True)
    with pytest.raises(X.HaltError) as err:
        X.run(rt)
    assert text in err.value.message
    assert "stage halted at n2" in err.value.message
    assert "rotate-key resume" in (err.value.hint or "")
    assert cluster.peers["n3"].restarts == 0 and cluster.peers["n3"].config == (OLD.value, None)
    # fixed: resume finishes, without restarting n1 again in the stage pass
    setattr(cluster.peers["n2"], fault, False)
    cluster.peers["n2"].up = True
    n1_restarts = cluster.peers["n1"].restarts
    outcome = X.run(_again(rt, cluster, tmp_path))
    assert outcome.state == "done"
    assert cluster.peers["n1"].restarts == n1_restarts + 1      # only its promote restart
    assert [p.config for p in cluster.peers.values()] == [(NEW.value, None)] * 3


def test_resume_redoes_a_step_in_flight_with_the_peer_down(tmp_path: Path) -> None:
    rt, cluster, _ = _runtime(tmp_path)
    # as if killed while n1's restart ran: config written, peer down, journal "restarting"
    cluster.peers["n1"].config = (OLD.value, NEW.value)
    cluster.peers["n1"].up = False
    rt.journal.set_step("stage", "n1", state=J.RESTARTING)
    outcome = X.run(_again(rt, cluster, tmp_path))
    assert outcome.state == "done"
    assert cluster.peers["n1"].restarts == 2


def test_before_touching_a_peer_the_others_must_accept_their_keys(tmp_path: Path) -> None:
    rt, cluster, _ = _runtime(tmp_path)
    cluster.peers["n1"].fail_restart = False
    cluster.peers["n2"].fail_restart = True
    with pytest.raises(X.HaltError):
        X.run(rt)
    # someone reverted n1 by hand to OLD only; the journal says it accepts both
    cluster.peers["n1"].running = (OLD.value, None)
    cluster.peers["n2"].fail_restart = False
    with pytest.raises(X.HaltError) as err:
        X.run(_again(rt, cluster, tmp_path))
    assert "n1: rejects the NEW key" in err.value.message
    assert cluster.peers["n2"].restarts == 0


def test_pause_then_resume(tmp_path: Path) -> None:
    rt, cluster, _ = _runtime(tmp_path, mode="pause")
    outcome = X.run(rt)
    assert outcome.state == "paused" and rt.journal.state == "paused"
    assert all(p.accepted() == {OLD.value, NEW.value} for p in cluster.peers.values())
    outcome = X.run(_again(rt, cluster, tmp_path))
    assert outcome.state == "done"
    assert rt.journal.path.exists()
    assert J.Journal.load(rt.journal.path).data["switch"]["how"] == "resume after --pause"


def test_declined_confirmation_pauses(tmp_path: Path) -> None:
    asked: list[str] = []
    rt, _, _ = _runtime(tmp_path, mode="confirm", confirm=lambda q: asked.append(q) or False)
    assert X.run(rt).state == "paused"
    assert asked and "clients switched" in asked[0]


def test_failed_switch_command_halts_before_promote(tmp_path: Path) -> None:
    def fail() -> None:
        raise QdrantsecError("exited 1: cannot reach the vault")

    rt, cluster, _ = _runtime(tmp_path, mode="cmd", run_switch_cmd=fail)
    with pytest.raises(X.HaltError) as err:
        X.run(rt)
    assert "switch halted: --switch-cmd failed: exited 1" in err.value.message
    assert all(p.restarts == 1 for p in cluster.peers.values())


def test_abort_before_the_switch_removes_the_staged_key(tmp_path: Path) -> None:
    rt, cluster, _ = _runtime(tmp_path)
    cluster.peers["n3"].fail_restart = True
    with pytest.raises(X.HaltError):
        X.run(rt)
    cluster.peers["n3"].fail_restart = False
    outcome = X.abort(_again(rt, cluster, tmp_path))
    assert outcome.state == "aborted"
    assert [p.config for p in cluster.peers.values()] == [(OLD.value, None)] * 3
    assert all(p.accepted() == {OLD.value} for p in cluster.peers.values())
    assert J.Journal.load(rt.journal.path).state == "aborted"
    with pytest.raises(QdrantsecError, match="aborted; nothing to resume"):
        X.run(_again(rt, cluster, tmp_path))


def test_abort_after_a_broken_three_step_promote_repairs_internal_auth(tmp_path: Path) -> None:
    rt, cluster, _ = _runtime(tmp_path, enforce=True, internal_auth=False)
    with pytest.raises(X.HaltError):
        X.run(rt)
    restarts = {n: p.restarts for n, p in cluster.peers.items()}
    outcome = X.abort(_again(rt, cluster, tmp_path))
    assert "aborted after the switch" in outcome.message
    assert cluster.peers["n1"].config == (NEW.value, OLD.value)
    assert {n: p.restarts for n, p in cluster.peers.items()} == {**restarts, "n1": restarts["n1"] + 1}
    assert all(cluster.internal_failures(p) == {} for p in cluster.peers.values())


def test_nothing_to_abort_when_done(tmp_path: Path) -> None:
    rt, cluster, _ = _runtime(tmp_path)
    X.run(rt)
    with pytest.raises(QdrantsecError, match="finished"):
        X.abort(_again(rt, cluster, tmp_path))


def test_ctrl_c_marks_the_journal_halted_and_resume_redoes_the_step(tmp_path: Path) -> None:
    rt, cluster, _ = _runtime(tmp_path)
    driver = rt.drivers["n2"]
    real_restart = driver.restart

    def interrupted() -> None:
        raise KeyboardInterrupt

    driver.restart = interrupted  # type: ignore[method-assign]
    with pytest.raises(KeyboardInterrupt):
        X.run(rt)
    data = J.Journal.load(rt.journal.path).data
    assert data["state"] == "halted" and data["halt"]["message"] == "interrupted (Ctrl-C)"
    assert data["passes"][0]["peers"]["n2"]["state"] == "restarting"
    driver.restart = real_restart  # type: ignore[method-assign]
    assert X.run(_again(rt, cluster, tmp_path)).state == "done"
    assert cluster.peers["n2"].restarts == 2     # its stage restart (redone) and promote
