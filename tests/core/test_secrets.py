"""The one key-resolution chain, and how keys are shown."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from qdrantsec.errors import SecretError
from qdrantsec.secrets import (
    KeyOptions,
    Secret,
    SecretResolver,
    fingerprint,
    generate_key,
    signing_key_warnings,
)

KEY = "k" * 40


def resolver(env: dict[str, str] | None = None, stdin: str | None = None,
             prompt: str | None = None) -> tuple[SecretResolver, list[str]]:
    warnings: list[str] = []
    r = SecretResolver(
        env=env or {},
        stdin=io.StringIO(stdin) if stdin is not None else None,
        prompt=(lambda _text: prompt) if prompt is not None else None,  # type: ignore[arg-type,return-value]
        warn=warnings.append,
    )
    return r, warnings


def test_fingerprint_is_sha256_prefix() -> None:
    assert fingerprint("abc") == "sha256:ba7816bf8f01"
    assert KEY not in repr(Secret(KEY, "test"))
    assert KEY not in str(Secret(KEY, "test"))


def test_file_wins_and_trailing_newline_is_stripped(tmp_path: Path) -> None:
    f = tmp_path / "k"
    f.write_text(KEY + "\n")
    r, _ = resolver(env={"QDRANT_API_KEY": "other"}, stdin="stdin-key\n")
    s = r.resolve(KeyOptions(file=str(f), stdin=True, env_name="X"))
    assert s is not None and s.value == KEY and s.origin == f"file {f}"


def test_crlf_is_stripped_but_inner_whitespace_kept(tmp_path: Path) -> None:
    f = tmp_path / "k"
    f.write_bytes(b" a b \r\n")
    r, _ = resolver()
    s = r.resolve(KeyOptions(file=str(f)))
    assert s is not None and s.value == " a b "


def test_order_stdin_then_env_option_then_config_then_env(tmp_path: Path) -> None:
    cfg = tmp_path / "config.yaml"
    cfg.write_text("service:\n  api_key: from-config-file-xxxxxxxxxxxxxxxxxxxx\n")
    env = {"NAMED": "named", "QDRANT__SERVICE__API_KEY": "qdrant-var", "QDRANT_API_KEY": "plain"}
    r, _ = resolver(env=env, stdin="from-stdin\n")
    assert r.resolve(KeyOptions(stdin=True, env_name="NAMED")).value == "from-stdin"  # type: ignore[union-attr]
    r, _ = resolver(env=env)
    assert r.resolve(KeyOptions(env_name="NAMED", qdrant_config=str(cfg))).value == "named"  # type: ignore[union-attr]
    s = r.resolve(KeyOptions(qdrant_config=str(cfg)))
    # the config file's value, overridden by QDRANT__SERVICE__API_KEY as Qdrant would
    assert s is not None and s.value == "qdrant-var" and "QDRANT__SERVICE__API_KEY" in s.origin
    r, _ = resolver(env={"QDRANT_API_KEY": "plain"})
    s = r.resolve(KeyOptions(qdrant_config=str(cfg)))
    assert s is not None and s.value.startswith("from-config-file") and f"{cfg}:2:12" in s.origin
    assert r.resolve(KeyOptions()).value == "plain"  # type: ignore[union-attr]
    r, _ = resolver(env=env)
    assert r.resolve(KeyOptions()).value == "qdrant-var"  # type: ignore[union-attr]


def test_alt_key_chain(tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text("service:\n  api_key: a\n  alt_api_key: b\n")
    r, _ = resolver(env={"QDRANT_API_KEY": "plain"})
    assert r.resolve(KeyOptions(qdrant_config=str(cfg)), role="alt_api_key").value == "b"  # type: ignore[union-attr]
    # QDRANT_API_KEY is never taken as the alt key
    assert r.resolve(KeyOptions(), role="alt_api_key", required=False) is None
    r, _ = resolver(env={"QDRANT__SERVICE__ALT_API_KEY": "alt"})
    assert r.resolve(KeyOptions(), role="alt_api_key").value == "alt"  # type: ignore[union-attr]


def test_prompt_is_last(tmp_path: Path) -> None:
    r, _ = resolver(prompt="typed")
    s = r.resolve(KeyOptions())
    assert s is not None and s.value == "typed" and s.origin == "prompt"


def test_missing_key_is_a_clear_error() -> None:
    r, _ = resolver()
    with pytest.raises(SecretError, match="no api_key given") as exc:
        r.resolve(KeyOptions())
    assert exc.value.hint and "--api-key-file" in exc.value.hint


def test_empty_key_is_refused(tmp_path: Path) -> None:
    f = tmp_path / "k"
    f.write_text("\n")
    r, _ = resolver(env={"EMPTY": ""})
    with pytest.raises(SecretError, match="empty"):
        r.resolve(KeyOptions(file=str(f)))
    with pytest.raises(SecretError, match="empty"):
        r.resolve(KeyOptions(env_name="EMPTY"))


def test_unreadable_and_missing_key_files(tmp_path: Path) -> None:
    r, _ = resolver()
    with pytest.raises(SecretError, match="not found"):
        r.resolve(KeyOptions(file=str(tmp_path / "nope")))
    with pytest.raises(SecretError, match="directory"):
        r.resolve(KeyOptions(file=str(tmp_path)))
    f = tmp_path / "locked"
    f.write_text(KEY)
    f.chmod(0)
    if os.geteuid() != 0:  # root reads anything
        with pytest.raises(SecretError, match="permission denied"):
            r.resolve(KeyOptions(file=str(f)))
    b = tmp_path / "bin"
    b.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(SecretError, match="not UTF-8"):
        r.resolve(KeyOptions(file=str(b)))


def test_unset_env_option_is_an_error() -> None:
    r, _ = resolver()
    with pytest.raises(SecretError, match="NOPE is not set"):
        r.resolve(KeyOptions(env_name="NOPE"))


def test_literal_key_warns_about_process_list() -> None:
    r, warnings = resolver()
    s = r.resolve(KeyOptions(literal=KEY))
    assert s is not None and s.value == KEY
    assert warnings and "command line" in warnings[0] and KEY not in warnings[0]


def test_stdin_can_be_read_once() -> None:
    r, _ = resolver(stdin="one\ntwo\n")
    assert r.resolve(KeyOptions(stdin=True)).value == "one"  # type: ignore[union-attr]
    with pytest.raises(SecretError, match="already used"):
        r.resolve(KeyOptions(stdin=True), role="alt_api_key")


def test_short_signing_key_warning_uses_fingerprint() -> None:
    s = Secret("short", "test")
    (w,) = signing_key_warnings(s)
    assert "5 bytes" in w and s.fingerprint in w and "short" not in w.replace("short", "", 0)
    assert signing_key_warnings(Secret("x" * 32, "t")) == []


def test_generate_key_entropy_and_alphabet() -> None:
    k = generate_key(32)
    assert len(k) >= 43 and set(k) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert generate_key(32) != k
    with pytest.raises(SecretError):
        generate_key(16)


def test_qdrant_config_scalar_keys_are_read_as_qdrant_reads_them(tmp_path: Path) -> None:
    cfg = tmp_path / "config.yaml"
    cfg.write_text("service:\n  api_key: 123456789012345678901234567890123\n  alt_api_key: yes\n")
    r, _ = resolver()
    s = r.resolve(KeyOptions(qdrant_config=str(cfg)))
    assert s is not None and s.value == "123456789012345678901234567890123"
    alt = r.resolve(KeyOptions(qdrant_config=str(cfg)), role="alt_api_key")
    assert alt is not None and alt.value == "yes"
    bad = tmp_path / "list.yaml"
    bad.write_text("service:\n  api_key: [a, b]\n")
    with pytest.raises(SecretError, match="is not a string"):
        r.resolve(KeyOptions(qdrant_config=str(bad)))
