"""The linter on real deployment files (``../shared/reference/real-configs``, skipped when
absent). Each expectation below comes from reading the file by hand (see its INDEX.md), not
from the tool's output: ``(rule, line)`` pairs for settings the file sets, ``(rule, None)``
for problems that come from Qdrant's defaults (reported at the place to fix them), and rules
that must not fire."""

from __future__ import annotations

from pathlib import Path

import pytest

from qdrantsec.lint.engine import lint_paths
from qdrantsec.lint.model import LintResult

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "reference" / "real-configs"

pytestmark = pytest.mark.skipif(not CORPUS.is_dir(), reason=f"{CORPUS} not present")

# file -> (expected (rule, line or None), rules that must not fire)
EXPECTED: dict[str, tuple[set[tuple[str, int | None]], set[str]]] = {
    # qdrant/qdrant:v1.18.2, 6333/6334 published on all interfaces, key required from the
    # environment, TLS off by default (${QDRANT_ENABLE_TLS:-false}), unknown env settings
    "compose/janus-completo-pc2.yml": (
        {("QS102", 57), ("QS102", 58), ("QS301", 62), ("QS208", 73), ("QS208", 74), ("QS208", 77),
         ("QS208", 84), ("QS501", None), ("QS502", None), ("QS401", None), ("QS601", None)},
        {"QS201", "QS202", "QS207", "QS303", "QS504", "QS103", "QS001", "QS002"}),
    # qdrant:latest published on all interfaces, key only in an env file that is not here;
    # the privileged containers are other services
    "compose/localchat-compose.yaml": (
        {("QS504", 338), ("QS102", 341), ("QS102", 342), ("QS201", None), ("QS501", None)},
        {"QS503", "QS001", "QS002"}),
    # placeholder defaults for both keys, latest, ports published, TLS off
    "compose/mcp-ragdocs.yml": (
        {("QS504", 4), ("QS102", 8), ("QS102", 9), ("QS203", 17), ("QS203", 18), ("QS301", None),
         ("QS501", None), ("QS502", None)},
        {"QS201", "QS202", "QS207"}),
    # untagged image, 6333 published, no key at all
    "compose/n8n-self-hosted-ai-starter-kit.yml": (
        {("QS504", 100), ("QS102", 106), ("QS201", None), ("QS101", None), ("QS501", None)},
        {"QS001", "QS002", "QS503"}),
    # tag defaults to latest; no ports (Traefik); key required; Qdrant itself plain HTTP
    "compose/portainer-stacks-qdrant-swarm.yml": (
        {("QS504", 14), ("QS301", None), ("QS501", None)},
        {"QS102", "QS103", "QS201", "QS202"}),
    # three cluster nodes, REST/gRPC published, p2p only exposed, no key, no p2p TLS
    "compose/qdrant-repo-e2e-3-node-cluster.yaml": (
        {("QS102", 9), ("QS102", 10), ("QS102", 22), ("QS102", 23), ("QS102", 35), ("QS102", 36),
         ("QS201", None), ("QS303", None)},
        {"QS103", "QS208"}),
    # container-only ports publish on ephemeral host ports on all interfaces; the mounted
    # tls_config.yaml is not beside this copy, so Qdrant's defaults apply
    "compose/qdrant-repo-e2e-tls-compose.yaml": (
        {("QS102", 8), ("QS102", 9), ("QS102", 22), ("QS102", 23), ("QS201", None)},
        {"QS001"}),
    "compose/qdrant-repo-tools-cluster.yaml": (
        {("QS504", 5), ("QS504", 21), ("QS504", 34), ("QS102", 11), ("QS102", 12), ("QS102", 29),
         ("QS102", 30), ("QS102", 42), ("QS102", 43), ("QS201", None), ("QS303", None)},
        {"QS103", "QS208"}),
    # only the p2p port is published
    "compose/stablecog-sc-qdrant.yaml": (
        {("QS103", 6), ("QS201", None)},
        {"QS102", "QS504"}),
    # image from interpolated registry and version defaults (pinned v1.16.0)
    "compose/vector-db-benchmark-single-node.yaml": (
        {("QS102", 7), ("QS102", 8), ("QS201", None)},
        {"QS504", "QS208"}),
    # env files for compose interpolation (QDRANT_*, not QDRANT__*): not Qdrant env files
    "env/janus-completo.env.pc2.example": (set(), {"*"}),
    "env/mcp-ragdocs.env.example": (set(), {"*"}),
    "env/portainer-stacks-qdrant.env.example": (set(), {"*"}),
    # HSTS settings Qdrant does not have; a short, repetitive literal key
    "env/localchat-qdrant.env": (
        {("QS208", 1), ("QS208", 2), ("QS203", 3), ("QS101", None)},
        {"QS201", "QS202"}),
    # key from a Secret; non-root; readOnlyRootFilesystem false; no NetworkPolicy
    "k8s/homelab-theepicsaxguy-deployment.yaml": (
        {("QS502", 40), ("QS505", None), ("QS301", None)},
        {"QS201", "QS207", "QS501", "QS503", "QS504", "QS102", "QS208"}),
    # a custom resource of an unofficial operator: no workload to lint
    "k8s/qdrant-operator-ganochenkodg-cluster-complete.yaml": (set(), {"*"}),
    # chart defaults: cluster on without p2p TLS, no apiKey, ClusterIP
    "k8s/qdrant-helm-values.yaml": (
        {("QS303", 185), ("QS201", None)},
        {"QS102", "QS103", "QS504", "QS208"}),
    "k8s/qdrant-helm-test-tls-values.yaml": (
        {("QS201", None)},
        {"QS302", "QS305", "QS303", "QS301"}),
    "k8s/qdrant-helm-test-tls-p2p-values.yaml": (
        {("QS201", None)},
        {"QS302", "QS303", "QS305"}),
    "qdrant-config/qdrant-repo-config.yaml": (
        {("QS101", 327), ("QS601", 341), ("QS603", 433), ("QS201", None), ("QS401", None),
         ("QS602", None)},
        {"QS303", "QS301", "QS208", "QS001", "QS002"}),
    "qdrant-config/qdrant-repo-production.yaml": (
        {("QS101", 4), ("QS201", None)},
        {"QS208"}),
    # bound to loopback, audit on
    "qdrant-config/qdrant-repo-development.yaml": (
        {("QS201", None)},
        {"QS101", "QS401", "QS208"}),
    "qdrant-config/qdrant-repo-deb.yaml": (
        {("QS101", None), ("QS201", None)},
        {"QS208"}),
    # TLS and p2p TLS on; ./tls/* do not exist beside the file; client certs with gRPC on
    "qdrant-config/qdrant-repo-e2e-tls-config.yaml": (
        {("QS305", 22), ("QS305", 25), ("QS305", 28), ("QS309", 8), ("QS201", None)},
        {"QS303", "QS302", "QS301"}),
    "qdrant-config/qdrant-repo-e2e-tls-cluster-config.yaml": (
        {("QS303", 17), ("QS305", 26), ("QS305", 29), ("QS305", 32), ("QS201", None)},
        {"QS603", "QS309", "QS302"}),
    # `debug` is no setting; committed placeholder keys; no TLS
    "qdrant-config/qdrant-repo-pr2010-production-auth.yml": (
        {("QS208", 2), ("QS101", 6), ("QS203", 7), ("QS207", 7), ("QS203", 8), ("QS207", 8),
         ("QS301", None)},
        {"QS201", "QS202", "QS001"}),
    "qdrant-config/mcp-ragdocs-production.yaml": (
        {("QS101", 258), ("QS601", 272), ("QS603", 339), ("QS201", None)},
        {"QS303", "QS301"}),
    # cluster on, p2p TLS not set
    "qdrant-config/stablecog-sc-qdrant-config.yaml": (
        {("QS101", 113), ("QS601", 127), ("QS603", 150), ("QS303", None), ("QS201", None)},
        {"QS301", "QS001"}),
    # cors_allowed_origins is no Qdrant setting; telemetry off; host from the defaults
    "qdrant-config/l3ocifer-services-config.yaml": (
        {("QS208", 10), ("QS101", None), ("QS201", None)},
        {"QS603", "QS301"}),
}


