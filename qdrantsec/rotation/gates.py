"""Health gates between rotation steps, over Qdrant's HTTP API.

``/readyz`` is not enough (facts 7.1): it is sticky, always 200 on a single node, and its
commit check ignores failed peers, so it cannot see an internal-auth mismatch. The gate
therefore also asks every peer's ``/cluster`` (facts 7.2, 7.4): the same peer set, the same
non-zero leader and term, consensus working, no pending operations, and
``message_send_failures`` not growing once the restarted peer is back; and every
collection's replicas Active with no shard transfers. What a peer accepts is checked by
sending each key to ``GET /collections`` (200 accepted, 401/403 refused).

The observation window (``--settle``) can end early on positive evidence, and a clear
refusal ends the wait at once:

- Qdrant keeps the Raft leader id in memory only (raft-rs soft state), so a restarted
  follower that reports the agreed leader has accepted a message the leader sent it after it
  came back. A send that succeeds removes the sender's ``message_send_failures`` entry for
  that URI. So when the restarted peer has known the leader and recorded no failed send
  itself for ``EVIDENCE_HOLD`` seconds (a follower answers the leader's message at once, so a
  refused answer shows within a round trip), no count grew anywhere meanwhile, and no peer
  records a failed send to it now, the internal calls to and from it work: the window ends.
  Without that evidence (a stale entry no one sends to again, say) the whole window is
  waited.
- Sends refused for authentication (tonic's ``Unauthenticated`` / ``PermissionDenied``) that
  keep growing for the whole window once the peer is back cannot heal by waiting: the gate
  fails then instead of waiting for ``--peer-timeout`` while internal calls fail.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from qdrantsec.errors import NetworkError, QdrantsecError, ServerError

if TYPE_CHECKING:  # pragma: no cover
    import httpx

    from qdrantsec.qdrant.client import ConnectionSettings
    from qdrantsec.secrets import Secret

#: poll interval while a restarted peer is expected back soon, and once it has taken longer
#: (a Qdrant loading its collections does not need twenty /cluster rounds a second)
POLL = 0.05
POLL_SLOW = 0.25
POLL_FAST_FOR = 5.0
#: how long the positive evidence must hold before the observation window may end early
EVIDENCE_HOLD = 0.15
#: tonic status names of sends refused for authentication (facts 2.6)
AUTH_REFUSALS = ("Unauthenticated", "PermissionDenied")


@dataclass(frozen=True)
class Target:
    name: str
    url: str


class Probe:
    """HTTP access to the peers: one keep-alive client per (peer, key)."""

    def __init__(self, peers: Iterable[Target], settings_for: Callable[[str], ConnectionSettings],
                 keys: Mapping[str, Secret]) -> None:
        self.peers = {p.name: p for p in peers}
        self._settings_for = settings_for
        self.keys = dict(keys)
        self._clients: dict[tuple[str, str | None], httpx.Client] = {}
        self._working: dict[str, str] = {}

    def client(self, peer: str, key: str | None) -> httpx.Client:
        from qdrantsec.qdrant.client import make_client

        c = self._clients.get((peer, key))
        if c is None:
            secret = self.keys[key] if key is not None else None
            c = make_client(self._settings_for(self.peers[peer].url), secret)
            self._clients[(peer, key)] = c
        return c

    def close(self) -> None:
        for c in self._clients.values():
            c.close()
        self._clients.clear()

    def _send(self, peer: str, key: str | None, method: str, path: str) -> httpx.Response:
        from qdrantsec.qdrant.client import send

        try:
            return send(self.client(peer, key), method, path)
        except NetworkError:
            # a keep-alive connection the restarted peer closed: one fresh try
            self._clients.pop((peer, key), None)
            return send(self.client(peer, key), method, path)

    def accepts(self, peer: str, key: str) -> bool:
        """Whether ``peer`` accepts ``key`` (the admin key role). Raises NetworkError when down."""
        resp = self._send(peer, key, "GET", "/collections")
        if resp.status_code == 200:
            self._working[peer] = key
            return True
        if resp.status_code in (401, 403):
            return False
        raise ServerError(f"{self.peers[peer].name}: GET /collections answered {resp.status_code}")

    def acceptance(self, peer: str) -> dict[str, bool]:
        return {k: self.accepts(peer, k) for k in self.keys}

    def get(self, peer: str, path: str) -> Any:
        """GET ``path`` with a key the peer accepts; the body's ``result``."""
        from qdrantsec.qdrant.client import parse_response

        order = [self._working[peer]] if peer in self._working else []
        order += [k for k in self.keys if k not in order]
        last: QdrantsecError | None = None
        for key in order:
            resp = self._send(peer, key, "GET", path)
            if resp.status_code in (401, 403):
                last = ServerError(f"{peer}: GET {path} refused every key ({resp.status_code})")
                continue
            self._working[peer] = key
            return parse_response(resp)
        assert last is not None
        raise last

    def ready(self, peer: str) -> bool:
        resp = self._send(peer, None, "GET", "/readyz")
        return resp.status_code == 200


