"""The rotation journal: where a run stands, so that ``status``, ``resume`` and ``abort``
can pick it up after a crash, a SIGKILL, Ctrl-C or a failed peer.

JSON, mode 0600, rewritten atomically (temp file + fsync + rename) after every step. It holds
key *fingerprints* only, peer names and URLs, step states and timings; never a key.

Per peer and pass, a step moves through ``pending`` -> ``config-written`` -> ``restarting``
-> ``restarted`` -> ``done``. A step found in any state but ``done`` is redone from the
start on resume: writing the config is idempotent, and a second restart of the same peer
is harmless once the rest of the cluster is healthy (which is checked first).
"""

from __future__ import annotations

import json
import os
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qdrantsec.errors import InputError

VERSION = 1
DEFAULT_PATH = "qdrantsec-rotate.journal.json"

#: run states
RUNNING, HALTED, PAUSED, DONE, ABORTING, ABORTED = (
    "running", "halted", "paused", "done", "aborting", "aborted")
#: step states
PENDING, CONFIG_WRITTEN, RESTARTING, RESTARTED, STEP_DONE = (
    "pending", "config-written", "restarting", "restarted", "done")

MAX_EVENTS = 200


def new_run_id() -> str:
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + "-" + secrets.token_hex(3)


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


@dataclass
class Journal:
    path: Path
    data: dict[str, Any] = field(default_factory=dict)
    #: test hook (inert unless QDRANTSEC_TEST_KILL_AFTER_SAVE is set): SIGKILL ourselves after
    #: the N-th save, to prove that resume works whatever step was in flight
    _saves: int = 0

    # -- creation / loading ----------------------------------------------------------
    @staticmethod
    def check_free(path: str | os.PathLike[str]) -> None:
        """Refuse to start a new rotation over a journal of one that is not finished."""
        p = Path(path)
        if _exists(p):
            try:
                existing = json.loads(p.read_text(encoding="utf-8"))
            except (OSError, ValueError, RecursionError):
                existing = None
            state = existing.get("state") if isinstance(existing, dict) else None
            if state not in (DONE, ABORTED):
                raise InputError(
                    f"journal {p} holds an unfinished rotation (state {state or 'unknown'})",
                    hint="continue it with 'qdrantsec rotate-key resume', undo it with "
                         "'qdrantsec rotate-key abort', or pass another --journal FILE")

    @classmethod
    def create(cls, path: str | os.PathLike[str], *, run_id: str, plan: dict[str, Any],
               inventory: dict[str, Any], old_fp: str, new_fp: str,
               options: dict[str, Any]) -> Journal:
        p = Path(path)
        cls.check_free(p)
        passes = [{"name": rp["pass"], "target": rp["target"],
                   "peers": {peer["peer"]: {"state": PENDING} for peer in rp["peers"]}}
                  for rp in plan["phases"] if "pass" in rp]
        data = {
            "version": VERSION,
            "run_id": run_id,
            "created": _now(),
            "updated": _now(),
            "state": RUNNING,
            "phase": "preflight",
            "sequence": plan["sequence"],
            "reason": plan["reason"],
            "keys": {"old": old_fp, "new": new_fp},
            "inventory": inventory,
            "options": options,
            "passes": passes,
            "switch": {"state": PENDING},
            "abort": None,
            "halt": None,
            "backups": [],
            "events": [],
        }
        journal = cls(p, data)
        journal.save()
        return journal

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Journal:
        from qdrantsec.fsutil import read_text

        p = Path(path)
        if not _exists(p):
            raise InputError(f"no journal at {p}",
                             hint="pass --journal FILE (the one the rotation wrote)")
        text = read_text(p, what="journal", limit=16 * 1024 * 1024)
        try:
            data = json.loads(text)
        except (ValueError, RecursionError):
            raise InputError(f"journal {p} is not valid JSON") from None
        if not _well_formed(data):
            raise InputError(f"{p} is not a qdrantsec rotate-key journal (version {VERSION})")
        return cls(p, data)

    # -- accessors -------------------------------------------------------------------
    @property
    def run_id(self) -> str:
        return str(self.data["run_id"])

    @property
    def state(self) -> str:
        return str(self.data["state"])

    def step(self, pass_name: str, peer: str) -> dict[str, Any]:
        for rp in self.data["passes"]:
            if rp["name"] == pass_name:
                return rp["peers"][peer]  # type: ignore[no-any-return]
        raise KeyError(pass_name)

    def pass_done(self, pass_name: str) -> bool:
        for rp in self.data["passes"]:
            if rp["name"] == pass_name:
                return all(s["state"] == STEP_DONE for s in rp["peers"].values())
        return False

    def last_state_of(self, peer: str) -> tuple[str | None, str | None]:
        """The latest pass that touched ``peer`` and that step's state (None, None: none)."""
        found: tuple[str | None, str | None] = (None, None)
        for rp in self.data["passes"]:
            st = rp["peers"].get(peer, {}).get("state", PENDING)
            if st != PENDING:
                found = (rp["name"], st)
        return found

    # -- updates ---------------------------------------------------------------------
    def set(self, **changes: Any) -> None:
        self.data.update(changes)
        self.save()

    def set_step(self, pass_name: str, peer: str, **changes: Any) -> None:
        self.step(pass_name, peer).update(changes)
        self.save()

    def event(self, record: dict[str, Any], *, save: bool = False) -> None:
        events = self.data.setdefault("events", [])
        events.append(record)
        del events[:-MAX_EVENTS]
        if save:
            self.save()

    def save(self) -> None:
        from qdrantsec.fsutil import SECRET_MODE, atomic_write

        self.data["updated"] = _now()
        text = json.dumps(self.data, indent=2, sort_keys=False) + "\n"
        atomic_write(self.path, text, mode=SECRET_MODE, overwrite=True)
        self._saves += 1
        _maybe_die(self._saves)


