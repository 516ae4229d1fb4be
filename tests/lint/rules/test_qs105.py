from pathlib import Path

import pytest

from qdrantsec.lint.model import Severity
from qdrantsec.lint.rules.qs105_host_not_ip_literal import HostNotIpLiteral

from .helpers import at, config_target, one, run

RULE = HostNotIpLiteral()


def test_hostname_with_default_grpc() -> None:
    f = one(RULE, config_target("service:\n  host: localhost\n"))
    assert f.severity is Severity.MEDIUM
    assert at(f) == (2, 9)
    assert "gRPC" in f.message


def test_hostname_with_grpc_off_and_no_cluster_passes() -> None:
    assert run(RULE, config_target("service:\n  host: localhost\n  grpc_port: null\n")) == []


def test_hostname_with_cluster() -> None:
    cfg = "service:\n  host: qdrant.local\n  grpc_port: null\ncluster:\n  enabled: true\n"
    f = one(RULE, config_target(cfg))
    assert "p2p" in f.message


def test_ip_literals_pass() -> None:
    for host in ("127.0.0.1", "::1", "10.0.0.5", "0.0.0.0"):
        assert run(RULE, config_target(f'service:\n  host: "{host}"\n')) == []


# -- a key pasted in as the host is shown by its fingerprint, in every format --------------

KEY = "AbCdEfGh1234567890XyZabcQrStUv"
HEX = "0123456789abcdef0123456789abcdef"


def test_key_like_host_is_named_by_fingerprint() -> None:
    from qdrantsec.secrets import fingerprint

    for key in (KEY, HEX):
        f = one(RULE, config_target(f"service:\n  host: {key}\n"))
        assert f.message.startswith(f"`service.host` is the host name a key-like value ({fingerprint(key)});")


def test_dns_names_are_still_shown() -> None:
    name = "qdrant-0.qdrant-headless.default.svc.cluster.local"
    f = one(RULE, config_target(f"service:\n  host: {name}\n"))
    assert f"host name '{name}';" in f.message


@pytest.mark.parametrize("fmt", ["text", "json", "sarif", "github", "junit"])
def test_no_key_in_any_format(fmt: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from qdrantsec.cli.app import main
    from qdrantsec.secrets import fingerprint

    (tmp_path / "config.yaml").write_text("service:\n  api_key: x\n")
    (tmp_path / "qdrant.env").write_text(f"QDRANT__SERVICE__HOST={KEY}\n")
    code = main(["lint", str(tmp_path / "config.yaml"), "--env-file", str(tmp_path / "qdrant.env"),
                 "--kind", "qdrant-config", "--format", fmt, "--exit-zero"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "QS105" in out and fingerprint(KEY) in out and KEY not in out + err
