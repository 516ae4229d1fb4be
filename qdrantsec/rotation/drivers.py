"""How one peer's keys change and how it restarts.

- ``file``: the peer's Qdrant YAML config; ``service.api_key`` / ``service.alt_api_key``
  edited in place, comments and formatting kept (``yamledit``).
- ``env-file``: a systemd ``EnvironmentFile=`` or compose ``.env`` holding
  ``QDRANT__SERVICE__API_KEY`` / ``QDRANT__SERVICE__ALT_API_KEY`` (``envedit``).
- ``command``: the user's ``apply`` command, which gets the keys in its environment only
  (``QDRANTSEC_API_KEY``, ``QDRANTSEC_ALT_API_KEY``; empty means remove).

Every driver then runs the peer's ``restart`` command (``runner``). The file drivers write
atomically (temp file in the same directory, fsync, rename; the file's mode and owner are
kept where the user may keep them) and keep the previous content as
``FILE.qdrantsec-bak-<UTC time>`` (mode 0600: it holds a key). Setting what the file already
says writes nothing, so every step can be repeated after a crash.

What a driver reads is what its file says: the file driver cannot see a
``QDRANT__SERVICE__API_KEY`` set in the service's environment, nor the env-file driver a key in
the YAML config. The engine checks what each peer actually accepts.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import tempfile
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Protocol

from qdrantsec.errors import InputError, QdrantsecError
from qdrantsec.exit_codes import ExitCode
from qdrantsec.rotation.inventory import PeerSpec
from qdrantsec.rotation.runner import (
    ALT_API_KEY_ENV,
    API_KEY_ENV,
    CompletedCommand,
    Runner,
    SubprocessRunner,
    render_template,
)

#: a config or env file larger than this is refused (Qdrant's are a few KiB)
MAX_CONFIG_BYTES = 4 * 1024 * 1024
#: how long an apply or restart command may run before its process group is killed
DEFAULT_COMMAND_TIMEOUT_S = 300.0
BACKUP_MODE = 0o600
_BOM = "\ufeff"


class RestartError(QdrantsecError):
    """A peer's restart command failed or timed out; the rollout stops before the next peer."""

    exit_code = ExitCode.HALTED

    def __init__(self, message: str, *, hint: str | None = None, peer: str = "",
                 result: CompletedCommand | None = None) -> None:
        super().__init__(message, hint=hint)
        self.peer = peer
        self.result = result


class ApplyError(QdrantsecError):
    """A peer's keys could not be changed (the apply command failed, the file cannot be
    written); the rollout stops before the next peer."""

    exit_code = ExitCode.HALTED

    def __init__(self, message: str, *, hint: str | None = None, peer: str = "",
                 result: CompletedCommand | None = None) -> None:
        super().__init__(message, hint=hint)
        self.peer = peer
        self.result = result


@dataclass(frozen=True)
class ConfigKeys:
    """What the peer's config (as the driver can read it) says."""

    api_key: str | None = field(repr=False)  # None = not set (Qdrant treats "" as unset too)
    alt_api_key: str | None = field(repr=False)
    enforce_internal_auth: bool | None  # None = cannot tell
    #: where this was read, e.g. "file /etc/qdrant/config.yaml"
    source: str = ""

    def fingerprints(self) -> tuple[str | None, str | None]:
        from qdrantsec.secrets import fingerprint

        return (fingerprint(self.api_key) if self.api_key is not None else None,
                fingerprint(self.alt_api_key) if self.alt_api_key is not None else None)


class Driver(Protocol):
    spec: PeerSpec

    def describe(self) -> str: ...

    def read_keys(self) -> ConfigKeys | None: ...

    def set_keys(self, api_key: str, alt_api_key: str | None) -> str | None: ...

    def restart(self) -> None: ...


