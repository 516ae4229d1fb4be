"""Reading a file once: bytes, text, YAML documents with positions, env lines.

Every input file goes through ``Sources.get`` so that a file used twice (a config file
linted on its own and mounted by a compose service, an env file given with ``--env-file``
and referenced by ``env_file:``) is read and parsed once. Problems that make a file
unusable (too large, binary, not UTF-8, invalid YAML, an alias bomb) are recorded on the
``SourceFile`` instead of raised, so one bad file never stops the others.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from qdrantsec.fsutil import (
    MAX_DOCUMENT_BYTES,
    MAX_ENV_BYTES,
    FileTooLargeError,
    NotRegularFileError,
    read_limited,
)
from qdrantsec.lint.inputs.envfile import EnvVar, parse_env_lines
from qdrantsec.yamlloc import LocatedDoc, YamlSyntaxError, load_located

#: Files above this size are not parsed (QS001 "too large"); env files have a smaller cap.
MAX_BYTES = MAX_DOCUMENT_BYTES


@dataclass
class Problem:
    """Why a file could not be used, with the position when there is one."""

    message: str
    line: int | None = None
    column: int | None = None
    unreadable: bool = False  # missing or no permission (an input error), not bad content
    template: bool = False  # a Helm/Jinja template (`{{ ... }}`): not YAML until rendered


@dataclass
class SourceFile:
    path: str  # as shown to the user (relative to where qdrantsec runs, when given so)
    text: str | None = None
    problem: Problem | None = None  # unreadable, too large, binary, not UTF-8
    _docs: list[LocatedDoc] | None = field(default=None, repr=False)
    _yaml_problem: Problem | None = field(default=None, repr=False)
    _env: list[EnvVar] | None = field(default=None, repr=False)
    _lines: list[str] | None = field(default=None, repr=False)

    @property
    def empty(self) -> bool:
        return self.text is not None and not self.text.strip()

    def docs(self) -> list[LocatedDoc]:
        """The YAML documents (parsed once); empty when the file is not valid YAML (see
        ``yaml_problem``)."""
        if self._docs is None:
            self._docs = []
            if self.text is not None:
                try:
                    self._docs = load_located(self.text, name=self.path)
                except YamlSyntaxError as exc:
                    self._yaml_problem = template_problem(self.text, exc.line) or Problem(
                        f"invalid YAML: {exc.problem}", exc.line, exc.column)
        return self._docs

    @property
    def yaml_problem(self) -> Problem | None:
        self.docs()
        return self._yaml_problem

    def env(self) -> list[EnvVar]:
        """The ``KEY=VALUE`` lines of an env file (parsed once)."""
        if self._env is None:
            self._env = parse_env_lines(self.text or "")
        return self._env

    def lines(self) -> list[str]:
        if self._lines is None:
            self._lines = (self.text or "").splitlines()
        return self._lines


def template_problem(text: str, error_line: int | None = None) -> Problem | None:
    """For text that is not valid YAML because it is a template (``{{ ... }}`` / ``{% ... %}``,
    Helm or Jinja): a problem that says so, at the first placeholder. None when it is no
    template, or when the YAML error (``error_line``) is nowhere near a placeholder (a real
    syntax error in a file that merely quotes a ``{{ }}`` somewhere)."""
    at = text.find("{{")
    if at < 0:
        return None
    if error_line is not None:
        lines = text.splitlines()
        near = lines[max(error_line - 3, 0):error_line + 1]
        if not any("{{" in ln or "{%" in ln for ln in near):
            return None
    line = text.count("\n", 0, at) + 1
    column = at - (text.rfind("\n", 0, at) + 1) + 1
    return Problem(
        f"a template (`{{{{ ... }}}}` at line {line}), not YAML until rendered; lint the rendered "
        "output instead (e.g. `helm template RELEASE CHART -f values.yaml > rendered.yaml`)",
        line, column, template=True)


def read_source(path: str, *, limit: int = MAX_BYTES, pipe_ok: bool = False) -> SourceFile:
    """Read ``path`` once, never raising for a bad file (see ``SourceFile.problem``).

    Only a regular file is read (``pipe_ok``: a pipe too, for a path named on the command
    line such as ``<(helm template ...)``), and at most ``limit`` bytes of it: a FIFO or a
    device named in a linted file (``env_file: /dev/zero``) is a problem, never a hang."""
    src = SourceFile(path)
    try:
        raw = read_limited(path, limit=limit, pipe_ok=pipe_ok)
    except FileTooLargeError as exc:
        size = (f"{exc.size} bytes, the limit is {exc.limit}" if exc.size is not None
                else f"more than the limit of {exc.limit} bytes")  # a pipe: its size is unknown
        src.problem = Problem(f"file too large ({size}); not linted")
        return src
    except NotRegularFileError as exc:
        src.problem = Problem(f"{exc.strerror}; not read", unreadable=True)
        return src
    except FileNotFoundError:
        src.problem = Problem("file not found", unreadable=True)
        return src
    except PermissionError:
        src.problem = Problem("file not readable (permission denied)", unreadable=True)
        return src
    except IsADirectoryError:
        src.problem = Problem("is a directory", unreadable=True)
        return src
    except OSError as exc:
        src.problem = Problem(f"cannot read file: {exc.strerror or exc}", unreadable=True)
        return src
    if b"\0" in raw[:8192]:
        src.problem = Problem("binary file, not YAML or env text")
        return src
    try:
        src.text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start]
        line = before.count(b"\n") + 1
        col = exc.start - (before.rfind(b"\n") + 1) + 1
        src.problem = Problem("not UTF-8 text", line, col)
    return src


#: The file cache of the lint run in progress (the engine sets it for the run): a rule that
#: needs a file's text (QS207 looks at the line a value came from) takes it from there
#: instead of reading the file again.
ACTIVE: Sources | None = None


def lines_if_read(path: str) -> list[str] | None:
    """The lines of ``path`` when the run in progress holds its text, else None."""
    src = ACTIVE.known(path) if ACTIVE is not None else None
    return src.lines() if src is not None and src.text is not None else None


class Sources:
    """A cache of ``SourceFile`` by path: each file is read at most once per run."""

    def __init__(self) -> None:
        self._files: dict[str, SourceFile] = {}

    def get(self, path: str, *, named: bool = False, env: bool = False) -> SourceFile:
        """The file at ``path``, read on first use: ``named`` when the command line names
        it (then a pipe may be read too), ``env`` when it is used as an env file (a
        smaller cap). A file referenced from a linted file is neither."""
        key = os.path.normpath(path)
        src = self._files.get(key)
        if src is None:
            src = read_source(path, limit=MAX_ENV_BYTES if env else MAX_BYTES, pipe_ok=named)
            self._files[key] = src
        return src

    def known(self, path: str) -> SourceFile | None:
        return self._files.get(os.path.normpath(path))

    def release(self, keep: set[str] | frozenset[str] = frozenset()) -> None:
        """Forget every file but ``keep`` (normalised paths): a run done with a directory
        lets go of its parsed files (a file needed again is read again)."""
        self._files = {k: v for k, v in self._files.items() if k in keep}

    def lines(self, path: str) -> list[str]:
        """Lines of a file for inline suppressions (read on demand, cached)."""
        return self.get(path).lines() if path else []
