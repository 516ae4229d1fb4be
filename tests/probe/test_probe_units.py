"""Probe pieces without a server: the check registry and its docs, the fix table, version
comparison, the rate limit (with a fake clock), URL parsing and the legacy-TLS fallback."""

from __future__ import annotations

import json
import ssl
from importlib import resources
from pathlib import Path

import pytest

from qdrantsec.errors import UsageError
from qdrantsec.lint.model import Severity
from qdrantsec.probe import fixes
from qdrantsec.probe.context import parse_url
from qdrantsec.probe.http import RateLimit
from qdrantsec.probe.registry import ALL_CHECKS, checks_markdown_table, get_check

ROOT = Path(__file__).resolve().parents[2]


def test_every_check_is_documented_and_unique() -> None:
    ids = [c.id for c in ALL_CHECKS]
    assert len(ids) == len(set(ids)) and ids == sorted(ids)
    assert len({c.name for c in ALL_CHECKS}) == len(ids)
    for cls in ALL_CHECKS:
        assert cls.id.startswith("QP") and cls.name == cls.name.lower()
        assert cls.summary and cls.rationale and cls.fix, cls.id
        assert isinstance(cls.severity, Severity)


def test_every_check_module_is_registered() -> None:
    import importlib
    import pkgutil

    import qdrantsec.probe.checks as package

    declared = set()
    for info in pkgutil.iter_modules(package.__path__):
        module = importlib.import_module(f"qdrantsec.probe.checks.{info.name}")
        declared |= set(getattr(module, "CHECKS", ()))
    assert declared == set(ALL_CHECKS)


def test_get_check_by_id_or_name() -> None:
    assert get_check("qp101").name == "open-instance"
    assert get_check("cors-any-origin").id == "QP404"
    with pytest.raises(UsageError, match="unknown probe check"):
        get_check("QS101")


def test_readme_has_the_check_table() -> None:
    readme = (ROOT / "README.md").read_text()
    assert checks_markdown_table().strip() in readme


def test_fix_table_is_sourced_and_consistent() -> None:
    raw = json.loads(resources.files("qdrantsec").joinpath("data").joinpath(
        "qdrant_security_fixes.json").read_text("utf-8"))
    table = fixes.security_fixes()
    assert len(table) == len(raw["fixes"]) >= 6
    ids = {f.id for f in table}
    assert {"GHSA-3v92-w72v-j994", "GHSA-p9c2-9vq2-gxh8"} <= ids
    for fix in table:
        assert fix.source.startswith("https://github.com/qdrant/qdrant/")
        assert fixes.parse_version(fix.fixed_in) is not None
    s3 = next(f for f in table if f.id == "GHSA-p9c2-9vq2-gxh8")
    assert s3.fixed_in == "1.19.0"


@pytest.mark.parametrize(("version", "missing"), [
    ("1.19.0", set()),
    ("v1.19.1", set()),
    ("1.18.1", {"qdrant-issue-8856", "GHSA-p9c2-9vq2-gxh8"}),
    ("1.18.0", {"GHSA-3v92-w72v-j994", "qdrant-issue-8856", "GHSA-p9c2-9vq2-gxh8"}),
    ("1.8.2", {"qdrant-pr-3856", "qdrant-pr-8341", "GHSA-3v92-w72v-j994", "qdrant-issue-8856",
               "GHSA-p9c2-9vq2-gxh8"}),
    ("dev", set()),
])
def test_missing_fixes(version: str, missing: set[str]) -> None:
    assert {f.id for f in fixes.missing_fixes(version)} == missing


def test_versions_compare_numerically() -> None:
    assert fixes.parse_version("1.10.0") > fixes.parse_version("1.9.7")  # type: ignore[operator]
    assert fixes.parse_version("1.19.0-rc1") == (1, 19, 0)
    assert fixes.parse_version("nope") is None


