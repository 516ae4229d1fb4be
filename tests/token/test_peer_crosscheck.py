"""Cross-check qdrantsec.qdrant.access against the test peer's independent implementation
(tests/qdrant_peer): the same answers for the 4.1 matrix, and a route for every endpoint the
peer serves."""

from __future__ import annotations

import itertools
import re

import pytest

from qdrantsec.qdrant import access as A

peer_access = pytest.importorskip("tests.qdrant_peer.access")
peer_auth = pytest.importorskip("tests.qdrant_peer.auth")
pytest.importorskip("tests.qdrant_peer.handlers")  # registers the peer's routes
peer_app = pytest.importorskip("tests.qdrant_peer.app")

GRANTS = [None, "r", "rw", "prw"]


def _accesses() -> list[tuple[A.Access, object]]:
    out = [(A.Access.manage(), peer_auth.Access("m")), (A.Access.read(), peer_auth.Access("r"))]
    for mode in ("r", "rw", "prw"):
        out.append((A.Access.for_collections({"c": mode}),
                    peer_auth.Access(None, [peer_auth.CollectionGrant("c", mode)])))
    out.append((A.Access.for_collections({}), peer_auth.Access(None, [])))
    return out


@pytest.mark.parametrize(("write", "manage", "extras"), list(itertools.product([False, True],
                                                                             repeat=3)))
def test_matrix_agrees_with_peer(write: bool, manage: bool, extras: bool) -> None:
    req = peer_access.Req(write=write, manage=manage, extras=extras)
    mine_c = A.Requirement("collection", "x", write=write, manage=manage, extras=extras)
    mine_g = A.Requirement("global", "x", write=write, manage=manage, extras=extras)
    for mine, peer in _accesses():
        for name in ("c", "other"):
            d = A.check(mine, mine_c, name)
            assert (d.message if d.outcome == "denied" else None) == \
                peer_access.collection_error(peer, name, req), (mine, name, req)
        d = A.check(mine, mine_g)
        assert (d.message if d.outcome == "denied" else None) == \
            peer_access.global_error(peer, req), (mine, req)


def _concrete(pattern: str) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: "coll" if m.group(1) == "collection_name" else "7",
                  pattern)


def test_every_peer_route_is_in_the_catalogue() -> None:
    def shape(p: str) -> str:
        return re.sub(r"\{\w+\}", "{}", p)

    for route in peer_app.ROUTES:
        match = A.match_request(f"{route.method} {_concrete(route.pattern)}")
        assert shape(match.route.pattern) == shape(route.pattern), route.pattern
        if "{collection_name}" in route.pattern:
            assert match.collection == "coll"
