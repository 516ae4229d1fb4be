"""Qdrant's config layering and QDRANT__ environment overrides (facts 1.1-1.3)."""

from __future__ import annotations

import pytest

from qdrantsec.errors import InputError
from qdrantsec.qdrant.config import build_effective, coerce_env_value, env_var_to_path
from qdrantsec.yamlloc import load_located


def doc(text: str, name: str = "c.yaml"):  # type: ignore[no-untyped-def]
    return (name, load_located(text, name=name)[0].root)


def test_defaults_are_qdrants() -> None:
    cfg = build_effective()
    assert cfg.get("service.host") == "0.0.0.0"
    assert cfg.get("service.http_port") == 6333
    assert cfg.get("service.enable_cors") is True
    assert cfg.get("tls.cert_ttl") == 3600
    assert cfg.get("cluster.p2p.port") == 6335
    assert cfg.get("service.api_key") is None
    assert cfg.setting("service.host").source.describe() == "Qdrant default"  # type: ignore[union-attr]
    assert not cfg.has_section("audit")


@pytest.mark.parametrize(
    ("name", "path"),
    [
        ("QDRANT__SERVICE__API_KEY", "service.api_key"),
        ("qdrant__service__api_key", "service.api_key"),
        ("QDRANT__CLUSTER__P2P__ENABLE_TLS", "cluster.p2p.enable_tls"),
        ("QDRANT__AUDIT__TRUST_FORWARDED_HEADERS", "audit.trust_forwarded_headers"),
        ("QDRANT_URI", None),
        ("QDRANT_API_KEY", None),
        ("QDRANT__", None),
    ],
)
def test_env_names(name: str, path: str | None) -> None:
    assert env_var_to_path(name) == path


@pytest.mark.parametrize("raw", ["true", "TRUE", "1", "on", "Yes"])
def test_env_booleans_true(raw: str) -> None:
    assert coerce_env_value("service.enable_tls", raw) == (True, None)


@pytest.mark.parametrize("raw", ["false", "0", "OFF", "no"])
def test_env_booleans_false(raw: str) -> None:
    assert coerce_env_value("service.enable_tls", raw) == (False, None)


@pytest.mark.parametrize("raw", ["", "enabled", "2"])
def test_env_bad_booleans_are_startup_errors(raw: str) -> None:
    _value, error = coerce_env_value("service.enable_tls", raw)
    assert error is not None and "refuses to start" in error


def test_empty_env_value_is_kept_as_empty_string() -> None:
    cfg = build_effective([doc("service:\n  api_key: fromfile\n")],
                          {"QDRANT__SERVICE__API_KEY": ""}, env_file=".env",
                          env_positions={"QDRANT__SERVICE__API_KEY": (3, 1)})
    s = cfg.setting("service.api_key")
    assert s is not None and s.value == ""
    assert s.source.env_var == "QDRANT__SERVICE__API_KEY"
    assert s.source.describe() == "QDRANT__SERVICE__API_KEY (.env:3:1)"


def test_layers_merge_deeply_and_later_wins() -> None:
    base = doc("service:\n  host: 127.0.0.1\n  http_port: 7000\ntls:\n  cert: a.pem\n", "config/config.yaml")
    prod = doc("service:\n  host: 0.0.0.0\n", "config/production.yaml")
    cfg = build_effective([base, prod], {"QDRANT__SERVICE__HTTP_PORT": "8000"})
    assert cfg.get("service.host") == "0.0.0.0"
    assert cfg.setting("service.host").source.file == "config/production.yaml"  # type: ignore[union-attr]
    assert cfg.get("service.http_port") == 8000
    assert cfg.get("tls.cert") == "a.pem" and cfg.get("tls.key") == "./tls/key.pem"
    loc = cfg.setting("tls.cert").source  # type: ignore[union-attr]
    assert (loc.line, loc.column) == (5, 9)


def test_unknown_keys_are_kept_for_the_linter() -> None:
    cfg = build_effective([doc("service:\n  api-key: oops\n")])
    assert cfg.get("service.api-key") == "oops"
    assert cfg.get("service.api_key") is None


def test_type_errors_are_recorded() -> None:
    cfg = build_effective([], {"QDRANT__SERVICE__HTTP_PORT": "http"})
    assert cfg.errors and cfg.errors[0].path == "service.http_port"


def test_invalid_yaml_reports_position() -> None:
    with pytest.raises(InputError, match=r"bad.yaml:2:\d+: invalid YAML"):
        load_located("a: 1\n  b: [\n", name="bad.yaml")


def test_duplicates_recorded_last_wins() -> None:
    (d,) = load_located("service:\n  host: a\n  host: b\n")
    assert d.root is not None and d.root.get("service", "host").value == "b"  # type: ignore[union-attr]
    assert [(x.key, x.line, x.first_line) for x in d.duplicates] == [("host", 3, 2)]


def test_alias_bomb_is_refused_quickly() -> None:
    lines = ['a0: &a0 ["x","x","x","x","x","x","x","x","x","x"]']
    for i in range(1, 10):
        prev = f"*a{i - 1}"
        lines.append(f"a{i}: &a{i} [{','.join([prev] * 10)}]")
    with pytest.raises(InputError, match="alias bomb"):
        load_located("\n".join(lines) + "\n", name="bomb.yaml")