def test_rate_limit_spaces_events() -> None:
    now = [100.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(round(seconds, 6))
        now[0] += seconds

    limit = RateLimit(4.0, clock=lambda: now[0], sleep=sleep)
    limit.wait()  # the first event never waits
    limit.wait()
    now[0] += 0.1
    limit.wait()
    now[0] += 1.0
    limit.wait()  # long after the last one: no wait
    assert slept == [0.25, 0.15]
    assert limit.count == 4


@pytest.mark.parametrize(("url", "expected"), [
    ("https://qdrant.example:6333", ("https", "qdrant.example", 6333)),
    ("http://127.0.0.1:6333/", ("http", "127.0.0.1", 6333)),
    ("https://qdrant.example", ("https", "qdrant.example", 443)),
    ("http://[::1]:6333", ("http", "::1", 6333)),
])
def test_parse_url(url: str, expected: tuple[str, str, int]) -> None:
    assert parse_url(url) == expected


def test_legacy_tls_not_offered_locally_is_not_tested(monkeypatch: pytest.MonkeyPatch) -> None:
    from qdrantsec.probe.checks import tls
    from qdrantsec.probe.context import TargetContext
    from qdrantsec.probe.http import Prober
    from qdrantsec.probe.model import ProbeKeys, ProbeOptions
    from qdrantsec.qdrant.client import ConnectionSettings

    monkeypatch.setattr(tls, "legacy_context", lambda version: None)
    ctx = TargetContext("https://127.0.0.1:1", "https", "127.0.0.1", 1,
                        Prober(ConnectionSettings(url="https://127.0.0.1:1"), RateLimit(100), "rid"),
                        ProbeKeys(), ProbeOptions())
    assert list(tls._legacy(ctx, "tls://127.0.0.1:1")) == []
    assert ctx.notes == ["https://127.0.0.1:1: TLS 1.0 and TLS 1.1 not tested: the local OpenSSL "
                         "cannot offer them"]
    assert ctx.prober.limit.count == 0  # nothing was sent


def test_legacy_context_offers_only_that_version() -> None:
    from qdrantsec.probe.checks.tls import legacy_context

    ctx = legacy_context(ssl.TLSVersion.TLSv1_1)
    if ctx is None:
        pytest.skip("the local OpenSSL cannot offer TLS 1.1")
    assert ctx.minimum_version == ctx.maximum_version == ssl.TLSVersion.TLSv1_1


def _cluster_ctx(cluster: dict[str, object] | None, p2p_port: int | None = None) -> object:
    from qdrantsec.probe.context import TargetContext
    from qdrantsec.probe.http import Prober
    from qdrantsec.probe.model import ProbeKeys, ProbeOptions
    from qdrantsec.qdrant.client import ConnectionSettings

    return TargetContext("http://127.0.0.1:6333", "http", "127.0.0.1", 6333,
                         Prober(ConnectionSettings(url="http://127.0.0.1:6333"), RateLimit(1000), "rid"),
                         ProbeKeys(), ProbeOptions(p2p_port=p2p_port), cluster=cluster)


def test_p2p_ports_come_from_the_deployment_when_it_names_them() -> None:
    """GET /cluster names the peers' p2p URIs: the URL's host is tried on its own peer's
    port, and neither a note nor a finding speaks of a guessed 6335."""
    import socket

    from qdrantsec.probe.checks import cluster
    from tests.peer.peerlib import free_port

    listener = socket.create_server(("127.0.0.1", 0))
    try:
        open_port, closed_port = listener.getsockname()[1], free_port()
        status = {"status": "enabled", "peer_id": 7, "peers": {
            "7": {"uri": f"http://127.0.0.1:{open_port}/"},
            "9": {"uri": f"http://127.0.0.1:{closed_port}/"}}}
        ctx = _cluster_ctx(status)
        found = list(cluster.run_p2p([ctx]))  # type: ignore[list-item]
        assert [f.location.url for f in found] == [f"tcp://127.0.0.1:{open_port}"]
        assert found[0].message == (f"the p2p port 127.0.0.1:{open_port} accepts connections "
                                    "(127.0.0.1 with the p2p port of its peer 7 in GET /cluster)")
        (note,) = ctx.notes  # type: ignore[attr-defined]
        assert note.startswith(f"p2p port 127.0.0.1:{closed_port} (peer 9 in GET /cluster (http://")
        assert "6335" not in note
        # an explicit --p2p-port is tried as asked, besides the peers' own ports
        given = cluster.p2p_endpoints(_cluster_ctx(status, p2p_port=closed_port))  # type: ignore[arg-type]
        assert given[0] == ("127.0.0.1", closed_port, f"127.0.0.1 with --p2p-port {closed_port}")
    finally:
        listener.close()
    # nothing read from GET /cluster: Qdrant's default, said to be the default
    (guess,) = cluster.p2p_endpoints(_cluster_ctx(None))  # type: ignore[arg-type]
    assert guess == ("127.0.0.1", 6335, "127.0.0.1 with Qdrant's default p2p port")
