"""The command runner of rotate-key: shell or not, placeholders and their quoting, keys only
in the environment, the process-group timeout, captured output."""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import pytest

from qdrantsec.errors import InputError
from qdrantsec.rotation.runner import (
    ALT_API_KEY_ENV,
    API_KEY_ENV,
    CompletedCommand,
    SubprocessRunner,
    check_template,
    needs_shell,
    render_template,
)

KEY = "rotation-test-key-" + "Z9" * 16
#: prints its argv (without the interpreter) as JSON on stdout
ARGV_DUMP = f"{sys.executable} -c 'import json,sys; print(json.dumps(sys.argv[1:]))'"


def run(command: str, *, env_extra: Mapping[str, str] | None = None,
        timeout: float = 30.0) -> CompletedCommand:
    return SubprocessRunner().run(command, env_extra=env_extra or {}, timeout=timeout, what="test")


def _argv(result: CompletedCommand) -> list[str]:
    assert result.ok, result
    return json.loads(result.stdout_tail[-1])  # type: ignore[no-any-return]


@pytest.mark.parametrize(("command", "shell"), [
    ("systemctl restart qdrant", False),
    ("ssh node-1 'systemctl restart qdrant'", False),
    ("./restart.sh {name} --url={url}", False),
    ('docker compose -f "my file.yml" up -d {name}', False),
    ("systemctl restart qdrant && sleep 1", True),
    ("kubectl get pods | grep qdrant", True),
    ("restart.sh > /tmp/log", True),
    ("echo $HOME", True),
    ("echo ${HOME}/x", True),
    ("ls *.yaml", True),
    ("~/bin/restart", True),
    ("FOO=bar ./restart.sh", True),
    ("(cd /srv && ./restart)", True),
    ("echo `date`", True),
])
def test_needs_shell(command: str, shell: bool) -> None:
    assert needs_shell(command) is shell


def test_placeholders_are_substituted_and_stay_single_arguments_without_a_shell() -> None:
    values = {"name": "node-1", "url": "http://[::1]:6333", "host": "::1", "index": "0"}
    command = render_template(ARGV_DUMP + " {name} {url} {host} {index} 'x {name} y'", values)
    result = run(command)
    assert result.shell is False
    assert _argv(result) == ["node-1", "http://[::1]:6333", "::1", "0", "x node-1 y"]


def test_placeholders_are_shell_quoted_when_a_shell_runs() -> None:
    # a value with shell syntax in it ($, ;, spaces) reaches the command literally
    values = {"name": "n", "url": "http://h:1/?a=$HOME;echo pwned", "host": "h", "index": "3"}
    command = render_template(ARGV_DUMP + " {url} {index} | cat", values)
    result = run(command)
    assert result.shell is True
    assert _argv(result) == ["http://h:1/?a=$HOME;echo pwned", "3"]


def test_shell_variable_braces_are_not_placeholders() -> None:
    check_template("echo ${HOME} {name}", what="restart")
    assert render_template("echo ${HOME} {name}", {"name": "n1"}) == "echo ${HOME} n1"


@pytest.mark.parametrize(("template", "message"), [
    ("./restart.sh {nmae}", "restart: unknown placeholder {nmae}"),
    ("ssh {hostname} restart", "restart: unknown placeholder {hostname}"),
    ("   ", "restart is empty"),
    ("ssh 'node-1 restart", "restart: cannot split the command: No closing quotation"),
])
def test_bad_templates_are_refused(template: str, message: str) -> None:
    with pytest.raises(InputError) as err:
        check_template(template, what="restart")
    assert err.value.message == message