def make_driver(spec: PeerSpec, *, runner: Runner | None = None,
                timeout: float = DEFAULT_COMMAND_TIMEOUT_S,
                clock: Callable[[], dt.datetime] | None = None,
                known_keys: Collection[str] = ()) -> Driver:
    """The driver of ``spec.driver``; ``runner`` and ``clock`` (backup names) are injectable.
    ``known_keys`` (the old and new key) are replaced by their fingerprints in any command
    output a message quotes, even before the driver has read or written them (a resume)."""
    run = runner if runner is not None else SubprocessRunner()
    now = clock or (lambda: dt.datetime.now(dt.timezone.utc))
    driver: _Base
    if spec.driver == "file":
        driver = FileDriver(spec, run, timeout, now)
    elif spec.driver == "env-file":
        driver = EnvFileDriver(spec, run, timeout, now)
    elif spec.driver == "command":
        driver = CommandDriver(spec, run, timeout)
    else:
        raise InputError(f"peer {spec.name}: unknown driver {spec.driver!r}")
    driver._remember(*known_keys)
    return driver  # type: ignore[return-value]


def check_key(value: str, *, role: str) -> None:
    """A key Qdrant can use: non-empty visible ASCII (anything else makes Qdrant panic when
    it builds its internal channels, facts 2.6). Named by fingerprint only."""
    from qdrantsec.secrets import fingerprint

    if not value:
        raise InputError(f"{role} is empty")
    if not all("!" <= c <= "~" for c in value):
        raise InputError(f"{role} {fingerprint(value)} has characters other than visible ASCII "
                         "(Qdrant panics on them)",
                         hint="use a key of letters, digits and -_.+/= (qdrantsec key generate makes one)")


@dataclass
class _Base:
    spec: PeerSpec
    runner: Runner = field(repr=False)
    timeout: float = DEFAULT_COMMAND_TIMEOUT_S
    #: every key this driver has read or written: redacted from command output in messages
    _seen: set[str] = field(default_factory=set, init=False, repr=False)

    def _remember(self, *keys: str | None) -> None:
        self._seen.update(k for k in keys if k)

    def _restart_command(self) -> str:
        assert self.spec.restart is not None  # the inventory requires it
        return render_template(self.spec.restart, self.spec.template_values())

    def restart(self) -> None:
        self._run_hook("restart", self._restart_command(), {}, RestartError,
                       "fix the cause (or the peer's restart command in the inventory), make sure "
                       "the peer runs, then run 'qdrantsec rotate-key resume'")

    def _run_hook(self, kind: str, command: str, env: dict[str, str],
                  error: type[RestartError] | type[ApplyError], hint: str) -> None:
        """Run the peer's ``kind`` command; a failure raises ``error`` naming the peer, the
        command, how it failed and its last stderr line (keys it saw shown as fingerprints)."""
        result = self.runner.run(command, env_extra=env, timeout=self.timeout,
                                 what=f"peer {self.spec.name}: {kind}").redacted(self._seen)
        if not result.ok:
            raise error(
                f"peer {self.spec.name}: the {kind} command {_failure(result, self.timeout)}: {command}"
                + _stderr_part(result), hint=hint, peer=self.spec.name, result=result)


@dataclass
class _FileBase(_Base):
    clock: Callable[[], dt.datetime] = field(default=lambda: dt.datetime.now(dt.timezone.utc),
                                             repr=False)
    kind = "file"

    @property
    def path(self) -> str:
        assert self.spec.path is not None  # the inventory requires it
        return self.spec.path

    def describe(self) -> str:
        return f"{self.kind} {self.path}, restart: {self._restart_command()}"

    def _read(self) -> tuple[str, bool]:
        """The file's text and whether it starts with a BOM (kept on write)."""
        from qdrantsec.fsutil import read_bytes

        raw = read_bytes(self.path, what=f"peer {self.spec.name}: {self.kind}", limit=MAX_CONFIG_BYTES)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise InputError(f"peer {self.spec.name}: {self.kind} {self.path} is not UTF-8 text") from None
        if text.startswith(_BOM):
            return text[1:], True
        return text, False

    def _edit(self, text: str, api_key: str, alt_api_key: str | None) -> str:
        raise NotImplementedError

    def set_keys(self, api_key: str, alt_api_key: str | None) -> str | None:
        self._remember(api_key, alt_api_key)
        check_key(api_key, role="api_key")
        if alt_api_key is not None:
            check_key(alt_api_key, role="alt_api_key")
        text, bom = self._read()
        new = self._edit(text, api_key, alt_api_key)
        if new == text:
            return None
        return replace_file(self.path, (_BOM if bom else "") + new, previous=(_BOM if bom else "") + text,
                            now=self.clock(), peer=self.spec.name)


