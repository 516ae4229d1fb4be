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


def helm_values(rng: random.Random, options: tuple[int, int] = (20, 120)) -> str:
    lines = ["replicaCount: 3", "image:", "  repository: docker.io/qdrant/qdrant", "  tag: v1.19.0",
             "  useUnprivilegedImage: false", f"apiKey: {rng.choice(['true', 'false', 'a-literal-key'])}",
             "service:", "  type: ClusterIP", "  ports:"]
    for name, port in (("http", 6333), ("grpc", 6334), ("p2p", 6335)):
        lines += [f"    - name: {name}", f"      port: {port}", f"      targetPort: {port}",
                  "      protocol: TCP"]
    lines += ["persistence:", "  accessModes: [\"ReadWriteOnce\"]", "  size: 10Gi", "config:",
              "  cluster:", "    enabled: true", "    p2p:", "      enable_tls: false", "  service:",
              "    enable_tls: false"]
    for i in range(rng.randint(*options)):
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


CONFIG_COMMENT = ("    # {key}: what it does, its unit and when to change it, explained",
                  "    # over a couple of comment lines with its default, as upstream does.")


def full_config(rng: random.Random, indent: str = "", sections: int = 4) -> list[str]:
    """A full-size Qdrant config with upstream-style comments (like Qdrant's config.yaml)."""
    lines = ["# Qdrant configuration: every section explained in comments, as upstream ships it.",
             "log_level: INFO", "", "# Logging configuration", "logger:", "  on_disk:",
             "    enabled: false", "    log_file: path/to/log/file.log", "    log_level: INFO", "",
             "storage:", "  # Where to store all the data", "  storage_path: ./storage", "",
             "  # Where to store snapshots", "  snapshots_path: ./snapshots", "",
             "  snapshots_config:", "    # \"local\" or \"s3\" - where to store snapshots",
             "    snapshots_storage: local", "", "  # Where to store temporary files",
             "  temp_path: null", "", "  on_disk_payload: true", "",
             "  # Maximum number of concurrent updates to shard replicas",
             "  update_concurrency: null", ""]
    for section, keys in list(SECTIONS.items())[:sections]:
        lines.append(f"  {section}:")
        for key in keys:
            lines += [c.format(key=key.replace("_", " ")) for c in CONFIG_COMMENT]
            lines += [f"    {key}: {rng.randint(0, 10_000)}", ""]
    host = rng.choice(["0.0.0.0", "127.0.0.1", "10.0.0.5"])
    lines += ["service:", "  # Maximum size of POST data in a single request in megabytes",
              "  max_request_size_mb: 32", "", "  # Number of parallel workers used for serving the api.",
              "  max_workers: 0", "", "  # Host to bind the service on", f"  host: {host}", "",
              "  # HTTP(S) port to bind the service on", "  http_port: 6333", "",
              "  # gRPC port to bind the service on.", "  grpc_port: 6334", "",
              "  # Enable CORS headers in REST API.", "  enable_cors: true", "",
              "  # Enable HTTPS for the REST and gRPC API", f"  enable_tls: {rng.choice(['true', 'false'])}",
              "", "  # Check user HTTPS client certificate against CA file specified in tls config",
              "  verify_https_client_certificate: false", ""]
    if rng.random() < 0.5:
        key = rng.choice(['changeme', 'k' * 40, '${QDRANT_API_KEY}'])
        lines += ["  # Set an api-key.", f"  api_key: {key}", ""]
    lines += ["cluster:", "  # Use `enabled: true` to run Qdrant in distributed deployment mode",
              f"  enabled: {rng.choice(['true', 'false'])}", "",
              "  # Configuration of the inter-cluster communication",
              "  p2p:", "    # Port for internal communication between peers", "    port: 6335", "",
              "    # Use TLS for communication between peers", "    enable_tls: false", "",
              "  # Configuration related to distributed consensus algorithm", "  consensus:",
              "    # How frequently peers should ping each other.", "    tick_period_ms: 100", "",
              "# TLS configuration.", "tls:", "  # Server certificate chain file",
              "  cert: ./tls/cert.pem", "",
              "  # Server private key file", "  key: ./tls/key.pem", "",
              "  # Certificate authority certificate file.", "  ca_cert: ./tls/cacert.pem", "",
              "  # TTL in seconds to reload certificate from disk, useful for certificate rotations.",
              "  cert_ttl: 3600", "", "telemetry_disabled: false"]
    return [indent + ln if ln else "" for ln in lines]


