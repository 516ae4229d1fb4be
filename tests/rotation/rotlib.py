"""Helpers for the rotate-key integration tests: a cluster of real ``tests.qdrant_peer``
processes started and restarted through ``restart_peer.py`` (pid files, like an init
system), a client load generator, and running qdrantsec as a real child process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.peer.peerlib import REPO_ROOT, free_port, wait_for

OLD = "old-admin-key-0123456789-ABCDEFGHIJKLmnop"
NEW = "new-admin-key-9876543210-zyxwvutsrqPONMLK"
OTHER = "some-other-key-0123456789-abcdefghijklmn"
RESTART = Path(__file__).with_name("restart_peer.py")
#: fast gates for tests: the peer sends heartbeats every 200 ms
FAST = ["--peer-timeout", "20", "--settle", "0.6"]

CONFIG_TEMPLATE = """\
# Qdrant config of {name} (test peer). Comments must survive the rotation.
service:
  host: 127.0.0.1
  http_port: {http_port}   # REST
{keys}  enforce_internal_auth: {enforce}
{tls_service}cluster:
  enabled: {cluster_mode}  # cluster mode
  p2p:
    port: {p2p_port}
{p2p_tls}storage:
  storage_path: ./storage   # relative to the peer's cwd
audit:
  enabled: true
  dir: ./audit
{tls_section}"""


@dataclass
class Node:
    name: str
    dir: Path
    http_port: int
    p2p_port: int
    scheme: str = "http"
    config_path: Path = field(init=False)
    env_path: Path = field(init=False)

    def __post_init__(self) -> None:
        self.config_path = self.dir / "config.yaml"
        self.env_path = self.dir / "qdrant.env"

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.http_port}"

    @property
    def p2p_uri(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.p2p_port}"


class Cluster:
    def __init__(self, root: Path, n: int, *, enforce: bool = False, driver: str = "file",
                 tls: Any = None, replication_factor: int = 2, cluster_mode: bool = True) -> None:
        self.root = root
        self.cluster_mode = cluster_mode
        self.driver = driver
        self.tls = tls
        scheme = "https" if tls else "http"
        self.nodes = [Node(f"node-{i + 1}", root / f"node-{i + 1}", free_port(), free_port(), scheme)
                      for i in range(n)]
        for i, node in enumerate(self.nodes):
            node.dir.mkdir(parents=True)
            self._write_config(node, enforce)
            argv = [sys.executable, "-m", "tests.qdrant_peer", "--config-path", str(node.config_path)]
            if cluster_mode:
                argv += ["--uri", node.p2p_uri]
            if i:
                argv += ["--bootstrap", self.nodes[0].p2p_uri]
            env = {k: v for k, v in os.environ.items()
                   if not k.upper().startswith(("QDRANT", "QDRANTSEC"))}
            env.update(PYTHONPATH=str(REPO_ROOT), PYTHONUNBUFFERED="1")
            launch = {"argv": argv, "cwd": str(node.dir), "env": env,
                      "env_file": str(node.env_path) if driver == "env-file" else None}
            (node.dir / "launch.json").write_text(json.dumps(launch))
        for node in self.nodes:
            self.restart(node)
        if cluster_mode:
            wait_for(self.agreed, timeout=20)
        resp = self.request(self.nodes[0], "PUT", "/collections/docs", OLD,
                            json={"vectors": {"size": 4, "distance": "Cosine"},
                                  "replication_factor": replication_factor})
        assert resp.status_code == 200, resp.text
        wait_for(lambda: all(self.has_docs(n) for n in self.nodes), timeout=10)
        (root / "old.key").write_text(OLD + "\n")
        (root / "new.key").write_text(NEW + "\n")
        os.chmod(root / "old.key", 0o600)
        os.chmod(root / "new.key", 0o600)

    # -- config -----------------------------------------------------------------------
    def _write_config(self, node: Node, enforce: bool) -> None:
        keys = "" if self.driver == "env-file" else f"  api_key: {OLD}   # the admin key\n"
        tls_service = tls_section = p2p_tls = ""
        if self.tls:
            cert, key = self.tls.issue(node.name)
            tls_service = "  enable_tls: true\n"
            p2p_tls = "    enable_tls: true\n"
            tls_section = f"tls:\n  cert: {cert}\n  key: {key}\n  ca_cert: {self.tls.ca_path}\n"
        node.config_path.write_text(CONFIG_TEMPLATE.format(
            name=node.name, http_port=node.http_port, p2p_port=node.p2p_port, keys=keys,
            enforce="true" if enforce else "false", tls_service=tls_service, p2p_tls=p2p_tls,
            cluster_mode="true" if self.cluster_mode else "false",
            tls_section=tls_section))
        if self.driver == "env-file":
            node.env_path.write_text(f"# keys for {node.name}; comments must survive\n"
                                     f"QDRANT__SERVICE__API_KEY={OLD}\nRUST_LOG=info\n")

    def path_of(self, node: Node) -> Path:
        return node.env_path if self.driver == "env-file" else node.config_path

    def inventory(self, path: Path | None = None, **per_node: dict[str, Any]) -> Path:
        import yaml

        path = path or self.root / "inventory.yaml"
        peers = []
        for node in self.nodes:
            entry = {"name": node.name, "url": node.url, "driver": self.driver,
                     "path": str(self.path_of(node)),
                     "restart": f"{sys.executable} {RESTART} {node.dir}"}
            entry.update(per_node.get(node.name, {}))
            peers.append(entry)
        path.write_text(yaml.safe_dump({"peers": peers}, sort_keys=False))
        return path

    # -- processes --------------------------------------------------------------------
    def restart(self, node: Node) -> None:
        res = subprocess.run([sys.executable, str(RESTART), str(node.dir)], capture_output=True,
                             text=True, timeout=30)
        assert res.returncode == 0, res.stderr + (node.dir / "stderr.log").read_text()[-3000:]

    def stop_all(self) -> None:
        from tests.rotation.restart_peer import stop

        for node in self.nodes:
            for flag in ("fail-restart", "no-start"):
                (node.dir / flag).unlink(missing_ok=True)
            stop(node.dir)

    # -- HTTP ---------------------------------------------------------------------------
    def verify(self) -> Any:
        if not self.tls:
            return True
        import ssl

        return ssl.create_default_context(cafile=str(self.tls.ca_path))

    def request(self, node: Node, method: str, path: str, key: str | None, **kw: Any) -> httpx.Response:
        headers = {"api-key": key} if key else {}
        headers["x-request-id"] = "harness"   # tells the harness's requests from qdrantsec's
        with httpx.Client(base_url=node.url, verify=self.verify(), timeout=5) as c:
            return c.request(method, path, headers=headers, **kw)

    def accepts(self, node: Node, key: str) -> bool:
        status = self.request(node, "GET", "/collections", key).status_code
        assert status in (200, 401), status
        return status == 200

    def cluster(self, node: Node, key: str) -> dict[str, Any]:
        resp = self.request(node, "GET", "/cluster", key)
        assert resp.status_code == 200, resp.text
        return resp.json()["result"]  # type: ignore[no-any-return]

    def agreed(self) -> bool:
        try:
            sts = [self.cluster(n, self._key(n)) for n in self.nodes]
        except (httpx.HTTPError, AssertionError):
            return False
        first = sts[0]["raft_info"]
        return all(len(s["peers"]) == len(self.nodes) and s["raft_info"]["leader"]
                   and s["raft_info"]["leader"] == first["leader"] and not s["message_send_failures"]
                   for s in sts)

    def _key(self, node: Node) -> str:
        for key in (OLD, NEW, OTHER):
            if self.request(node, "GET", "/collections", key).status_code == 200:
                return key
        raise AssertionError(f"{node.name} accepts no known key")

    def has_docs(self, node: Node) -> bool:
        body = self.request(node, "GET", "/collections", OLD).json()
        return {"name": "docs"} in body["result"]["collections"]

    def failures_of(self, node: Node) -> dict[str, Any]:
        return self.cluster(node, self._key(node))["message_send_failures"]  # type: ignore[no-any-return]

    def failures(self) -> dict[str, dict[str, Any]]:
        return {n.name: self.failures_of(n) for n in self.nodes}

    def argv_logs(self) -> str:
        return "".join((n.dir / "argv.log").read_text() for n in self.nodes
                       if (n.dir / "argv.log").exists())


class LoadGen(threading.Thread):
    """Clients: GET /collections round-robin over every peer with the clients' key; switch to
    NEW when ``switch_flag`` appears (and say so in ``ack_flag``). Counts 401/403 answers from
    peers that are up; connection errors (a peer restarting) are counted apart."""

    def __init__(self, cluster: Cluster, switch_flag: Path, ack_flag: Path) -> None:
        super().__init__(daemon=True)
        self.cluster = cluster
        self.switch_flag = switch_flag
        self.ack_flag = ack_flag
        self.key = OLD
        self.counts: Counter[str] = Counter()
        self.auth_failures: list[tuple[str, str, int]] = []
        self._quit = threading.Event()

    def run(self) -> None:
        clients = {n.name: httpx.Client(base_url=n.url, verify=self.cluster.verify(), timeout=3)
                   for n in self.cluster.nodes}
        try:
            while not self._quit.is_set():
                for node in self.cluster.nodes:
                    if self.key == OLD and self.switch_flag.exists():
                        self.key = NEW
                        self.ack_flag.write_text("switched\n")
                    key = self.key
                    try:
                        status = clients[node.name].get(
                            "/collections", headers={"api-key": key, "x-request-id": "loadgen"}).status_code
                    except httpx.HTTPError:
                        self.counts["down"] += 1
                        continue
                    self.counts[str(status)] += 1
                    if status in (401, 403):
                        self.auth_failures.append((node.name, "OLD" if key == OLD else "NEW", status))
                time.sleep(0.01)
        finally:
            for c in clients.values():
                c.close()

    def stop(self) -> None:
        self._quit.set()
        self.join(10)


def switch_cmd(root: Path) -> str:
    """A --switch-cmd that tells the load generator to switch and waits until it has."""
    flag, ack = root / "switch.flag", root / "switch.ack"
    return f"/bin/sh -c 'touch {flag}; while [ ! -e {ack} ]; do sleep 0.05; done'"


def qdrantsec(args: list[str], *, env: dict[str, str] | None = None, timeout: float = 180,
              cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.upper().startswith(("QDRANT",))}
    full_env.update(env or {})
    full_env.setdefault("PYTHONPATH", str(REPO_ROOT))
    return subprocess.run([sys.executable, "-m", "qdrantsec", *args], capture_output=True,
                          text=True, timeout=timeout, env=full_env, cwd=cwd)


def keys_absent(*texts: str) -> None:
    for text in texts:
        for key in (OLD, NEW):
            assert key not in text
