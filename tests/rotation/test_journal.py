"""The journal: 0600, atomic, fingerprints only, refuses to clobber an unfinished run."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from qdrantsec.errors import InputError
from qdrantsec.rotation import journal as J
from qdrantsec.rotation.plan import PlannedPeer, build_plan
from qdrantsec.secrets import fingerprint

OLD, NEW = "old-" + "o" * 40, "new-" + "n" * 40


def _create(path: Path) -> J.Journal:
    plan = build_plan(internal_auth=False, internal_auth_source="test",
                      peers=[PlannedPeer("a", "http://a:6333", "file a"),
                             PlannedPeer("b", "http://b:6333", "file b")],
                      old_fingerprint=fingerprint(OLD), new_fingerprint=fingerprint(NEW))
    return J.Journal.create(path, run_id="20261203T000000Z-abc123", plan=plan.as_dict(),
                            inventory={"file": "/inv.yaml", "peers": [{"name": "a"}, {"name": "b"}]},
                            old_fp=fingerprint(OLD), new_fp=fingerprint(NEW), options={"settle": 1})


def test_created_0600_with_fingerprints_and_steps(tmp_path: Path) -> None:
    j = _create(tmp_path / "j.json")
    assert stat.S_IMODE(os.stat(j.path).st_mode) == 0o600
    data = json.loads(j.path.read_text())
    assert data["keys"] == {"old": fingerprint(OLD), "new": fingerprint(NEW)}
    assert [p["name"] for p in data["passes"]] == ["stage", "promote"]
    assert data["passes"][0]["peers"] == {"a": {"state": "pending"}, "b": {"state": "pending"}}
    assert OLD not in j.path.read_text() and NEW not in j.path.read_text()
    assert data["state"] == "running" and data["run_id"] == "20261203T000000Z-abc123"


def test_every_update_is_written_atomically(tmp_path: Path) -> None:
    j = _create(tmp_path / "j.json")
    j.set_step("stage", "a", state=J.RESTARTING)
    assert J.Journal.load(j.path).step("stage", "a")["state"] == "restarting"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["j.json"]   # no temp files left
    assert J.Journal.load(j.path).last_state_of("a") == ("stage", "restarting")
    assert J.Journal.load(j.path).last_state_of("b") == (None, None)


def test_refuses_to_replace_an_unfinished_rotation(tmp_path: Path) -> None:
    j = _create(tmp_path / "j.json")
    with pytest.raises(InputError, match=r"unfinished rotation \(state running\)") as err:
        _create(tmp_path / "j.json")
    assert "rotate-key resume" in (err.value.hint or "")
    j.set(state=J.DONE)
    _create(tmp_path / "j.json")  # a finished one may be replaced


@pytest.mark.parametrize("content, message", [
    (None, "no journal at"),
    ("{not json", "not valid JSON"),
    ('{"version": 99, "run_id": "x"}', "is not a qdrantsec rotate-key journal"),
    ("[]", "is not a qdrantsec rotate-key journal"),
    ('{"version": 1, "run_id": "x", "state": "running", "sequence": "3-step"}', "is not a qdrantsec"),
    ("[" * 100000 + "]" * 100000, "not valid JSON"),
])
def test_load_errors(tmp_path: Path, content: str | None, message: str) -> None:
    path = tmp_path / "j.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(InputError, match=message):
        J.Journal.load(path)


def test_events_are_capped(tmp_path: Path) -> None:
    j = _create(tmp_path / "j.json")
    for i in range(J.MAX_EVENTS + 50):
        j.event({"event": "wait", "message": str(i)})
    j.save()
    events = J.Journal.load(j.path).data["events"]
    assert len(events) == J.MAX_EVENTS and events[-1]["message"] == str(J.MAX_EVENTS + 49)


def test_kill_hook_is_inert_unless_set(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("QDRANTSEC_TEST_KILL_AFTER_SAVE", raising=False)
    j = _create(tmp_path / "j.json")
    for _ in range(5):
        j.save()
    monkeypatch.setenv("QDRANTSEC_TEST_KILL_AFTER_SAVE", "not-a-number")
    j.save()


def test_one_process_per_journal(tmp_path: Path) -> None:
    fd = J.lock(tmp_path / "j.json")
    try:
        with pytest.raises(InputError, match="another qdrantsec rotate-key is using"):
            J.lock(tmp_path / "j.json")
    finally:
        os.close(fd)
    os.close(J.lock(tmp_path / "j.json"))   # free again
    assert stat.S_IMODE(os.stat(tmp_path / "j.json.lock").st_mode) == 0o600
