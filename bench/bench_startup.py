"""Start-up time of qdrantsec, side by side with the import floor of its libraries.

Pairs (each command against its floor, interleaved round-robin in one run so that machine
noise hits both alike):

* ``qdrantsec --help``                      vs ``python -c "import typer"``   (target 1.2x)
* a bash completion request (``tok`` -> ``token``) vs ``python -c "import typer"`` (1.2x)
* ``qdrantsec token mint ...``              vs ``python -c "import typer, jwt"`` (1.0x: no slower)

Every command is checked once before timing: --help prints the usage, the completion
request answers ``token``, and the minted token verifies with PyJWT.

Usage::

    .venv/bin/python bench/bench_startup.py [--runs 30] [--write bench/RESULTS.md]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

BEGIN = "<!-- bench_startup:begin -->"
END = "<!-- bench_startup:end -->"


@dataclass
class Case:
    name: str
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    times: list[float] = field(default_factory=list)

    def run(self) -> subprocess.CompletedProcess[bytes]:
        env = _env(self.env)
        return subprocess.run(self.argv, env=env, capture_output=True, check=False)

    def timed(self) -> None:
        env = _env(self.env)
        start = time.perf_counter()
        subprocess.run(self.argv, env=env, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, check=False)
        self.times.append(time.perf_counter() - start)

    @property
    def median_ms(self) -> float:
        return statistics.median(self.times) * 1000


def _env(extra: dict[str, str]) -> dict[str, str]:
    """The children's environment, with byte-code caching on as in an installed package (a
    PYTHONDONTWRITEBYTECODE=1 shell would make every run compile every module again)."""
    env = {**os.environ, **extra}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def _check(case: Case, expect: str) -> str:
    proc = case.run()
    out = proc.stdout.decode()
    if proc.returncode != 0 or expect not in out:
        raise SystemExit(f"{case.name}: unexpected result (exit {proc.returncode}): "
                         f"{out[:200]!r} {proc.stderr.decode()[:200]!r}")
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=30, help="timed runs per command (>= 20)")
    ap.add_argument("--write", metavar="FILE", help="replace this benchmark's section in FILE")
    args = ap.parse_args(argv)
    if args.runs < 20:
        ap.error("--runs must be at least 20")

    python = sys.executable
    cli = str(Path(python).with_name("qdrantsec"))
    if not Path(cli).exists():
        raise SystemExit(f"{cli} not found: run this with the project's virtualenv python")

    with tempfile.TemporaryDirectory() as tmp:
        key_file = Path(tmp) / "qdrant.key"
        key = "bench-" + "k" * 40
        key_file.write_text(key + "\n")
        key_file.chmod(0o600)

        floor = Case("python -c 'import typer'", [python, "-c", "import typer"])
        floor_jwt = Case("python -c 'import typer, jwt'", [python, "-c", "import typer, jwt"])
        helpc = Case("qdrantsec --help", [cli, "--help"])
        comp = Case("completion: qdrantsec tok<TAB>", [cli], env={
            "_QDRANTSEC_COMPLETE": "complete_bash", "COMP_WORDS": "qdrantsec tok",
            "COMP_CWORD": "1"})
        mint = Case("qdrantsec token mint", [
            cli, "token", "mint", "--api-key-file", str(key_file), "--collection", "docs:r",
            "--expires-in", "1h", "--subject", "bench"])

        _check(helpc, "Usage")
        if _check(comp, "token").split() != ["token"]:
            raise SystemExit("completion did not answer exactly 'token'")
        token = _check(mint, ".").strip()
        import jwt

        claims = jwt.decode(token, key, algorithms=["HS256"])
        assert claims["access"] == [{"collection": "docs", "access": "r"}], claims

        cases = [floor, floor_jwt, helpc, comp, mint]
        for case in cases:  # warm the page cache and .pyc files
            for _ in range(3):
                case.timed()
            case.times.clear()
        for _ in range(args.runs):
            for case in cases:
                case.timed()

    pairs = [(helpc, floor, 1.2), (comp, floor, 1.2), (mint, floor_jwt, 1.0)]
    lines = [
        "## Start-up (`bench/bench_startup.py`)",
        "",
        f"Medians of {args.runs} interleaved runs each, wall clock, one process per run, byte-code "
        f"caching on (Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, a machine shared with "
        f"other sessions' test runs: the interleaving makes the noise hit command and floor alike). "
        f"Reproduce with `.venv/bin/python bench/bench_startup.py --runs {args.runs} "
        f"--write bench/RESULTS.md`.",
        "",
        "| command | median | floor | floor median | ratio | target | |",
        "|---|---:|---|---:|---:|---:|---|",
    ]
    ok = True
    for cmd, base, target in pairs:
        ratio = cmd.median_ms / base.median_ms
        passed = ratio <= target
        ok &= passed
        lines.append(f"| `{cmd.name}` | {cmd.median_ms:.1f} ms | `{base.name}` | "
                     f"{base.median_ms:.1f} ms | {ratio:.2f}x | {target}x | "
                     f"{'ok' if passed else 'MISSED'} |")
    text = "\n".join(lines) + "\n"
    sys.stdout.write(text)
    if args.write:
        _write_section(Path(args.write), text)
    return 0 if ok else 1


def _write_section(path: Path, text: str) -> None:
    """Replace only this benchmark's section; other sections belong to other benchmarks."""
    section = f"{BEGIN}\n{text}{END}\n"
    current = path.read_text() if path.exists() else "# Benchmarks\n"
    if BEGIN in current and END in current:
        head, rest = current.split(BEGIN, 1)
        _, tail = rest.split(END, 1)
        new = head + section + tail.lstrip("\n")
    else:
        new = current.rstrip("\n") + "\n\n" + section
    path.write_text(new)


if __name__ == "__main__":
    raise SystemExit(main())
