"""The root command and the error boundary."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

import qdrantsec
from qdrantsec.cli import app as cli_app
from qdrantsec.errors import InputError
from qdrantsec.exit_codes import DESCRIPTIONS, ExitCode


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = cli_app.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_exit_codes_are_pinned() -> None:
    assert {c.name: int(c) for c in ExitCode} == {
        "OK": 0, "FAILED": 1, "USAGE": 2, "NETWORK": 3, "SERVER": 4, "AUTH": 5, "PARTIAL": 6,
        "TOKEN_BAD_SIGNATURE": 10, "TOKEN_EXPIRED": 11, "TOKEN_MALFORMED": 12,
        "TOKEN_CLAIMS_REJECTED": 13, "HALTED": 20, "PAUSED": 21, "INTERNAL": 70, "INTERRUPTED": 130,
    }
    assert set(DESCRIPTIONS) == set(ExitCode)


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["--version"], capsys)
    assert code == 0
    assert out.strip() == f"qdrantsec {qdrantsec.__version__}"


def test_root_help_lists_groups_with_examples(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["--help"], capsys)
    assert code == 0
    assert "Examples:" in out
    for name in cli_app.GROUPS:
        if cli_app._available(name):
            assert name in out


def test_root_help_text_matches_each_group(capsys: pytest.CaptureFixture[str]) -> None:
    """The root lists groups without importing them; their one-line help must agree."""
    import typer

    root = typer.main.get_command(cli_app.app)
    ctx = root.make_context("qdrantsec", [], resilient_parsing=True)
    for name in root.list_commands(ctx):
        cmd = root.get_command(ctx, name)
        assert cmd is not None
        assert cmd.get_short_help_str(500).rstrip(".") == cli_app.GROUPS[name][2].rstrip("."), name


def test_every_command_has_help_with_an_example(capsys: pytest.CaptureFixture[str]) -> None:
    import typer

    root = typer.main.get_command(cli_app.app)
    ctx = root.make_context("qdrantsec", [], resilient_parsing=True)
    seen = 0

    def walk(cmd: object, ctx: object, path: list[str]) -> None:
        nonlocal seen
        help_text = getattr(cmd, "help", "") or ""
        assert "example" in help_text.lower(), f"no example in help of {' '.join(path)}"
        seen += 1
        if hasattr(cmd, "list_commands"):
            for name in cmd.list_commands(ctx):  # type: ignore[attr-defined]
                sub = cmd.get_command(ctx, name)  # type: ignore[attr-defined]
                walk(sub, sub.make_context(name, [], parent=ctx, resilient_parsing=True), [*path, name])

    walk(root, ctx, ["qdrantsec"])
    assert seen >= 3


def test_unknown_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["frobnicate"], capsys)
    assert code == ExitCode.USAGE
    assert out == ""
    assert err.startswith("qdrantsec: error: ")
    assert "Traceback" not in err


def test_unknown_option_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["key", "generate", "--nope"], capsys)
    assert code == ExitCode.USAGE
    assert err.splitlines()[0].startswith("qdrantsec: error: ")
    assert "qdrantsec: hint: try 'qdrantsec key generate --help'" in err


def test_domain_error_prints_message_and_hint(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import qdrantsec.cli.key as key_mod

    def boom(nbytes: int = 32) -> str:
        raise InputError("something is wrong", hint="do this instead")

    monkeypatch.setattr("qdrantsec.secrets.generate_key", boom)
    assert key_mod  # imported for monkeypatching its lazy import target
    code, out, err = run(["key", "generate"], capsys)
    assert code == ExitCode.USAGE
    assert err == "qdrantsec: error: something is wrong\nqdrantsec: hint: do this instead\n"
    assert out == ""


def test_unexpected_exception_is_an_internal_error_without_traceback(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(nbytes: int = 32) -> str:
        raise RuntimeError("secret-value-should-not-show")

    monkeypatch.setattr("qdrantsec.secrets.generate_key", boom)
    code, _, err = run(["key", "generate"], capsys)
    assert code == ExitCode.INTERNAL
    assert "RuntimeError" in err
    assert "secret-value-should-not-show" not in err
    assert "Traceback" not in err


def test_debug_shows_the_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(nbytes: int = 32) -> str:
        raise RuntimeError("kaboom")

    monkeypatch.setattr("qdrantsec.secrets.generate_key", boom)
    with pytest.raises(RuntimeError, match="kaboom"):
        cli_app.main(["--debug", "key", "generate"])


def test_keyboard_interrupt_exits_130(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(nbytes: int = 32) -> str:
        raise KeyboardInterrupt

    monkeypatch.setattr("qdrantsec.secrets.generate_key", boom)
    code, _, err = run(["key", "generate"], capsys)
    assert code == ExitCode.INTERRUPTED
    assert "Traceback" not in err


def test_ctrl_c_exits_130_with_one_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import signal

    def interrupted(nbytes: int = 32) -> str:
        os.kill(os.getpid(), signal.SIGINT)  # a real SIGINT, as a terminal's Ctrl-C sends
        time.sleep(5)
        raise AssertionError("SIGINT did not interrupt")

    monkeypatch.setattr("qdrantsec.secrets.generate_key", interrupted)
    code, out, err = run(["key", "generate"], capsys)
    assert code == ExitCode.INTERRUPTED
    assert err == "qdrantsec: error: interrupted\n" and out == ""


def test_python_dash_m_and_console_script() -> None:
    proc = subprocess.run([sys.executable, "-m", "qdrantsec", "--version"],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0
    assert proc.stdout.startswith("qdrantsec ")


def test_help_imports_no_heavy_module() -> None:
    """--help must not import jwt, cryptography, httpx, yaml or rich (start-up speed)."""
    code = (
        "import sys\n"
        "from qdrantsec.cli.app import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('jwt', 'cryptography', 'httpx', 'yaml', 'rich') if m in sys.modules]\n"
        "print('HEAVY=' + ','.join(heavy))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip().splitlines()[-1] == "HEAVY="


def test_completion_request_answers_groups() -> None:
    env = {"_QDRANTSEC_COMPLETE": "complete_bash", "COMP_WORDS": "qdrantsec ke", "COMP_CWORD": "1"}
    import os

    proc = subprocess.run([sys.executable, "-m", "qdrantsec"], env={**os.environ, **env},
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0
    assert proc.stdout.split() == ["key"]
