"""Benchmark: `qdrantsec certs generate` vs mkcert for CA + server + 3 peers + 1 client.

mkcert needs five invocations (server, three peers with -client for serverAuth+clientAuth,
one client); the first also creates its CA. qdrantsec makes the same set in one command.
Both use ECDSA P-256 leaves (mkcert's CA is always RSA 3072; qdrantsec's is P-256). Each run
starts from an empty directory (and an empty CAROOT for mkcert); alternating the tools in
the same loop keeps machine noise fair to both.

    .venv/bin/python bench/bench_certs.py [--runs 15] [--where]
    .venv/bin/python bench/bench_certs.py --fsync-ways [--runs 30]
    .venv/bin/python bench/bench_certs.py --before REV [--runs 20]

The load average is printed before and after: the machine the results were recorded on is
shared, and a busy CPU hurts the Python side more than mkcert's Go.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QDRANTSEC = ROOT / ".venv" / "bin" / "qdrantsec"
PYTHON = sys.executable


def installed(where: Path) -> tuple[str, Path]:
    """qdrantsec as users get it: a regular (not editable) ``pip install`` into a throwaway
    venv at ``where``, its dependencies taken from the running venv through a path file.

    The project's own .venv has an editable install, whose import hook (setuptools'
    ``__editable__`` finder, loaded by ``site`` in every process of that venv) cost 11 ms of
    each start here, in qdrantsec and in the interpreter floor alike."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(where)], check=True)
    site = next(p for p in sys.path if p.endswith("site-packages"))
    target = subprocess.run([str(where / "bin" / "python"), "-c",
                             "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                            check=True, capture_output=True, text=True).stdout.strip()
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-compile",
                    "--target", target, str(ROOT)], check=True)
    with open(Path(target) / "qdrantsec-bench-deps.pth", "w") as fh:
        fh.write(site + "\n")
    script = where / "bin" / "qdrantsec"
    script.write_text(f"#!{where / 'bin' / 'python'}\nimport sys\nfrom qdrantsec.cli.app import main\n"
                      "sys.exit(main())\n")
    script.chmod(0o755)
    return str(where / "bin" / "python"), script
PEERS = [f"qdrant-{i}.qdrant-headless" for i in range(3)]
HOSTS = ["localhost", "127.0.0.1", "::1"]


def _run(argv: list[str], env: dict[str, str] | None = None) -> None:
    # byte-code caching on, as in an installed package (a PYTHONDONTWRITEBYTECODE=1 shell
    # would make every run compile every module again)
    env = dict(env if env is not None else os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)


def qdrantsec_once(tmp: Path) -> None:
    _run([str(QDRANTSEC), "certs", "generate", "--out", str(tmp / "tls"), "--peers", "3",
          "--client", "app"])


def mkcert_once(tmp: Path) -> None:
    mkcert = shutil.which("mkcert") or "mkcert"
    env = {**os.environ, "CAROOT": str(tmp / "caroot")}
    out = tmp / "tls"
    out.mkdir()
    jobs = [["-ecdsa", "-cert-file", str(out / "server.pem"),
             "-key-file", str(out / "server-key.pem"), *HOSTS]]
    for i, peer in enumerate(PEERS):
        jobs.append(["-client", "-ecdsa", "-cert-file", str(out / f"peer-{i}.pem"),
                     "-key-file", str(out / f"peer-{i}-key.pem"), peer, *HOSTS])
    jobs.append(["-client", "-ecdsa", "-cert-file", str(out / "client-app.pem"),
                 "-key-file", str(out / "client-app-key.pem"), "app"])
    for args in jobs:
        _run([mkcert, *args], env=env)


def python_startup_once(tmp: Path) -> None:
    _run([PYTHON, "-c", "pass"])


def cli_floor_once(tmp: Path) -> None:
    # the cheapest qdrantsec command with options: interpreter + typer (+ pydantic, which
    # typer 0.29 imports to coerce option values) + the error boundary; no cryptography
    _run([str(QDRANTSEC), "key", "generate", "--out", str(tmp / "k")])