# -- pure checks ----------------------------------------------------------------------

def cluster_problems(statuses: Mapping[str, Mapping[str, Any] | None], expected: int) -> list[str]:
    """What is wrong with the ``/cluster`` answers of every peer (empty: healthy)."""
    problems: list[str] = []
    peer_sets: dict[str, frozenset[str]] = {}
    leaders: dict[str, tuple[Any, Any]] = {}
    for name, st in statuses.items():
        if st is None:
            problems.append(f"{name}: not answering")
            continue
        if st.get("status") != "enabled":
            problems.append(f"{name}: cluster mode is {st.get('status')!r}")
            continue
        ids = frozenset(str(k) for k in (st.get("peers") or {}))
        peer_sets[name] = ids
        if len(ids) != expected:
            problems.append(f"{name}: sees {len(ids)} peers, expected {expected}")
        ri = st.get("raft_info") or {}
        leaders[name] = (ri.get("leader"), ri.get("term"))
        if not ri.get("leader"):
            problems.append(f"{name}: no leader")
        if ri.get("pending_operations"):
            problems.append(f"{name}: {ri.get('pending_operations')} pending operations")
        cts = (st.get("consensus_thread_status") or {}).get("consensus_thread_status")
        if cts != "working":
            problems.append(f"{name}: consensus thread {cts}")
    if len(set(peer_sets.values())) > 1:
        problems.append("peers disagree on the peer set: " + "; ".join(
            f"{n}: {sorted(s)}" for n, s in peer_sets.items()))
    if len(set(leaders.values())) > 1:
        problems.append("peers disagree on leader/term: " + "; ".join(
            f"{n}: leader {lt[0]} term {lt[1]}" for n, lt in leaders.items()))
    return problems


def collection_problems(per_peer: Mapping[str, Mapping[str, Mapping[str, Any]]]) -> list[str]:
    """``per_peer[peer][collection]`` = ``GET /collections/{c}/cluster`` result."""
    problems = []
    for peer, colls in per_peer.items():
        for coll, info in colls.items():
            shards = list(info.get("local_shards") or []) + list(info.get("remote_shards") or [])
            bad = sorted({str(s.get("state")) for s in shards if s.get("state") != "Active"})
            if bad:
                problems.append(f"{peer}: collection {coll} has replicas {', '.join(bad)}")
            if info.get("shard_transfers"):
                problems.append(f"{peer}: collection {coll} has shard transfers running")
    return problems


