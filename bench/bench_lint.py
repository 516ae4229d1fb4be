"""Benchmark: `qdrantsec lint` against `yamllint` over the same 1,000 generated files.

Generates a mix of Qdrant config files (small and full-size), compose stacks, Kubernetes
manifest sets, Helm values files, env files and unrelated YAML (CI workflows) in a temporary
directory, then runs both linters on the whole directory, one process each, alternating,
``--runs`` times. Reports the median wall time, the ratio and each tool's peak memory (from
``os.wait4``'s rusage of that child). yamllint must be installed in the same environment
(``pip install yamllint``; it is not a dependency of qdrantsec).

    .venv/bin/python bench/bench_lint.py --runs 5
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SECTIONS = {
    "performance": ["max_search_threads", "max_optimization_threads", "optimizer_cpu_budget",
                    "update_rate_limit", "search_timeout_sec"],
    "optimizers": ["deleted_threshold", "vacuum_min_vector_number", "default_segment_number",
                   "max_segment_size_kb", "memmap_threshold_kb", "indexing_threshold_kb",
                   "flush_interval_sec", "max_optimization_threads"],
    "hnsw_index": ["m", "ef_construct", "full_scan_threshold_kb", "max_indexing_threads", "on_disk",
                   "payload_m"],
    "wal": ["wal_capacity_mb", "wal_segments_ahead"],
}
KINDS = (("qdrant-config", 250), ("compose", 200), ("k8s", 200), ("helm-values", 150), ("env", 100),
         ("other", 100))


def qdrant_config(rng: random.Random, big: bool) -> str:
    lines = ["log_level: INFO", "", "storage:", "  # Where to store all the data",
             "  storage_path: ./storage", "  snapshots_path: ./snapshots", "  on_disk_payload: true"]
    if big:  # a full-size file like Qdrant's own config.yaml: mostly comments, real keys
        for section, keys in SECTIONS.items():
            lines.append(f"  {section}:")
            for key in keys:
                lines += [f"    # {key.replace('_', ' ')}: what it does, its unit and when to change it,",
                          "    # explained over a couple of comment lines as upstream does.",
                          f"    {key}: {rng.randint(0, 10_000)}", ""]
    host = rng.choice(["0.0.0.0", "127.0.0.1", "10.0.0.5"])
    lines += ["", "service:", f"  host: {host}", "  http_port: 6333", "  grpc_port: 6334",
              f"  enable_tls: {rng.choice(['true', 'false'])}", "  enable_cors: true"]
    if rng.random() < 0.5:
        lines.append(f"  api_key: {rng.choice(['changeme', 'k' * 40, '${QDRANT_API_KEY}'])}")
    lines += ["", "cluster:", f"  enabled: {rng.choice(['true', 'false'])}", "  p2p:", "    port: 6335",
              "    enable_tls: false", "", "tls:", "  cert: ./tls/cert.pem", "  key: ./tls/key.pem",
              "  ca_cert: ./tls/cacert.pem", "  cert_ttl: 3600", "", "telemetry_disabled: false"]
    return "\n".join(lines) + "\n"


def compose(rng: random.Random) -> str:
    out = ["services:"]
    for i in range(rng.randint(2, 8)):
        out += [f"  app{i}:", f"    image: example/app{i}:1.{i}", "    restart: unless-stopped",
                "    environment:", f"      - APP_MODE=prod{i}", "      - LOG_LEVEL=info", "    ports:",
                f"      - \"{8000 + i}:{8000 + i}\"", "    depends_on:", "      - qdrant"]
    tag = rng.choice(["latest", "v1.19.0", "v1.19.0-unprivileged"])
    out += ["  qdrant:", f"    image: qdrant/qdrant:{tag}",
            "    ports:", "      - \"6333:6333\"", "      - \"127.0.0.1:6334:6334\"", "    environment:",
            "      QDRANT__SERVICE__API_KEY: ${QDRANT_API_KEY:-changeme}",
            "      QDRANT__SERVICE__ENABLE_TLS: \"false\"", "      QDRANT__CLUSTER__ENABLED: \"true\"",
            "    volumes:", "      - qdrant_data:/qdrant/storage", "volumes:", "  qdrant_data: {}"]
    return "\n".join(out) + "\n"


def k8s(rng: random.Random) -> str:
    replicas = rng.randint(1, 5)
    return f"""apiVersion: v1
kind: ConfigMap
metadata:
  name: qdrant-config
data:
  production.yaml: |
    service:
      host: 0.0.0.0
      enable_tls: {rng.choice(['true', 'false'])}
    cluster:
      enabled: true
      p2p:
        enable_tls: false
---
apiVersion: v1
kind: Service
metadata:
  name: qdrant
spec:
  type: {rng.choice(['ClusterIP', 'LoadBalancer', 'NodePort'])}
  selector:
    app: qdrant
  ports:
    - {{name: http, port: 6333, targetPort: 6333}}
    - {{name: grpc, port: 6334, targetPort: 6334}}
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: qdrant
  labels:
    app: qdrant