def core_only_once(tmp: Path) -> None:
    # the same work without the CLI layer: what the command costs beyond typer/pydantic
    code = ("import sys; from pathlib import Path; from qdrantsec.certs import bundle, snippets; "
            "cs = bundle.generate(bundle.Request(out=Path(sys.argv[1]), peer_count=3, clients=['app'])); "
            "print(snippets.build(cs, sys.argv[1]).yaml)")
    _run([PYTHON, "-c", code, str(tmp / "tls")])


CPU: dict[Callable[[Path], None], list[float]] = {}


def timed(fn: Callable[[Path], None]) -> float:
    """Wall seconds of one run; its CPU seconds (user + system of the children) go to CPU."""
    import resource

    with tempfile.TemporaryDirectory() as d:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        fn(Path(d))
        elapsed = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        CPU.setdefault(fn, []).append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
        return elapsed


WHERE = r"""
import os, sys, time, tempfile
from pathlib import Path
tc = time.perf_counter()
import qdrantsec.cli.app, qdrantsec.cli.certs  # what the command has loaded before its body runs
t0 = time.perf_counter()
# the cryptography modules generate uses: keys (ec, with the Rust bindings) and the OpenSSL
# backend, which ec.ECDSA imports when a certificate is signed
import cryptography.hazmat.primitives.asymmetric.ec
import cryptography.hazmat.backends.openssl.backend
t1 = time.perf_counter()
from qdrantsec.certs import bundle, snippets, fileset
t2 = time.perf_counter()
real_fsync, spent = os.fsync, [0, 0.0]
def fsync(fd):
    spent[0] += 1; s = time.perf_counter(); real_fsync(fd); spent[1] += time.perf_counter() - s
os.fsync = fsync
out = Path(tempfile.mkdtemp()) / "tls"
t3 = time.perf_counter()
snippets.build(bundle.generate(bundle.Request(out=out, peer_count=3, clients=["app"])), str(out))
t4 = time.perf_counter()
x509 = int(any(m.startswith("cryptography.x509") for m in sys.modules))
work = t4 - t3 - spent[1]
ms = [1000 * (t0 - tc), 1000 * (t1 - t0), 1000 * (t2 - t1), 1000 * work, spent[0], 1000 * spent[1], x509]
print(" ".join(f"{x:.1f}" for x in ms))
"""


def where(runs: int) -> None:
    """Medians of the parts of the work in one process (after the interpreter started)."""
    rows = []
    for _ in range(runs):
        env = dict(os.environ)
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        out = subprocess.run([PYTHON, "-c", WHERE], capture_output=True, text=True, check=True,
                             env=env)
        rows.append([float(x) for x in out.stdout.split()])
    med = [statistics.median(col) for col in zip(*rows, strict=True)]
    print(f"in one process (medians of {runs}): import the CLI (Typer, qdrantsec.cli) {med[0]:.1f} ms, "
          f"then cryptography (ec keys, OpenSSL backend) {med[1]:.1f} ms, qdrantsec.certs {med[2]:.1f} ms, "
          f"keys + certificates + writes without fsync {med[3]:.1f} ms, {med[4]:.0f} fsyncs {med[5]:.1f} ms; "
          f"cryptography.x509 imported: {'yes' if med[6] else 'no'}")


