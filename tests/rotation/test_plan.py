"""The plan (pure), the preflight rules, and the gate's pure checks."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from qdrantsec.errors import InputError, UsageError
from qdrantsec.output.rotate_progress import print_plan
from qdrantsec.rotation.gates import (
    FailureWatch,
    GateResult,
    cluster_problems,
    collection_problems,
    describe_failure,
    link_evidence,
)
from qdrantsec.rotation.plan import PlannedPeer, Sequence, build_plan, choose_sequence
from qdrantsec.rotation.preflight import check_new_key, internal_auth_from, readable_by_others
from qdrantsec.secrets import Secret

PEERS = [PlannedPeer("a", "https://a:6333", "file /etc/a.yaml"),
         PlannedPeer("b", "https://b:6333", "file /etc/b.yaml")]


def _plan(internal_auth: bool | None) -> object:
    return build_plan(internal_auth=internal_auth, internal_auth_source="config", peers=PEERS,
                      old_fingerprint="sha256:old", new_fingerprint="sha256:new")


@pytest.mark.parametrize("value, sequence, words", [
    (False, Sequence.THREE_STEP, "is off"),
    (True, Sequence.FOUR_STEP, "is on"),
    (None, Sequence.FOUR_STEP, "is unknown"),
])
def test_sequence_choice_and_why(value: bool | None, sequence: Sequence, words: str) -> None:
    chosen, why = choose_sequence(value, "config of a")
    assert chosen is sequence
    assert words in why and "config of a" in why


def test_three_step_passes() -> None:
    plan = _plan(False)
    assert [(p.name, p.api_key, p.alt_api_key) for p in plan.passes] == [  # type: ignore[attr-defined]
        ("stage", "old", "new"), ("promote", "new", None)]
    assert plan.restarts() == 4  # type: ignore[attr-defined]


def test_four_step_passes_never_drop_the_key_peers_send() -> None:
    plan = _plan(None)
    passes = plan.passes  # type: ignore[attr-defined]
    assert [(p.name, p.api_key, p.alt_api_key) for p in passes] == [
        ("stage", "old", "new"), ("promote", "new", "old"), ("finish", "new", None)]
    # a peer restarted in any pass accepts the api_key of peers not yet restarted in it
    before = "old"
    for rolling in passes:
        assert before in rolling.accepts or before == rolling.api_key
        before = rolling.api_key


def test_phases_order_and_switch() -> None:
    d = _plan(True).as_dict()  # type: ignore[attr-defined]
    assert [p["phase"] for p in d["phases"]] == ["preflight", "stage", "switch", "promote",
                                                "promote", "done"]
    stage = d["phases"][1]
    assert [s["peer"] for s in stage["peers"]] == ["a", "b"]
    assert any("message_send_failures" in c for c in d["checks"])
    assert d["keys"] == {"old": "sha256:old", "new": "sha256:new"}


def test_dry_run_text() -> None:
    out = io.StringIO()
    print_plan(_plan(False).as_dict(), "text", out)  # type: ignore[attr-defined]
    text = out.getvalue()
    assert text.startswith("rotate-key plan: 3-step sequence")
    assert "current key: sha256:old   new key: sha256:new" in text
    assert "a https://a:6333: file /etc/a.yaml" in text
    assert "cannot prove that the clients switched" in text
    assert text.rstrip().endswith("dry run: nothing was changed")


# -- preflight rules ---------------------------------------------------------------------------

OLD = Secret("o" * 40, "test")


@pytest.mark.parametrize("value, message", [
    ("short-key", "is 9 bytes; it must be at least 32"),
    ("x" * 31 + " y", "not visible ASCII"),
    ("é" * 32, "not visible ASCII"),
    ("o" * 40, "the new key is the current key"),
])
def test_new_key_rules(value: str, message: str) -> None:
    with pytest.raises(InputError, match=message) as err:
        check_new_key(OLD, Secret(value, "file new.key"))
    assert value not in err.value.message


def test_new_key_accepted() -> None:
    check_new_key(OLD, Secret("N" * 32, "file new.key"))


def test_internal_auth_detection() -> None:
    assert internal_auth_from({"a": True, "b": None}, None) == (True, "config of a")
    assert internal_auth_from({"a": False, "b": False}, None)[0] is False
    assert internal_auth_from({"a": False, "b": None}, None)[0] is None
    assert internal_auth_from({"a": None}, "off") == (False, "--internal-auth off")
    assert internal_auth_from({"a": False}, "on")[0] is True
    with pytest.raises(UsageError, match="enforce_internal_auth is true in the config of a"):
        internal_auth_from({"a": True}, "off")


# -- gate checks --------------------------------------------------------------------------------

def _status(leader: int = 1, term: int = 3, peers: tuple[str, ...] = ("1", "2"), **ri: object) -> dict:  # type: ignore[type-arg]
    return {"status": "enabled", "peers": {p: {"uri": f"http://p{p}:6335"} for p in peers},
            "raft_info": {"leader": leader, "term": term, "pending_operations": 0, **ri},
            "consensus_thread_status": {"consensus_thread_status": "working"},
            "message_send_failures": {}}


def test_cluster_problems() -> None:
    assert cluster_problems({"a": _status(), "b": _status()}, 2) == []
    assert cluster_problems({"a": _status(), "b": None}, 2) == ["b: not answering"]
    probs = cluster_problems({"a": _status(), "b": _status(leader=0)}, 2)
    assert "b: no leader" in probs and any("disagree on leader/term" in p for p in probs)
    assert any("disagree on leader/term" in p for p in
               cluster_problems({"a": _status(), "b": _status(term=4)}, 2))
    assert "a: 2 pending operations" in cluster_problems({"a": _status(pending_operations=2)}, 2)
    probs = cluster_problems({"a": _status(peers=("1",)), "b": _status()}, 2)
    assert "a: sees 1 peers, expected 2" in probs and any("peer set" in p for p in probs)
    stopped = _status()
    stopped["consensus_thread_status"] = {"consensus_thread_status": "stopped"}
    assert cluster_problems({"a": stopped}, 2) == ["a: consensus thread stopped"]


def test_collection_problems() -> None:
    ok = {"local_shards": [{"state": "Active"}], "remote_shards": [{"state": "Active"}],
          "shard_transfers": []}
    assert collection_problems({"a": {"docs": ok}}) == []
    bad = {"local_shards": [{"state": "Partial"}], "remote_shards": [{"state": "Dead"}],
           "shard_transfers": [{"shard_id": 0}]}
    assert collection_problems({"a": {"docs": bad}}) == [
        "a: collection docs has replicas Dead, Partial", "a: collection docs has shard transfers running"]


def test_failure_watch_tells_growing_from_stale() -> None:
    watch = FailureWatch()

    def sample(t: float, count: int | None) -> None:
        st = _status()
        if count is not None:
            st["message_send_failures"] = {"http://p2:6335": {"count": count, "latest_error": "401"}}
        watch.add(t, {"a": st})

    sample(0.0, 5)
    assert watch.grown(0.0, 1.0, since=0.0) is None         # not enough history yet
    sample(0.5, 5)
    sample(1.0, 5)
    assert watch.grown(1.0, 1.0, since=0.0) == []            # stale: not growing
    sample(1.5, 7)
    assert watch.grown(1.5, 1.0, since=0.0) == [("a", "http://p2:6335", 7, "401")]
    assert describe_failure("a", "http://p2:6335", 7, "401") == \
        "a: sends to http://p2:6335 failing (7 failures, latest: 401)"
    sample(2.6, None)                                          # a success clears the entry
    assert watch.grown(2.6, 1.0, since=0.0) == []


def test_link_evidence() -> None:
    def st(pid: str, leader: int = 1, failures: dict | None = None) -> dict:  # type: ignore[type-arg]
        out = _status(leader=leader)
        out["peer_id"] = int(pid)
        out["message_send_failures"] = failures or {}
        return out

    p2_down = {"http://p2:6335": {"count": 4, "latest_error": "Unavailable"}}
    assert link_evidence({"a": st("1"), "b": st("2")}, "b")
    assert not link_evidence({"a": st("1"), "b": st("2", leader=0)}, "b")       # no leader yet
    assert not link_evidence({"a": st("1", failures=p2_down), "b": st("2")}, "b")  # not cleared
    own = {"http://p1:6335": {"count": 1, "latest_error": "Unauthenticated"}}
    assert not link_evidence({"a": st("1"), "b": st("2", failures=own)}, "b")
    # another peer's stale entry for a third URI does not concern the restarted one
    other = {"http://p9:6335": {"count": 1, "latest_error": "Unavailable"}}
    assert link_evidence({"a": st("1", failures=other), "b": st("2")}, "b")
    assert not link_evidence({"a": st("1", failures=other), "b": st("2")}, None)
    assert link_evidence({"a": st("1"), "b": st("2")}, None)


def _restart_in_sim(name: str, *, enforce: bool = False, running: tuple[str | None, str | None] | None = None,
                    settle: float = 2.0, stale: bool = False) -> GateResult:
    from tests.rotation.sim import make

    cluster, _probe, gate, drivers = make(["n1", "n2", "n3"], enforce=enforce)
    if stale:   # n3 once failed to send to n2 and never sent to it again
        cluster.peers["n3"].stale_failures = {cluster.uri(name): {"count": 2, "latest_error": "x"}}
    if running is not None:
        cluster.peers[name].config = running
    drivers[name].restart()
    return gate.wait_healthy(timeout=30.0, settle=settle, restarted=name)


def test_gate_window_ends_early_on_evidence_else_waits_it_out() -> None:
    quick = _restart_in_sim("n2")
    assert quick.ok and quick.waited < 1.0          # the sim's clock: 0.2 s heartbeat + 0.3 s hold
    slow = _restart_in_sim("n2", stale=True)
    assert slow.ok and slow.waited >= 2.0           # no evidence: the whole --settle window
    assert _restart_in_sim("n2", settle=0.0).ok


def test_gate_fails_fast_on_refused_internal_calls() -> None:
    from tests.rotation.sim import NEW

    # the 3-step promote under enforce_internal_auth: n2 only accepts NEW, the others send OLD
    res = _restart_in_sim("n2", enforce=True, running=(NEW.value, None))
    assert not res.ok and 2.0 <= res.waited < 30.0
    assert res.problems[0].startswith("internal calls refused: ")
    assert "Unauthenticated" in res.problems[0]


# -- progress renderers ---------------------------------------------------------------------


def test_progress_renderers(capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from qdrantsec.output import rotate_progress as R

    event = {"ts": "2026-12-03T12:00:00Z", "event": "halted", "phase": "stage", "peer": "a",
             "message": "stage halted at a: \x1b[2Jboom", "hint": "fix it"}
    R.plain()(event)
    R.json_lines()(event)
    R.rich(["a", "b"])(event)
    out, err = capsys.readouterr()
    assert json.loads(out) == event
    lines = err.splitlines()
    assert lines[0] == "2026-12-03T12:00:00Z stage: stage halted at a: \\x1b[2Jboom"
    assert lines[1] == "2026-12-03T12:00:00Z stage: what to do: fix it"
    assert "[stage] stage halted at a: \\x1b[2Jboom" in err
    ev = R.rich(["a", "b"])
    for e in ({"event": "phase", "pass": "stage", "message": "stage pass"},
              {"event": "peer-done", "peer": "a", "message": "a healthy"},
              {"event": "step", "peer": "b", "action": "restart", "message": "b restart"},
              {"event": "halted", "peer": "b", "message": "stage halted at b", "hint": "fix b"}):
        ev({"ts": "2026-12-03T12:00:01Z", "phase": "stage", **e})
    err = capsys.readouterr().err
    assert "what to do: fix b" in err
    table = err[err.rindex("rotate-key: stage"):]
    assert "a" in table and "done" in table and "HALTED" in table
    assert "\x1b[2J" not in err


def test_world_readable_key_file_is_warned_about(tmp_path: Path) -> None:
    import os

    cfg = tmp_path / "config.yaml"
    cfg.write_text("service: {}\n")
    os.chmod(cfg, 0o644)
    text = readable_by_others(str(cfg))
    assert text is not None and "mode 0644" in text and str(cfg) in text
    os.chmod(cfg, 0o640)
    assert readable_by_others(str(cfg)) is None
    assert readable_by_others(str(cfg) + ".missing") is None and readable_by_others(None) is None
