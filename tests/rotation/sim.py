"""A simulated cluster for the executor's unit tests: drivers implementing the Driver
protocol and a probe answering ``/cluster`` like Qdrant (facts 7.2), including
``message_send_failures`` that grow while a peer's ``api_key`` is refused by another peer
with ``enforce_internal_auth`` (facts 2.6). Time is a fake clock advanced by the gate's
sleeps, so the real ``Gate`` runs unchanged and instantly."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from qdrantsec.errors import NetworkError
from qdrantsec.rotation.drivers import ConfigKeys, RestartError
from qdrantsec.rotation.gates import Gate, Target
from qdrantsec.secrets import Secret

OLD = Secret("old-admin-key-0123456789-ABCDEFGHIJKLmnop", "test", "api_key")
NEW = Secret("new-admin-key-9876543210-zyxwvutsrqPONMLK", "test", "new api_key")


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def now(self) -> float:
        return self.t

    def sleep(self, s: float) -> None:
        self.t += s


@dataclass
class SimPeer:
    name: str
    pid: int
    enforce: bool = False
    config: tuple[str | None, str | None] = (OLD.value, None)
    running: tuple[str | None, str | None] = (OLD.value, None)
    up: bool = True
    # faults
    fail_restart: bool = False
    no_start: bool = False
    ignore_config: bool = False
    restarts: int = 0
    # Raft's leader id is soft state: after a restart, unknown until the leader's message
    # (a heartbeat every 0.2 s) is accepted
    up_at: float = 0.0
    knows_leader: bool = True
    #: failure entries that never change (a URI no one sends to again)
    stale_failures: dict[str, Any] = field(default_factory=dict)

    def accepted(self) -> set[str]:
        return {k for k in self.running if k}


@dataclass
class SimCluster:
    names: list[str]
    enforce: bool = False
    clock: Clock = field(default_factory=Clock)
    log: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.peers = {n: SimPeer(n, i + 1, self.enforce) for i, n in enumerate(self.names)}
        self.broken_since: dict[tuple[str, str], float] = {}

    def uri(self, name: str) -> str:
        return f"http://{name}:6335"

    def internal_failures(self, sender: SimPeer) -> dict[str, Any]:
        out = {}
        for other in self.peers.values():
            if other is sender:
                continue
            key = (sender.name, other.name)
            refused = other.up and other.enforce and sender.running[0] not in other.accepted()
            if not other.up or refused:
                since = self.broken_since.setdefault(key, self.clock.now())
                err = ('status: Unauthenticated, message: "Invalid API key or JWT"' if refused
                       else "status: Unavailable, message: \"tcp connect error\"")
                out[self.uri(other.name)] = {"count": 1 + int((self.clock.now() - since) / 0.2),
                                             "latest_error": err}
            else:
                self.broken_since.pop(key, None)
        return {**sender.stale_failures, **out}

    def leader_of(self, p: SimPeer) -> int:
        leader = self.peers[self.names[0]]
        if p is leader:
            return leader.pid
        if not p.knows_leader and leader.up and self.clock.now() - p.up_at >= 0.2 \
                and (not p.enforce or leader.running[0] in p.accepted()):
            p.knows_leader = True
        return leader.pid if p.knows_leader else 0


class SimProbe:
    def __init__(self, cluster: SimCluster, keys: dict[str, Secret]) -> None:
        self.c = cluster
        self.peers = {n: Target(n, f"http://{n}:6333") for n in cluster.names}
        self.keys = keys

    def _peer(self, name: str) -> SimPeer:
        p = self.c.peers[name]
        if not p.up:
            raise NetworkError(f"cannot connect to http://{name}:6333: Connection refused")
        return p

    def accepts(self, peer: str, key: str) -> bool:
        return self.keys[key].value in self._peer(peer).accepted()

    def ready(self, peer: str) -> bool:
        self._peer(peer)
        return True

    def get(self, peer: str, path: str) -> Any:
        p = self._peer(peer)
        if path == "/collections":
            return {"collections": [{"name": "docs"}]}
        if path == "/collections/docs":
            return {"config": {"params": {"replication_factor": 2}}}
        if path == "/collections/docs/cluster":
            return {"local_shards": [{"state": "Active"}],
                    "remote_shards": [{"state": "Active" if q.up else "Dead"}
                                      for q in self.c.peers.values() if q is not p],
                    "shard_transfers": []}
        assert path == "/cluster", path
        return {"status": "enabled", "peer_id": p.pid,
                "peers": {str(q.pid): {"uri": self.c.uri(q.name)} for q in self.c.peers.values()},
                "raft_info": {"term": 1, "commit": 5, "pending_operations": 0,
                              "leader": self.c.leader_of(p)},
                "consensus_thread_status": {"consensus_thread_status": "working"},
                "message_send_failures": self.c.internal_failures(p)}

    def close(self) -> None:
        pass


@dataclass
class SimDriver:
    cluster: SimCluster
    name: str
    readable: bool = True

    @property
    def peer(self) -> SimPeer:
        return self.cluster.peers[self.name]

    def describe(self) -> str:
        return f"sim {self.name}"

    def read_keys(self) -> ConfigKeys | None:
        if not self.readable:
            return None
        api, alt = self.peer.config
        return ConfigKeys(api_key=api, alt_api_key=alt, enforce_internal_auth=self.peer.enforce,
                          source="sim")

    def set_keys(self, api_key: str, alt_api_key: str | None) -> str | None:
        if self.peer.config == (api_key, alt_api_key):
            return None
        self.peer.config = (api_key, alt_api_key)
        self.cluster.log.append(f"set {self.name}")
        return f"/backups/{self.name}.{len(self.cluster.log)}"

    def restart(self) -> None:
        p = self.peer
        others_down = [q.name for q in self.cluster.peers.values() if q is not p and not q.up]
        assert not others_down, f"restarting {p.name} while {others_down} are down"
        if p.fail_restart:
            raise RestartError(f"peer {p.name}: the restart command failed with exit status 3",
                               peer=p.name)
        p.restarts += 1
        self.cluster.log.append(f"restart {self.name}")
        if p.no_start:
            p.up = False
            return
        p.up = True
        p.up_at = self.cluster.clock.now()
        p.knows_leader = False
        if not p.ignore_config:
            p.running = p.config


def make(names: list[str], *, enforce: bool = False
         ) -> tuple[SimCluster, SimProbe, Gate, dict[str, SimDriver]]:
    cluster = SimCluster(names, enforce=enforce)
    probe = SimProbe(cluster, {"old": OLD, "new": NEW})
    gate = Gate(probe, clock=cluster.clock.now, sleep=cluster.clock.sleep)  # type: ignore[arg-type]
    drivers = {n: SimDriver(cluster, n) for n in names}
    return cluster, probe, gate, drivers
