"""Every command over a corpus of hostile inputs: each file or path parameter gets /dev/zero,
a FIFO, a huge file, an alias bomb, deep nesting, bad UTF-8, NUL bytes, an overlong name...,
each URL parameter malformed URLs, each date parameter impossible dates. Whatever the
answer, it is never exit 70 (an internal error), never a traceback, and at most one error
line (exactly one when the command fails).

The commands and their parameters come from walking the Typer command tree, so a new
command or option is covered as soon as it exists; ``BASES`` gives each command the
arguments that make it reach the parameter under test (a key, a config, a certificate).
FIFO cases run in a subprocess with a timeout, all the others in-process through ``main``.
"""

from __future__ import annotations

import base64
import contextlib
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from qdrantsec.cli.app import main

KEY = "Kk9" + "k" * 40

#: parameters (click names) that name a file or directory
_PATHY = re.compile(r"^(paths?|source|cert|file|out|outputs?|dir|directory|ca|journal|inventory|baseline|"
                    r"write_baseline|qdrant_config|.*_file|ca_cert|ca_key|client_cert|client_key)$")
#: parameters that take a URL
_URLY = frozenset({"urls", "url", "peers", "metrics_url", "peer_uri"})
#: parameters that take a point in time
_DATEY = frozenset({"expires_at", "since", "until", "time_from", "time_to"})
#: never a file, whatever the name suggests: key material, variable names, shell commands
_NOT_PATHY = re.compile(r"(_env$|^api_key$|^alt_api_key$|key_type|_cmd$|tls_dir)")

#: key sources: the one under test replaces the base's, or the command refuses two sources
_KEY_SOURCES = frozenset({"--api-key-file", "--api-key-env", "--api-key", "--api-key-stdin",
                          "--qdrant-config"})

BAD_URLS = ["https://a..b", "https://[::1", f"https://{'a' * 64}.example", "https://x:99999",
            "https://%zz", "https://" + "b" * 300]
BAD_DATES = ["2026-02-30T00:00:00Z", "2026-13-01T00:00:00Z", "99999-01-01T00:00:00Z"]
BAD_NUMBERS = ["99999999999999999999", "9" * 5000, "-1"]

#: arguments that let each command reach its file parameters; {NAME} is filled from the
#: fixtures. A command absent here runs with no other arguments.
BASES: dict[str, list[str]] = {
    "key generate": ["--out", "{OUT}/new.key"],
    "token mint": ["--api-key-file", "{KEY}", "-c", "docs:r"],
    "token inspect": ["{TOKEN}"],
    "token verify": ["{TOKEN}", "--api-key-file", "{KEY}"],
    "token explain": ["{TOKEN}", "--api-key-file", "{KEY}"],
    "lint": ["{CFG}", "--format", "json"],
    "certs generate": ["--out", "{OUT}/tls"],
    "certs inspect": ["{CERT}"],
    "certs verify": ["{CERT}", "--ca", "{CA}"],
    "certs check-expiry": ["{CERT}"],
    "audit query": ["{AUDIT}/audit.2026-12-01.log"],
    "audit summary": ["{AUDIT}/audit.2026-12-01.log"],
    "audit tail": ["--dir", "{AUDIT}"],
    "rotate-key status": ["--journal", "{OUT}/journal.json"],
    "rotate-key resume": ["--journal", "{OUT}/journal.json", "--api-key-file", "{KEY}"],
    "rotate-key abort": ["--journal", "{OUT}/journal.json", "--api-key-file", "{KEY}"],
    "probe": ["https://127.0.0.1:1", "--timeout", "0.5"],
}
#: for these parameters the command needs a server to talk to (nothing listens there)
NETWORK_BASES: dict[str, list[str]] = {
    "audit query": ["--url", "https://127.0.0.1:1", "--api-key-file", "{KEY}", "--timeout", "1"],
    "audit summary": ["--url", "https://127.0.0.1:1", "--api-key-file", "{KEY}", "--timeout", "1"],
}
_NETWORK_PARAMS = frozenset({"ca_cert", "client_cert", "client_key", "api_key_file", "qdrant_config"})