class FileDriver(_FileBase):
    """A Qdrant YAML config file."""

    kind = "file"

    def read_keys(self) -> ConfigKeys | None:
        from qdrantsec.qdrant.config import build_effective
        from qdrantsec.yamlloc import load_located

        text, _ = self._read()
        docs = [d for d in load_located(text, name=self.path) if d.root is not None]
        if len(docs) > 1:
            raise InputError(f"{self.path}: expected one YAML document, found {len(docs)}")
        root = docs[0].root if docs else None
        cfg = build_effective([(self.path, root)] if root is not None else [])
        keys = ConfigKeys(
            api_key=_string_setting(cfg.get("service.api_key"), "service.api_key", self.path),
            alt_api_key=_string_setting(cfg.get("service.alt_api_key"), "service.alt_api_key", self.path),
            enforce_internal_auth=_file_bool(cfg.get("service.enforce_internal_auth")),
            source=f"file {self.path}",
        )
        self._remember(keys.api_key, keys.alt_api_key)
        return keys

    def _edit(self, text: str, api_key: str, alt_api_key: str | None) -> str:
        from qdrantsec.rotation.yamledit import edit_service_keys

        return edit_service_keys(text, {"api_key": api_key, "alt_api_key": alt_api_key}, name=self.path)


class EnvFileDriver(_FileBase):
    """A systemd EnvironmentFile or a compose .env with QDRANT__SERVICE__ variables."""

    kind = "env-file"

    def read_keys(self) -> ConfigKeys | None:
        from qdrantsec.qdrant.config import coerce_env_value
        from qdrantsec.rotation.envedit import ENFORCE_NAME, NAMES, read_env_vars

        text, _ = self._read()
        env = read_env_vars(text)
        enforce: bool | None = None
        if ENFORCE_NAME in env:
            value, error = coerce_env_value("service.enforce_internal_auth", env[ENFORCE_NAME])
            enforce = value if error is None and isinstance(value, bool) else None
        keys = ConfigKeys(api_key=env.get(NAMES["api_key"]) or None,
                          alt_api_key=env.get(NAMES["alt_api_key"]) or None,
                          enforce_internal_auth=enforce, source=f"env-file {self.path}")
        self._remember(keys.api_key, keys.alt_api_key)
        return keys

    def _edit(self, text: str, api_key: str, alt_api_key: str | None) -> str:
        from qdrantsec.rotation.envedit import edit_env_keys

        return edit_env_keys(text, {"api_key": api_key, "alt_api_key": alt_api_key}, name=self.path)


@dataclass
class CommandDriver(_Base):
    """The user's ``apply`` command sets the keys (a Kubernetes Secret, a vault, ...)."""

    def _apply_command(self) -> str:
        assert self.spec.apply is not None  # the inventory requires it
        return render_template(self.spec.apply, self.spec.template_values())

    def describe(self) -> str:
        return f"command {self._apply_command()}, restart: {self._restart_command()}"

    def read_keys(self) -> ConfigKeys | None:
        return None

    def set_keys(self, api_key: str, alt_api_key: str | None) -> str | None:
        """Runs ``apply`` every time: it must be idempotent itself."""
        self._remember(api_key, alt_api_key)
        check_key(api_key, role="api_key")
        if alt_api_key is not None:
            check_key(alt_api_key, role="alt_api_key")
        self._run_hook("apply", self._apply_command(),
                       {API_KEY_ENV: api_key, ALT_API_KEY_ENV: alt_api_key or ""}, ApplyError,
                       "fix the cause (or the peer's apply command in the inventory), then run "
                       "'qdrantsec rotate-key resume'; the peer was not restarted")
        return None


