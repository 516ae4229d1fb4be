"""`certs generate` killed with SIGKILL at every file operation leaves the set whole: the
whole old set or the whole new one (or, for a new directory, nothing), never a certificate
without its key or beside another key; the next run removes the leftovers and does not
refuse because of them.

The real process is killed: ``QDRANTSEC_TEST_KILL_AFTER=N`` makes it SIGKILL itself at its
Nth file operation (the test-only hook ``qdrantsec.fsutil.crash_point``). N counts up until
a run gets through, so every step of each way of writing (new directory, directory swap,
in place with a manifest) is hit.
"""

from __future__ import annotations

import contextlib
import io
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat, load_pem_private_key

from qdrantsec.cli.app import main

MAX_STEPS = 60


def generate(out: Path, *args: str, kill_after: int | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "QDRANTSEC_TEST_KILL_AFTER"}
    if kill_after is not None:
        env["QDRANTSEC_TEST_KILL_AFTER"] = str(kill_after)
    return subprocess.run([sys.executable, "-m", "qdrantsec", "certs", "generate", "--out", str(out), *args],
                          env=env, capture_output=True, text=True, timeout=60, check=False)


def rerun(out: Path, *args: str) -> tuple[int, str]:
    """The next run, in this process (the killed one was a real process; this one only has
    to find what it left)."""
    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        code = main(["certs", "generate", "--out", str(out), *args])
    return code, err.getvalue()


def _spki(key_or_cert: object) -> bytes:
    return key_or_cert.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)  # type: ignore[attr-defined]


def whole_set(out: Path) -> dict[str, bytes]:
    """The set's current files (no backups); asserts it is whole: every certificate has its
    key, every leaf is issued by ca.pem, and nothing of a run is left inside."""
    names = sorted(p.name for p in out.iterdir())
    assert not [n for n in names if n.startswith(".")], names
    current = {n: (out / n).read_bytes() for n in names if n.endswith(".pem")}
    ca = x509.load_pem_x509_certificate(current["ca.pem"])
    assert _spki(load_pem_private_key(current["ca-key.pem"], None)) == _spki(ca)
    for name in current:
        if name.endswith("-key.pem") or name.startswith("ca"):
            continue
        cert = x509.load_pem_x509_certificate(current[name])
        key = current.get(name[:-len(".pem")] + "-key.pem")
        assert key is not None, f"{name} without its key: {names}"
        assert _spki(load_pem_private_key(key, None)) == _spki(cert), f"{name} beside another key"
        cert.verify_directly_issued_by(ca)
    for name in current:
        if name.endswith("-key.pem") and name != "ca-key.pem":
            assert name.replace("-key.pem", ".pem") in current, f"{name} without its certificate"
    return current


def leftovers(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.name.startswith("."))


def kill_at_every_step(out: Path, args: list[str], setup: object, check: object) -> int:
    """Run ``setup()``, then the command killed at step 1, 2, ... until one run completes;
    ``check(killed)`` judges the directory after each. Returns how many steps there were."""
    for step in range(1, MAX_STEPS):
        setup()  # type: ignore[operator]
        r = generate(out, *args, kill_after=step)
        if r.returncode == 0:
            check(False)  # type: ignore[operator]
            return step - 1
        assert r.returncode == -signal.SIGKILL, (step, r.returncode, r.stderr)
        check(True)  # type: ignore[operator]
    raise AssertionError("the run never completed")


def test_new_directory_is_whole_or_absent(tmp_path: Path) -> None:
    out = tmp_path / "tls"
    names = {"ca.pem", "ca-key.pem", "server.pem", "server-key.pem", "peer-qdrant-0.pem",
             "peer-qdrant-0-key.pem"}

    def setup() -> None:
        for p in tmp_path.iterdir():
            subprocess.run(["rm", "-rf", str(p)], check=True)

    def check(killed: bool) -> None:
        if out.exists():
            assert set(whole_set(out)) == names
        left = leftovers(tmp_path)
        # the next plain run removes the staging directory, says so, and is not refused for it
        code, err = rerun(out, "--peers", "1")
        assert leftovers(tmp_path) == []
        for name in left:
            assert f"qdrantsec: warning: removed {tmp_path}/{name}, left by a run that was killed\n" in err
        if code == 0:
            assert set(whole_set(out)) == names
        else:  # the killed run had completed the set: a plain re-run refuses as always
            assert "already exists" in err and code == 2

    steps = kill_at_every_step(out, ["--peers", "1"], setup, check)
    assert steps >= 7  # a staging directory, six files, the rename