FSYNC_WAYS = r"""
import ctypes, os, shutil, statistics, sys, tempfile, time
from pathlib import Path
from qdrantsec.certs import bundle, fileset
cs = bundle.plan(bundle.Request(out=Path("/nonexistent"), peer_count=3, clients=["app"]))
files = [(f.path.name, f.data) for f in cs.files]
libc = ctypes.CDLL(None, use_errno=True)

def write(d, sync_each):
    for name, data in files:
        fd = os.open(os.path.join(d, name), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.write(fd, data)
        if sync_each:
            os.fsync(fd)
        os.close(fd)

def dir_fsync(d):
    fd = os.open(d, os.O_RDONLY)
    os.fsync(fd)
    os.close(fd)

def per_file(d):  # what fileset did before: write + fsync, file by file
    write(d, True)
    dir_fsync(d)

def batched(d):  # what fileset does: fileset._write_files (writes with fadvise, then the fsyncs)
    fileset._write_files(Path(d), [fileset.Entry(n, data, 0o600) for n, data in files])
    dir_fsync(d)

def syncfs(d):  # one syncfs(2) of the file system
    write(d, False)
    fd = os.open(d, os.O_RDONLY)
    if libc.syncfs(fd):
        raise OSError(ctypes.get_errno(), "syncfs")
    os.close(fd)

ways = {"write + fsync per file (before)": per_file, "writes, then fsyncs (now)": batched,
        "writes, then one syncfs": syncfs}
times = {k: [] for k in ways}
for _ in range(int(sys.argv[1])):
    for name, fn in ways.items():
        d = tempfile.mkdtemp(dir=sys.argv[2])
        start = time.perf_counter()
        fn(d)
        times[name].append(time.perf_counter() - start)
        shutil.rmtree(d)
for name, v in times.items():
    print(f"  {name:<34} median {1000 * statistics.median(v):6.1f} ms   min {1000 * min(v):6.1f} ms   "
          f"max {1000 * max(v):6.1f} ms")
"""

DIRTY_WRITER = r"""
import os, sys, tempfile, time
d = tempfile.mkdtemp(dir=sys.argv[1])
block, i = os.urandom(4 << 20), 0
while True:  # 4 MiB every 20 ms into the page cache, never fsynced (until killed)
    with open(os.path.join(d, f"f{i % 50}"), "wb") as f:
        f.write(block)
    i += 1
    time.sleep(0.02)
"""


def fsync_ways(runs: int) -> None:
    """Ways to make the 12 files durable before the rename, on a quiet disk and behind
    another process that keeps dirtying the page cache of the same file system."""
    if not sys.platform.startswith("linux"):
        print("--fsync-ways needs Linux (syncfs)", file=sys.stderr)
        return
    import signal

    with tempfile.TemporaryDirectory() as d:
        print(f"the 12 files of the set, {runs} runs each, in {tempfile.gettempdir()}:")
        print(" quiet disk (whatever else the machine's users are doing):")
        subprocess.run([sys.executable, "-c", FSYNC_WAYS, str(runs), d], check=True)
        writer = subprocess.Popen([sys.executable, "-c", DIRTY_WRITER, d])
        try:
            time.sleep(1)
            print(" with a writer of unsynced 4 MiB files on the same file system:")
            subprocess.run([sys.executable, "-c", FSYNC_WAYS, str(runs), d], check=True)
        finally:
            writer.send_signal(signal.SIGKILL)
            writer.wait()


BEFORE = r"""
import sys
sys.meta_path = [f for f in sys.meta_path if "editable" not in str(f)]  # the tree given, not the install
sys.path.insert(0, sys.argv[1])
from qdrantsec.cli.app import main
assert main.__code__.co_filename.startswith(sys.argv[1])
sys.exit(main(["certs", "generate", "--out", sys.argv[2], "--peers", "3", "--client", "app"]))
"""


