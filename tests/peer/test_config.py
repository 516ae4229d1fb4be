"""Configuration layering and validation (facts 1.1-1.3): unit tests and real processes."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.peer.conftest import API_KEY
from tests.peer.peerlib import PeerFactory, PeerStartError
from tests.qdrant_peer.settings import ConfigError, env_overrides, load_settings


def write(path: Path, data: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data))
    return path


# ----------------------------------------------------------------------- unit: layering


def test_defaults_are_config_yaml_values(tmp_path: Path) -> None:
    s, warnings = load_settings(None, {}, tmp_path)
    assert s["service"]["host"] == "0.0.0.0"
    assert s["service"]["http_port"] == 6333
    assert s["service"]["grpc_port"] == 6334
    assert s["service"]["enable_tls"] is False
    assert s["service"]["api_key"] is None
    assert s["service"]["enable_snapshot_url_recovery"] is True
    assert s["tls"] == {"cert": "./tls/cert.pem", "key": "./tls/key.pem",
                        "ca_cert": "./tls/cacert.pem", "cert_ttl": 3600}
    assert s["cluster"]["p2p"]["port"] == 6335
    assert "audit" not in s
    assert s["storage"]["storage_path"] == "./storage"
    assert "Config file not found: config/config" in warnings
    assert "Config file not found: config/development" in warnings


def test_layer_order(tmp_path: Path) -> None:
    write(tmp_path / "config/config.yaml", {"service": {"http_port": 1, "api_key": "base"},
                                            "log_level": "WARN"})
    write(tmp_path / "config/development.yml", {"service": {"http_port": 2}})
    write(tmp_path / "config/production.yaml", {"service": {"http_port": 99}})
    write(tmp_path / "config/local.yaml", {"service": {"grpc_port": 3}})
    cli = write(tmp_path / "my.yaml", {"service": {"grpc_port": 4, "enable_tls": True}})
    s, _ = load_settings(str(cli), {"QDRANT__SERVICE__ENABLE_TLS": "false"}, tmp_path)
    assert s["service"]["http_port"] == 2  # development beats config
    assert s["service"]["grpc_port"] == 4  # --config-path beats local
    assert s["service"]["api_key"] == "base"  # deep merge keeps untouched keys
    assert s["service"]["enable_tls"] is False  # env beats everything
    assert s["log_level"] == "WARN"
    s, _ = load_settings(None, {"RUN_MODE": "production"}, tmp_path)
    assert s["service"]["http_port"] == 99


def test_config_path_without_extension_and_missing(tmp_path: Path,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    write(tmp_path / "conf/custom.yaml", {"service": {"http_port": 7}})
    s, _ = load_settings("conf/custom", {}, tmp_path)
    assert s["service"]["http_port"] == 7
    with caplog.at_level(logging.ERROR):
        s, _ = load_settings("nope.yaml", {}, tmp_path)
    assert s["service"]["http_port"] == 6333
    assert "Config file via --config-path is not found: nope.yaml" in caplog.text


def test_env_convention() -> None:
    env = {
        "QDRANT__SERVICE__API_KEY": "k",
        "qdrant__cluster__p2p__enable_tls": "true",
        "Qdrant__Audit__Trust_Forwarded_Headers": "1",
        "QDRANT_URI": "http://x",
        "QDRANT_BOOTSTRAP": "http://y",
        "QDRANT_ALLOW_RECOVERY_MODE": "true",
        "OTHER": "z",
    }
    assert env_overrides(env) == {
        "service": {"api_key": "k"},
        "cluster": {"p2p": {"enable_tls": "true"}},
        "audit": {"trust_forwarded_headers": "1"},
    }


@pytest.mark.parametrize(
    ("raw", "value"),
    [("true", True), ("TRUE", True), ("1", True), ("on", True), ("Yes", True),
     ("false", False), ("False", False), ("0", False), ("OFF", False), ("no", False)],
)
def test_env_booleans(tmp_path: Path, raw: str, value: bool) -> None:
    s, _ = load_settings(None, {"QDRANT__SERVICE__ENABLE_TLS": raw}, tmp_path)
    assert s["service"]["enable_tls"] is value


@pytest.mark.parametrize("raw", ["", "maybe", "2", "t"])
def test_env_bad_boolean_is_error(tmp_path: Path, raw: str) -> None:
    with pytest.raises(ConfigError):
        load_settings(None, {"QDRANT__SERVICE__JWT_RBAC": raw}, tmp_path)


def test_env_empty_string_kept_and_warned(tmp_path: Path) -> None:
    s, warnings = load_settings(None, {"QDRANT__SERVICE__API_KEY": ""}, tmp_path)
    assert s["service"]["api_key"] == ""
    assert any("treated as unset" in w and "api_key" in w for w in warnings)


def test_env_numbers_and_null_string(tmp_path: Path) -> None:
    s, _ = load_settings(None, {"QDRANT__SERVICE__HTTP_PORT": "7000",
                                "QDRANT__SERVICE__API_KEY": "null"}, tmp_path)
    assert s["service"]["http_port"] == 7000
    assert s["service"]["api_key"] == "null"
    with pytest.raises(ConfigError):
        load_settings(None, {"QDRANT__SERVICE__HTTP_PORT": "70000"}, tmp_path)
    with pytest.raises(ConfigError):
        load_settings(None, {"QDRANT__SERVICE__HTTP_PORT": "abc"}, tmp_path)


def test_unknown_keys_ignored(tmp_path: Path) -> None:
    cli = write(tmp_path / "c.yaml", {"service": {"api-key": "x", "apikey": "y"},
                                      "whatever": {"deep": 1}})
    s, _ = load_settings(str(cli), {"QDRANT__SERVICE__MISSPELLED": "1"}, tmp_path)
    assert s["service"]["api_key"] is None


@pytest.mark.parametrize(
    "data",
    [
        {"audit": {"rotation": "Daily"}},
        {"service": {"enable_tls": "sometimes"}},
        {"service": {"http_port": "x"}},
        {"service": {"http_port": None}},
        {"service": {"api_key": ["a"]}},
        {"tls": {"cert_ttl": -1}},
        {"service": "not a map"},
    ],
)
def test_type_errors(tmp_path: Path, data: dict[str, Any]) -> None:
    cli = write(tmp_path / "c.yaml", data)
    with pytest.raises(ConfigError):
        load_settings(str(cli), {}, tmp_path)


def test_validation_warnings_do_not_abort(tmp_path: Path) -> None:
    cli = write(tmp_path / "c.yaml", {"service": {"api_key": "short", "jwt_rbac": True},
                                      "tls": {"cert_ttl": 0}})
    s, warnings = load_settings(str(cli), {}, tmp_path)
    assert any("32 bytes" in w for w in warnings)
    assert any("cert_ttl" in w for w in warnings)
    assert s["tls"]["cert_ttl"] == 0


def test_optional_sections(tmp_path: Path) -> None:
    cli = write(tmp_path / "c.yaml", {"tls": None})
    s, _ = load_settings(str(cli), {}, tmp_path)
    assert s["tls"] is None
    s, _ = load_settings(None, {"QDRANT__AUDIT__ENABLED": "true"}, tmp_path)
    assert s["audit"]["enabled"] is True
    assert s["audit"]["dir"] == "./storage/audit"
    assert s["audit"]["rotation"] == "daily"
    assert s["audit"]["max_log_files"] == 7
    assert s["audit"]["log_api"] is True


# ----------------------------------------------------------------------- processes


@pytest.mark.integration
def test_env_override_in_process(peer_factory: PeerFactory) -> None:
    p = peer_factory({"service": {"api_key": "from-file"}},
                     {"QDRANT__SERVICE__API_KEY": API_KEY})
    assert p.request("GET", "/collections", api_key=API_KEY).status_code == 200
    assert p.request("GET", "/collections", api_key="from-file").status_code == 401


@pytest.mark.integration
def test_empty_env_key_disables_auth_with_warning(peer_factory: PeerFactory) -> None:
    p = peer_factory({"service": {"api_key": "from-file"}}, {"QDRANT__SERVICE__API_KEY": ""})
    assert p.request("GET", "/collections").status_code == 200
    assert "treated as unset" in p.stderr_text()


@pytest.mark.integration
@pytest.mark.parametrize(
    ("config", "env"),
    [
        ({"service": {"enable_tls": "maybe"}}, {}),
        ({}, {"QDRANT__SERVICE__JWT_RBAC": ""}),
        ({"audit": {"enabled": True, "rotation": "Weekly"}}, {}),
    ],
    ids=["bad-bool-file", "empty-bool-env", "bad-rotation"],
)
def test_type_error_refuses_to_start(peer_factory: PeerFactory, config: dict[str, Any],
                                     env: dict[str, str]) -> None:
    p = peer_factory(config, env, wait=False)
    assert p.wait_exit(10) != 0
    assert "invalid" in p.stderr_text().lower() or "unknown variant" in p.stderr_text()
    with pytest.raises(PeerStartError):
        p.wait_ready(0.1)


@pytest.mark.integration
def test_layered_files_relative_to_working_dir(peer_factory: PeerFactory) -> None:
    p = peer_factory({}, start=False)
    write(p.workdir / "config/config.yaml", {"service": {"api_key": "layer-config"}})
    write(p.workdir / "config/development.yaml", {"service": {"read_only_api_key": "layer-dev"}})
    write(p.workdir / "config/local.yml", {"service": {"alt_api_key": "layer-local"}})
    p.start()
    for key in ("layer-config", "layer-local"):
        assert p.request("PUT", "/collections/c" + key[-3:], api_key=key,
                         json_body={}).status_code == 200
    assert p.request("GET", "/collections", api_key="layer-dev").status_code == 200
    assert p.request("PUT", "/collections/x", api_key="layer-dev",
                     json_body={}).status_code == 403
    p.restart(env_changes={"RUN_MODE": "production"})
    assert p.request("GET", "/collections", api_key="layer-dev").status_code == 401


@pytest.mark.integration
def test_missing_config_path_keeps_starting(peer_factory: PeerFactory) -> None:
    p = peer_factory({}, start=False)
    p.config_file = False
    p.env["QDRANT__SERVICE__HTTP_PORT"] = str(p.http_port)
    p.env["QDRANT__SERVICE__HOST"] = "127.0.0.1"
    p.args = ["--config-path", "does-not-exist.yaml"]
    p.start()
    assert p.request("GET", "/collections").status_code == 200
    assert "Config file via --config-path is not found" in p.stderr_text()


@pytest.mark.integration
def test_storage_and_snapshots_relative_to_cwd(peer_factory: PeerFactory) -> None:
    p = peer_factory({"storage": {"storage_path": "./data/st", "snapshots_path": "./snaps"}})
    assert p.request("PUT", "/collections/c", json_body={}).status_code == 200
    assert p.request("POST", "/collections/c/snapshots").status_code == 200
    assert list((p.workdir / "data/st/collections").glob("*.json"))
    assert list((p.workdir / "snaps/c").glob("*.snapshot"))


@pytest.mark.integration
def test_uncreatable_audit_dir_panics_like_qdrant(peer_factory: PeerFactory, tmp_path: Any) -> None:
    """Qdrant panics ("Audit logger must be initialized ...", exit 101) when audit is on and
    its directory cannot be created; a config error returns 1 instead."""
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the audit directory should go\n")
    p = peer_factory({"audit": {"enabled": True, "dir": str(blocker / "audit")}}, wait=False)
    assert p.wait_exit(10) == 101
    assert "Audit logger must be initialized if audit logging is enabled" in p.stderr_text()