def test_force_new_ca_swaps_the_whole_directory(tmp_path: Path) -> None:
    from qdrantsec.certs import fileset

    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    if not fileset._exchange(tmp_path / "a", tmp_path / "b"):
        pytest.skip("this filesystem cannot swap directories (RENAME_EXCHANGE): the in-place way is used")
    (tmp_path / "a").rmdir()
    (tmp_path / "b").rmdir()
    out = tmp_path / "tls"
    assert generate(out).returncode == 0
    original = whole_set(out)
    seen_new = []

    def setup() -> None:
        subprocess.run(["rm", "-rf", str(out)], check=True)
        out.mkdir(mode=0o750)
        for name, data in original.items():
            (out / name).write_bytes(data)
        (out / "notes.txt").write_text("kept\n")
        for p in tmp_path.iterdir():
            if p != out:
                subprocess.run(["rm", "-rf", str(p)], check=True)

    def check(killed: bool) -> None:
        current = whole_set_with_backups(out)
        if current == original:
            assert not [n for n in os.listdir(out) if ".bak" in n]
        else:
            seen_new.append(True)
            assert current["ca.pem"] != original["ca.pem"]
            assert all(current[n] != original[n] for n in original)
            assert {n: (out / f"{n}.bak").read_bytes() for n in original} == original  # backups kept
        assert (out / "notes.txt").read_text() == "kept\n" and (out.stat().st_mode & 0o777) == 0o750
        code, err = rerun(out, "--force", "--new-ca")
        assert code == 0, err
        assert leftovers(tmp_path) == []
        whole_set_with_backups(out)

    steps = kill_at_every_step(out, ["--force", "--new-ca"], setup, check)
    assert steps >= 10 and seen_new  # some kills came after the swap


def whole_set_with_backups(out: Path) -> dict[str, bytes]:
    """whole_set over the current files, with the .bak files and others set aside."""
    names = [n for n in os.listdir(out) if ".bak" not in n and n != "notes.txt" and n != "sub"]
    scratch = {n: (out / n).read_bytes() for n in names}
    assert not [n for n in names if n.startswith(".")], names
    view = out.parent / "view"
    view.mkdir()
    try:
        for n, data in scratch.items():
            (view / n).write_bytes(data)
        return whole_set(view)
    finally:
        subprocess.run(["rm", "-rf", str(view)], check=True)


def test_in_place_fallback_is_finished_by_the_next_run(tmp_path: Path) -> None:
    # a subdirectory cannot be hard-linked into a swapped directory: the files are then
    # staged inside DIR and renamed one by one after an fsynced manifest
    out = tmp_path / "tls"
    assert generate(out).returncode == 0
    original = whole_set(out)
    rolled_forward = []

    def setup() -> None:
        subprocess.run(["rm", "-rf", str(out)], check=True)
        (out / "sub").mkdir(parents=True)
        (out / "sub" / "keep").write_text("x")
        for name, data in original.items():
            (out / name).write_bytes(data)

    def check(killed: bool) -> None:
        before = {n for n in os.listdir(out) if n.startswith(".qdrantsec-")}
        # any later run first removes or finishes what the killed one left, then proceeds
        code, err = rerun(out)
        assert code in (0, 2), err
        if before and "finished writing the set" not in err:
            assert f"qdrantsec: warning: removed {out}/{before.pop()}, left by a run that was killed" in err
        assert not [n for n in os.listdir(out) if n.startswith(".")]
        current = whole_set_with_backups(out)
        if current != original:
            assert all(current[n] != original[n] for n in original)
            assert {n: (out / f"{n}.bak").read_bytes() for n in original} == original
            if "finished writing the set a killed run had started in" in err:
                rolled_forward.append(True)
        assert (out / "sub" / "keep").read_text() == "x"

    steps = kill_at_every_step(out, ["--force", "--new-ca"], setup, check)
    assert steps >= 10 and rolled_forward  # some kills fell between the manifest and the last rename
