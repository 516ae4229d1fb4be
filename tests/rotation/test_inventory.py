"""The rotate-key inventory: the issue's YAML shape, defaults merged into every peer, paths
from the inventory's directory, and strict errors that point at file:line:column."""

from __future__ import annotations

from pathlib import Path

import pytest

from qdrantsec.cli.app import main
from qdrantsec.errors import InputError
from qdrantsec.rotation.inventory import PeerSpec, inventory_from_flags, load_inventory

ISSUE_SHAPE = """\
defaults:            # optional; merged into every peer
  driver: file
  restart: "systemctl restart qdrant"
peers:
  - name: node-1
    url: https://10.0.0.11:6333
    driver: file                          # file | env-file | command
    path: config/production.yaml          # for file and env-file
    restart: "ssh node-1 systemctl restart qdrant"
  - name: node-2
    url: https://10.0.0.12:6333/
    driver: command
    apply: "./set-keys.sh {name}"         # keys only in its environment
    restart: "./restart.sh {name}"
  - name: node-3
    url: http://[fd00::3]:6333
    path: /ABS/node-3.env
    driver: env-file
"""


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    (tmp_path / "inv" / "config").mkdir(parents=True)
    (tmp_path / "inv" / "config" / "production.yaml").write_text("service:\n  api_key: x\n")
    (tmp_path / "node-3.env").write_text("QDRANT__SERVICE__API_KEY=x\n")
    return tmp_path


def write(tree: Path, text: str) -> str:
    path = tree / "inv" / "peers.yaml"
    path.write_text(text.replace("/ABS/", f"{tree}/"))
    return str(path)


def test_the_issue_shape_loads_with_defaults_merged_and_paths_resolved(tree: Path) -> None:
    inv = load_inventory(write(tree, ISSUE_SHAPE))
    assert inv.source == f"inventory {tree}/inv/peers.yaml"
    assert inv.peers == (
        PeerSpec("node-1", "https://10.0.0.11:6333", 0, "file",
                 path=f"{tree}/inv/config/production.yaml",
                 restart="ssh node-1 systemctl restart qdrant"),
        PeerSpec("node-2", "https://10.0.0.12:6333", 1, "command", apply="./set-keys.sh {name}",
                 restart="./restart.sh {name}"),
        PeerSpec("node-3", "http://[fd00::3]:6333", 2, "env-file", path=f"{tree}/node-3.env",
                 restart="systemctl restart qdrant"),
    )
    assert [p.host for p in inv.peers] == ["10.0.0.11", "10.0.0.12", "fd00::3"]
    assert inv.peers[2].template_values() == {"name": "node-3", "url": "http://[fd00::3]:6333",
                                              "host": "fd00::3", "index": "2"}
    assert inv.peer("node-2") is inv.peers[1] and inv.peer("node-9") is None


def test_a_path_template_in_defaults_serves_every_peer(tree: Path) -> None:
    for n in (1, 2):
        (tree / "inv" / "config" / f"node-{n}.yaml").write_text("{}\n")
    text = ("defaults:\n  driver: file\n  path: config/{name}.yaml\n  restart: ./r.sh {index}\n"
            "peers:\n  - {name: node-1, url: 'http://127.0.0.1:6401'}\n"
            "  - {name: node-2, url: 'http://127.0.0.1:6402'}\n")
    inv = load_inventory(write(tree, text))
    assert [p.path for p in inv.peers] == [f"{tree}/inv/config/node-1.yaml", f"{tree}/inv/config/node-2.yaml"]


def _peer(extra: str = "", *, name: str = "node-1", url: str = "http://127.0.0.1:6333",
          path: str = "config/production.yaml") -> str:
    return (f"  - name: {name}\n    url: {url}\n    driver: file\n    path: {path}\n"
            f"    restart: systemctl restart qdrant\n{extra}")


