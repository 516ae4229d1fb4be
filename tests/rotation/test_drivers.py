"""rotate-key drivers: the file driver's edits keep every byte it does not need to change
(hand-written configs in several styles), the env-file driver's keep every other line, both
write atomically with a 0600 backup and are idempotent; the command driver passes keys only
in the environment; restart and apply failures are HALTED errors that say what happened."""

from __future__ import annotations

import datetime as dt
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qdrantsec.errors import InputError, QdrantsecError
from qdrantsec.exit_codes import ExitCode
from qdrantsec.rotation.drivers import ApplyError, ConfigKeys, RestartError, make_driver
from qdrantsec.rotation.inventory import PeerSpec
from qdrantsec.rotation.runner import SubprocessRunner
from qdrantsec.secrets import fingerprint

OLD = "old-key-" + "a1" * 16
NEW = "New+Key/" + "b2" * 15 + "=="
#: a key that needs quoting in YAML ('#', ':', both quotes)
ODD = "n3w:k#y\"'x" + "c3" * 14
CLOCK = dt.datetime(2026, 12, 3, 12, 0, 0, tzinfo=dt.timezone.utc)


def driver_for(path: Path, kind: str = "file", restart: str = "true", **kw: object):  # type: ignore[no-untyped-def]
    spec = PeerSpec("node-1", "http://127.0.0.1:6333", 0, kind, path=str(path), restart=restart)
    return make_driver(spec, clock=lambda: CLOCK, **kw)  # type: ignore[arg-type]


