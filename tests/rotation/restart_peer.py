"""Restart one test peer the way an init system would: stop it by its pid file, start it
again with the same arguments, wait until its listeners are up.

    python tests/rotation/restart_peer.py PEER_DIR

``PEER_DIR/launch.json`` holds ``{"argv": [...], "cwd": ..., "env": {...}}``; the pid goes to
``PEER_DIR/pid``. Fault switches (files in PEER_DIR, for the tests): ``fail-restart`` makes
the restart fail (exit 3) without touching the peer; ``no-start`` stops the peer and does
not start it again (a peer that never comes back); ``start-delay`` (seconds) waits before
starting, like a server loading its data; ``p2p-port`` (a port number) starts the peer with
its p2p listener on that port while its URI, which the others send to, still names the old one
(a firewall or a wrong port mapping: it can reach the others, they cannot reach it, so it
never receives what was committed while it was down). ``launch.json`` may name an ``env_file``
(``NAME=value`` lines) whose variables are added, as systemd's ``EnvironmentFile=`` does.
Used only by tests/rotation; it passes no key on argv (the peer reads its own config).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

READY = b"qdrant_peer ready"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie (our grandchild, not reaped yet) counts as gone
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(") ", 1)[1][:1] != "Z"
    except OSError:
        return False


def stop(peer_dir: Path, timeout: float = 10.0) -> None:
    pid_file = peer_dir / "pid"
    if not pid_file.exists():
        return
    pid = int(pid_file.read_text().strip() or 0)
    if pid and _alive(pid):
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.02)
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)
            while _alive(pid):
                time.sleep(0.02)
    pid_file.unlink()


def start(peer_dir: Path, timeout: float = 15.0) -> int:
    launch = json.loads((peer_dir / "launch.json").read_text())
    out_path = peer_dir / "stdout.log"
    offset = out_path.stat().st_size if out_path.exists() else 0
    env = dict(launch["env"])
    if launch.get("env_file"):  # as systemd's EnvironmentFile= / compose's .env would
        for line in Path(launch["env_file"]).read_text().splitlines():
            line = line.strip()
            if line and not line.startswith("#") and "=" in line:
                name, value = line.split("=", 1)
                env[name.strip()] = value.strip().strip('"').strip("'")
    moved = peer_dir / "p2p-port"
    if moved.exists():  # QDRANT__ overrides the config file, as in Qdrant
        env["QDRANT__CLUSTER__P2P__PORT"] = moved.read_text().strip()
    with open(out_path, "ab") as out, open(peer_dir / "stderr.log", "ab") as err:
        proc = subprocess.Popen(launch["argv"], cwd=launch["cwd"], env=env, stdout=out,
                                stderr=err, stdin=subprocess.DEVNULL, start_new_session=True)
    tmp = peer_dir / "pid.tmp"
    tmp.write_text(str(proc.pid))
    os.replace(tmp, peer_dir / "pid")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with open(out_path, "rb") as fh:
            fh.seek(offset)
            if READY in fh.read():
                return 0
        if proc.poll() is not None:
            print(f"peer exited with {proc.returncode} before it was ready", file=sys.stderr)
            return 1
        time.sleep(0.02)
    print("peer not listening in time", file=sys.stderr)
    return 1


def main(argv: list[str]) -> int:
    peer_dir = Path(argv[1])
    with open(peer_dir / "argv.log", "a") as fh:  # the tests check that no key is in argv
        fh.write(json.dumps(argv) + "\n")
    if (peer_dir / "fail-restart").exists():
        print("simulated restart failure: the service manager refused", file=sys.stderr)
        return 3
    stop(peer_dir)
    if (peer_dir / "no-start").exists():
        return 0
    delay = peer_dir / "start-delay"  # seconds: a peer that starts as slowly as a real one
    if delay.exists():
        time.sleep(float(delay.read_text()))
    return start(peer_dir)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
