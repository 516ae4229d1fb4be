"""Running a plan: one peer at a time, journaled after every step, resumable, halting
before the next peer on any failure.

Before acting on a peer the executor checks what every peer actually accepts (the journal
says what each should accept), so a resume after a crash starts from the truth, not from
the journal alone. Steps are idempotent: the driver writes the config only when it differs,
and a step found half done is redone from the start once the other peers are healthy.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from qdrantsec.errors import QdrantsecError
from qdrantsec.exit_codes import ExitCode
from qdrantsec.rotation import journal as J
from qdrantsec.rotation.gates import Gate
from qdrantsec.rotation.plan import Plan, PlannedPeer, RollingPass

Event = dict[str, Any]


class HaltError(QdrantsecError):
    """The rollout stopped before touching the next peer (exit 20)."""

    exit_code = ExitCode.HALTED


@dataclass
class Outcome:
    state: str                      # done | paused | aborted
    message: str
    summary: dict[str, Any] = field(default_factory=dict)


@dataclass
class Runtime:
    plan: Plan
    journal: J.Journal
    drivers: Mapping[str, Any]          # peer name -> Driver
    gate: Gate
    keys: Mapping[str, Any]             # "old"/"new" -> Secret
    emit: Callable[[Event], None] = lambda e: None
    switch_mode: str = "confirm"        # cmd | pause | confirm | yes
    run_switch_cmd: Callable[[], None] | None = None
    confirm: Callable[[str], bool] | None = None
    clock: Callable[[], float] = time.monotonic
    resume_hint: str = "qdrantsec rotate-key resume"
    abort_hint: str = "qdrantsec rotate-key abort"

    # -- events ------------------------------------------------------------------------
    def event(self, kind: str, message: str, **fields: Any) -> None:
        record = {"ts": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "event": kind,
                  "phase": self.journal.data.get("phase"), **fields, "message": message}
        self.journal.event(record)
        self.emit(record)

    def values(self, ref: str | None) -> str | None:
        return None if ref is None else self.keys[ref].value


# -- helpers -------------------------------------------------------------------------------

def expected_accepts(rt: Runtime, peer: str) -> tuple[str, ...] | None:
    """What ``peer`` must accept now according to the journal (None: a step is in flight)."""
    last: tuple[str, ...] = ("old",)
    for rolling in rt.plan.passes:
        state = rt.journal.step(rolling.name, peer)["state"]
        if state == J.STEP_DONE:
            last = rolling.accepts
        elif state != J.PENDING:
            return None
    aborted = rt.journal.data.get("abort") or {}
    if peer in (aborted.get("done") or []):
        return tuple(aborted["accepts"])
    return last


def _halt(rt: Runtime, where: str, peer: PlannedPeer | None, what: str,
          todo: str | None = None) -> HaltError:
    who = f" at {peer.name} ({peer.url})" if peer else ""
    message = f"{where} halted{who}: {what}"
    nothing = "no other peer was touched after it" if peer else "no peer was touched"
    hint = todo or (f"fix the cause, then run '{rt.resume_hint}' with the current key given as before "
                    f"(or '{rt.abort_hint}' to roll back); {nothing}")
    rt.journal.data["halt"] = {"phase": where, "peer": peer.name if peer else None,
                               "message": what, "todo": hint}
    rt.journal.data["state"] = J.ABORTING if rt.journal.state == J.ABORTING else J.HALTED
    rt.event("halted", message, peer=peer.name if peer else None, hint=hint)
    rt.journal.save()
    return HaltError(message, hint=hint)


def check_before(rt: Runtime, where: str, peer: PlannedPeer, *, skip_self: bool) -> None:
    """Before touching ``peer``: every other peer is up, the cluster agrees (unless the
    peer itself is mid-step and may be down), and each peer accepts what it should."""
    gate = rt.gate
    if skip_self:
        names = [p.name for p in rt.plan.peers if p.name != peer.name]
        deadline = rt.clock() + rt.plan.peer_timeout
        while True:
            down = []
            for n in names:
                try:
                    if not gate.probe.ready(n):
                        down.append(f"{n}: not ready")
                except QdrantsecError as exc:
                    down.append(f"{n}: {exc.message}")
            if not down:
                break
            if rt.clock() >= deadline:
                raise _halt(rt, where, peer, "before resuming it, other peers are not back: "
                            + "; ".join(down))
            gate.sleep(0.2)
    else:
        result = gate.wait_healthy(timeout=rt.plan.peer_timeout, settle=0.0,
                                   on_wait=lambda p: rt.event("wait", "waiting: " + "; ".join(p)))
        if not result.ok:
            raise _halt(rt, where, peer, "before touching it, the cluster is not healthy: "
                        + "; ".join(result.problems))
    for other in rt.plan.peers:
        if skip_self and other.name == peer.name:
            continue
        accepts = expected_accepts(rt, other.name)
        if accepts is None:
            continue
        problems = gate.key_problems(other.name, accepts, ())
        if problems:
            raise _halt(rt, where, peer, "before touching it: " + "; ".join(problems),
                        todo="a peer no longer accepts the keys its last step gave it (was its "
                             "config changed by hand?); fix that peer, then resume")


def _step(rt: Runtime, rolling: RollingPass, peer: PlannedPeer) -> None:
    j = rt.journal
    st = j.step(rolling.name, peer.name)
    where = rolling.phase if rolling.phase == rolling.name else f"{rolling.phase} ({rolling.name})"
    if st["state"] == J.STEP_DONE:
        problems = rt.gate.key_problems(peer.name, rolling.accepts, rolling.rejects)
        if problems:
            raise _halt(rt, where, peer, "; ".join(problems))
        return
    tb = rt.clock()
    check_before(rt, where, peer, skip_self=st["state"] != J.PENDING)
    driver = rt.drivers[peer.name]
    t0 = rt.clock()
    rt.event("step", f"{peer.name}: set {rolling.target()}", peer=peer.name, action="set-keys")
    try:
        backup = driver.set_keys(rt.values(rolling.api_key), rt.values(rolling.alt_api_key))
    except QdrantsecError as exc:
        raise _halt(rt, where, peer, f"changing its config failed: {exc.message}") from None
    if backup:
        j.data.setdefault("backups", []).append(str(backup))
    j.set_step(rolling.name, peer.name, state=J.CONFIG_WRITTEN, backup=str(backup) if backup else None,
               before_s=round(t0 - tb, 3), set_s=round(rt.clock() - t0, 3))
    rt.event("step", f"{peer.name}: restart", peer=peer.name, action="restart")
    j.set_step(rolling.name, peer.name, state=J.RESTARTING)
    t1 = rt.clock()
    try:
        driver.restart()
    except QdrantsecError as exc:
        raise _halt(rt, where, peer, f"the restart failed: {exc.message}") from None
    t2 = rt.clock()
    j.set_step(rolling.name, peer.name, state=J.RESTARTED, restart_s=round(t2 - t1, 3))
    rt.event("step", f"{peer.name}: waiting until healthy", peer=peer.name, action="gate")
    result = rt.gate.wait_healthy(
        timeout=rt.plan.peer_timeout, settle=rt.plan.settle, restarted=peer.name,
        accepts=rolling.accepts, rejects=rolling.rejects,
        on_wait=lambda p: rt.event("wait", f"{peer.name}: waiting: " + "; ".join(p), peer=peer.name))
    if not result.ok:
        timed_out = result.waited >= rt.plan.peer_timeout
        what = ("not healthy within --peer-timeout "
                f"{rt.plan.peer_timeout:g} s: " if timed_out else "") + "; ".join(result.problems)
        raise _halt(rt, where, peer, what)
    t3 = rt.clock()
    j.set_step(rolling.name, peer.name, state=J.STEP_DONE, restart_s=round(t2 - t1, 3),
               ready_s=round(t3 - t2, 3), total_s=round(t3 - t0, 3))
    rt.event("peer-done", f"{peer.name}: healthy, accepts {'+'.join(k.upper() for k in rolling.accepts)}"
             + (f", refuses {'+'.join(k.upper() for k in rolling.rejects)}" if rolling.rejects else ""),
             peer=peer.name, restart_s=round(t2 - t1, 3), ready_s=round(t3 - t2, 3))


def _switch(rt: Runtime) -> Outcome | None:
    j = rt.journal
    sw = j.data["switch"]
    if sw.get("state") == J.STEP_DONE:
        return None
    j.set(phase="switch")
    if sw.get("state") == J.PAUSED:
        j.data["switch"] = {"state": J.STEP_DONE, "how": "resume after --pause"}
        rt.event("switch", "resumed after the pause: the clients use the new key")
        j.save()
        return None
    new_fp = rt.plan.new_fingerprint
    rt.event("switch", f"every peer accepts both keys: move the clients to the new key {new_fp} now")
    rt.event("switch", "note: Qdrant's audit log does not record which key authenticated a "
             "request, so qdrantsec cannot prove that the clients have switched")
    how = rt.switch_mode
    if how == "cmd":
        assert rt.run_switch_cmd is not None
        rt.event("switch", "running --switch-cmd")
        try:
            rt.run_switch_cmd()
        except QdrantsecError as exc:
            raise _halt(rt, "switch", None, f"--switch-cmd failed: {exc.message}") from None
    elif how == "pause" or (how == "confirm" and not _confirmed(rt)):
        j.data["switch"] = {"state": J.PAUSED}
        j.data["state"] = J.PAUSED
        rt.event("paused", "paused at the switch: both keys are accepted everywhere")
        j.save()
        return Outcome(J.PAUSED, "paused at the switch: every peer accepts the old and the new "
                       "key; move the clients to the new key, then run "
                       f"'{rt.resume_hint}' with the current key given as before")
    elif how == "yes":
        rt.event("switch", "--yes: continuing without waiting for the clients")
    j.data["switch"] = {"state": J.STEP_DONE, "how": how}
    j.save()
    return None


def _confirmed(rt: Runtime) -> bool:
    return rt.confirm is not None and rt.confirm(
        "Have the clients switched to the new key? Continue with the promote phase")


def ensure_resumable(rt: Runtime) -> None:
    """A finished, aborted or aborting run is not resumed (checked before anything is said)."""
    j = rt.journal
    if j.state in (J.DONE, J.ABORTED, J.ABORTING):
        raise QdrantsecError(f"the rotation in {j.path} is {j.state}; nothing to resume",
                             hint=f"'{rt.abort_hint}' continues an abort" if j.state == J.ABORTING
                             else None)


def run(rt: Runtime) -> Outcome:
    """Run (or resume) the plan up to the end, the pause, or a halt (HaltError)."""
    j = rt.journal
    ensure_resumable(rt)
    j.data["state"] = J.RUNNING
    j.data["halt"] = None
    j.save()
    try:
        return _run_passes(rt)
    except KeyboardInterrupt:
        todo = (f"run '{rt.resume_hint}' with the current key given as before to continue (the step "
                f"in flight is redone), or '{rt.abort_hint}' to roll back")
        j.data["state"] = J.HALTED
        j.data["halt"] = {"phase": j.data.get("phase"), "peer": None, "message": "interrupted (Ctrl-C)",
                          "todo": todo}
        # Typer turns Ctrl-C into a silent exit 130: this event is the only word the user gets
        rt.event("halted", "interrupted (Ctrl-C); the journal says where", hint=todo)
        j.save()
        raise


def _run_passes(rt: Runtime) -> Outcome:
    j = rt.journal
    for rolling in rt.plan.passes:
        if rolling.name != "stage":
            paused = _switch(rt)
            if paused is not None:
                return paused
        if j.pass_done(rolling.name):
            continue
        j.data.update(phase=rolling.phase, **{"pass": rolling.name})
        rt.event("phase", f"{rolling.name} pass: {rolling.target()} on every peer, one at a time"
                 f" ({rolling.why})", **{"pass": rolling.name})
        j.save()
        for peer in rt.plan.peers:
            _step(rt, rolling, peer)
    j.data.update(state=J.DONE, phase="done")
    summary = summarize(rt)
    j.data["summary"] = summary
    rt.event("done", f"every peer uses only the new key {rt.plan.new_fingerprint}")
    j.save()
    return Outcome(J.DONE, f"rotation finished: the key is {rt.plan.new_fingerprint} on every peer",
                   summary)


def summarize(rt: Runtime) -> dict[str, Any]:
    peers = []
    for p in rt.plan.peers:
        steps = {r.name: rt.journal.step(r.name, p.name) for r in rt.plan.passes}
        peers.append({"name": p.name, "url": p.url,
                      "restart_s": round(sum(s.get("restart_s") or 0 for s in steps.values()), 3),
                      "ready_s": round(sum(s.get("ready_s") or 0 for s in steps.values()), 3),
                      "passes": {k: {"restart_s": s.get("restart_s"), "ready_s": s.get("ready_s")}
                                 for k, s in steps.items()}})
    return {"run_id": rt.journal.run_id, "sequence": rt.plan.sequence.value,
            "key": rt.plan.new_fingerprint, "peers": peers,
            "backups": list(rt.journal.data.get("backups") or [])}


# -- abort ---------------------------------------------------------------------------------

def _config_refs(rt: Runtime, peer: str) -> tuple[str | None, str | None] | None:
    """What the peer's config says, as "old"/"new"/None; None when unreadable or foreign."""
    keys = rt.drivers[peer].read_keys()
    if keys is None:
        return None
    by_value = {rt.keys[r].value: r for r in ("old", "new")}
    api = by_value.get(keys.api_key) if keys.api_key is not None else None
    alt = by_value.get(keys.alt_api_key) if keys.alt_api_key is not None else None
    if (keys.api_key is not None and api is None) or (keys.alt_api_key is not None and alt is None):
        return None
    return api, alt


