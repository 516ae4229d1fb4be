"""No forged lines: a path or value that reaches an error, warning or note line on stderr is
escaped (newlines, ESC sequences, bidi controls) and shortened when overlong, so a hostile
file name cannot print a second ``qdrantsec: error:`` line or repaint the terminal."""

from __future__ import annotations

from pathlib import Path

import pytest

from qdrantsec.cli.app import main

FORGED = "nope\nqdrantsec: error: FORGED"
ESC = "evil\x1b[2J\x1b[31mred\u202egnp.pem"


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def no_raw_controls(err: str) -> None:
    assert "\x1b" not in err and "\u202e" not in err and "FORGED" not in err.replace(
        "\\x0aqdrantsec: error: FORGED", "")


def test_lint_path_with_a_newline_is_one_escaped_error_line(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["lint", FORGED], capsys)
    assert code == 2
    assert err == "qdrantsec: error: nope\\x0aqdrantsec: error: FORGED: file not found\n"


def test_lint_path_with_escape_sequences_and_bidi(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["lint", ESC, FORGED], capsys)
    assert code == 2
    lines = err.splitlines()
    assert len(lines) == 2 and all(ln.startswith("qdrantsec: error: ") for ln in lines), err
    assert "evil\\x1b[2J\\x1b[31mred\\u202egnp.pem: file not found" in err
    no_raw_controls(err)


def test_check_expiry_path_from_the_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["certs", "check-expiry", FORGED, ESC], capsys)
    assert code == 2
    assert err.splitlines() == [
        "qdrantsec: error: not found: nope\\x0aqdrantsec: error: FORGED",
        "qdrantsec: error: not found: evil\\x1b[2J\\x1b[31mred\\u202egnp.pem",
    ]


def test_check_expiry_file_found_in_a_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "x\nqdrantsec: error: FORGED.pem"
    bad.write_text("-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n")
    code, _, err = run(["certs", "check-expiry", str(tmp_path)], capsys)
    assert code == 2
    assert err.splitlines() == [
        f"qdrantsec: error: {tmp_path}/x\\x0aqdrantsec: error: FORGED.pem: certificate 1 is malformed",
        f"qdrantsec: error: no certificates found in {tmp_path}",
    ]


def test_check_expiry_listing_of_a_hostile_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["certs", "generate", "--out", str(tmp_path / "tls")]) == 0
    tls = tmp_path / "t\nqdrantsec: error: FORGED"
    (tmp_path / "tls").rename(tls)
    code, out, err = run(["certs", "check-expiry", "--within", "30d", str(tls)], capsys)
    assert code == 0 and err == "0 of 2 certificate(s) expire within 30d\n"
    rows = out.splitlines()
    assert len(rows) == 2 and all("t\\x0aqdrantsec: error: FORGED/" in ln for ln in rows), out


@pytest.mark.parametrize("flag", ["--out", "--tls-dir"])
def test_certs_generate_refuses_a_directory_name_with_controls(
    flag: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # the name would reach the printed Qdrant config and kubectl lines (stdout data) as is
    hostile = str(tmp_path / "t\nqdrantsec: error: FORGED")
    args = ["--out", hostile] if flag == "--out" else ["--out", str(tmp_path / "tls"), "--tls-dir", hostile]
    code, out, err = run(["certs", "generate", *args], capsys)
    assert code == 2 and out == ""
    assert err == (f"qdrantsec: error: {flag} {tmp_path}/t\\x0aqdrantsec: error: FORGED holds a control or "
                   "bidi character\nqdrantsec: hint: choose a directory name of printable characters\n")
    assert list(tmp_path.iterdir()) == []


def test_error_boundary_escapes_option_values(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["lint", "--baseline", FORGED], capsys)
    assert code == 2
    assert err == "qdrantsec: error: baseline file not found: nope\\x0aqdrantsec: error: FORGED\n"


def test_overlong_arguments_are_shortened(capsys: pytest.CaptureFixture[str]) -> None:
    long_path = "ab/" * 500  # 1500 characters, every component short
    code, _, err = run(["certs", "check-expiry", long_path], capsys)
    assert code == 2
    assert err == f"qdrantsec: error: not found: {long_path[:200]}…(1500 chars)\n"
    code, _, err = run(["lint", long_path], capsys)
    assert code == 2
    assert err == f"qdrantsec: error: {long_path[:200]}…(1500 chars): file not found\n"


def test_overlong_line_of_short_words_is_cut(capsys: pytest.CaptureFixture[str]) -> None:
    spaced = "a /" * 800  # 2400 characters, no word over the limit
    code, _, err = run(["lint", "--baseline", spaced], capsys)
    assert code == 2
    message = f"baseline file not found: {spaced.rstrip('/')}"  # as pathlib shows it
    assert err == f"qdrantsec: error: {message[:2000]}…({len(message)} chars)\n"


def test_key_generate_note_escapes_the_file_name(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "k\nqdrantsec: error: FORGED"
    code, out, err = run(["key", "generate", "--out", str(target)], capsys)
    assert code == 0 and out == "" and target.is_file()
    assert err.count("\n") == 1
    assert err.startswith(f"wrote {tmp_path}/k\\x0aqdrantsec: error: FORGED (mode 0600), key sha256:")