@dataclass(frozen=True)
class Param:
    command: str  # "certs verify"
    name: str  # click's name: "ca"
    opt: str | None  # "--ca"; None for an argument
    kind: str  # "path", "url" or "date"

    @property
    def id(self) -> str:
        return f"{self.command} {self.opt or self.name.upper()}"


def _params() -> list[Param]:
    import typer

    from qdrantsec.cli import app as cli_app

    root = typer.main.get_command(cli_app.app)
    out: list[Param] = []

    def walk(cmd: object, ctx: object, path: list[str]) -> None:
        if path and (not hasattr(cmd, "list_commands") or getattr(cmd, "invoke_without_command", False)):
            for p in getattr(cmd, "params", []):
                name = p.name or ""
                type_name = getattr(p.type, "name", "")
                if getattr(p, "is_flag", False) or name == "help" or \
                        type_name not in ("str", "text", "path", "int", "int range"):
                    continue
                kind = ("number" if type_name.startswith("int") else "url" if name in _URLY
                        else "date" if name in _DATEY
                        else "path" if _PATHY.match(name) and not _NOT_PATHY.search(name) else None)
                if kind is None:
                    continue
                opt = None if p.param_type_name == "argument" else max(p.opts, key=len)
                out.append(Param(" ".join(path), name, opt, kind))
                if name == "source":  # certs inspect: a file or an https:// URL
                    out.append(Param(" ".join(path), name, opt, "url"))
        if hasattr(cmd, "list_commands"):
            for name in cmd.list_commands(ctx):  # type: ignore[attr-defined]
                sub = cmd.get_command(ctx, name)  # type: ignore[attr-defined]
                walk(sub, sub.make_context(name, [], parent=ctx, resilient_parsing=True), [*path, name])

    walk(root, root.make_context("qdrantsec", [], resilient_parsing=True), [])
    return out


PARAMS = _params()


def test_the_walk_finds_the_file_parameters_of_every_command() -> None:
    ids = {p.id for p in PARAMS}
    for expected in ("lint PATHS", "lint --env-file", "lint --baseline", "lint --output",
                     "lint --write-baseline", "token mint --from-file", "token mint --qdrant-config",
                     "token mint --api-key-file", "key generate --out", "certs generate --out",
                     "certs inspect SOURCE", "certs verify --ca", "certs check-expiry PATHS",
                     "token mint --expires-at"):
        assert expected in ids, sorted(ids)
    assert "token mint --api-key" not in ids and "token mint --api-key-env" not in ids


# -- the corpus ---------------------------------------------------------------------------

