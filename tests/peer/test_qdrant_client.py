"""The real ``qdrant-client`` (REST, pydantic-validated models) against the peer over HTTPS."""

from __future__ import annotations

import uuid
import warnings
from typing import Any

import pytest

from tests.peer.conftest import API_KEY, TlsMaterial, jwt
from tests.peer.peerlib import PeerFactory, PeerProcess

pytestmark = pytest.mark.integration

qdrant_client = pytest.importorskip("qdrant_client")
models = pytest.importorskip("qdrant_client.models")


@pytest.fixture(scope="module")
def peer(module_peer_factory: PeerFactory, tls_material: TlsMaterial) -> PeerProcess:
    cfg = {"service": {"enable_tls": True, "api_key": API_KEY, "jwt_rbac": True},
           "tls": tls_material.tls_section()}
    return module_peer_factory(cfg, name="qc", ca_path=tls_material.ca.cert)


def make_client(peer: PeerProcess, key: str = API_KEY) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return qdrant_client.QdrantClient(
            url=peer.url, api_key=key, https=True, verify=str(peer.ca_path),
            prefer_grpc=False, timeout=10,
        )


def test_create_upsert_query_list(peer: PeerProcess) -> None:
    client = make_client(peer)
    client.create_collection(
        "qc_docs", vectors_config=models.VectorParams(size=3, distance=models.Distance.COSINE)
    )
    assert client.collection_exists("qc_docs")
    assert not client.collection_exists("nope")
    names = [c.name for c in client.get_collections().collections]
    assert "qc_docs" in names
    u = str(uuid.uuid4())
    result = client.upsert(
        "qc_docs",
        points=[
            models.PointStruct(id=1, vector=[1.0, 0.0, 0.0], payload={"city": "Berlin"}),
            models.PointStruct(id=2, vector=[0.0, 1.0, 0.0], payload={"city": "Paris"}),
            models.PointStruct(id=u, vector=[0.9, 0.1, 0.0], payload={"city": "Berlin"}),
        ],
    )
    assert result.status == models.UpdateStatus.COMPLETED
    hits = client.query_points("qc_docs", query=[1.0, 0.0, 0.0], limit=2, with_payload=True)
    assert [p.id for p in hits.points] == [1, u]
    assert hits.points[0].score == pytest.approx(1.0)
    assert hits.points[0].payload == {"city": "Berlin"}
    flt = models.Filter(must=[models.FieldCondition(key="city",
                                                    match=models.MatchValue(value="Paris"))])
    hits = client.query_points("qc_docs", query=[1.0, 0.0, 0.0], query_filter=flt, limit=5)
    assert [p.id for p in hits.points] == [2]
    info = client.get_collection("qc_docs")
    assert info.points_count == 3
    assert info.config.params.vectors.size == 3
    assert client.count("qc_docs").count == 3
    assert client.count("qc_docs", count_filter=flt).count == 1
    records, nxt = client.scroll("qc_docs", limit=2, with_vectors=True)
    assert [r.id for r in records] == [1, 2] and nxt == u
    assert records[0].vector == pytest.approx([1.0, 0.0, 0.0])
    got = client.retrieve("qc_docs", ids=[2])
    assert got[0].payload == {"city": "Paris"}
    client.set_payload("qc_docs", payload={"extra": True}, points=[2])
    assert client.retrieve("qc_docs", ids=[2])[0].payload == {"city": "Paris", "extra": True}
    client.delete("qc_docs", points_selector=models.PointIdsList(points=[2]))
    assert client.count("qc_docs").count == 2
    client.create_payload_index("qc_docs", "city", models.PayloadSchemaType.KEYWORD)
    assert "city" in client.get_collection("qc_docs").payload_schema
    old = client.search("qc_docs", query_vector=[0.0, 0.0, 1.0], limit=1) if hasattr(
        client, "search") else None
    if old is not None:
        assert len(old) == 1
    client.update_collection_aliases(change_aliases_operations=[
        models.CreateAliasOperation(create_alias=models.CreateAlias(
            collection_name="qc_docs", alias_name="qc_alias"))])
    assert [a.alias_name for a in client.get_aliases().aliases] == ["qc_alias"]
    assert client.count("qc_alias").count == 2
    assert client.delete_collection("qc_docs")
    assert "qc_docs" not in [c.name for c in client.get_collections().collections]


def test_euclid_and_dot(peer: PeerProcess) -> None:
    client = make_client(peer)
    for dist, best in ((models.Distance.EUCLID, 2), (models.Distance.DOT, 3)):
        name = f"qc_{dist.value.lower()}"
        client.create_collection(name, vectors_config=models.VectorParams(size=2, distance=dist))
        client.upsert(name, points=[
            models.PointStruct(id=1, vector=[0.0, 0.0]),
            models.PointStruct(id=2, vector=[1.0, 1.0]),
            models.PointStruct(id=3, vector=[5.0, 5.0]),
        ])
        hits = client.query_points(name, query=[1.1, 1.1], limit=3).points
        assert hits[0].id == best
        if dist == models.Distance.EUCLID:
            assert hits[0].score == pytest.approx(0.1414, abs=1e-3)
            assert [h.id for h in hits] == [2, 1, 3]
        client.delete_collection(name)


def test_collection_scoped_token_through_client(peer: PeerProcess) -> None:
    admin = make_client(peer)
    admin.create_collection("qc_scoped",
                            vectors_config=models.VectorParams(size=2, distance=models.Distance.DOT))
    token = jwt({"access": [{"collection": "qc_scoped", "access": "r"}]})
    reader = make_client(peer, token)
    assert [c.name for c in reader.get_collections().collections] == ["qc_scoped"]
    assert reader.count("qc_scoped").count == 0
    from qdrant_client.http.exceptions import UnexpectedResponse

    with pytest.raises(UnexpectedResponse) as exc:
        reader.upsert("qc_scoped", points=[models.PointStruct(id=1, vector=[1.0, 0.0])])
    assert exc.value.status_code == 403
    assert b"Write access to collection qc_scoped is required" in exc.value.content


def test_version_check_passes_over_plain_http(peer_factory: PeerFactory) -> None:
    """qdrant-client's compatibility check (GET / -> version) accepts the peer."""
    from qdrant_client.common.version_check import get_server_version, is_compatible

    p = peer_factory({"service": {"api_key": API_KEY}})
    version = get_server_version(p.url, {"api-key": "anything"}, None, 5)
    assert version == "1.19.0"
    assert is_compatible("1.19.0", version)
    client = qdrant_client.QdrantClient(url=p.url, api_key=API_KEY, prefer_grpc=False,
                                        check_compatibility=False)
    assert client.get_collections().collections == []