def _exists(p: Path) -> bool:
    try:
        return p.exists()
    except OSError as exc:  # a name too long, a loop of symlinks
        raise InputError(f"cannot use journal {p}: {exc.strerror}") from None


def _well_formed(data: Any) -> bool:
    """The shape this module writes; anything else is refused before it is relied on."""
    if not isinstance(data, dict) or data.get("version") != VERSION:
        return False
    if not all(isinstance(data.get(k), str) for k in ("run_id", "state", "sequence")):
        return False
    keys, inv, passes = data.get("keys"), data.get("inventory"), data.get("passes")
    if not (isinstance(keys, dict) and all(isinstance(keys.get(k), str) for k in ("old", "new"))):
        return False
    if not (isinstance(inv, dict) and isinstance(inv.get("peers"), list)
            and all(isinstance(p, dict) for p in inv["peers"])):
        return False
    if not (isinstance(inv.get("file"), str) or (isinstance(inv.get("urls"), list)
                                                  and isinstance(inv.get("driver"), str))):
        return False
    if not isinstance(data.get("switch"), dict) or not isinstance(passes, list):
        return False
    for rp in passes:
        if not (isinstance(rp, dict) and isinstance(rp.get("name"), str)
                and isinstance(rp.get("peers"), dict)
                and all(isinstance(st, dict) and isinstance(st.get("state"), str)
                        for st in rp["peers"].values())):
            return False
    return data.get("sequence") in ("3-step", "4-step")


def lock(path: str | os.PathLike[str]) -> int:
    """Hold ``<journal>.lock`` for the life of this process, so that two rotations cannot
    drive the same journal (and the same peers) at once. Returns the descriptor."""
    import fcntl

    lock_path = f"{path}.lock"
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    except OSError as exc:
        raise InputError(f"cannot create the lock file {lock_path}: {exc.strerror}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        raise InputError(f"another qdrantsec rotate-key is using {path}",
                         hint="wait for it to finish (see 'qdrantsec rotate-key status')") from None
    return fd


def _maybe_die(saves: int) -> None:
    target = os.environ.get("QDRANTSEC_TEST_KILL_AFTER_SAVE")
    if target and target.isdigit() and saves == int(target):
        import signal

        os.kill(os.getpid(), signal.SIGKILL)
