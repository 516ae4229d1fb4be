"""The rotation plan: which sequence, which rolling passes, in which order (pure).

Qdrant peers send only their ``api_key`` on internal (p2p) calls and, with
``enforce_internal_auth``, check it like any client key (facts 2.6). The documented 3-step
procedure (stage NEW as ``alt_api_key``; switch clients; promote NEW to ``api_key`` and drop
``alt_api_key``) is therefore safe only without enforcement: during the promote pass a
restarted peer sends NEW to peers that do not know it yet, and the peers not yet restarted
send OLD to it. The 4-step sequence keeps both keys on every peer while the sent key changes
(facts 2.7), so it is chosen when enforcement is on *or unknown*.

Keys are named symbolically here ("old", "new"); the executor maps them to the secrets.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Literal

KeyRef = Literal["old", "new"]


class Sequence(str, Enum):
    THREE_STEP = "3-step"
    FOUR_STEP = "4-step"


@dataclass(frozen=True)
class RollingPass:
    """One rolling restart over every peer, driving each to ``api_key``/``alt_api_key``."""

    name: str                       # "stage", "promote", "finish"
    phase: str                      # the phase shown to users: stage / promote
    api_key: KeyRef
    alt_api_key: KeyRef | None      # None: removed
    accepts: tuple[KeyRef, ...]     # what the peer must accept once restarted
    rejects: tuple[KeyRef, ...]     # what it must refuse once restarted
    why: str

    def target(self) -> str:
        alt = self.alt_api_key.upper() if self.alt_api_key else "removed"
        return f"api_key={self.api_key.upper()}, alt_api_key={alt}"


@dataclass(frozen=True)
class PlannedPeer:
    name: str
    url: str
    driver: str      # the driver's describe(): file PATH, restart: CMD


#: the checks run after each restart (the gate), in the order they are evaluated
GATE_CHECKS: tuple[str, ...] = (
    "the restarted peer answers, its /readyz is 200, it accepts {accepts} and refuses {rejects}",
    "GET /cluster on every peer: the same peer set ({n} peers), the same non-zero leader and "
    "term, consensus_thread_status working, pending_operations 0",
    "every collection: all replicas Active on every peer, no shard transfers",
    "message_send_failures on every peer not growing (for {settle} s after the peer is back, "
    "or 0.15 s once it knows the leader and no send to or from it has failed since): "
    "internal calls work (a 401 here is an internal-auth mismatch that /readyz cannot see)",
)

BEFORE_CHECKS: tuple[str, ...] = (
    "before each peer: every other peer is up, agrees on the cluster and accepts the keys "
    "its own step left it with (never restart a peer while another is not back)",
)


@dataclass(frozen=True)
class Plan:
    sequence: Sequence
    reason: str
    peers: tuple[PlannedPeer, ...]
    passes: tuple[RollingPass, ...]
    old_fingerprint: str
    new_fingerprint: str
    settle: float = 2.0
    peer_timeout: float = 120.0
    warnings: tuple[str, ...] = field(default=())

    @property
    def switch_after(self) -> str:
        """The name of the pass after which clients switch to the new key."""
        return "stage"

    def pass_named(self, name: str) -> RollingPass:
        for p in self.passes:
            if p.name == name:
                return p
        raise KeyError(name)

    def restarts(self) -> int:
        return len(self.passes) * len(self.peers)

    def as_dict(self) -> dict[str, Any]:
        return {
            "sequence": self.sequence.value,
            "reason": self.reason,
            "keys": {"old": self.old_fingerprint, "new": self.new_fingerprint},
            "peers": [{"name": p.name, "url": p.url, "driver": p.driver} for p in self.peers],
            "phases": phases(self),
            "checks": gate_checks(self, None),
            "warnings": list(self.warnings),
        }


STAGE = RollingPass(
    name="stage", phase="stage", api_key="old", alt_api_key="new",
    accepts=("old", "new"), rejects=(),
    why="NEW becomes the alternate key; peers keep sending OLD on internal calls")
PROMOTE_3 = RollingPass(
    name="promote", phase="promote", api_key="new", alt_api_key=None,
    accepts=("new",), rejects=("old",),
    why="NEW becomes the only key (internal auth is off, so the key peers send does not matter)")
PROMOTE_4 = RollingPass(
    name="promote", phase="promote", api_key="new", alt_api_key="old",
    accepts=("old", "new"), rejects=(),
    why="peers start sending NEW while every peer still accepts OLD and NEW")
FINISH_4 = RollingPass(
    name="finish", phase="promote", api_key="new", alt_api_key=None,
    accepts=("new",), rejects=("old",),
    why="OLD is removed; every peer already sends NEW")


def choose_sequence(internal_auth: bool | None, source: str) -> tuple[Sequence, str]:
    """3-step only when internal auth is known to be off; ``source`` says how we know."""
    if internal_auth is False:
        return Sequence.THREE_STEP, (
            f"enforce_internal_auth is off ({source}): internal calls are not authenticated, "
            "so the documented 3-step procedure is safe")
    if internal_auth is True:
        return Sequence.FOUR_STEP, (
            f"enforce_internal_auth is on ({source}): peers send only api_key on internal "
            "calls, so promoting NEW and dropping OLD in one pass would make peers refuse "
            "each other (401); a 4-step sequence keeps both keys while the sent key changes")
    return Sequence.FOUR_STEP, (
        f"enforce_internal_auth is unknown ({source}): the 4-step sequence is safe either way "
        "(pass --internal-auth off to allow the shorter 3-step one)")


def build_plan(*, internal_auth: bool | None, internal_auth_source: str,
               peers: list[PlannedPeer], old_fingerprint: str, new_fingerprint: str,
               settle: float = 2.0, peer_timeout: float = 120.0,
               warnings: tuple[str, ...] = (), recorded: tuple[str, str] | None = None) -> Plan:
    """``recorded`` = (sequence, reason) from a journal: a resumed run keeps its sequence."""
    if recorded is not None:
        sequence, reason = Sequence(recorded[0]), recorded[1]
    else:
        sequence, reason = choose_sequence(internal_auth, internal_auth_source)
    passes = (STAGE, PROMOTE_3) if sequence is Sequence.THREE_STEP else (STAGE, PROMOTE_4, FINISH_4)
    return Plan(sequence=sequence, reason=reason, peers=tuple(peers), passes=passes,
                old_fingerprint=old_fingerprint, new_fingerprint=new_fingerprint,
                settle=settle, peer_timeout=peer_timeout, warnings=warnings)


def _keys(refs: tuple[KeyRef, ...]) -> str:
    return " and ".join(r.upper() for r in refs) if refs else "nothing"


def gate_checks(plan: Plan, rolling: RollingPass | None) -> list[str]:
    accepts = _keys(rolling.accepts) if rolling else "the keys of its pass"
    rejects = _keys(rolling.rejects) if rolling else "any key the pass removed"
    if rolling is not None and not rolling.rejects:
        rejects = "nothing"
    return [c.format(accepts=accepts, rejects=rejects, n=len(plan.peers), settle=plan.settle)
            for c in BEFORE_CHECKS + GATE_CHECKS]


def phases(plan: Plan) -> list[dict[str, Any]]:
    """Every phase with its actions, in order: what --dry-run prints."""
    out: list[dict[str, Any]] = [{
        "phase": "preflight",
        "actions": [
            "every peer reachable and accepting OLD; /cluster agrees everywhere; collections "
            "Active with no shard transfers; replication_factor >= 2 (or --allow-downtime)",
            "NEW: at least 32 bytes, visible ASCII, different from OLD",
        ],
    }]
    for rolling in plan.passes:
        if rolling.name == "promote":
            out.append(switch_phase())
        steps = []
        for i, peer in enumerate(plan.peers, start=1):
            steps.append({
                "peer": peer.name, "url": peer.url, "order": i,
                "actions": [f"set {rolling.target()}", "restart",
                            f"gate: accepts {_keys(rolling.accepts)}"
                            + (f", refuses {_keys(rolling.rejects)}" if rolling.rejects else "")],
            })
        out.append({"phase": rolling.phase, "pass": rolling.name, "target": rolling.target(),
                    "why": rolling.why, "peers": steps,
                    "checks": gate_checks(plan, rolling)})
    out.append({"phase": "done", "actions": [
        f"summary: timings per peer, final key {plan.new_fingerprint}, backups"]})
    return out


def switch_phase() -> dict[str, Any]:
    return {"phase": "switch", "actions": [
        "every peer accepts OLD and NEW: move the clients to NEW",
        "continue on confirmation, or run --switch-cmd, or stop with --pause (exit 21) "
        "and continue with 'rotate-key resume'",
        "Qdrant's audit log does not record which key authenticated a request, so qdrantsec "
        "cannot prove that the clients switched",
    ]}