def heavy_k8s(rng: random.Random, i: int) -> str:
    """A multi-document manifest set: the full config embedded in a ConfigMap, a Secret, two
    Services, a StatefulSet, a PodDisruptionBudget (and sometimes a NetworkPolicy)."""
    embedded = "\n".join(full_config(rng, indent="    ", sections=3))
    docs = [f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: qdrant-config-{i}\n  labels:\n"
            f"    app: qdrant-{i}\ndata:\n  production.yaml: |\n{embedded}\n",
            f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: qdrant-key-{i}\ntype: Opaque\n"
            f"stringData:\n  api-key: {rng.choice(['changeme', 'k' * 40])}\n",
            f"apiVersion: v1\nkind: Service\nmetadata:\n  name: qdrant-headless-{i}\nspec:\n"
            f"  clusterIP: None\n  selector:\n    app: qdrant-{i}\n  ports:\n"
            "    - {name: p2p, port: 6335, targetPort: 6335}\n"]
    one = k8s(rng).replace("qdrant-config", f"qdrant-config-{i}").replace("qdrant-key", f"qdrant-key-{i}")
    one = one.replace("app: qdrant\n", f"app: qdrant-{i}\n").replace("name: qdrant\n", f"name: qdrant-{i}\n")
    docs += one.split("---\n")[1:]
    docs.append(f"apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata:\n  name: qdrant-{i}\nspec:\n"
                f"  maxUnavailable: 1\n  selector:\n    matchLabels:\n      app: qdrant-{i}\n")
    if rng.random() < 0.3:
        docs.append(f"apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: qdrant-{i}\n"
                    f"spec:\n  podSelector:\n    matchLabels:\n      app: qdrant-{i}\n"
                    "  policyTypes: [Ingress]\n"
                    "  ingress:\n    - from:\n        - podSelector:\n            matchLabels:\n"
                    f"              app: client-{i}\n      ports:\n        - {{port: 6333}}\n")
    return "---\n".join(docs)


def heavy_compose(rng: random.Random) -> str:
    text = compose(rng)
    extra = ["  # a sidecar that exports metrics", "  exporter:", "    image: example/exporter:2.1",
             "    command: [\"--target\", \"http://qdrant:6333/metrics\"]", "    healthcheck:",
             "      test: [\"CMD\", \"wget\", \"-qO-\", \"http://localhost:9100\"]", "      interval: 30s",
             "      timeout: 5s", "      retries: 3", "    deploy:", "      resources:", "        limits:",
             "          memory: 256M"]
    head, vols = text.split("volumes:\n  qdrant_data")
    return head + "\n".join(extra) + "\nvolumes:\n  qdrant_data" + vols


def generate(root: Path, seed: int = 42, *, mix: str = "light", scale: int = 1) -> tuple[int, int]:
    if mix == "heavy":
        return generate_heavy(root, seed, scale)
    return generate_light(root, seed)


HEAVY_KINDS = (("qdrant-config", 250), ("compose", 200), ("k8s", 200), ("helm-values", 150), ("env", 100),
               ("other", 100))


def generate_heavy(root: Path, seed: int = 42, scale: int = 1) -> tuple[int, int]:
    """The heavier mix: ``scale`` x 1,000 files (3.5 MB per 1,000): full-size commented Qdrant
    configs, compose stacks with a sidecar, multi-document Kubernetes sets with the config
    embedded in a ConfigMap, Helm values, env files and unrelated CI workflows. Kubernetes
    files sit 10 to a directory (one app each), the others 50 to a directory."""
    rng = random.Random(seed)
    count = size = 0
    for kind, n in HEAVY_KINDS:
        for i in range(n * scale):
            per_dir = 10 if kind == "k8s" else 50
            d = root / kind / f"set{i // per_dir}"
            d.mkdir(parents=True, exist_ok=True)
            if kind == "qdrant-config":
                name = f"qdrant-{i}.yaml"
                if i % 3 == 0:
                    text = "\n".join(full_config(rng)) + "\n"
                else:
                    text = qdrant_config(rng, big=i % 3 == 1)
            elif kind == "compose":
                name, text = f"docker-compose-{i}.yml", heavy_compose(rng)
            elif kind == "k8s":
                name, text = f"qdrant-{i}.yaml", heavy_k8s(rng, i)
            elif kind == "helm-values":
                name, text = f"values-{i}.yaml", helm_values(rng, (10, 40))
            elif kind == "env":
                name, text = f"qdrant-{i}.env", env_file(rng)
            else:
                name, text = f"workflow-{i}.yml", other(rng)
            (d / name).write_text(text)
            count += 1
            size += len(text.encode())
    return count, size