def test_merge_keys_and_multi_documents() -> None:
    docs = load_located("base: &b\n  x: 1\nuse:\n  <<: *b\n  y: 2\n---\nz: 3\n")
    assert docs[0].root is not None and docs[0].root.plain()["use"] == {"x": 1, "y": 2}
    assert docs[1].root is not None and docs[1].root.plain() == {"z": 3}


def test_bom_and_crlf() -> None:
    (d,) = load_located("\ufeffservice:\r\n  host: h\r\n")
    assert d.root is not None and d.root.get("service", "host").line == 2  # type: ignore[union-attr]


def test_impossible_yaml_date_is_kept_as_text() -> None:
    (d,) = load_located("expires: 2026-02-30\n")
    assert d.root is not None and d.root.plain() == {"expires": "2026-02-30"}


def test_config_files_are_typed_as_qdrant_reads_them() -> None:
    """yaml-rust2 (YAML 1.2 core), not PyYAML's YAML 1.1: `yes` is a string, 0123 is 123;
    config-rs then reads `on`/`yes` into a bool setting as true."""
    cfg = build_effective([doc(
        "service:\n  api_key: yes\n  read_only_api_key: 'on'\n  http_port: 0123\n"
        "  jwt_rbac: on\n  enable_tls: No\n  host: ~\n  grpc_port: null\n"
        "storage:\n  weird: [1, yes, 0x10, 1.5, .inf]\n"
    )])
    assert cfg.get("service.api_key") == "yes"
    assert cfg.get("service.read_only_api_key") == "on"
    assert cfg.get("service.http_port") == 123
    assert cfg.get("service.jwt_rbac") is True
    assert cfg.get("service.enable_tls") is False
    assert cfg.get("service.host") is None and cfg.get("service.grpc_port") is None
    assert cfg.get("storage.weird") == [1, "yes", 16, 1.5, ".inf"]


def test_a_key_three_times_points_each_duplicate_at_the_first() -> None:
    (d,) = load_located("a: 1\nb: 2\na: 3\na: {x: 4}\nm: &m {k: 1}\nn:\n  <<: [*m, *m]\n  j: 2\n")
    assert [(x.key, x.line, x.first_line) for x in d.duplicates] == [("a", 3, 1), ("a", 4, 1), ("k", 5, 5)]
    assert d.root is not None and d.root.plain()["a"] == {"x": 4}


def test_scalars_typed_by_text_style_and_tag() -> None:
    """Quoted scalars are strings; plain ones (libyaml counts `! 12` as one) are typed by
    YAML 1.1 whatever their first character (most strings are answered without the
    resolver's expressions)."""
    (d,) = load_located("q: 'true'\nr: \"6333\"\ns: ! 12\nt: yes\nu: 6333\nv: ~\nw:\n"
                        "x: name\ny: <<\nz: !!str 7\n")
    assert d.root is not None
    assert d.root.plain() == {"q": "true", "r": "6333", "s": 12, "t": True, "u": 6333, "v": None,
                              "w": None, "x": "name", "y": "<<", "z": "7"}
    assert d.root.get("q").tag == d.root.get("x").tag == "tag:yaml.org,2002:str"  # type: ignore[union-attr]
    assert d.root.get("y").tag == "tag:yaml.org,2002:merge"  # type: ignore[union-attr]


def test_file_settings_have_ordinary_frozen_sources() -> None:
    import dataclasses

    from qdrantsec.qdrant.config import Source

    cfg = build_effective([doc("cluster:\n  p2p:\n    enable_tls: 'yes'\n    port: 6335\n  enabled: on\n")])
    src = cfg.setting("cluster.p2p.port").source  # type: ignore[union-attr]
    same = Source("file", file="c.yaml", line=4, column=11)
    assert src == same and hash(src) == hash(same) and repr(src) == repr(same)
    with pytest.raises(dataclasses.FrozenInstanceError):
        src.line = 1  # type: ignore[misc]
    # a quoted 'yes' in a bool setting is read as true too; nested sections are reached
    assert cfg.get("cluster.p2p.enable_tls") is True and cfg.get("cluster.enabled") is True
    assert cfg.get("cluster.p2p.port") == 6335


def test_settings_answers_as_setting_does_for_each_path() -> None:
    cfg = build_effective([doc("service:\n  api_key: k\ntls: ./a.pem\naudit:\n  enabled: true\n")])
    paths = ("service.api_key", "service.host", "service.nope", "tls.cert", "tls.key", "audit.enabled",
             "audit.dir", "nope.x", "log_level", "service", "cluster.p2p.port", "service.api_key.x")
    assert cfg.settings(paths) == [cfg.setting(p) for p in paths]
    assert [s is not None for s in cfg.settings(paths)] == [True, True, False, False, False, True,
                                                             False, False, True, False, True, False]
    assert cfg.get("tls.cert", "unset") == "unset" and cfg.get("service.api_key") == "k"
