"""Running the user's commands (``apply`` and ``restart`` hooks) safely.

- A command runs without a shell (``shlex.split``) unless its template uses shell syntax
  (a pipe, ``;``, ``&&``, a redirection, ``$VAR``, a glob...); then ``/bin/sh -c``.
- ``{name}``, ``{url}``, ``{host}`` and ``{index}`` are replaced by the peer's values, each
  shell-quoted (``shlex.quote``), which reads the same for ``shlex.split`` and for ``sh``;
  peer names are restricted to ``[A-Za-z0-9._-]`` and usually need no quotes at all.
- Keys reach a child only as the environment variables ``QDRANTSEC_API_KEY`` and
  ``QDRANTSEC_ALT_API_KEY`` (never argv, which every user of the machine can read in
  ``/proc/*/cmdline``); variables that may hold a key in qdrantsec's own environment
  (``QDRANT_API_KEY``, ``QDRANT__SERVICE__API_KEY``...) are removed from the child's, so that
  a stale key there cannot override the file a driver just edited (compose prefers the shell
  environment to ``.env``).
- Each command runs in its own process group with a timeout; on timeout the whole group is
  killed. Output goes to unlinked temporary files rather than pipes, so a restart script
  that leaves a daemon running in the background (which inherits stdout) does not keep us
  waiting; only the last lines are kept, with any key in them replaced by its fingerprint.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import signal
import subprocess
import tempfile
import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import IO, Protocol

from qdrantsec.errors import InputError

API_KEY_ENV = "QDRANTSEC_API_KEY"
ALT_API_KEY_ENV = "QDRANTSEC_ALT_API_KEY"
#: removed from every child's environment (compared case-insensitively: Qdrant reads its
#: QDRANT__ variables case-insensitively too)
SCRUBBED_ENV = ("QDRANT_API_KEY", "QDRANT__SERVICE__API_KEY", "QDRANT__SERVICE__ALT_API_KEY",
                "QDRANT__SERVICE__READ_ONLY_API_KEY", API_KEY_ENV, ALT_API_KEY_ENV)
PLACEHOLDERS = ("name", "url", "host", "index")
#: lines of output kept for messages
TAIL_LINES = 5
_TAIL_BYTES = 16 * 1024
_KILL_GRACE_S = 3.0
_SHELL_CHARS = set("|&;<>()$`*?[]\n")
_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=")
_PLACEHOLDER = re.compile(r"(?<!\$)\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True)
class CompletedCommand:
    """What a command did. ``command`` is the rendered command line (it never holds a key:
    keys are only in the environment, which is not kept)."""

    command: str
    shell: bool
    returncode: int | None  # None when it was killed on timeout
    timed_out: bool
    duration_s: float
    stdout_tail: tuple[str, ...] = ()
    stderr_tail: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.timed_out and self.returncode == 0

    def redacted(self, secrets: Collection[str]) -> CompletedCommand:
        """The same result with every one of ``secrets`` in the output replaced by its
        fingerprint (a restart script that prints the config it restarts with)."""
        import dataclasses

        return dataclasses.replace(self, stdout_tail=tuple(redact(x, secrets) for x in self.stdout_tail),
                                   stderr_tail=tuple(redact(x, secrets) for x in self.stderr_tail))

    def last_error_line(self) -> str | None:
        """The last non-blank line of stderr (else of stdout), one line, at most 200 chars."""
        for lines in (self.stderr_tail, self.stdout_tail):
            for line in reversed(lines):
                if line.strip():
                    text = "".join(c if c.isprintable() else "?" for c in line.strip())
                    return text if len(text) <= 200 else text[:197] + "..."
        return None


class Runner(Protocol):
    def run(self, argv_or_shell: str, *, env_extra: Mapping[str, str], timeout: float,
            what: str) -> CompletedCommand: ...


def needs_shell(command: str) -> bool:
    """True when ``command`` uses shell syntax that ``shlex.split`` cannot honour: outside
    quotes a pipe, list, redirection, subshell, glob, comment or ``~``; ``$`` or a backquote
    outside single quotes; or a leading ``VAR=value``. Unbalanced quotes count as shell
    syntax too (``check_template`` refuses them)."""
    quote = ""
    at_word_start = True
    i = 0
    while i < len(command):
        c = command[i]
        if quote == "'":
            quote = "" if c == "'" else quote
        elif c == "\\":
            i += 1  # the next character is literal (in double quotes too, for our purpose)
        elif quote == '"':
            if c in "$`":
                return True
            quote = "" if c == '"' else quote
        elif c in "'\"":
            quote = c
        elif c in _SHELL_CHARS or (c in "#~" and at_word_start):
            return True
        at_word_start = c in " \t"
        i += 1
    if quote:
        return True
    try:
        words = shlex.split(command)
    except ValueError:
        return True
    return bool(words) and bool(_ASSIGNMENT.match(words[0]))


def check_template(template: str, *, what: str) -> None:
    """Refuse a template with an unknown ``{placeholder}`` (a typo would run literally), an
    empty command, or unbalanced quotes. ``${VAR}`` is shell syntax and left alone."""
    for m in _PLACEHOLDER.finditer(template):
        if m.group(1) not in PLACEHOLDERS:
            raise InputError(
                f"{what}: unknown placeholder {{{m.group(1)}}}",
                hint="known placeholders: " + ", ".join("{" + p + "}" for p in PLACEHOLDERS))
    rendered = render_template(template, {p: "x" for p in PLACEHOLDERS})
    if not rendered.strip():
        raise InputError(f"{what} is empty")
    try:
        shlex.split(rendered)  # sh would fail on the same unbalanced quotes
    except ValueError as exc:
        raise InputError(f"{what}: cannot split the command: {exc}",
                         hint="check its quotes") from None


def render_template(template: str, values: Mapping[str, str]) -> str:
    """Replace the known placeholders by their shell-quoted values."""

    def sub(m: re.Match[str]) -> str:
        name = m.group(1)
        return shlex.quote(values[name]) if name in values else m.group(0)

    return _PLACEHOLDER.sub(sub, template)


def render_path(template: str, values: Mapping[str, str]) -> str:
    """Replace the known placeholders in a file path (no quoting: it is not a command)."""
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), template)


@dataclass
class SubprocessRunner:
    """Runs commands as child processes of this one. ``scrub`` names more variables to
    remove from the children's environment (e.g. the one ``--api-key-env`` named)."""

    scrub: Collection[str] = ()
    base_env: Mapping[str, str] | None = field(default=None, repr=False)

    def run(self, argv_or_shell: str, *, env_extra: Mapping[str, str], timeout: float,
            what: str) -> CompletedCommand:
        shell = needs_shell(argv_or_shell)
        if shell:
            argv = ["/bin/sh", "-c", argv_or_shell]
        else:
            try:
                argv = shlex.split(argv_or_shell)
            except ValueError as exc:  # checked when the inventory loads; a last guard
                raise InputError(f"{what}: cannot split the command: {exc}") from None
            if not argv:
                raise InputError(f"{what} is empty")
        env = self._child_env(env_extra)
        secrets = [v for v in env_extra.values() if v]
        started = time.monotonic()
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            try:
                proc = subprocess.Popen(  # argv: a shell only when the template uses shell syntax
                    argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=env,
                    start_new_session=True, close_fds=True)
            except OSError as exc:
                # as a shell would say it: 127 not found, 126 not executable
                code = 127 if isinstance(exc, FileNotFoundError) else 126
                return CompletedCommand(argv_or_shell, shell, code, False, 0.0, (),
                                        (f"{argv[0]}: {exc.strerror}",))
            timed_out = False
            try:
                returncode: int | None = proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                timed_out = True
                _kill_group(proc)
                returncode = None
            except BaseException:  # Ctrl-C: do not leave a half-run hook behind
                _kill_group(proc)
                raise
            duration = time.monotonic() - started
            return CompletedCommand(argv_or_shell, shell, returncode, timed_out, duration,
                                    _tail(out, secrets), _tail(err, secrets))

    def _child_env(self, env_extra: Mapping[str, str]) -> dict[str, str]:
        base = dict(os.environ if self.base_env is None else self.base_env)
        drop = {n.upper() for n in (*SCRUBBED_ENV, *self.scrub)}
        env = {k: v for k, v in base.items() if k.upper() not in drop}
        env.update(env_extra)
        return env


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the command's process group, SIGKILL after a grace period."""
    for sig, grace in ((signal.SIGTERM, _KILL_GRACE_S), (signal.SIGKILL, _KILL_GRACE_S)):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            continue
        if sig == signal.SIGTERM:
            # the leader is gone; members that ignored SIGTERM are killed too
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
        return


def redact(text: str, secrets: Collection[str]) -> str:
    """``text`` with each non-empty secret replaced by ``<key sha256:...>``."""
    from qdrantsec.secrets import fingerprint

    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(secret, f"<key {fingerprint(secret)}>")
    return text


def _tail(fh: IO[bytes], secrets: list[str]) -> tuple[str, ...]:
    fh.flush()
    size = fh.seek(0, os.SEEK_END)
    fh.seek(max(0, size - _TAIL_BYTES))
    text = redact(fh.read().decode("utf-8", "replace"), secrets)
    lines = text.splitlines()
    if size > _TAIL_BYTES and lines:
        lines = lines[1:]  # the first line is probably cut
    return tuple(lines[-TAIL_LINES:])