def test_keys_reach_the_child_only_in_its_environment(tmp_path: Path) -> None:
    """The child records its argv, /proc/self/cmdline and the two variables: the keys are in
    the environment and nowhere in argv or the process list."""
    dump = tmp_path / "dump.json"
    script = tmp_path / "dump.py"
    script.write_text(
        "import json, os, sys\n"
        "cmdline = open('/proc/self/cmdline', 'rb').read().decode()\n"
        f"json.dump({{'argv': sys.argv, 'cmdline': cmdline, 'api': os.environ.get({API_KEY_ENV!r}),"
        f" 'alt': os.environ.get({ALT_API_KEY_ENV!r})}}, open({str(dump)!r}, 'w'))\n")
    alt = "alt-" + KEY
    result = run(f"{sys.executable} {script} {{name}}".replace("{name}", "node-1"),
                 env_extra={API_KEY_ENV: KEY, ALT_API_KEY_ENV: alt})
    assert result.ok
    seen = json.loads(dump.read_text())
    assert seen["api"] == KEY and seen["alt"] == alt
    assert seen["argv"][1:] == ["node-1"]
    for text in (" ".join(seen["argv"]), seen["cmdline"], repr(result)):
        assert KEY not in text and alt not in text


def test_key_variables_of_our_own_environment_are_not_inherited(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QDRANT_API_KEY", KEY)
    monkeypatch.setenv("qdrant__service__api_key", KEY)
    monkeypatch.setenv("MY_KEY_VAR", KEY)
    monkeypatch.setenv("UNRELATED", "kept")
    code = "import os; print(sorted(k for k in os.environ if 'KEY' in k.upper() or k == 'UNRELATED'))"
    result = SubprocessRunner(scrub=["MY_KEY_VAR"]).run(
        f"{sys.executable} -c \"{code}\"", env_extra={}, timeout=30, what="t")
    assert result.ok, result
    assert result.stdout_tail[-1] == "['UNRELATED']"


def test_a_key_the_child_prints_is_shown_by_its_fingerprint() -> None:
    from qdrantsec.secrets import fingerprint

    result = run(f'echo "token is ${API_KEY_ENV}" >&2; exit 3', env_extra={API_KEY_ENV: KEY})
    assert result.returncode == 3
    assert result.last_error_line() == f"token is <key {fingerprint(KEY)}>"
    assert KEY not in repr(result)


def test_exit_status_and_the_last_lines_of_output_are_kept() -> None:
    result = run("for i in 1 2 3 4 5 6 7 8; do echo line$i >&2; done; echo out; exit 5")
    assert result.returncode == 5 and not result.ok
    assert result.stderr_tail == ("line4", "line5", "line6", "line7", "line8")
    assert result.stdout_tail == ("out",)
    assert result.last_error_line() == "line8"


def test_a_missing_program_is_exit_127_not_an_exception(tmp_path: Path) -> None:
    result = run(f"{tmp_path}/no-such-restart-script --now")
    assert result.returncode == 127 and not result.timed_out
    assert result.last_error_line() == f"{tmp_path}/no-such-restart-script: No such file or directory"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie (not reaped yet by init) is dead too
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(") ", 1)[1][0] != "Z"
    except FileNotFoundError:
        return False


def _wait_dead(pid: int, limit: float = 15.0) -> bool:
    end = time.monotonic() + limit
    while time.monotonic() < end:
        if not _alive(pid):
            return True
        time.sleep(0.05)
    return False


def test_timeout_kills_the_whole_process_group(tmp_path: Path) -> None:
    pidfile = tmp_path / "pid"
    # the leader ignores SIGTERM and so does its background child: only SIGKILL ends them
    command = (f"trap '' TERM; sh -c 'trap \"\" TERM; sleep 300' & echo $! > {pidfile}; "
               "while true; do sleep 1; done")
    result = run(command, timeout=1.0)
    assert result.timed_out and result.returncode is None and not result.ok
    child = int(pidfile.read_text())
    assert _wait_dead(child), "the background member of the group survived the timeout"


def test_a_daemon_left_running_in_the_background_does_not_block_the_runner(tmp_path: Path) -> None:
    """A restart script that starts the server in the background (which inherits stdout)
    returns when the script itself exits; the daemon keeps running."""
    pidfile = tmp_path / "pid"
    result = run(f"sleep 120 & echo $! > {pidfile}; echo started", timeout=60.0)
    daemon = int(pidfile.read_text())
    try:
        assert result.ok and not result.timed_out, result
        assert result.stdout_tail == ("started",)
        assert _alive(daemon)
    finally:
        os.kill(daemon, signal.SIGKILL)