@dataclass
class FailureWatch:
    """``message_send_failures`` samples over time, to tell growing counts from stale ones."""

    samples: list[tuple[float, dict[tuple[str, str], int], dict[tuple[str, str], str]]] = \
        field(default_factory=list)

    def add(self, when: float, statuses: Mapping[str, Mapping[str, Any] | None]) -> None:
        counts: dict[tuple[str, str], int] = {}
        errors: dict[tuple[str, str], str] = {}
        for name, st in statuses.items():
            for uri, entry in ((st or {}).get("message_send_failures") or {}).items():
                counts[(name, uri)] = int(entry.get("count") or 0)
                errors[(name, uri)] = str(entry.get("latest_error") or "")
        self.samples.append((when, counts, errors))

    def grown(self, now: float, settle: float, since: float) -> list[tuple[str, str, int, str]] | None:
        """``(peer, uri, count, latest error)`` of the entries that grew over the last
        ``settle`` seconds (samples taken after ``since``); None when there is not yet
        ``settle`` seconds of history."""
        window = [s for s in self.samples if s[0] >= since]
        if not window or now - window[0][0] < settle:
            return None
        base = None
        for s in window:
            if now - s[0] >= settle:
                base = s
        assert base is not None
        _, old, _ = base
        _, cur, err = window[-1]
        return [(name, uri, count, err.get((name, uri), ""))
                for (name, uri), count in sorted(cur.items()) if count > old.get((name, uri), 0)]


def describe_failure(name: str, uri: str, count: int, error: str) -> str:
    return (f"{name}: sends to {uri} failing ({count} failures"
            + (f", latest: {error}" if error else "") + ")")


def _uri_of(status: Mapping[str, Any] | None) -> str | None:
    st = status or {}
    uri = (st.get("peers") or {}).get(str(st.get("peer_id")), {}).get("uri")
    return uri if isinstance(uri, str) and uri else None


def restarted_side(statuses: Mapping[str, Mapping[str, Any] | None], restarted: str | None) -> bool:
    """The restarted peer knows the leader (so it accepted the leader's message) and records
    no failed send itself; the hold is counted from here, as its answer to that message is
    what may still fail."""
    if restarted is None:
        return True
    me = statuses.get(restarted)
    return (me is not None and _uri_of(me) is not None
            and bool((me.get("raft_info") or {}).get("leader"))
            and not me.get("message_send_failures"))


def link_evidence(statuses: Mapping[str, Mapping[str, Any] | None], restarted: str | None) -> bool:
    """Positive evidence that internal calls to and from ``restarted`` work now (see the
    module docstring); with no restarted peer: no peer records any failed send."""
    if restarted is None:
        return all(not (st or {}).get("message_send_failures") for st in statuses.values())
    if not restarted_side(statuses, restarted):
        return False
    uri = _uri_of(statuses.get(restarted))
    return all(uri not in ((st or {}).get("message_send_failures") or {})
               for name, st in statuses.items() if name != restarted)


# -- the gate ------------------------------------------------------------------------

@dataclass
class GateResult:
    ok: bool
    problems: list[str]
    uris: dict[str, str] = field(default_factory=dict)   # peer name -> p2p URI
    waited: float = 0.0