def lint_one(rel: str) -> LintResult:
    return lint_paths([str(CORPUS / rel)])


@pytest.mark.parametrize("rel", sorted(EXPECTED))
def test_corpus_file(rel: str) -> None:
    expected, absent = EXPECTED[rel]
    res = lint_one(rel)
    assert res.errors == []
    path = str(CORPUS / rel)
    here = {(f.rule, f.location.line) for f in res.findings if f.location.file == path}
    rules = {f.rule for f in res.findings}
    for rule, line in sorted(expected, key=lambda x: (x[0], x[1] or 0)):
        if line is None:
            assert rule in rules, f"{rel}: expected {rule}"
        else:
            assert (rule, line) in here, f"{rel}: expected {rule} at line {line}; got {sorted(here)}"
    if "*" in absent:
        assert res.findings == [], f"{rel}: expected no findings"
        assert res.targets == []
    else:
        assert not rules & absent, f"{rel}: unexpected {sorted(rules & absent)}"
    # nothing at line 1 unless the finding is about line 1
    assert all(f.location.line != 1 or f.location.note == "Qdrant default" or f.rule == "QS208"
               for f in res.findings if f.location.file == path and not rel.endswith(".env"))


def test_every_corpus_file_is_covered() -> None:
    files = {p.relative_to(CORPUS).as_posix() for p in CORPUS.rglob("*")
             if p.is_file() and p.name != "INDEX.md"}
    assert files == set(EXPECTED)


def test_whole_corpus_in_one_run() -> None:
    res = lint_paths([str(CORPUS)])
    assert res.errors == []
    assert not [f for f in res.findings if f.rule in ("QS001", "QS002")]
    kinds = sorted(t.kind for t in res.targets)
    assert kinds.count("compose") == 15  # one per Qdrant service
    assert kinds.count("qdrant-config") == 10 and kinds.count("helm-values") == 3
    assert kinds.count("k8s") == 1 and kinds.count("env") == 1