def generate_light(root: Path, seed: int = 42) -> tuple[int, int]:
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


REAL_CONFIGS = Path(__file__).resolve().parent.parent.parent / "shared" / "reference" / "real-configs"


def child_env() -> dict[str, str]:
    """The children's environment: byte-code caching on, as in an installed package (a
    PYTHONDONTWRITEBYTECODE=1 shell would make every run compile every module again)."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def timed(cmd: list[str], cwd: Path) -> tuple[float, int, int, float]:
    """(seconds, peak RSS in KiB, exit status, CPU seconds user + system) of one child
    process (with its own children: qdrantsec lints a large run in two processes)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env=child_env())
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    return elapsed, usage.ru_maxrss, proc.returncode, usage.ru_utime + usage.ru_stime


#: extra options for every qdrantsec run (``--jobs N``)
EXTRA: list[str] = []


def ours(out: Path, fmt: str = "json", path: str = ".") -> list[str]:
    return [sys.executable, "-m", "qdrantsec", "lint", path, "--format", fmt, "--output", str(out),
            "--exit-zero", *EXTRA]


def stats(runs: list[tuple[float, int, int, float]]) -> tuple[float, float, float, float, float]:
    """median, min, max seconds, peak RSS (MiB, the largest of the runs), median CPU seconds."""
    times = [r[0] for r in runs]
    return (statistics.median(times), min(times), max(times), max(r[1] for r in runs) / 1024,
            statistics.median(r[3] for r in runs))


# -- findings check ---------------------------------------------------------------------
#: the reports compared (a recording made before text and github were added has none of them)
REPORTS = ("json", "sarif", "text", "github")