def before_after(rev: str, runs: int) -> None:
    """`certs generate` of the package at git revision ``rev`` against the work tree's,
    alternating in one loop (the same interpreter and venv for both)."""
    with tempfile.TemporaryDirectory() as old:
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev, "qdrantsec"], check=True,
                                 capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", old], input=archive, check=True)
        env = dict(os.environ)
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        trees = {f"at {rev}": old, "now": str(ROOT)}
        times: dict[str, list[float]] = {name: [] for name in trees}
        for i in range(runs + 1):  # the first round compiles the old tree's byte code
            for name, tree in trees.items():
                with tempfile.TemporaryDirectory() as d:
                    start = time.perf_counter()
                    subprocess.run([sys.executable, "-c", BEFORE, tree, f"{d}/tls"], check=True, env=env,
                                   cwd=d, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                    if i:
                        times[name].append(time.perf_counter() - start)
    print(f"certs generate, {runs} runs each, load average "
          + " ".join(f"{x:.2f}" for x in os.getloadavg()) + ":")
    for name, v in times.items():
        print(f"  {name:<16} median {1000 * statistics.median(v):6.1f} ms   min {1000 * min(v):6.1f} ms   "
              f"max {1000 * max(v):6.1f} ms")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--where", action="store_true", help="also show where the time goes in one process")
    ap.add_argument("--fsync-ways", action="store_true",
                    help="only compare ways of making the files durable (per-file fsync, now, syncfs)")
    ap.add_argument("--editable", action="store_true",
                    help="run the project's .venv (editable install) instead of a regular install")
    ap.add_argument("--before", metavar="REV",
                    help="only compare certs generate at git revision REV with the work tree")
    args = ap.parse_args()
    if args.before:
        before_after(args.before, args.runs)
        return 0
    if args.fsync_ways:
        fsync_ways(args.runs)
        return 0
    if shutil.which("mkcert") is None:
        print("mkcert not found: apt-get install -y mkcert", file=sys.stderr)
        return 2
    global PYTHON, QDRANTSEC
    with tempfile.TemporaryDirectory(prefix="qdrantsec-bench-venv-") as venv:
        if not args.editable:
            PYTHON, QDRANTSEC = installed(Path(venv))
        return measure(args)


def measure(args: argparse.Namespace) -> int:
    tools: dict[str, Callable[[Path], None]] = {
        "qdrantsec certs generate (1 command)": qdrantsec_once,
        "mkcert (5 invocations)": mkcert_once,
        "python -c pass (interpreter floor)": python_startup_once,
        "qdrantsec key generate (CLI floor)": cli_floor_once,
        "same set via qdrantsec.certs, no CLI": core_only_once,
    }
    load_before = os.getloadavg()
    for fn in tools.values():  # warm the page cache once
        timed(fn)
    times: dict[str, list[float]] = {name: [] for name in tools}
    for _ in range(args.runs):
        for name, fn in tools.items():
            times[name].append(timed(fn))
    load_after = os.getloadavg()
    print(f"runs: {args.runs}   python {sys.version.split()[0]}   "
          f"mkcert {subprocess.run(['mkcert', '-version'], capture_output=True, text=True).stdout.strip()}")
    cpu = {name: statistics.median(CPU[fn][-args.runs:]) for name, fn in tools.items()}
    for name, samples in times.items():
        print(f"{name:<42} median {statistics.median(samples) * 1000:7.1f} ms   "
              f"min {min(samples) * 1000:7.1f} ms   max {max(samples) * 1000:7.1f} ms   "
              f"CPU {cpu[name] * 1000:6.1f} ms")
    q = statistics.median(times["qdrantsec certs generate (1 command)"])
    m = statistics.median(times["mkcert (5 invocations)"])
    qc, mc = cpu["qdrantsec certs generate (1 command)"], cpu["mkcert (5 invocations)"]
    print(f"ratio qdrantsec / mkcert: {q / m:.2f}x wall clock (target <= 1.5x), {qc / mc:.2f}x CPU time")
    # the two run next to each other in each round: the median of the rounds' ratios is less
    # moved by a busy spell of the machine than the ratio of the medians
    pairs = [a / b for a, b in zip(times["qdrantsec certs generate (1 command)"],
                                   times["mkcert (5 invocations)"], strict=True)]
    print(f"ratio in each round: median {statistics.median(pairs):.2f}x, min {min(pairs):.2f}x, "
          f"max {max(pairs):.2f}x")
    print("load average (1, 5, 15 min): before " + " ".join(f"{x:.2f}" for x in load_before)
          + ", after " + " ".join(f"{x:.2f}" for x in load_after))
    if args.where:
        where(args.runs)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
