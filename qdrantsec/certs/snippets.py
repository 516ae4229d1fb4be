"""The Qdrant configuration that uses a generated set: YAML, QDRANT__ env, kubectl.

Keys (facts 1.5, 6): ``service.enable_tls`` (REST, gRPC, metrics), ``tls.cert``/``tls.key``/
``tls.ca_cert``, ``cluster.p2p.enable_tls`` (mutual TLS between peers; needs ``ca_cert``),
``service.verify_https_client_certificate`` (REST then demands a client certificate).
"""

from __future__ import annotations

import shlex
from pathlib import PurePosixPath
from typing import NamedTuple

from qdrantsec.certs.bundle import CertSet, Issued

RELOAD_WARNING = (
    "gRPC (6334) and p2p (6335) read tls.cert/tls.key only at start: restart each peer after "
    "replacing them; REST re-reads them every tls.cert_ttl seconds (default 3600) and never "
    "re-reads tls.ca_cert"
)


class Snippets(NamedTuple):  # (not a dataclass: see issue.CA)
    single_yaml: str  # a single node serving server.pem
    cluster_yaml: str | None  # a cluster peer (shown with the first peer's files)
    env: str
    kubectl: str

    @property
    def yaml(self) -> str:
        return self.single_yaml + (f"\n{self.cluster_yaml}" if self.cluster_yaml else "")


def _p(tls_dir: str, path: object) -> str:
    return str(PurePosixPath(tls_dir) / PurePosixPath(str(path)).name)


def _yaml(tls_dir: str, leaf: Issued, *, cluster: bool, mtls: bool, comment: str) -> str:
    lines = [f"# {comment}", "service:", "  enable_tls: true"]
    if mtls:
        lines.append("  verify_https_client_certificate: true")
    if cluster:
        lines += ["cluster:", "  enabled: true", "  p2p:", "    enable_tls: true"]
    lines += ["tls:", f"  cert: {_p(tls_dir, leaf.cert_path)}", f"  key: {_p(tls_dir, leaf.key_path)}",
              f"  ca_cert: {_p(tls_dir, 'ca.pem')}", "  cert_ttl: 3600"]
    return "\n".join(lines) + "\n"


def _env_common(tls_dir: str, *, cluster: bool, mtls: bool) -> list[str]:
    lines = ["QDRANT__SERVICE__ENABLE_TLS=true"]
    if mtls:
        lines.append("QDRANT__SERVICE__VERIFY_HTTPS_CLIENT_CERTIFICATE=true")
    if cluster:
        lines += ["QDRANT__CLUSTER__ENABLED=true", "QDRANT__CLUSTER__P2P__ENABLE_TLS=true"]
    return [*lines, f"QDRANT__TLS__CA_CERT={_p(tls_dir, 'ca.pem')}"]


def _env_pair(tls_dir: str, leaf: Issued) -> list[str]:
    return [f"QDRANT__TLS__CERT={_p(tls_dir, leaf.cert_path)}",
            f"QDRANT__TLS__KEY={_p(tls_dir, leaf.key_path)}"]


def _from_file(path: object) -> str:
    p = PurePosixPath(str(path))
    return "--from-file=" + shlex.quote(f"{p.name}={p}")


def build(cs: CertSet, tls_dir: str) -> Snippets:
    """Snippets for ``cs`` with files expected under ``tls_dir`` on the Qdrant host."""
    mtls = bool(cs.clients)
    server = cs.server
    single = _yaml(tls_dir, server, cluster=False, mtls=mtls, comment="single node (server.pem)")
    cluster = None
    env = ["# single node", *_env_common(tls_dir, cluster=False, mtls=mtls), *_env_pair(tls_dir, server)]
    ca = _from_file(cs.ca_path)
    kube = ["# single node: mount this secret at " + tls_dir,
            f"kubectl create secret generic qdrant-tls {ca} {_from_file(server.cert_path)} "
            f"{_from_file(server.key_path)}"]
    if cs.peers:
        first = cs.peers[0]
        names = ", ".join(p.cert_path.name for p in cs.peers)
        cluster = _yaml(tls_dir, first, cluster=True, mtls=mtls,
                        comment=f"cluster peer {first.leaf.name}; each peer uses its own files: {names}")
        env += ["# cluster: on every peer", *_env_common(tls_dir, cluster=True, mtls=mtls)]
        for p in cs.peers:
            env += [f"# on {p.leaf.name} only", *_env_pair(tls_dir, p)]
        files = " ".join(_from_file(x) for p in cs.peers for x in (p.cert_path, p.key_path))
        kube += ["# cluster (StatefulSet): one secret with every peer's files, mounted at " + tls_dir + ";",
                 "# each pod picks its own with QDRANT__TLS__CERT=" + _p(tls_dir, "peer-$(POD_NAME).pem")
                 + " and QDRANT__TLS__KEY=" + _p(tls_dir, "peer-$(POD_NAME)-key.pem"),
                 "# (POD_NAME from fieldRef metadata.name; file names use each peer's first DNS label)",
                 f"kubectl create secret generic qdrant-peer-tls {ca} {files}"]
    for c in cs.clients:
        kube.append(f"kubectl create secret generic qdrant-{c.cert_path.stem} {ca} "
                    f"{_from_file(c.cert_path)} {_from_file(c.key_path)}")
    return Snippets(single, cluster, "\n".join(env) + "\n", "\n".join(kube) + "\n")
