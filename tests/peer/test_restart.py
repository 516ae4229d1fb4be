"""Restarts: SIGTERM is clean, SIGKILL leaves the peer restartable, keys change on restart."""

from __future__ import annotations

import signal
import time

import pytest

from tests.peer.conftest import ALT_KEY, API_KEY
from tests.peer.peerlib import DELETE, PeerFactory, PeerProcess, RequestStream, wait_for

pytestmark = pytest.mark.integration

NEW_KEY = "new-admin-key-0123456789-abcdefghij"


def seed(peer: PeerProcess, key: str = API_KEY, n: int = 20) -> None:
    r = peer.request("PUT", "/collections/keep", api_key=key,
                     json_body={"vectors": {"size": 2, "distance": "Euclid"}})
    assert r.status_code == 200, r.text
    r = peer.request("PUT", "/collections/keep/points?wait=true", api_key=key, json_body={
        "points": [{"id": i, "vector": [i, 0], "payload": {"i": i}} for i in range(n)]})
    assert r.status_code == 200, r.text
    r = peer.request("POST", "/collections/aliases", api_key=key, json_body={
        "actions": [{"create_alias": {"collection_name": "keep", "alias_name": "keep_alias"}}]})
    assert r.status_code == 200


def count(peer: PeerProcess, key: str = API_KEY) -> int:
    r = peer.request("POST", "/collections/keep_alias/points/count", api_key=key, json_body={})
    assert r.status_code == 200, r.text
    return int(r.json()["result"]["count"])


def test_sigterm_clean_exit_and_data_survives(peer_factory: PeerFactory) -> None:
    p = peer_factory({"service": {"api_key": API_KEY}})
    port = p.http_port
    seed(p)
    assert p.stop() == 0
    assert "stopped" in p.stderr_text()
    p.start()
    assert p.http_port == port
    assert count(p) == 20
    r = p.request("GET", "/collections/keep/points/7", api_key=API_KEY)
    assert r.json()["result"]["payload"] == {"i": 7}
    assert r.json()["result"]["vector"] == [7.0, 0.0]


def test_sigint_also_clean(peer_factory: PeerFactory) -> None:
    p = peer_factory()
    assert p.proc is not None
    p.proc.send_signal(signal.SIGINT)
    assert p.wait_exit(10) == 0


def test_sigkill_restartable(peer_factory: PeerFactory) -> None:
    p = peer_factory({"service": {"api_key": API_KEY}})
    seed(p)
    assert p.kill() == -signal.SIGKILL
    p.start()
    assert count(p) == 20


def test_sigkill_during_writes(peer_factory: PeerFactory) -> None:
    p = peer_factory({"service": {"api_key": API_KEY}})
    seed(p, n=1)
    stream = RequestStream(
        f"{p.url}/collections/keep/points?wait=true", {"api-key": API_KEY}, method="PUT",
        json_body={"points": [{"id": i, "vector": [i, 1], "payload": {"blob": "x" * 200}}
                              for i in range(200)]},
        interval=0, duration=10,
    ).start()
    wait_for(lambda: stream.counts[200] >= 5, timeout=10)
    p.kill()
    stream.stop()
    assert stream.counts[200] >= 5
    p.start()
    assert count(p) == 200  # every acknowledged write is on disk, no torn file
    assert not list(p.workdir.glob("storage/**/.*.tmp"))


def test_keys_change_only_on_restart(peer_factory: PeerFactory) -> None:
    p = peer_factory({"service": {"api_key": API_KEY}})
    seed(p)
    p.config_path.write_text("service:\n  api_key: something-else\n")  # not re-read live
    assert count(p) == 20
    p.restart(config_changes={"service": {"api_key": NEW_KEY}})
    assert p.request("GET", "/collections", api_key=API_KEY).status_code == 401
    assert count(p, NEW_KEY) == 20
    p.restart(env_changes={"QDRANT__SERVICE__API_KEY": API_KEY})
    assert count(p, API_KEY) == 20
    assert p.request("GET", "/collections", api_key=NEW_KEY).status_code == 401
    p.restart(config_changes={"service": {"api_key": DELETE}},
              env_changes={"QDRANT__SERVICE__API_KEY": None})
    assert p.request("GET", "/collections").status_code == 200  # no key: no auth


def test_rotation_with_request_stream(peer_factory: PeerFactory) -> None:
    """The documented rotation steps, with a stream whose key changes mid-way."""
    p = peer_factory({"service": {"api_key": API_KEY}})
    seed(p)
    current = {"key": API_KEY}
    stream = RequestStream(f"{p.url}/collections", lambda: {"api-key": current["key"]},
                           interval=0.005, duration=30).start()
    try:
        wait_for(lambda: stream.counts[200] > 5)
        p.restart(config_changes={"service": {"alt_api_key": ALT_KEY}})  # 1: add the new key
        wait_for(lambda: stream.total > 0 and stream.events[-1][1] == 200)
        current["key"] = ALT_KEY  # 2: clients switch
        time.sleep(0.1)
        before = stream.snapshot()
        p.restart(config_changes={"service": {"api_key": ALT_KEY, "alt_api_key": DELETE}})
        wait_for(lambda: stream.events[-1][1] == 200)
        time.sleep(0.1)
    finally:
        stream.stop()
    counts = stream.snapshot()
    assert counts.get(401, 0) == 0, counts  # the key in use was always accepted
    assert counts[200] > before[200]
    # the downtime of the restarts shows up as connection errors only
    assert set(counts) <= {200, "connection_error"}
    assert p.request("GET", "/collections", api_key=API_KEY).status_code == 401


def test_stream_counts_by_status(peer_factory: PeerFactory) -> None:
    p = peer_factory({"service": {"api_key": API_KEY}})
    stream = RequestStream(f"{p.url}/collections", {"api-key": "wrong"}, max_requests=10,
                           interval=0)
    with stream:
        stream.join(10)
    assert stream.snapshot() == {401: 10}
    assert stream.total == 10