@pytest.mark.parametrize(("text", "where", "message"), [
    ("peers:\n" + _peer("    restrat: x\n"), "7:5",
     "unknown key 'restrat' in a peer (allowed: name, url, driver, path, restart, apply)"),
    ("defaults:\n  drivr: file\npeers:\n" + _peer(), "2:3",
     "unknown key 'drivr' in defaults (allowed: driver, path, restart, apply)"),
    ("peer:\n" + _peer(), "1:1", "unknown key 'peer' in top level (allowed: defaults, peers)"),
    ("peers:\n  - name: node-1\n    url: http://127.0.0.1:6333\n    driver: file\n"
     "    path: config/production.yaml\n", "2:5",
     "peer node-1: restart is required (how the peer is restarted)"),
    ("peers:\n  - name: node-1\n    url: http://127.0.0.1:6333\n    driver: file\n    restart: r\n",
     "2:5", "peer node-1: the file driver needs path (the file that holds the keys)"),
    ("peers:\n  - name: n\n    url: http://127.0.0.1:6333\n    driver: command\n    restart: r\n",
     "2:5", "peer n: the command driver needs apply (the command that sets the keys)"),
    ("peers:\n" + _peer("    apply: ./set.sh\n"), "7:5", "apply is not used by the file driver"),
    ("peers:\n" + _peer() + _peer(url="http://127.0.0.1:6334"), "7:11",
     "peer node-1: name node-1 is already used by peer node-1"),
    ("peers:\n" + _peer() + _peer(name="node-2", url="HTTP://127.0.0.1:6333/"), "8:10",
     "peer node-2: url http://127.0.0.1:6333 is already used by peer node-1"),
    ("peers:\n" + _peer() + _peer(name="node-2", url="http://127.0.0.1:6334",
                                  path="./config/../config/production.yaml"), "10:11",
     "peer node-2: path {tree}/inv/config/production.yaml is already used by peer node-1 "
     "(each peer needs its own config file)"),
    ("peers:\n" + _peer().replace("driver: file", "driver: ansible"), "4:13",
     "peer node-1: unknown driver 'ansible' (use file | env-file | command)"),
    ("peers:\n" + _peer(url="127.0.0.1:6333"), "3:10",
     "peer node-1: url '127.0.0.1:6333' must start with http:// or https://"),
    ("peers:\n" + _peer(url="https://10.0.0.1"), "3:10",
     "peer node-1: url 'https://10.0.0.1' has no port"),
    ("peers:\n" + _peer(url="https://10.0.0.1:6333/qdrant"), "3:10",
     "peer node-1: url 'https://10.0.0.1:6333/qdrant' must be scheme://host:port only (no path or query)"),
    ("peers:\n" + _peer(url="https://10.0.0.1:99999"), "3:10",
     "peer node-1: url 'https://10.0.0.1:99999' is not a valid URL: Port out of range 0-65535"),
    ("peers:\n" + _peer(url="https://admin:pw@10.0.0.1:6333"), "3:10",
     "peer node-1: url must not contain credentials; the key comes from the secret options"),
    ("peers:\n" + _peer().replace("systemctl restart qdrant", "ssh {hots} restart"), "6:14",
     "peer node-1: restart: unknown placeholder {hots}"),
    ("peers:\n" + _peer(path="config/missing.yaml"), "5:11",
     "peer node-1: path {tree}/inv/config/missing.yaml does not exist"),
    ("peers:\n" + _peer(path="config"), "5:11", "peer node-1: path {tree}/inv/config is not a regular file"),
    ("peers:\n" + _peer(name="'node 1'"), "2:11",
     "name 'node 1' may use only letters, digits, '.', '_' and '-' (it goes into commands and file names)"),
    ("peers:\n" + _peer(name="7"), "2:11", "name must be a non-empty string"),
    ("peers:\n  - url: http://127.0.0.1:6333\n", "2:5", "name is required for every peer"),
    ("peers: []\n", "1:8", "peers must be a non-empty list"),
    ("peers:\n  - node-1\n", "2:5", "each peer must be a mapping (name, url, driver, ...)"),
    ("defaults: {}\n", "1:1", "peers is required (a list of the cluster's peers)"),
    ("- node-1\n", "1:1", "expected a mapping with the keys defaults and peers"),
    ("peers:\n" + _peer() + "peers: []\n", "7:1", "duplicate key 'peers' (first at line 1)"),
    ("peers:\n" + _peer() + "  - [\n", "8:1", "invalid YAML: did not find expected node content"),
])
def test_inventory_errors_name_file_line_and_column(tree: Path, text: str, where: str, message: str) -> None:
    path = write(tree, text)
    with pytest.raises(InputError) as err:
        load_inventory(path)
    assert err.value.message == f"{path}:{where}: " + message.replace("{tree}", str(tree))


@pytest.mark.parametrize(("text", "message"), [
    ("", "the inventory is empty"),
    ("# only a comment\n", "the inventory is empty"),
    ("peers: []\n---\npeers: []\n", "expected one YAML document, found 2"),
])
def test_whole_file_errors(tree: Path, text: str, message: str) -> None:
    path = write(tree, text)
    with pytest.raises(InputError) as err:
        load_inventory(path)
    assert err.value.message == f"{path}: {message}"


