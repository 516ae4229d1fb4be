"""No key in errors: an argument that looks like a key (a key, or a PEM private key, given
where a path or variable name belongs) is named by its fingerprint in every error that
would echo it, whichever branch reports it (not found, a directory, ...)."""

from __future__ import annotations

from pathlib import Path

import pytest

from qdrantsec.cli.app import main
from qdrantsec.secrets import fingerprint, looks_like_a_key

KEY = "AbCdEfGh1234567890XyZabcQrStUv-_x"  # shaped like `qdrantsec key generate` output
HEX = "0123456789abcdef" * 4  # `openssl rand -hex 32`


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def guarded(err: str, secret: str) -> None:
    assert secret not in err and fingerprint(secret) in err, err
    lines = err.splitlines()
    assert lines[0].startswith("qdrantsec: error: ") and len(lines) <= 2, err
    assert all(ln.startswith("qdrantsec: hint: ") for ln in lines[1:]), err


@pytest.mark.parametrize("secret", [KEY, HEX])
def test_qdrant_config_named_by_a_key(secret: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = run(["token", "mint", "-c", "docs:r", "--qdrant-config", secret], capsys)
    assert code == 2 and out == ""
    guarded(err, secret)
    assert err == ("qdrantsec: error: Qdrant config not found: <a name that looks like a key, not shown: "
                   f"{fingerprint(secret)}>\nqdrantsec: hint: --qdrant-config takes a path; is the key "
                   "itself given there by mistake?\n")


def test_qdrant_config_that_is_a_directory_named_like_a_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / KEY).mkdir()
    code, _, err = run(["token", "mint", "-c", "docs:r", "--qdrant-config", KEY], capsys)
    assert code == 2
    guarded(err, KEY)
    assert "is a directory" in err


@pytest.mark.parametrize("option", ["--api-key-file", "--alt-api-key-file"])
def test_key_file_that_is_a_directory_named_like_a_key(
    option: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / KEY).mkdir()
    (tmp_path / "admin.key").write_text("a" * 40 + "\n")
    args = ["--api-key-file", KEY] if option == "--api-key-file" else [
        "--api-key-file", "admin.key", "--alt-api-key-file", KEY]
    code, _, err = run(["token", "verify", "x.y.z", *args], capsys)
    assert code == 2
    guarded(err, KEY)
    assert err.startswith("qdrantsec: error: key file is a directory: <a name that looks like a key")


@pytest.mark.parametrize("option", ["--api-key-file", "--alt-api-key-file", "--alt-api-key-env"])
def test_hex_key_and_alt_options_are_not_echoed(
    option: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "admin.key").write_text("a" * 40 + "\n")
    args = ["--api-key-file", HEX] if option == "--api-key-file" else [
        "--api-key-file", "admin.key", option, HEX]
    code, _, err = run(["token", "verify", "x.y.z", *args], capsys)
    assert code == 2
    guarded(err, HEX)


def test_ca_key_given_as_pem_text_is_not_echoed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["certs", "generate", "--out", str(tmp_path / "ca")]) == 0
    pem = (tmp_path / "ca" / "ca-key.pem").read_text()
    body = pem.splitlines()[1]
    code, out, err = run(["certs", "generate", "--out", str(tmp_path / "tls"), "--ca-cert",
                          str(tmp_path / "ca" / "ca.pem"), "--ca-key", pem], capsys)
    assert code == 2 and out == ""
    assert "PRIVATE KEY" not in err and body not in err and body[:20] not in err, err
    assert err.startswith("qdrantsec: error: CA key not found: <a name that looks like a key, not shown: ")
    assert not (tmp_path / "tls").exists()


def test_ordinary_names_are_still_echoed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("qdrant.key", "prod-config.yaml", "backup20240115", "deadbeef"):
        assert not looks_like_a_key(name)
    code, _, err = run(["token", "mint", "-c", "docs:r", "--qdrant-config", "prod-config.yaml"], capsys)
    assert code == 2 and err == "qdrantsec: error: Qdrant config not found: prod-config.yaml\n"
    (tmp_path / "keys").mkdir()
    code, _, err = run(["token", "mint", "-c", "docs:r", "--api-key-file", "keys"], capsys)
    assert code == 2 and err == "qdrantsec: error: key file is a directory: keys\n"


@pytest.mark.parametrize("argv", [
    ["certs", "inspect"], ["certs", "inspect", "--"], ["certs", "check-expiry", "--"], ["lint", "--"],
    ["certs", "verify", "--ca", "ca.pem", "--"],
])
def test_private_key_text_given_as_an_argument_is_never_printed(
    argv: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # "$(cat key.pem)" where a file name belongs: the parser ("no such option: -----BEGIN...")
    # or a reader ("not found: ...") would quote it; every stderr line shows its fingerprint
    monkeypatch.chdir(tmp_path)
    assert main(["certs", "generate", "--out", "tls"]) == 0
    pem = (tmp_path / "tls" / "server-key.pem").read_text()
    code, out, err = run([*argv, pem], capsys)
    assert code == 2 and "PRIVATE KEY" not in out  # lint's summary line is all stdout gets
    assert "PRIVATE KEY" not in err and pem.splitlines()[1][:16] not in err, err
    assert "<a private key, not shown: sha256:" in err


def test_a_key_given_as_an_extra_argument_is_not_echoed_by_the_parser(
    capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(["token", "mint", "-c", "docs:r", KEY], capsys)
    assert code == 2 and out == ""
    assert err.startswith("qdrantsec: error: got unexpected extra argument(s) (<a value that looks like a "
                          f"key, not shown: {fingerprint(KEY)}>)\n")
    code, _, err = run(["token", "mint", "-c", "docs:r", "--no-such-option"], capsys)
    assert code == 2 and "no such option: --no-such-option" in err  # ordinary words stay


JWT = ("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJhY2Nlc3MiOiJyIn0."
       "c2lnbmF0dXJlLW9mLWEtdGVzdC10b2tlbi1vbmx5")


def test_a_token_given_as_the_token_file_is_not_echoed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    assert looks_like_a_key(JWT) and not looks_like_a_key("tokens/reader.jwt")
    code, out, err = run(["probe", "http://127.0.0.1:9", "--token-file", JWT], capsys)
    assert code == 2 and out == ""
    guarded(err, JWT)