def outputs(corpus: Path, inside: bool) -> dict[str, bytes]:
    """The CLI's reports on ``corpus``, run from inside it (``lint .``) or from its parent
    (``lint real-configs``)."""
    got = {}
    cwd, path = (corpus, ".") if inside else (corpus.parent, corpus.name)
    with tempfile.TemporaryDirectory() as d:
        for fmt in REPORTS:
            out = Path(d) / f"report.{fmt}"
            subprocess.run(ours(out, fmt, path), cwd=cwd, check=True, env=child_env(),
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            got[fmt] = out.read_bytes()
    return got


def whole_vs_streaming(corpus: Path) -> list[str]:
    """Lint ``corpus`` in this process twice, whole (every file kept to the end, the
    engine's original algorithm) and a directory at a time with findings spilled to disk
    (what the CLI does), and compare the reports byte for byte."""
    from qdrantsec.lint import engine, store
    from qdrantsec.lint.registry import all_rules
    from qdrantsec.output.lint_formats import render

    rules = all_rules()
    here = os.getcwd()
    os.chdir(corpus)
    try:
        whole = engine._lint_whole(["."], None, [], rules, None, 30, (), None, None)
        run_size = store.RUN_SIZE
        store.RUN_SIZE = 500  # several sorted runs to merge, even on a small corpus
        try:
            streamed = engine.lint_paths(["."], rules=rules, stream=True)
        finally:
            store.RUN_SIZE = run_size
        problems = []
        for fmt in REPORTS:
            a = render(whole, fmt, color=False, show_suppressed=True, rules=rules, tool_version="x")
            b = render(streamed, fmt, color=False, show_suppressed=True, rules=rules, tool_version="x")
            if a != b:
                problems.append(f"{corpus}: {fmt} differs between the whole and the streaming run")
        if len(whole.targets) != len(streamed.targets) or whole.files != streamed.files:
            problems.append(f"{corpus}: targets or files differ between the whole and the streaming run")
        return problems
    finally:
        os.chdir(here)


def check(corpus: Path, against: Path | None, record: Path | None) -> int:
    """Compare the reports on the generated corpus and on the real-world configs with those
    recorded before a change (``--record DIR`` writes them, ``--check-against DIR``
    compares), and the streaming engine with the whole one."""
    corpora = {"generated": corpus}
    if REAL_CONFIGS.is_dir():
        corpora["real-configs"] = REAL_CONFIGS
    problems: list[str] = []
    for name, root in corpora.items():
        got = outputs(root, inside=name == "generated")
        for fmt, data in got.items():
            file = f"{name}.{fmt}"
            if record is not None:
                record.mkdir(parents=True, exist_ok=True)
                (record / file).write_bytes(data)
                print(f"recorded {record / file} ({len(data)} bytes)")
            if against is not None:
                if not (against / file).exists():
                    print(f"{file}: not recorded in {against}")
                    continue
                want = (against / file).read_bytes()
                print(f"{file}: {'same bytes' if want == data else 'DIFFERENT'} ({len(data)} bytes)")
                if want != data:
                    problems.append(f"{file} differs from {against / file}")
        problems.extend(whole_vs_streaming(root))
        print(f"{name}: whole and streaming runs give the same JSON, SARIF, text and github reports"
              if not any(name in p or str(root) in p for p in problems) else f"{name}: see below")
    for p in problems:
        print("PROBLEM:", p)
    return 1 if problems else 0


# -- where the time goes ------------------------------------------------------------------
def profile(corpus: Path) -> None:
    """CPU seconds per phase of one in-process run (what the CLI does after start-up)."""
    import gc

    c0 = time.process_time()
    import qdrantsec.lint.engine as engine
    from qdrantsec.lint import store, suppress
    from qdrantsec.lint.inputs import source
    from qdrantsec.lint.registry import all_rules
    from qdrantsec.output import lint_json
    imports = time.process_time() - c0
    spent: dict[str, float] = {}

    def wrap(obj: object, name: str, key: str) -> None:
        fn = getattr(obj, name)

        def timed_fn(*a: object, **k: object) -> object:
            s = time.process_time()
            try:
                return fn(*a, **k)
            finally:
                spent[key] = spent.get(key, 0.0) + time.process_time() - s
        setattr(obj, name, timed_fn)

    wrap(source, "load_located", "parse files (libyaml + positions)")
    wrap(engine._Run, "classify", "read, parse and tell the kind")
    wrap(engine._Run, "build", "build deployments (incl. embedded configs)")
    wrap(engine, "run_rules", "rules")
    wrap(suppress.Suppressor, "one", "suppressions")
    wrap(store.FindingStore, "add", "keep findings (compact records)")
    here = os.getcwd()
    os.chdir(corpus)
    try:
        rules = all_rules()
        s = time.process_time()
        res = engine.lint_paths(["."], rules=rules, stream=True)
        total = time.process_time() - s
        s = time.process_time()
        size = sum(len(c) for c in lint_json.chunks(res, show_suppressed=False))
        render = time.process_time() - s
        s = time.process_time()
        gc.collect()
        collect = time.process_time() - s
    finally:
        os.chdir(here)
    print(f"in-process CPU seconds (one run): lint imports {imports:.3f}, lint_paths {total:.3f}, "
          f"JSON rendering {render:.3f} ({size / 1e6:.1f} MB), final gc {collect:.3f}")
    for key, value in spent.items():
        print(f"  {key}: {value:.3f}" + (" (inside the one above)" if key.startswith("parse") else ""))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--mix", choices=("heavy", "light"), default="heavy",
                        help="heavy: the 3.5 MB mix (default); light: the first 2.5 MB mix")
    parser.add_argument("--scale", type=int, default=1, help="thousands of files (heavy mix)")
    parser.add_argument("--keep", metavar="DIR", help="generate into DIR and keep it")
    parser.add_argument("--memory-curve", metavar="SCALES", help="peak RSS of qdrantsec only, at these "
                        "scales (e.g. 1,3,10), --runs runs each")
    parser.add_argument("--check-against", metavar="DIR", type=Path,
                        help="compare the reports with those recorded in DIR (see --record)")
    parser.add_argument("--record", metavar="DIR", type=Path, help="record the reports into DIR")
    parser.add_argument("--profile", action="store_true", help="print where the time goes")
    parser.add_argument("--jobs", type=int, choices=(1, 2),
                        help="pass --jobs N to qdrantsec lint (1: always one process)")
    parser.add_argument("--format", default="json", choices=("json", "sarif", "text", "github"),
                        help="qdrantsec's report format (default json)")
    args = parser.parse_args()
    if args.jobs:
        EXTRA.extend(["--jobs", str(args.jobs)])
    tmp = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="qdrantsec-bench-"))
    try:
        if args.memory_curve:
            return memory_curve(tmp, [int(x) for x in args.memory_curve.split(",")], args.runs, args.format)
        files, size = generate(tmp, mix=args.mix, scale=args.scale)
        print(f"{files} files, {size / 1e6:.2f} MB ({args.mix} mix)")
        if args.check_against or args.record:
            return check(tmp, args.check_against, args.record)
        if args.profile:
            profile(tmp)
            return 0
        return side_by_side(tmp, args.runs, args.format)
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)