def test_an_oversized_inventory_is_refused_without_reading_it_all(tree: Path) -> None:
    path = write(tree, "peers:\n" + "#" * 1_100_000 + "\n")
    with pytest.raises(InputError) as err:
        load_inventory(path)
    assert err.value.message == f"inventory {path} is larger than 1000000 bytes"


def test_through_the_cli_an_inventory_error_is_one_line_and_exit_2(
        tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tree, "peers:\n" + _peer("    restrat: x\n"))
    key = tree / "old.key"
    key.write_text("k" * 40 + "\n")
    code = main(["rotate-key", "--inventory", path, "--api-key-file", str(key),
                 "--new-key-file", str(key), "--dry-run"])
    _, err = capsys.readouterr()
    assert code == 2
    assert err.splitlines()[0] == (f"qdrantsec: error: {path}:7:5: unknown key 'restrat' in a peer "
                                   "(allowed: name, url, driver, path, restart, apply)")
    assert err.splitlines()[1].startswith("qdrantsec: hint: ")
    assert "Traceback" not in err


# -- --peers and the driver flags ------------------------------------------------------------
def test_flags_name_peers_by_index_and_expand_a_path_template(
        tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tree)
    for i in (0, 1):
        (tree / f"peer-{i}.yaml").write_text("{}\n")
    inv = inventory_from_flags(["http://127.0.0.1:6401,http://127.0.0.1:6402"], driver="file",
                               paths=["peer-{index}.yaml"], apply=None, restart="./restart {name}")
    assert inv.source == "--peers"
    assert [(p.name, p.index, p.path, p.restart) for p in inv.peers] == [
        ("peer-0", 0, f"{tree}/peer-0.yaml", "./restart {name}"),
        ("peer-1", 1, f"{tree}/peer-1.yaml", "./restart {name}"),
    ]


def test_flags_take_one_path_per_peer(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tree)
    (tree / "a.env").write_text("")
    (tree / "b.env").write_text("")
    inv = inventory_from_flags(["http://127.0.0.1:6401", "http://127.0.0.1:6402"], driver="env-file",
                               paths=["a.env", "b.env"], apply=None, restart="true")
    assert [p.path for p in inv.peers] == [f"{tree}/a.env", f"{tree}/b.env"]


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"paths": ["a.env"]}, "peer peer-1: --config-path {tree}/a.env is already used by peer peer-0 "
                           "(each peer needs its own config file)"),
    ({"paths": ["a.env", "b.env", "c.env"]}, "--config-path: 3 paths for 2 peers"),
    ({"restart": None}, "peer peer-0: --restart-cmd is required (how the peer is restarted)"),
    ({"paths": None}, "peer peer-0: the env-file driver needs --config-path (the file that holds the keys)"),
    ({"apply": "./set {name}"}, "--apply-cmd is not used by the env-file driver"),
    ({"driver": "ssh"}, "peer peer-0: unknown driver 'ssh' (use file | env-file | command)"),
    ({"urls": ["http://127.0.0.1:6401,http://127.0.0.1:6401/"]},
     "peer peer-1: --peers http://127.0.0.1:6401 is already used by peer peer-0"),
    ({"urls": ["ftp://127.0.0.1:6401"], "paths": ["a.env"]},
     "peer peer-0: --peers 'ftp://127.0.0.1:6401' must start with http:// or https://"),
    ({"urls": [" , "], "paths": None}, "--peers needs at least one URL"),
])
def test_flag_errors(tree: Path, monkeypatch: pytest.MonkeyPatch, kwargs: dict[str, object],
                     message: str) -> None:
    monkeypatch.chdir(tree)
    (tree / "a.env").write_text("")
    (tree / "b.env").write_text("")
    args: dict[str, object] = {"urls": ["http://127.0.0.1:6401", "http://127.0.0.1:6402"],
                               "driver": "env-file", "paths": ["a.env", "b.env"], "apply": None,
                               "restart": "true"}
    args.update(kwargs)
    with pytest.raises(InputError) as err:
        inventory_from_flags(**args)  # type: ignore[arg-type]
    assert err.value.message == message.replace("{tree}", str(tree))


def test_command_driver_from_flags_needs_no_path() -> None:
    inv = inventory_from_flags(["https://10.0.0.1:6333"], driver="command", paths=None,
                               apply="kubectl apply -f - # {name}", restart="kubectl delete pod {name}")
    (peer,) = inv.peers
    assert (peer.driver, peer.path, peer.apply) == ("command", None, "kubectl apply -f - # {name}")
