"""The README's rotate-key recipes, as printed: each inventory loads and renders the commands
it promises, and the Kubernetes set-keys.sh writes the Secret without a key on any command
line (a stand-in kubectl on PATH records its argv and the manifest it reads)."""

from __future__ import annotations

import base64
import os
import re
import subprocess
from pathlib import Path

import pytest

from qdrantsec.rotation.drivers import make_driver
from qdrantsec.rotation.inventory import load_inventory
from qdrantsec.rotation.runner import SubprocessRunner, needs_shell, render_template

README = Path(__file__).resolve().parents[2] / "README.md"
OLD = "old-recipe-key-" + "q7" * 12
NEW = "new/recipe+key=" + "w8" * 12


def _section() -> str:
    text = README.read_text()
    start = text.index("### Drivers and recipes")
    return text[start:text.index("\n## ", start)]


def block(first_line: str) -> str:
    """The README code block whose first line is ``first_line``."""
    for body in re.findall(r"```[a-z]*\n(.*?)```", _section(), re.S):
        if body.startswith(first_line):
            return body  # type: ignore[no-any-return]
    raise AssertionError(f"no README block starts with {first_line!r}")


def test_systemd_recipe(tmp_path: Path) -> None:
    (tmp_path / "rotate.yaml").write_text(block("# inventory: systemd hosts, file driver"))
    for n in (1, 2, 3):
        (tmp_path / "hosts" / f"node-{n}").mkdir(parents=True)
        (tmp_path / "hosts" / f"node-{n}" / "config.yaml").write_text(f"service:\n  api_key: {OLD}\n")
    inv = load_inventory(str(tmp_path / "rotate.yaml"))
    assert [(p.name, p.host, p.driver, p.path) for p in inv.peers] == [
        (f"node-{n}", f"10.0.0.1{n}", "file", f"{tmp_path}/hosts/node-{n}/config.yaml") for n in (1, 2, 3)]
    restart = render_template(inv.peers[1].restart or "", inv.peers[1].template_values())
    assert restart == ("scp -q hosts/node-2/config.yaml 10.0.0.12:/etc/qdrant/config.yaml && "
                       "ssh 10.0.0.12 sudo systemctl restart qdrant")
    assert needs_shell(restart)
    driver = make_driver(inv.peers[0])
    driver.set_keys(OLD, NEW)
    assert driver.read_keys().alt_api_key == NEW  # type: ignore[union-attr]


def test_compose_recipe(tmp_path: Path) -> None:
    text = block("# inventory: docker compose, env-file driver").replace("/srv/qdrant/", f"{tmp_path}/")
    (tmp_path / "rotate.yaml").write_text(text)
    for n in (1, 2, 3):
        (tmp_path / f"node-{n}.env").write_text(f"QDRANT__SERVICE__API_KEY={OLD}\n")
    inv = load_inventory(str(tmp_path / "rotate.yaml"))
    assert [p.url for p in inv.peers] == ["http://127.0.0.1:6333", "http://127.0.0.1:6343",
                                          "http://127.0.0.1:6353"]
    restart = render_template(inv.peers[2].restart or "", inv.peers[2].template_values())
    assert restart == f"docker compose -f {tmp_path}/compose.yaml up -d --force-recreate --no-deps node-3"
    assert not needs_shell(restart)
    driver = make_driver(inv.peers[2])
    driver.set_keys(NEW, OLD)
    assert (tmp_path / "node-3.env").read_text() == (f"QDRANT__SERVICE__API_KEY={NEW}\n"
                                                     f"QDRANT__SERVICE__ALT_API_KEY={OLD}\n")


@pytest.fixture
def kubectl(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A kubectl that appends its argv, its /proc cmdline and its stdin to calls.log."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "kubectl"
    fake.write_text("#!/bin/sh\n{ echo \"ARGV $*\"; tr '\\0' ' ' < /proc/$$/cmdline; echo; cat; } "
                    f">> {tmp_path}/calls.log\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return tmp_path / "calls.log"


def test_kubernetes_recipe_writes_the_secret_through_pipes_only(tmp_path: Path, kubectl: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    script = tmp_path / "set-keys.sh"
    script.write_text(block("#!/bin/sh\n# set-keys.sh"))
    script.chmod(0o755)
    (tmp_path / "rotate.yaml").write_text(block("# inventory: Kubernetes StatefulSet, command driver"))
    inv = load_inventory(str(tmp_path / "rotate.yaml"))
    assert [p.name for p in inv.peers] == ["qdrant-0", "qdrant-1", "qdrant-2"]
    restart = render_template(inv.peers[0].restart or "", inv.peers[0].template_values())
    assert restart.startswith("kubectl -n qdrant delete pod qdrant-0 --wait=true && until ")
    driver = make_driver(inv.peers[0], runner=SubprocessRunner(), timeout=30)
    driver.set_keys(OLD, NEW)  # stage: both keys
    driver.set_keys(NEW, None)  # promote: alt-api-key gone from the Secret
    log = kubectl.read_text()
    assert OLD not in log and NEW not in log  # neither argv nor cmdline (nor stdin: base64)
    manifests = log.split("ARGV replace -f -\n")[1:]
    assert len(manifests) == 2

    def data(manifest: str) -> dict[str, str]:
        section = manifest.split("\ndata:\n")[1]
        return {m[0]: base64.b64decode(m[1]).decode()
                for m in re.findall(r"^  ([a-z-]+): ([A-Za-z0-9+/=]+)$", section, re.M)}

    assert data(manifests[0]) == {"api-key": OLD, "alt-api-key": NEW}
    assert data(manifests[1]) == {"api-key": NEW}
    assert "name: qdrant-keys\n  namespace: qdrant\n" in manifests[0]


def test_the_set_keys_script_needs_no_bash(tmp_path: Path) -> None:
    """It is POSIX sh: dash (Debian's /bin/sh) parses it."""
    script = tmp_path / "set-keys.sh"
    script.write_text(block("#!/bin/sh\n# set-keys.sh"))
    subprocess.run(["sh", "-n", str(script)], check=True)