def _journal_refs(rt: Runtime, peer: str) -> tuple[tuple[str | None, str | None], bool]:
    """The config the journal implies, and whether a step on it may have been in flight."""
    refs: tuple[str | None, str | None] = ("old", None)
    inflight = False
    for rolling in rt.plan.passes:
        state = rt.journal.step(rolling.name, peer)["state"]
        if state != J.PENDING:
            refs = (rolling.api_key, rolling.alt_api_key)
            inflight = state != J.STEP_DONE
    return refs, inflight


def abort(rt: Runtime) -> Outcome:
    """Roll back what is safe: before the switch the clients hold OLD, so every peer goes
    back to api_key=OLD without alt_api_key; after it they hold NEW, so NEW stays and every
    peer is made to accept both keys (each then accepts the clients' key *and* the key any
    other peer sends). Peers already there are not restarted."""
    j = rt.journal
    if j.state == J.DONE:
        raise QdrantsecError(f"the rotation in {j.path} is finished; there is nothing to abort")
    if j.state == J.ABORTED:
        return Outcome(J.ABORTED, "the rotation was already aborted")
    switched = j.data["switch"].get("state") == J.STEP_DONE
    j.data["state"] = J.ABORTING
    accepts = ("old", "new") if switched else ("old",)
    rejects: tuple[str, ...] = () if switched else ("new",)
    j.data["abort"] = {"switched": switched, "accepts": list(accepts),
                       "done": list((j.data.get("abort") or {}).get("done") or [])}
    j.data["phase"] = "abort"
    rt.event("phase", "abort: " + ("clients hold the new key; every peer will accept both keys"
                                   if switched else "removing the staged alt_api_key everywhere"))
    j.save()
    for peer in rt.plan.peers:
        config = _config_refs(rt, peer.name)
        implied, inflight = _journal_refs(rt, peer.name)
        current = config or implied
        if switched:
            api = current[0] or "new"
            target: tuple[str, str | None] = (api, "new" if api == "old" else "old")
        else:
            target = ("old", None)
        done = peer.name in j.data["abort"]["done"]
        try:
            acc = {k: rt.gate.probe.accepts(peer.name, k) for k in ("old", "new")}
        except QdrantsecError:
            acc = {}
        matches = bool(acc) and all(acc[k] for k in accepts) and not any(acc[k] for k in rejects)
        if (done or (current == target and not inflight and config is not None)) and matches:
            continue
        if current == target and not inflight and matches and config is None:
            continue
        check_before(rt, "abort", peer, skip_self=inflight or not acc)
        driver = rt.drivers[peer.name]
        rt.event("step", f"{peer.name}: set api_key={target[0].upper()}, alt_api_key="
                 f"{target[1].upper() if target[1] else 'removed'}", peer=peer.name, action="set-keys")
        try:
            backup = driver.set_keys(rt.values(target[0]), rt.values(target[1]))
        except QdrantsecError as exc:
            raise _halt(rt, "abort", peer, f"changing its config failed: {exc.message}",
                        todo=f"fix the cause and run '{rt.abort_hint}' again") from None
        if backup:
            j.data.setdefault("backups", []).append(str(backup))
        rt.event("step", f"{peer.name}: restart", peer=peer.name, action="restart")
        j.save()
        try:
            driver.restart()
        except QdrantsecError as exc:
            raise _halt(rt, "abort", peer, f"the restart failed: {exc.message}",
                        todo=f"fix the cause and run '{rt.abort_hint}' again") from None
        result = rt.gate.wait_healthy(timeout=rt.plan.peer_timeout, settle=rt.plan.settle,
                                      restarted=peer.name, accepts=accepts, rejects=rejects)
        if not result.ok:
            raise _halt(rt, "abort", peer, "; ".join(result.problems),
                        todo=f"fix the cause and run '{rt.abort_hint}' again")
        j.data["abort"]["done"].append(peer.name)
        for rolling in rt.plan.passes:   # a later resume redoes these steps
            if (rolling.api_key, rolling.alt_api_key) != target:
                j.step(rolling.name, peer.name)["state"] = J.PENDING
        rt.event("peer-done", f"{peer.name}: rolled back", peer=peer.name)
        j.save()
    j.data.update(state=J.ABORTED, phase="aborted")
    if switched:
        msg = (f"aborted after the switch: every peer accepts the old key {rt.plan.old_fingerprint} "
               f"and the new key {rt.plan.new_fingerprint} (the clients' key); the old key is "
               "still valid")
    else:
        msg = (f"aborted: every peer is back to the old key {rt.plan.old_fingerprint} only; the new "
               "key was removed (make sure no client uses it)")
    rt.event("aborted", msg)
    j.save()
    return Outcome(J.ABORTED, msg, {"backups": list(j.data.get("backups") or [])})