# -- helpers -------------------------------------------------------------------------------
def _failure(result: CompletedCommand, timeout: float) -> str:
    import signal

    if result.timed_out:
        return f"did not finish within {timeout:g} s and was killed"
    code = result.returncode
    if code is not None and code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    if code == 127:
        return "was not found (exit status 127)"
    return f"failed with exit status {code}"


def _stderr_part(result: CompletedCommand) -> str:
    line = result.last_error_line()
    return f" (last output: {line})" if line else ""


def _string_setting(value: object, path: str, file: str) -> str | None:
    """A key as Qdrant reads it from YAML: config-rs turns a number or boolean into the
    string setting (``api_key: 123`` is the key "123"); an empty string is unset."""
    if value is None:
        return None
    if isinstance(value, bool):
        value = "true" if value else "false"
    elif isinstance(value, int):
        value = str(value)
    elif isinstance(value, float):
        value = _rust_float(value)
    if not isinstance(value, str):
        raise InputError(f"{file}: {path} is not a string")
    return value or None


def _file_bool(value: object) -> bool | None:
    """``service.enforce_internal_auth`` as the file says it. Absent is "cannot tell", not
    Qdrant's default (off): a ``QDRANT__SERVICE__ENFORCE_INTERNAL_AUTH`` in the service's
    environment or another config layer may turn it on, and guessing "off" would choose the
    sequence that breaks internal calls. config-rs takes an integer as ``!= 0``; any other
    value would stop Qdrant from starting: cannot tell either."""
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value != 0
    return None


def _rust_float(value: float) -> str:
    """A float as Rust's ``to_string`` writes it (no exponent, no trailing ``.0``)."""
    from decimal import Decimal

    text = format(Decimal(repr(value)), "f")
    return text[:-2] if text.endswith(".0") else text


def replace_file(path: str, data: str, *, previous: str, now: dt.datetime, peer: str = "") -> str:
    """Atomically replace ``path`` (a symlink's target, so the link stays) with ``data``,
    keeping its mode and, where allowed, its owner and group; ``previous`` is first saved
    as ``<path>.qdrantsec-bak-<UTC time>`` with mode 0600. Returns the backup's path."""
    target = os.path.realpath(path)
    directory = os.path.dirname(target)
    who = f"peer {peer}: " if peer else ""
    try:
        st = os.stat(target)
        backup = _write_backup(target, previous.encode(), now)
        fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(target)}.", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise ApplyError(f"{who}cannot write {path}: {exc.strerror}", peer=peer,
                         hint="run qdrantsec as a user that may write the file and its directory") from None
    try:
        try:
            os.fchown(fd, st.st_uid, st.st_gid)
        except OSError:
            with contextlib.suppress(OSError):
                os.fchown(fd, -1, st.st_gid)
        os.fchmod(fd, st.st_mode & 0o7777)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data.encode())
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
        _fsync_dir(directory)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise ApplyError(f"{who}cannot write {path}: {exc.strerror}", peer=peer,
                         hint=f"the previous content is in {backup}") from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return backup


def _write_backup(target: str, data: bytes, now: dt.datetime) -> str:
    stamp = now.astimezone(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    base = f"{target}.qdrantsec-bak-{stamp}"
    for n in range(1000):
        name = base if n == 0 else f"{base}-{n}"
        try:
            fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, BACKUP_MODE)
        except FileExistsError:
            continue
        try:
            os.fchmod(fd, BACKUP_MODE)  # whatever the umask
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(name)
            raise
        return name
    raise FileExistsError(f"too many backups named {base}-N")


def _fsync_dir(directory: str) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