def files(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


# -- the file driver: round trips ---------------------------------------------------------------
COMMENTED = f"""\
# Qdrant production config
log_level: INFO   # keep

service:
    # bind on all interfaces
    host: 0.0.0.0
    http_port:   6333     # REST
    api_key: {OLD}    # the admin key (rotated by qdrantsec)
    enable_tls: true
    # end of service

storage:
  storage_path: /var/lib/qdrant/storage   # data
  list:
  -   one
"""

#: (name, original, after stage = set_keys(OLD, NEW), after promote = set_keys(NEW, None))
ROUND_TRIPS = [
    ("comments everywhere, 4-space indent", COMMENTED,
     COMMENTED.replace(f"    api_key: {OLD}    # the admin key (rotated by qdrantsec)\n",
                       f"    api_key: {OLD}    # the admin key (rotated by qdrantsec)\n"
                       f'    alt_api_key: "{NEW}"\n'),
     COMMENTED.replace(OLD, NEW)),
    ("single-line flow mapping",
     f"{{service: {{host: 0.0.0.0, api_key: {OLD}}}, storage: {{storage_path: ./s}}}}\n",
     f'{{service: {{host: 0.0.0.0, api_key: {OLD}, alt_api_key: "{NEW}"}}, '
     f"storage: {{storage_path: ./s}}}}\n",
     f"{{service: {{host: 0.0.0.0, api_key: {NEW}}}, storage: {{storage_path: ./s}}}}\n"),
    ("flow mapping over several lines",
     f"service: {{\n  api_key: '{OLD}',\n  host: h\n}}\n",
     f"service: {{\n  api_key: '{OLD}',\n  host: h, alt_api_key: \"{NEW}\"\n}}\n",
     f"service: {{\n  api_key: '{NEW}',\n  host: h\n}}\n"),
    ("quoted keys and values",
     f"\"service\":\n  'api_key': '{OLD}'\n  \"host\": \"0.0.0.0\"\n",
     f"\"service\":\n  'api_key': '{OLD}'\n  alt_api_key: \"{NEW}\"\n  \"host\": \"0.0.0.0\"\n",
     f"\"service\":\n  'api_key': '{NEW}'\n  \"host\": \"0.0.0.0\"\n"),
    ("no service section",
     "storage:\n    storage_path: ./storage\n# the end\n",
     f"storage:\n    storage_path: ./storage\n# the end\nservice:\n    api_key: \"{OLD}\"\n"
     f"    alt_api_key: \"{NEW}\"\n",
     f"storage:\n    storage_path: ./storage\n# the end\nservice:\n    api_key: \"{NEW}\"\n"),
    ("CRLF line ends",
     f"service:\r\n  host: x\r\n  api_key: \"{OLD}\"\r\n",
     f"service:\r\n  host: x\r\n  api_key: \"{OLD}\"\r\n  alt_api_key: \"{NEW}\"\r\n",
     f"service:\r\n  host: x\r\n  api_key: \"{NEW}\"\r\n"),
    ("document markers, no final newline",
     f"---\nservice:\n  api_key: {OLD}\n  host: x\n...",
     f"---\nservice:\n  api_key: {OLD}\n  alt_api_key: \"{NEW}\"\n  host: x\n...",
     f"---\nservice:\n  api_key: {NEW}\n  host: x\n..."),
    ("empty service with a comment",
     "service:   # filled by qdrantsec\nstorage: {}\n",
     f"service:   # filled by qdrantsec\n  api_key: \"{OLD}\"\n  alt_api_key: \"{NEW}\"\nstorage: {{}}\n",
     f"service:   # filled by qdrantsec\n  api_key: \"{NEW}\"\nstorage: {{}}\n"),
    ("a NaN elsewhere (it must compare equal to itself)",
     f"ratio: NaN\nservice:\n  api_key: {OLD}\n",
     f"ratio: NaN\nservice:\n  api_key: {OLD}\n  alt_api_key: \"{NEW}\"\n",
     f"ratio: NaN\nservice:\n  api_key: {NEW}\n"),
    ("empty file", "", f"service:\n  api_key: \"{OLD}\"\n  alt_api_key: \"{NEW}\"\n",
     f"service:\n  api_key: \"{NEW}\"\n"),
    ("block scalar key",
     f"service:\n  api_key: |-\n    {OLD}\n\n  host: x\n",
     f"service:\n  api_key: |-\n    {OLD}\n\n  host: x\n  alt_api_key: \"{NEW}\"\n",
     f"service:\n  api_key: \"{NEW}\"\n  host: x\n"),
]


@pytest.mark.parametrize(("original", "staged", "promoted"), [t[1:] for t in ROUND_TRIPS],
                         ids=[t[0] for t in ROUND_TRIPS])
def test_file_driver_round_trips_keep_everything_else(tmp_path: Path, original: str, staged: str,
                                                      promoted: str) -> None:
    config = tmp_path / "config.yaml"
    config.write_bytes(original.encode())
    driver = driver_for(config)
    assert driver.set_keys(OLD, NEW) is not None
    assert config.read_bytes().decode() == staged
    keys = driver.read_keys()
    assert (keys.api_key, keys.alt_api_key) == (OLD, NEW)
    driver.set_keys(NEW, None)
    assert config.read_bytes().decode() == promoted
    keys = driver.read_keys()
    assert (keys.api_key, keys.alt_api_key) == (NEW, None)


def test_the_four_step_passes_on_a_config_with_both_keys(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    text = 'service:\n  api_key: "{api}"   # current\n  alt_api_key: {alt}  # staged\n  host: h\n'
    config.write_text(text.format(api=OLD, alt=NEW))
    driver = driver_for(config)
    driver.set_keys(NEW, OLD)  # step 3: the key peers send becomes NEW, OLD still accepted
    assert config.read_text() == text.format(api=NEW, alt=OLD)
    driver.set_keys(NEW, None)  # step 4: the staged line goes, with its comment
    assert config.read_text() == f'service:\n  api_key: "{NEW}"   # current\n  host: h\n'


def test_removing_the_only_key_leaves_an_empty_mapping_not_null(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(f"log_level: INFO\nservice:\n  alt_api_key: {NEW}\nstorage: {{}}\n")
    driver = driver_for(config)
    driver.set_keys(NEW, None)
    # "service:" alone would be null, which replaces Qdrant's whole default section
    assert config.read_text() == f'log_level: INFO\nservice:\n  api_key: "{NEW}"\nstorage: {{}}\n'
    config.write_text(f"service:\n  alt_api_key: {NEW}\n")
    out = driver_for(config)
    out.set_keys(NEW, None)
    assert config.read_text() == f'service:\n  api_key: "{NEW}"\n'


@pytest.mark.parametrize(("style", "expected"), [
    ("plain", 'api_key: "n3w:k#y\\"\'x' + "c3" * 14 + '"'),
    ("'single'", "api_key: 'n3w:k#y\"''x" + "c3" * 14 + "'"),
    ('"double"', 'api_key: "n3w:k#y\\"\'x' + "c3" * 14 + '"'),
])
def test_a_key_that_needs_quotes_is_quoted_in_the_old_style_where_possible(
        tmp_path: Path, style: str, expected: str) -> None:
    old = {"plain": OLD, "'single'": f"'{OLD}'", '"double"': f'"{OLD}"'}[style]
    config = tmp_path / "c.yaml"
    config.write_text(f"service:\n  api_key: {old}\n")
    driver = driver_for(config)
    driver.set_keys(ODD, None)
    assert config.read_text() == f"service:\n  {expected}\n"
    assert driver.read_keys().api_key == ODD


def test_a_plain_key_that_yaml_would_type_is_quoted(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(f"service:\n  api_key: {OLD}\n")
    driver = driver_for(config)
    for key in ("12345678901234567890123456789012", "0x" + "1f" * 16, "1_000_" + "0" * 26):
        driver.set_keys(key, None)
        assert config.read_text() == f'service:\n  api_key: "{key}"\n'
        assert driver.read_keys().api_key == key


def test_an_aliased_key_is_edited_by_the_round_trip_fallback(tmp_path: Path) -> None:
    from qdrantsec.yamlloc import load_located

    config = tmp_path / "c.yaml"
    config.write_text(f"x-keys:\n  current: &current {OLD}\nservice:\n  api_key: *current  # shared\n")
    driver = driver_for(config)
    driver.set_keys(NEW, None)
    root = load_located(config.read_text(), name="c")[0].root
    assert root is not None
    assert root.plain() == {"x-keys": {"current": OLD}, "service": {"api_key": NEW}}
    assert "# shared" in config.read_text()


@pytest.mark.parametrize(("text", "value"), [
    ("api_key: 123", "123"),
    ("api_key: yes", "yes"),  # YAML 1.1 would say True; Qdrant's reader says "yes"
    ("api_key: true", "true"),
    ("api_key: 0x1F", "31"),
    ("api_key: '0x1F'", "0x1F"),
    ("api_key: 1.50", "1.5"),
    ("api_key: 0123", "123"),
    ("api_key: ''", None),  # empty is unset for Qdrant
    ("api_key:", None),
    ("api_key: ~", None),
    ("host: x", None),
])
def test_read_keys_types_values_as_qdrant_reads_yaml(tmp_path: Path, text: str, value: str | None) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(f"service:\n  {text}\n")
    keys = driver_for(config).read_keys()
    assert keys.api_key == value and keys.alt_api_key is None
    assert keys.source == f"file {config}"


@pytest.mark.parametrize(("line", "value"), [
    ("enforce_internal_auth: true", True),
    ("enforce_internal_auth: false", False),
    ("enforce_internal_auth: on", True),  # config-rs takes the string as a boolean
    ("enforce_internal_auth: 0", False),
    ("enforce_internal_auth: maybe", None),  # Qdrant would not start: cannot tell
    ("host: x", None),  # absent: an environment override may still turn it on
])
def test_enforce_internal_auth_as_the_file_says_it(tmp_path: Path, line: str, value: bool | None) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(f"service:\n  {line}\n")
    assert driver_for(config).read_keys().enforce_internal_auth is value


# -- the file driver: refusals ------------------------------------------------------------------
@pytest.mark.parametrize(("text", "message"), [
    (f"service:\n  api_key: {OLD}\n  api_key: {OLD}\n", "{f}:3:3: duplicate key 'api_key' (first at line 2)"),
    ("service: [a, b]\n", "{f}:1:10: service must be a mapping"),
    ("- a\n", "{f}:1:1: a Qdrant config must be a mapping"),
    ("service: {}\n---\nservice: {}\n", "{f}: expected one YAML document, found 2"),
    ("service: {\n", "{f}:2:1: invalid YAML: did not find expected node content"),
])
def test_a_file_that_cannot_be_edited_safely_is_left_alone(tmp_path: Path, text: str, message: str) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(text)
    with pytest.raises(InputError) as err:
        driver_for(config).set_keys(NEW, OLD)
    assert err.value.message == message.replace("{f}", str(config))
    assert config.read_text() == text
    assert files(tmp_path) == ["c.yaml"]  # no backup, no temp file


@pytest.mark.parametrize("bad", ["with space " + "x" * 30, "tab\t" + "x" * 30, "ünïcode" + "x" * 30, ""])
def test_a_key_qdrant_cannot_use_is_refused_by_fingerprint(tmp_path: Path, bad: str) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(f"service:\n  api_key: {OLD}\n")
    with pytest.raises(InputError) as err:
        driver_for(config).set_keys(bad, None)
    if bad:
        assert err.value.message == (f"api_key {fingerprint(bad)} has characters other than visible "
                                     "ASCII (Qdrant panics on them)")
        assert bad not in str(err.value) and bad not in repr(err.value)
    else:
        assert err.value.message == "api_key is empty"
    assert config.read_text() == f"service:\n  api_key: {OLD}\n"


# -- atomic writes, backups, idempotency -----------------------------------------------------------
def test_backup_is_the_previous_content_with_mode_0600_and_the_mode_is_kept(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    original = f"service:\n  api_key: {OLD}\n"
    config.write_text(original)
    os.chmod(config, 0o640)
    driver = driver_for(config)
    backup = driver.set_keys(OLD, NEW)
    assert backup == f"{config}.qdrantsec-bak-20261203T120000Z"
    assert Path(backup).read_text() == original
    assert stat.S_IMODE(os.stat(backup).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(config).st_mode) == 0o640
    staged = config.read_text()
    # a second change in the same second gets its own backup
    second = driver.set_keys(NEW, None)
    assert second == f"{config}.qdrantsec-bak-20261203T120000Z-1"
    assert Path(second).read_text() == staged
    assert files(tmp_path) == ["c.yaml", "c.yaml.qdrantsec-bak-20261203T120000Z",
                               "c.yaml.qdrantsec-bak-20261203T120000Z-1"]


def test_setting_what_the_file_already_says_writes_nothing(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(f"service:\n  api_key: '{OLD}'  # keep these quotes\n")
    before = os.stat(config)
    assert driver_for(config).set_keys(OLD, None) is None
    after = os.stat(config)
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert files(tmp_path) == ["c.yaml"]


@pytest.mark.skipif(os.geteuid() != 0, reason="changing a file's owner needs root")
def test_owner_and_group_are_kept(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(f"service:\n  api_key: {OLD}\n")
    os.chown(config, 4321, 4322)
    driver_for(config).set_keys(NEW, None)
    st = os.stat(config)
    assert (st.st_uid, st.st_gid) == (4321, 4322)


def test_a_symlinked_config_is_edited_through_the_link(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    (real / "config.yaml").write_text(f"service:\n  api_key: {OLD}\n")
    link = tmp_path / "config.yaml"
    link.symlink_to(real / "config.yaml")
    backup = driver_for(link).set_keys(NEW, None)
    assert link.is_symlink()
    assert (real / "config.yaml").read_text() == f"service:\n  api_key: {NEW}\n"
    assert backup == str(real / "config.yaml.qdrantsec-bak-20261203T120000Z")


def test_a_byte_order_mark_is_kept(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_bytes(f"\ufeffservice:\n  api_key: {OLD}\n".encode())
    driver_for(config).set_keys(NEW, None)
    assert config.read_bytes() == f"\ufeffservice:\n  api_key: {NEW}\n".encode()


def test_a_failed_write_is_a_halt_and_leaves_the_file_and_no_temp_file(tmp_path: Path) -> None:
    """The write fails for root too: the child may not write a single byte (RLIMIT_FSIZE)."""
    config = tmp_path / "c.yaml"
    config.write_text(f"service:\n  api_key: {OLD}\n")
    code = (
        "import resource, signal, sys\n"
        "from qdrantsec.rotation.drivers import ApplyError, make_driver\n"
        "from qdrantsec.rotation.inventory import PeerSpec\n"
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))\n"
        "spec = PeerSpec('node-1', 'http://127.0.0.1:6333', 0, 'file',\n"
        f"                path={str(config)!r}, restart='true')\n"
        "try:\n"
        f"    make_driver(spec).set_keys({NEW!r}, None)\n"
        "except ApplyError as exc:\n"
        "    print(int(exc.exit_code), exc.message, '|', exc.hint)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == (f"20 peer node-1: cannot write {config}: File too large | run qdrantsec "
                                  "as a user that may write the file and its directory")
    assert config.read_text() == f"service:\n  api_key: {OLD}\n"
    assert files(tmp_path) == ["c.yaml"]  # the backup that could not be written is gone too


# -- the env-file driver ---------------------------------------------------------------------------
SYSTEMD = f"""\
# /etc/default/qdrant, read by qdrant.service (EnvironmentFile=)
QDRANT__SERVICE__HOST=0.0.0.0

# the admin key
QDRANT__SERVICE__API_KEY="{OLD}"
RUN_MODE=production
"""


def test_env_file_stage_and_promote_change_only_the_key_lines(tmp_path: Path) -> None:
    env = tmp_path / "qdrant.env"
    env.write_text(SYSTEMD)
    driver = driver_for(env, "env-file")
    driver.set_keys(OLD, NEW)
    # the API_KEY line already says OLD: kept byte for byte, quotes included
    assert env.read_text() == SYSTEMD.replace(
        f'QDRANT__SERVICE__API_KEY="{OLD}"\n',
        f'QDRANT__SERVICE__API_KEY="{OLD}"\nQDRANT__SERVICE__ALT_API_KEY={NEW}\n')
    assert (driver.read_keys().api_key, driver.read_keys().alt_api_key) == (OLD, NEW)
    driver.set_keys(NEW, None)
    assert env.read_text() == SYSTEMD.replace(f'"{OLD}"', NEW)


def test_env_file_with_export_crlf_comments_and_case_variants(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    original = (f"# compose .env\r\nexport QDRANT__SERVICE__ALT_API_KEY='{OLD}'\r\n"
                "COMPOSE_PROJECT_NAME=qdrant   # project\r\n"
                f"qdrant__service__alt_api_key={OLD}\r\n"
                "; a systemd comment\r\n")
    env.write_text(original, newline="")
    driver = driver_for(env, "env-file")
    driver.set_keys(NEW, OLD)
    assert env.read_bytes().decode() == (
        f"# compose .env\r\nexport QDRANT__SERVICE__API_KEY={NEW}\r\n"
        f"export QDRANT__SERVICE__ALT_API_KEY='{OLD}'\r\n"
        "COMPOSE_PROJECT_NAME=qdrant   # project\r\n"
        "; a systemd comment\r\n")
    driver.set_keys(NEW, None)
    assert env.read_bytes().decode() == (
        f"# compose .env\r\nexport QDRANT__SERVICE__API_KEY={NEW}\r\n"
        "COMPOSE_PROJECT_NAME=qdrant   # project\r\n"
        "; a systemd comment\r\n")


def test_env_file_new_keys_go_at_the_end_and_values_are_quoted_only_when_needed(tmp_path: Path) -> None:
    env = tmp_path / "e.env"
    env.write_text("RUN_MODE=production")  # no final newline
    odd = "k#y$v!" + "d4" * 14
    driver_for(env, "env-file").set_keys(odd, NEW)
    assert env.read_text() == (f"RUN_MODE=production\nQDRANT__SERVICE__API_KEY='{odd}'\n"
                               f"QDRANT__SERVICE__ALT_API_KEY={NEW}\n")


def _shell_reads(env: Path, name: str) -> str:
    """What a POSIX shell (and so systemd, for these forms) reads: single quotes are
    literal, bare words have no special characters."""
    out = subprocess.run(["sh", "-c", f'set -a; . "{env}"; printf %s "${name}"'],
                         capture_output=True, text=True, env={}, check=True)
    return out.stdout


@pytest.mark.parametrize("key", [NEW, "k#y$v!" + "d4" * 14, "a\\b\"c`d{e}" + "e5" * 14,
                                 "~home:~x" + "f6" * 14])
def test_env_file_values_read_the_same_in_compose_and_a_shell(tmp_path: Path, key: str) -> None:
    from qdrantsec.lint.inputs.envfile import parse_env_lines

    env = tmp_path / "e.env"
    env.write_text("")
    driver_for(env, "env-file").set_keys(key, None)
    parsed = [(v.name, v.value) for v in parse_env_lines(env.read_text())]
    assert parsed == [("QDRANT__SERVICE__API_KEY", key)]
    assert _shell_reads(env, "QDRANT__SERVICE__API_KEY") == key


@pytest.mark.parametrize(("key", "why"), [
    ("it's" + "x" * 30, "it holds a single quote or ends with a backslash"),
    ("x" * 30 + "\\", "it holds a single quote or ends with a backslash"),
])
def test_env_file_refuses_a_key_no_form_of_which_reads_alike(tmp_path: Path, key: str, why: str) -> None:
    env = tmp_path / "e.env"
    env.write_text(f"QDRANT__SERVICE__API_KEY={OLD}\n")
    with pytest.raises(InputError) as err:
        driver_for(env, "env-file").set_keys(key, None)
    assert err.value.message == (f"QDRANT__SERVICE__API_KEY: the key {fingerprint(key)} cannot be written "
                                 f"so that systemd and docker compose read it the same way ({why})")
    assert key not in str(err.value)
    assert env.read_text() == f"QDRANT__SERVICE__API_KEY={OLD}\n"


@pytest.mark.parametrize("line", ['QDRANT__SERVICE__API_KEY="abc', "QDRANT__SERVICE__API_KEY='abc",
                                  "QDRANT__SERVICE__API_KEY=abc\\"])
def test_env_file_refuses_a_key_line_that_continues(tmp_path: Path, line: str) -> None:
    env = tmp_path / "e.env"
    text = f"A=1\n{line}\ndef\"\n"
    env.write_text(text)
    with pytest.raises(InputError) as err:
        driver_for(env, "env-file").set_keys(NEW, None)
    assert err.value.message == f"{env}:2: QDRANT__SERVICE__API_KEY continues on the next line"
    assert env.read_text() == text


@pytest.mark.parametrize(("text", "keys"), [
    (f"QDRANT__SERVICE__API_KEY='{OLD}'\nexport QDRANT__SERVICE__ALT_API_KEY=\"{NEW}\"\n", (OLD, NEW, None)),
    (f"QDRANT__SERVICE__API_KEY={OLD} # current\nQDRANT__SERVICE__ENFORCE_INTERNAL_AUTH=yes\n",
     (OLD, None, True)),
    ("QDRANT__SERVICE__API_KEY=\nQDRANT__SERVICE__ENFORCE_INTERNAL_AUTH=False\n", (None, None, False)),
    ("QDRANT__SERVICE__ENFORCE_INTERNAL_AUTH=maybe\n", (None, None, None)),
    ("# QDRANT__SERVICE__API_KEY=commented\n", (None, None, None)),
])
def test_env_file_read_keys(tmp_path: Path, text: str,
                            keys: tuple[str | None, str | None, bool | None]) -> None:
    env = tmp_path / "e.env"
    env.write_text(text)
    got = driver_for(env, "env-file").read_keys()
    assert (got.api_key, got.alt_api_key, got.enforce_internal_auth) == keys


def test_env_file_backup_and_idempotency(tmp_path: Path) -> None:
    env = tmp_path / "e.env"
    env.write_text(f"QDRANT__SERVICE__API_KEY={OLD}\n")
    driver = driver_for(env, "env-file")
    backup = driver.set_keys(OLD, NEW)
    assert backup is not None and Path(backup).read_text() == f"QDRANT__SERVICE__API_KEY={OLD}\n"
    assert stat.S_IMODE(os.stat(backup).st_mode) == 0o600
    assert driver.set_keys(OLD, NEW) is None
    assert len(files(tmp_path)) == 2


# -- the command driver ------------------------------------------------------------------------------
def _command_driver(tmp_path: Path, apply_body: str, restart: str = "true"):  # type: ignore[no-untyped-def]
    script = tmp_path / "set-keys.py"
    script.write_text(apply_body)
    spec = PeerSpec("node-2", "https://10.0.0.12:6333", 1, "command",
                    apply=f"{sys.executable} {script} {{name}} {{host}} {{index}}", restart=restart)
    return make_driver(spec, runner=SubprocessRunner(), timeout=30)


DUMP = """\
import json, os, sys
cmdline = open('/proc/self/cmdline', 'rb').read().decode()
with open(os.path.join(os.path.dirname(sys.argv[0]), 'seen.json'), 'w') as fh:
    json.dump({'argv': sys.argv[1:], 'cmdline': cmdline,
               'api': os.environ['QDRANTSEC_API_KEY'], 'alt': os.environ['QDRANTSEC_ALT_API_KEY']}, fh)
"""


def test_command_driver_passes_keys_only_in_the_environment(tmp_path: Path) -> None:
    driver = _command_driver(tmp_path, DUMP)
    assert driver.read_keys() is None
    assert driver.set_keys(NEW, OLD) is None
    seen = json.loads((tmp_path / "seen.json").read_text())
    assert seen["argv"] == ["node-2", "10.0.0.12", "1"]
    assert (seen["api"], seen["alt"]) == (NEW, OLD)
    assert OLD not in seen["cmdline"] and NEW not in seen["cmdline"]
    driver.set_keys(NEW, None)
    seen = json.loads((tmp_path / "seen.json").read_text())
    assert (seen["api"], seen["alt"]) == (NEW, "")  # empty: remove alt_api_key
    assert driver.describe() == (f"command {sys.executable} {tmp_path}/set-keys.py node-2 10.0.0.12 1, "
                                 "restart: true")


def test_command_driver_apply_failure_is_a_halt_naming_the_peer(tmp_path: Path) -> None:
    driver = _command_driver(tmp_path, "import os, sys\nprint('kubectl: forbidden for', "
                             "os.environ['QDRANTSEC_API_KEY'], file=sys.stderr)\nsys.exit(4)\n")
    with pytest.raises(ApplyError) as err:
        driver.set_keys(NEW, OLD)
    assert err.value.exit_code == ExitCode.HALTED
    assert err.value.message == (
        f"peer node-2: the apply command failed with exit status 4: {sys.executable} "
        f"{tmp_path}/set-keys.py node-2 10.0.0.12 1 "
        f"(last output: kubectl: forbidden for <key {fingerprint(NEW)}>)")
    assert err.value.hint == ("fix the cause (or the peer's apply command in the inventory), then run "
                              "'qdrantsec rotate-key resume'; the peer was not restarted")
    assert err.value.peer == "node-2"
    assert NEW not in repr(err.value.result)


# -- restart --------------------------------------------------------------------------------------
def test_restart_failure_names_peer_command_status_and_last_stderr_line(tmp_path: Path) -> None:
    script = tmp_path / "restart.sh"
    script.write_text("#!/bin/sh\necho restarting $1\n"
                      "echo 'ssh: connect to host node-1: refused' >&2\nexit 3\n")
    script.chmod(0o755)
    config = tmp_path / "c.yaml"
    config.write_text(f"service:\n  api_key: {OLD}\n")
    driver = driver_for(config, restart=f"{script} {{name}}")
    with pytest.raises(RestartError) as err:
        driver.restart()
    assert err.value.exit_code == ExitCode.HALTED
    assert err.value.message == (f"peer node-1: the restart command failed with exit status 3: "
                                 f"{script} node-1 "
                                 "(last output: ssh: connect to host node-1: refused)")
    assert err.value.hint == ("fix the cause (or the peer's restart command in the inventory), make sure "
                              "the peer runs, then run 'qdrantsec rotate-key resume'")
    assert driver.describe() == f"file {config}, restart: {script} node-1"


def test_restart_timeout_and_missing_command(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("{}\n")
    with pytest.raises(RestartError) as err:
        driver_for(config, restart="sleep 60", timeout=0.5).restart()
    assert err.value.message == ("peer node-1: the restart command did not finish within 0.5 s and "
                                 "was killed: sleep 60")
    with pytest.raises(RestartError) as err:
        driver_for(config, restart=f"{tmp_path}/nope {{index}}").restart()
    assert err.value.message == (f"peer node-1: the restart command was not found (exit status 127): "
                                 f"{tmp_path}/nope 0 "
                                 f"(last output: {tmp_path}/nope: No such file or directory)")


def test_a_key_the_restart_command_prints_is_not_in_the_message(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(f"service:\n  api_key: {OLD}\n")
    driver = driver_for(config, restart=f"cat {config}; exit 1")
    driver.set_keys(NEW, OLD)
    with pytest.raises(RestartError) as err:
        driver.restart()
    assert err.value.message.endswith(f"(last output: alt_api_key: \"<key {fingerprint(OLD)}>\")")
    for text in (str(err.value), repr(err.value), repr(err.value.result)):
        assert OLD not in text and NEW not in text


def test_known_keys_are_redacted_before_the_driver_has_seen_them(tmp_path: Path) -> None:
    """On a resume the driver may restart a peer without reading or writing its config first."""
    config = tmp_path / "c.yaml"
    config.write_text(f"service:\n  api_key: {NEW}\n")
    spec = PeerSpec("node-1", "http://127.0.0.1:6333", 0, "file", path=str(config),
                    restart=f"cat {config}; exit 1")
    with pytest.raises(RestartError) as err:
        make_driver(spec, known_keys=[OLD, NEW]).restart()
    assert err.value.message.endswith(f"(last output: api_key: <key {fingerprint(NEW)}>)")


def test_the_restart_command_gets_no_keys(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(f"service:\n  api_key: {OLD}\n")
    out = tmp_path / "env.txt"
    driver = driver_for(config, restart=f"{sys.executable} -c \"import os; open('{out}', 'w').write("
                                        "repr(sorted(k for k in os.environ if 'KEY' in k)))\"")
    driver.set_keys(NEW, OLD)
    driver.restart()
    assert out.read_text() == "[]"


# -- no key in any repr ----------------------------------------------------------------------------
def test_no_object_shows_a_key_in_its_repr(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(f"service:\n  api_key: {OLD}\n  alt_api_key: {NEW}\n")
    env = tmp_path / "e.env"
    env.write_text(f"QDRANT__SERVICE__API_KEY={OLD}\nQDRANT__SERVICE__ALT_API_KEY={NEW}\n")
    file_driver, env_driver = driver_for(config), driver_for(env, "env-file")
    command_driver = _command_driver(tmp_path, DUMP)
    command_driver.set_keys(NEW, OLD)
    objects: list[object] = [file_driver, env_driver, command_driver, file_driver.read_keys(),
                             env_driver.read_keys(), ConfigKeys(OLD, NEW, True), file_driver.spec]
    for obj in objects:
        for text in (repr(obj), str(obj)):
            assert OLD not in text and NEW not in text, text
    assert file_driver.read_keys().fingerprints() == (fingerprint(OLD), fingerprint(NEW))


def test_errors_are_qdrantsec_errors_with_the_halted_code() -> None:
    for cls in (RestartError, ApplyError):
        assert issubclass(cls, QdrantsecError) and cls.exit_code == ExitCode.HALTED == 20


# -- any config PyYAML can write ---------------------------------------------------------------------
_scalars = st.one_of(st.integers(-1000, 1000), st.booleans(), st.none(),
                     st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=12))
_names = st.text(alphabet="abcdefghij_", min_size=1, max_size=8).filter(lambda k: k not in ("service",))
_trees = st.recursive(_scalars, lambda kids: st.dictionaries(_names, kids, max_size=4), max_leaves=12)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(other=st.dictionaries(_names, _trees, max_size=4),
       service=st.one_of(st.none(), st.dictionaries(_names, _scalars, max_size=4)),
       keys=st.sampled_from([(None, None), (OLD, None), (OLD, NEW), (NEW, OLD)]),
       change=st.sampled_from([(OLD, NEW), (NEW, OLD), (NEW, None)]),
       flow=st.booleans(), indent=st.integers(2, 6), crlf=st.booleans())
def test_the_splice_edits_any_config_pyyaml_writes(
        other: dict[str, object], service: dict[str, object] | None, keys: tuple[str | None, str | None],
        change: tuple[str, str | None], flow: bool, indent: int, crlf: bool) -> None:
    """Block or flow style, any indentation, keys present or not: the result says exactly the
    new keys, everything else reads as before, and the round-trip fallback is never needed."""
    import yaml

    from qdrantsec.qdrant.config import qdrant_value
    from qdrantsec.rotation import yamledit
    from qdrantsec.yamlloc import load_located

    doc: dict[str, object] = dict(other)
    if service is not None or keys != (None, None):
        svc = dict(service or {})
        for name, value in zip(("api_key", "alt_api_key"), keys, strict=True):
            if value is not None:
                svc[name] = value
        doc["service"] = svc
    text = yaml.safe_dump(doc, default_flow_style=flow, indent=indent, sort_keys=False, width=4096)
    if crlf:
        text = text.replace("\n", "\r\n")

    def plain(t: str) -> object:
        docs = load_located(t, name="c")
        return qdrant_value(docs[0].root) if docs and docs[0].root is not None else {}

    def no_fallback(*args: object) -> str:
        raise AssertionError("the round trip was used")

    original = yamledit._round_trip
    yamledit._round_trip = no_fallback  # type: ignore[assignment]
    try:
        out = yamledit.edit_service_keys(text, {"api_key": change[0], "alt_api_key": change[1]}, name="c")
    finally:
        yamledit._round_trip = original  # type: ignore[assignment]
    after = plain(out)
    before = plain(text)
    assert isinstance(after, dict) and isinstance(before, dict)
    assert after["service"].get("api_key") == change[0]
    assert after["service"].get("alt_api_key") == change[1]
    # repr: a NaN equals itself, and the order of keys counts
    assert repr({k: v for k, v in after.items() if k != "service"}) == repr(
        {k: v for k, v in before.items() if k != "service"})
    if crlf:
        assert "\n" not in out.replace("\r\n", "")


_env_values = st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126,
                                             exclude_characters="'\"\\#$`"), min_size=1, max_size=10)
_env_names = st.sampled_from(["RUN_MODE", "QDRANT__SERVICE__HOST", "A", "QDRANT__SERVICE__API_KEY",
                              "qdrant__service__api_key", "QDRANT__SERVICE__ALT_API_KEY",
                              "QDRANT__SERVICE__READ_ONLY_API_KEY"])
_env_lines = st.one_of(
    st.just(""), st.just("# a comment"), st.just("; systemd comment"),
    st.builds(lambda export, name, q, v: f"{export}{name}={q}{v}{q}",
              st.sampled_from(["", "export "]), _env_names, st.sampled_from(["", "'", '"']), _env_values))


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(lines=st.lists(_env_lines, max_size=8), crlf=st.booleans(), final_eol=st.booleans(),
       change=st.sampled_from([(OLD, NEW), (NEW, OLD), (NEW, None)]))
def test_env_edit_keeps_every_other_line_of_any_env_file(lines: list[str], crlf: bool, final_eol: bool,
                                                         change: tuple[str, str | None]) -> None:
    from qdrantsec.rotation.envedit import edit_env_keys, read_env_vars

    eol = "\r\n" if crlf else "\n"
    text = eol.join(lines) + (eol if final_eol and lines else "")
    out = edit_env_keys(text, {"api_key": change[0], "alt_api_key": change[1]}, name="e.env")
    got = read_env_vars(out)
    assert got.get("QDRANT__SERVICE__API_KEY") == change[0]
    assert got.get("QDRANT__SERVICE__ALT_API_KEY") == change[1]

    def others(t: str) -> list[str]:
        keep = []
        for line in t.splitlines():
            name = line.removeprefix("export ").split("=", 1)[0].upper()
            if name not in ("QDRANT__SERVICE__API_KEY", "QDRANT__SERVICE__ALT_API_KEY"):
                keep.append(line)
        return keep

    assert others(out) == others(text)
    if "\r\n" in text:  # new lines take the file's line end
        assert "\n" not in out.replace("\r\n", "")