def _bad_point_cert(tls: Path) -> bytes:
    """server.pem with one byte of its EC public point flipped: the point leaves the curve."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    cert = x509.load_pem_x509_certificate((tls / "server.pem").read_bytes())
    der = bytearray(cert.public_bytes(serialization.Encoding.DER))
    point = cert.public_key().public_bytes(serialization.Encoding.X962,
                                           serialization.PublicFormat.UncompressedPoint)
    at = bytes(der).index(point)
    der[at + len(point) - 1] ^= 0x01
    return (b"-----BEGIN CERTIFICATE-----\n" + base64.encodebytes(bytes(der))
            + b"-----END CERTIFICATE-----\n")


@dataclass
class Corpus:
    root: Path
    subs: dict[str, str]  # {KEY} and friends
    files: dict[str, str]  # hostile name -> path (FIFO excluded)
    fifo: str


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Corpus]:
    root = tmp_path_factory.mktemp("corpus")
    key = root / "qdrant.key"
    key.write_text(KEY + "\n")
    key.chmod(0o600)
    assert main(["certs", "generate", "--out", str(root / "tls")]) == 0
    cfg = root / "config.yaml"  # with TLS, so that lint's certificate rules (QS305-307) run too
    cfg.write_text("service:\n  host: 127.0.0.1\n  api_key: ${QDRANT_KEY}\n  enable_tls: true\n"
                   f"tls:\n  cert: {root}/tls/server.pem\n  key: {root}/tls/server-key.pem\n")
    audit = root / "audit"
    audit.mkdir()
    (audit / "audit.2026-12-01.log").write_text("")
    from qdrantsec.token.jws import encode

    token = encode({"access": "r", "exp": 4_000_000_000}, KEY)
    subs = {"KEY": str(key), "CFG": str(cfg), "AUDIT": str(audit), "TOKEN": token,
            "CERT": str(root / "tls" / "server.pem"), "CA": str(root / "tls" / "ca.pem")}

    h = root / "hostile"
    h.mkdir()
    writes: dict[str, bytes] = {
        "anchor.yaml": b"service: &a {x: *a}\n",
        "merge.yaml": b"service: &a {<<: *a}\n",
        "laughs.yaml": b"a: &a [x, x, x, x, x, x, x, x, x]\n" + b"".join(
            b"%c: &%c [*%c, *%c, *%c, *%c, *%c, *%c, *%c, *%c, *%c]\n" % ((c, c) + (c - 1,) * 9)
            for c in range(ord("b"), ord("k"))),
        "deep.yaml": b"[" * 5000 + b"]" * 5000,
        "deep-block.yaml": b"".join(b"  " * i + b"k:\n" for i in range(3000)),
        "bad-utf8.yaml": b"service:\n  host: \xff\xfe\xfd\n",
        "nul.yaml": b"service:\n  host: \x00\x00\n",
        "huge-int.json": b'{"version": 1, "fingerprints": [], "x": ' + b"1" * 5000 + b"}",
        "huge-int.yaml": b"service:\n  http_port: " + b"9" * 5000 + b"\n",
        "bad-date.yaml": b"- {name: a, collections: ['docs:r'], expires_at: 2026-02-30T00:00:00Z}\n",
        "bad-point.pem": _bad_point_cert(root / "tls"),
    }
    files = {}
    for name, data in writes.items():
        (h / name).write_bytes(data)
        files[name] = str(h / name)
    huge = h / "huge.yaml"
    with huge.open("wb") as fh:  # sparse: larger than every cap, costs no disk
        fh.truncate(64 * 1024 * 1024)
    files["huge.yaml"] = str(huge)
    (h / "zero-link.yaml").symlink_to("/dev/zero")
    files["zero-link.yaml"] = str(h / "zero-link.yaml")
    files["/dev/zero"] = "/dev/zero"
    files["overlong"] = str(h / ("n" * 300))
    files["overlong-dir"] = str(h / ("d" * 300) / "x.yaml")
    fifo = h / "fifo.yaml"
    os.mkfifo(fifo)
    yield Corpus(root, subs, files, str(fifo))


def _argv(param: Param, value: str, corpus: Corpus, out: Path) -> list[str]:
    base = list(NETWORK_BASES.get(param.command, []) if param.name in _NETWORK_PARAMS else [])
    base = base or list(BASES.get(param.command, []))
    subs = {**corpus.subs, "OUT": str(out)}
    base = [a.format(**subs) if "{" in a and a.strip("{}") in subs else a for a in base]
    if param.opt in _KEY_SOURCES:  # the source under test is the only one
        cleaned, skip = [], False
        for a in base:
            if skip:
                skip = False
                continue
            if a in _KEY_SOURCES:
                skip = a != "--api-key-stdin"
                continue
            cleaned.append(a)
        base = cleaned
    if param.opt is None:  # an argument: it replaces the base's positional value(s)
        positional = [i for i, a in enumerate(base) if not a.startswith("-") and
                      (i == 0 or not base[i - 1].startswith("-"))]
        if positional:
            base[positional[0]] = value
            return [*param.command.split(), *base]
        return [*param.command.split(), value, *base]
    if param.opt in base:
        base[base.index(param.opt) + 1] = value
        return [*param.command.split(), *base]
    return [*param.command.split(), *base, param.opt, value]


#: exit codes that answer a check (lint findings, a bad signature...): no error line needed
ANSWERS = frozenset({0, 1, 10, 11, 12, 13})


def check(argv: list[str], code: int, err: str, allowed: int = 1) -> str | None:
    """Why this outcome is wrong, or None. ``allowed``: error lines the base invocation
    prints by itself plus one (probe's unreachable URL is an error line of its own)."""
    errors = [ln for ln in err.splitlines() if ln.startswith("qdrantsec: error:")]
    if code == 70 or "internal error" in err:
        return f"exit {code} (internal error): {err.strip()[:300]}"
    if "Traceback" in err:
        return "a traceback"
    if len(errors) > allowed:
        return f"{len(errors)} error lines: {errors}"
    if code not in ANSWERS and not errors:
        return f"exit {code} without an error line: {err.strip()[:300]}"
    stray = [ln for ln in err.splitlines() if ln.strip() and not ln.startswith("qdrantsec: ")]
    if stray:
        return f"stray stderr lines: {stray[:3]}"
    return None


class _Overrun(BaseException):
    """Raised in the command by the guard's alarm: a BaseException, so that the error
    boundary (which turns an Exception into exit 70) lets it through to the test."""


def _vm_size() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmSize:"):
            return int(line.split()[1]) * 1024
    return 0


@contextlib.contextmanager
def guard(seconds: float = 60, memory: int = 2 << 30) -> Iterator[None]:
    """Run an in-process command with a ceiling: a hang (a read that never ends) is cut
    short by an alarm, and unbounded memory use (reading /dev/zero whole) fails with a
    MemoryError at ``memory`` bytes more than now, instead of taking the machine down.
    Neither is a timing assertion: a command that stays within them passes."""
    import resource
    import signal

    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    ceiling = _vm_size() + memory
    if hard != resource.RLIM_INFINITY:
        ceiling = min(ceiling, hard)

    def alarm(*_: object) -> None:
        raise _Overrun()

    previous = signal.signal(signal.SIGALRM, alarm)
    resource.setrlimit(resource.RLIMIT_AS, (ceiling, hard))
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def _values(param: Param, corpus: Corpus) -> list[str]:
    if param.kind == "url":
        return BAD_URLS
    if param.kind == "date":
        return BAD_DATES
    if param.kind == "number":
        return BAD_NUMBERS
    return list(corpus.files.values())


def _base_errors(param: Param, corpus: Corpus, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> int:
    """How many error lines the command prints with its base arguments alone."""
    import io

    out = tmp_path / "base"
    out.mkdir()
    argv = _argv(param, "", corpus, out)
    argv = argv[:-2] if param.opt is not None and argv[-2:] == [param.opt, ""] else [a for a in argv if a]
    sys.stdin = io.StringIO("")
    with guard():
        main(argv)
    _, err = capsys.readouterr()
    return sum(1 for ln in err.splitlines() if ln.startswith("qdrantsec: error:"))


@pytest.mark.parametrize("param", PARAMS, ids=lambda p: p.id)
def test_hostile_values_in_process(
    param: Param, corpus: Corpus, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import io

    monkeypatch.chdir(tmp_path)
    failures = []
    allowed = 1 + _base_errors(param, corpus, tmp_path, capsys)
    for i, value in enumerate(_values(param, corpus)):
        out = tmp_path / f"out{i}"  # a fresh output directory for each value
        out.mkdir()
        argv = _argv(param, value, corpus, out)
        monkeypatch.setattr(sys, "stdin", io.StringIO(""))
        try:
            with guard():
                code = main(argv)
        except _Overrun:
            code = -1
        _, err = capsys.readouterr()
        why = "did not return (a read that never ends?)" if code == -1 else check(argv, code, err, allowed)
        if why:
            failures.append(f"{value[:60]}: {why}")
    assert not failures, "\n".join(failures)


def _run_fifo(argv: list[str], cwd: Path) -> tuple[list[str], int, str]:
    try:
        res = subprocess.run([sys.executable, "-m", "qdrantsec", *argv], cwd=cwd, stdin=subprocess.DEVNULL,
                             capture_output=True, timeout=30, check=False)
    except subprocess.TimeoutExpired:
        return argv, -1, "qdrantsec: error: TIMED OUT (blocked on the FIFO)"
    return argv, res.returncode, res.stderr.decode("utf-8", "replace")


def test_a_fifo_never_blocks_any_command(
    corpus: Corpus, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A named pipe nobody reads or writes, in every file parameter: no command waits for
    it. Each run has its own FIFO: two runs sharing one would serve each other."""
    jobs, fifos, allowed = [], [], []
    monkeypatch.chdir(tmp_path)
    for i, param in enumerate(p for p in PARAMS if p.kind == "path"):
        out = tmp_path / f"out{i}"
        out.mkdir()
        fifos.append(out / "fifo.yaml")
        os.mkfifo(fifos[-1])
        jobs.append(_argv(param, str(fifos[-1]), corpus, out))
        allowed.append(1 + _base_errors(param, corpus, out, capsys))
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda argv: _run_fifo(argv, tmp_path), jobs))
    failures = []
    for (argv, code, err), most in zip(results, allowed, strict=True):
        why = "blocked" if code == -1 else check(argv, code, err, most)
        if why:
            failures.append(f"{' '.join(argv)[:120]}: {why}")
    assert not failures, "\n".join(failures)
    assert all(f.is_fifo() for f in fifos)  # nothing replaced them


#: files that reference another file, each with {P} where the hostile path goes
REFERENCES: dict[str, tuple[str, str]] = {
    "tls.cert": ("config.yaml", "service:\n  enable_tls: true\n  api_key: ${K}\ntls:\n  cert: {P}\n"
                                "  key: {P}\n  ca_cert: {P}\n  verify_https_client_certificate: true\n"),
    "env_file": ("docker-compose.yml", "services:\n  qdrant:\n    image: qdrant/qdrant:v1.19.0\n"
                                       "    env_file: ['{P}']\n"),
    "include": ("docker-compose.yml", "include: ['{P}']\n"
                                      "services:\n  qdrant:\n    image: qdrant/qdrant:v1.19.0\n"),
    "extends.file": ("docker-compose.yml", "services:\n  qdrant:\n    image: qdrant/qdrant:v1.19.0\n"
                                           "    extends: {file: '{P}', service: base}\n"),
    "build.dockerfile": ("docker-compose.yml", "services:\n  qdrant:\n    container_name: qdrant\n"
                                               "    build: {context: ., dockerfile: '{P}'}\n"),
    "mounted config": ("docker-compose.yml", "services:\n  qdrant:\n    image: qdrant/qdrant:v1.19.0\n"
                                             "    volumes: ['{P}:/qdrant/config/production.yaml']\n"),
    "kustomize": ("kustomization.yaml", "resources: ['{P}']\nconfigMapGenerator:\n  - name: qdrant\n"
                                        "    files: ['{P}']\n    envs: ['{P}']\n"),
}


@pytest.mark.parametrize("ref", list(REFERENCES))
def test_hostile_files_referenced_from_a_linted_file(
    ref: str, corpus: Corpus, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A linted repository points at /dev/zero, a FIFO, a huge file...: a finding or a note
    for each, never a hang, a MemoryError or an internal error."""
    name, template = REFERENCES[ref]
    failures = []
    for i, value in enumerate([*corpus.files.values(), corpus.fifo]):
        here = tmp_path / f"repo{i}"
        here.mkdir()
        (here / name).write_text(template.replace("{P}", value))
        try:
            with guard():
                code = main(["lint", str(here), "-v", "--allow-empty", "--format", "json"])
        except _Overrun:
            code = -1
        _, err = capsys.readouterr()
        why = "did not return" if code == -1 else check(["lint"], code, err)
        if why is None and code not in (0, 1):
            why = f"exit {code}: {err.strip()[:200]}"
        if why:
            failures.append(f"{value[-40:]}: {why}")
    assert not failures, "\n".join(failures)
    assert Path(corpus.fifo).is_fifo()


#: texts that made a regular expression or a recursive scanner rescan or recurse per
#: repetition: (file name, content, command); each is about 1 MiB, which took minutes (or
#: hit the recursion limit) before, a fraction of a second now
PATHOLOGICAL: dict[str, tuple[str, bytes, list[str]]] = {
    "PEM BEGIN without END": ("c.pem", b"-----BEGIN CERTIFICATE-----\n" * 37_000, ["certs", "inspect"]),
    "PEM labels without END": ("c.pem", b"".join(b"-----BEGIN A%d-----\n" % i for i in range(40_000)),
                               ["certs", "check-expiry"]),
    "unclosed ${ in a config value": ("config.yaml", b'service:\n  api_key: "' + b"${A-" * 250_000 + b'"\n',
                                      ["lint"]),
    "unclosed ignore[ on a line": ("config.yaml", b"service:\n  host: 127.0.0.1 "
                                   + b"#qdrantsec:ignore[" * 55_000 + b"\n", ["lint"]),
    "a long run of digits": ("config.yaml", b"service:\n  http_port: " + b"0" * 1_000_000 + b"x\n", ["lint"]),
    "nested compose defaults": ("docker-compose.yml", b"services:\n  q:\n    image: qdrant/qdrant:v1.19.0\n"
                                b"    environment:\n      A: '" + b"${A:-" * 200_000 + b"'\n", ["lint"]),
}


@pytest.mark.parametrize("case", list(PATHOLOGICAL))
def test_pathological_texts_take_linear_work(
    case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    name, data, command = PATHOLOGICAL[case]
    (tmp_path / name).write_bytes(data)
    try:
        with guard():
            code = main([*command, str(tmp_path / name)])
    except _Overrun:
        code = -1
    _, err = capsys.readouterr()
    assert code != -1, "did not finish"
    assert check(command, code, err) is None, err


def test_project_file_globs_take_linear_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The project file comes with the repository: globs that made the regular expression
    they were compiled to backtrack exponentially on a path that does not match."""
    (tmp_path / ".git").mkdir()
    (tmp_path / ".qdrantsec.yaml").write_text(
        "ignore_paths:\n  - 'a/" + "**/x/" * 14 + "zz'\n  - '" + "*a" * 14 + "b'\n")
    deep = tmp_path.joinpath("a", *["x"] * 30)
    deep.mkdir(parents=True)
    (deep / "config.yaml").write_text("service:\n  host: 0.0.0.0\n")
    (tmp_path / ("a" * 200 + ".yaml")).write_text("service:\n  host: 0.0.0.0\n")
    monkeypatch.chdir(tmp_path)
    try:
        with guard():
            code = main(["lint", ".", "--format", "json"])
    except _Overrun:
        code = -1
    out, err = capsys.readouterr()
    assert code == 1, err
    assert out.count('"QS101"') == 2  # both files linted: neither pattern matches them


def test_port_ranges_are_not_expanded_without_bound(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """2,000 entries of `1-65535:1-65535` (52 KB) were 131 million ports: 6 GB, a MemoryError."""
    (tmp_path / "docker-compose.yml").write_text(
        "services:\n  q:\n    image: qdrant/qdrant:v1.19.0\n    ports:\n"
        + '      - "1-65535:1-65535"\n' * 2000)
    try:
        with guard(memory=1 << 30):
            code = main(["lint", str(tmp_path / "docker-compose.yml"), "--format", "json"])
    except _Overrun:
        code = -1
    out, err = capsys.readouterr()
    assert code == 1 and "internal error" not in err, err
    assert out.count('"QS102"') == 2000  # each entry publishes 6333 and 6334