def side_by_side(tmp: Path, runs: int, fmt: str = "json") -> int:
    yamllint = shutil.which("yamllint", path=str(Path(sys.executable).parent)) or shutil.which("yamllint")
    if yamllint is None:
        print("yamllint is not installed: pip install yamllint", file=sys.stderr)
        return 2
    out = tmp.parent / f"{tmp.name}-findings.{fmt}"
    cmds = {"qdrantsec": ours(out, fmt), "yamllint": [yamllint, "-f", "parsable", "."]}
    loads = [os.getloadavg()[0]]
    for cmd in cmds.values():  # warm the page cache and the byte-code cache
        timed(cmd, tmp)
    results: dict[str, list[tuple[float, int, int, float]]] = {name: [] for name in cmds}
    for _ in range(runs):
        for name, cmd in cmds.items():
            results[name].append(timed(cmd, tmp))
            loads.append(os.getloadavg()[0])
    import json

    findings = (len(json.loads(out.read_text())["findings"]) if fmt == "json" else
                len(json.loads(out.read_text())["runs"][0]["results"]) if fmt == "sarif" else "?")
    out.unlink()
    print(f"{runs} runs each (alternating); qdrantsec reported {findings} findings ({fmt}); "
          f"load average (1 min) {min(loads):.2f} to {max(loads):.2f}")
    print("| tool | median | min | max | CPU (user+sys, median) | peak RSS | exit |")
    print("|---|---|---|---|---|---|---|")
    med, cpu = {}, {}
    for name, samples in results.items():
        med[name], lo, hi, peak, cpu[name] = stats(samples)
        print(f"| {name} | {med[name]:.2f} s | {lo:.2f} s | {hi:.2f} s | {cpu[name]:.2f} s | {peak:.0f} MiB "
              f"| {samples[-1][2]} |")
    print(f"\nratio yamllint / qdrantsec: {med['yamllint'] / med['qdrantsec']:.1f}x wall clock, "
          f"{cpu['yamllint'] / cpu['qdrantsec']:.1f}x CPU time")
    return 0


def memory_curve(tmp: Path, scales: list[int], runs: int, fmt: str = "json") -> int:
    print(f"--format {fmt}")
    print("| files | MB | qdrantsec median | min | max | CPU (median) | peak RSS (min / max) | load |")
    print("|---|---|---|---|---|---|---|---|")
    for scale in scales:
        root = tmp / f"x{scale}"
        files, size = generate(root, mix="heavy", scale=scale)
        out = tmp / f"x{scale}-findings.{fmt}"
        timed(ours(out, fmt), root)
        load = os.getloadavg()[0]
        samples = [timed(ours(out, fmt), root) for _ in range(runs)]
        med, lo, hi, peak, cpu = stats(samples)
        low = min(r[1] for r in samples) / 1024
        print(f"| {files:,} | {size / 1e6:.1f} | {med:.2f} s | {lo:.2f} s | {hi:.2f} s | {cpu:.2f} s "
              f"| {low:.1f} / {peak:.1f} MiB | {load:.2f} to {os.getloadavg()[0]:.2f} |")
        shutil.rmtree(root, ignore_errors=True)
        out.unlink()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