@dataclass
class Gate:
    probe: Probe
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    #: one peer without cluster mode (--allow-downtime): no /cluster or replica checks
    single: bool = False

    def snapshot(self) -> dict[str, dict[str, Any] | None]:
        out: dict[str, dict[str, Any] | None] = {}
        for name in self.probe.peers:
            try:
                st = self.probe.get(name, "/cluster")
                out[name] = st if isinstance(st, dict) else None
            except QdrantsecError:
                out[name] = None
        return out

    def collections(self, statuses: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
        per_peer: dict[str, dict[str, Any]] = {}
        names: list[str] | None = None
        for peer in self.probe.peers:
            if statuses.get(peer) is None:
                continue
            if names is None:
                listed = self.probe.get(peer, "/collections") or {}
                names = [c["name"] for c in listed.get("collections", [])]
            per_peer[peer] = {c: self.probe.get(peer, f"/collections/{c}/cluster") or {}
                              for c in names}
        return per_peer

    def check_once(self) -> tuple[list[str], dict[str, dict[str, Any] | None]]:
        statuses = self.snapshot()
        if self.single:
            return [f"{n}: not answering" for n, st in statuses.items() if st is None], statuses
        problems = cluster_problems(statuses, len(self.probe.peers))
        if not problems:
            try:
                problems = collection_problems(self.collections(statuses))
            except QdrantsecError as exc:
                problems = [exc.message]
        return problems, statuses

    def wait_healthy(self, *, timeout: float, settle: float, restarted: str | None = None,
                     accepts: tuple[str, ...] = (), rejects: tuple[str, ...] = (),
                     on_wait: Callable[[list[str]], None] | None = None) -> GateResult:
        """Wait until the cluster is healthy (and ``restarted`` answers, is ready and accepts
        ``accepts`` / refuses ``rejects``), with failures not growing for ``settle`` s."""
        start = self.clock()
        watch = FailureWatch()
        # the failure watch starts when the restarted peer first answers at all (its /readyz
        # may still say 503 while it catches up): its failures must not grow from then on
        up_since: float | None = None if restarted else start
        evidence_since: float | None = None
        ready = restarted is None
        problems: list[str] = ["not checked yet"]
        last_report = start
        while True:
            now = self.clock()
            problems = []
            if restarted is not None and not ready:
                try:
                    ready = self.probe.ready(restarted)
                    up_since = now if up_since is None else up_since
                    if not ready:
                        problems.append(f"{restarted}: /readyz not ready yet")
                except QdrantsecError as exc:
                    problems.append(f"{restarted}: not answering ({exc.message})")
            if up_since is not None:
                found, statuses = self.check_once()
                problems += found
                watch.add(now, statuses)
                if ready and not problems and restarted_side(statuses, restarted):
                    evidence_since = now if evidence_since is None else evidence_since
                else:
                    evidence_since = None
                grown = watch.grown(now, settle, up_since)
                if grown is None and evidence_since is not None and link_evidence(statuses, restarted):
                    grown = watch.grown(now, min(settle, EVIDENCE_HOLD), evidence_since)
                if grown is None:
                    problems.append(f"watching internal calls for up to {settle:g} s")
                else:
                    refused = [g for g in grown if any(a in g[3] for a in AUTH_REFUSALS)]
                    if refused and ready and now - up_since >= settle:
                        # refused for the whole window since the peer is back: no healing
                        return GateResult(False, ["internal calls refused: " + "; ".join(
                            describe_failure(*g) for g in refused)], {}, now - start)
                    problems += [describe_failure(*g) for g in grown]
            if not problems and restarted is not None:
                # the keys were loaded at start-up: waiting longer cannot change them
                wrong = self.key_problems(restarted, accepts, rejects)
                if wrong:
                    return GateResult(False, wrong, {}, now - start)
            if not problems:
                uris = {name: u for name, st in statuses.items() if (u := _uri_of(st))}
                return GateResult(True, [], uris, now - start)
            if now - start >= timeout:
                return GateResult(False, problems, {}, now - start)
            if on_wait is not None and now - last_report >= 5.0:
                last_report = now
                on_wait(problems)
            pause = POLL if now - start < POLL_FAST_FOR else POLL_SLOW
            if evidence_since is not None:   # wake when the hold is over, not a poll later
                pause = min(pause, max(0.01, evidence_since + min(settle, EVIDENCE_HOLD) - self.clock()))
            self.sleep(pause)

    def key_problems(self, peer: str, accepts: tuple[str, ...], rejects: tuple[str, ...]) -> list[str]:
        out = []
        try:
            for k in accepts:
                if not self.probe.accepts(peer, k):
                    out.append(f"{peer}: rejects the {k.upper()} key, which it should accept")
            for k in rejects:
                if self.probe.accepts(peer, k):
                    out.append(f"{peer}: still accepts the {k.upper()} key, which it should refuse")
        except QdrantsecError as exc:
            out.append(f"{peer}: {exc.message}")
        return out