spec:
  replicas: {replicas}
  serviceName: qdrant
  selector:
    matchLabels:
      app: qdrant
  template:
    metadata:
      labels:
        app: qdrant
    spec:
      securityContext:
        runAsNonRoot: true
        runAsUser: 1000
        fsGroup: 1000
      containers:
        - name: qdrant
          image: qdrant/qdrant:v1.19.{rng.randint(0, 3)}
          ports:
            - {{name: http, containerPort: 6333}}
            - {{name: grpc, containerPort: 6334}}
            - {{name: p2p, containerPort: 6335}}
          env:
            - name: QDRANT__SERVICE__API_KEY
              valueFrom:
                secretKeyRef:
                  name: qdrant-key
                  key: api-key
            - name: QDRANT__CLUSTER__ENABLED
              value: "true"
          securityContext:
            allowPrivilegeEscalation: false
            readOnlyRootFilesystem: {rng.choice(['true', 'false'])}
          volumeMounts:
            - name: config
              mountPath: /qdrant/config/production.yaml
              subPath: production.yaml
            - name: storage
              mountPath: /qdrant/storage
      volumes:
        - name: config
          configMap:
            name: qdrant-config
  volumeClaimTemplates:
    - metadata:
        name: storage
      spec:
        accessModes: [ReadWriteOnce]
        resources:
          requests:
            storage: {rng.randint(1, 100)}Gi
"""


def helm_values(rng: random.Random) -> str:
    lines = ["replicaCount: 3", "image:", "  repository: docker.io/qdrant/qdrant", "  tag: v1.19.0",
             "  useUnprivilegedImage: false", f"apiKey: {rng.choice(['true', 'false', 'a-literal-key'])}",
             "service:", "  type: ClusterIP", "  ports:"]
    for name, port in (("http", 6333), ("grpc", 6334), ("p2p", 6335)):
        lines += [f"    - name: {name}", f"      port: {port}", f"      targetPort: {port}",
                  "      protocol: TCP"]
    lines += ["persistence:", "  accessModes: [\"ReadWriteOnce\"]", "  size: 10Gi", "config:",
              "  cluster:", "    enabled: true", "    p2p:", "      enable_tls: false", "  service:",
              "    enable_tls: false"]
    for i in range(rng.randint(20, 120)):
        lines += [f"# chart option {i}: a comment explaining the chart value below in some detail",
                  f"extraOption{i}:", f"  enabled: {rng.choice(['true', 'false'])}", f"  value: {i}"]
    return "\n".join(lines) + "\n"


def env_file(rng: random.Random) -> str:
    lines = ["# qdrant overrides", "QDRANT__SERVICE__HOST=0.0.0.0",
             f"QDRANT__SERVICE__API_KEY={rng.choice(['', 'changeme', 'x' * 40])}"]
    lines += [f"OTHER_SETTING_{i}=value{i}" for i in range(rng.randint(3, 15))]
    return "\n".join(lines) + "\n"


def other(rng: random.Random) -> str:
    steps = "\n".join(f"      - name: step {i}\n        run: echo {i}" for i in range(rng.randint(3, 20)))
    return f"name: ci\non: [push]\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n{steps}\n"


def generate(root: Path, seed: int = 42) -> tuple[int, int]:
    rng = random.Random(seed)
    count = size = 0
    for kind, n in KINDS:
        for i in range(n):
            d = root / kind / f"set{i // 50}"
            d.mkdir(parents=True, exist_ok=True)
            if kind == "qdrant-config":
                name, text = f"qdrant-{i}.yaml", qdrant_config(rng, big=i % 3 == 0)
            elif kind == "compose":
                name, text = f"docker-compose-{i}.yml", compose(rng)
            elif kind == "k8s":
                name, text = f"qdrant-{i}.yaml", k8s(rng)
            elif kind == "helm-values":
                name, text = f"values-{i}.yaml", helm_values(rng)
            elif kind == "env":
                name, text = f"qdrant-{i}.env", env_file(rng)
            else:
                name, text = f"workflow-{i}.yml", other(rng)
            (d / name).write_text(text)
            count += 1
            size += len(text.encode())
    return count, size


def timed(cmd: list[str], cwd: Path) -> tuple[float, int, int]:
    """(seconds, peak RSS in KiB, exit status) of one child process."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    return elapsed, usage.ru_maxrss, proc.returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keep", metavar="DIR", help="generate into DIR and keep it")
    args = parser.parse_args()
    yamllint = shutil.which("yamllint", path=str(Path(sys.executable).parent)) or shutil.which("yamllint")
    if yamllint is None:
        print("yamllint is not installed: pip install yamllint", file=sys.stderr)
        return 2
    tmp = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="qdrantsec-bench-"))
    try:
        files, size = generate(tmp)
        out = tmp.parent / f"{tmp.name}-findings.json"
        ours = [sys.executable, "-m", "qdrantsec", "lint", ".", "--format", "json", "--output", str(out),
                "--exit-zero"]
        theirs = [yamllint, "-f", "parsable", "."]
        results: dict[str, list[tuple[float, int, int]]] = {"qdrantsec": [], "yamllint": []}
        for _ in range(args.runs):
            results["qdrantsec"].append(timed(ours, tmp))
            results["yamllint"].append(timed(theirs, tmp))
        import json

        findings = len(json.loads(out.read_text())["findings"])
        out.unlink()
        print(f"{files} files, {size / 1e6:.2f} MB, {args.runs} runs each (alternating); "
              f"qdrantsec reported {findings} findings")
        print("| tool | median | min | max | peak RSS | exit |")
        print("|---|---|---|---|---|---|")
        med = {}
        for tool, runs in results.items():
            times = [t for t, _, _ in runs]
            med[tool] = statistics.median(times)
            peak = max(m for _, m, _ in runs) / 1024
            print(f"| {tool} | {med[tool]:.2f} s | {min(times):.2f} s | {max(times):.2f} s | {peak:.0f} MiB "
                  f"| {runs[-1][2]} |")
        print(f"\nratio yamllint / qdrantsec: {med['yamllint'] / med['qdrantsec']:.1f}x")
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
