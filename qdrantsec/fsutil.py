"""Safe file writes and bounded reads.

Writes: temp file in the same directory, fsync, then rename. Nothing already on disk is
lost or half-written: the old file stays intact until the new one is complete, and secrets
are created with their final mode from the start (the temp file is opened 0600 before a
single byte is written).

Reads (``read_limited``, ``read_bytes``, ``read_text``, ``read_stdin``): only regular files
(a pipe only when the command line names it), each kind under its cap, the MAX_* constants
below; the README's "Input limits" section lists them.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
from collections.abc import Iterable
from pathlib import Path

from qdrantsec.errors import InputError

SECRET_MODE = 0o600
#: the longest file name (one path component) and whole path Linux accepts, in bytes; past
#: them every call fails with ENAMETOOLONG, which pathlib's is_dir()/exists() raise
NAME_MAX = 255
PATH_MAX = 4096


def path_problem(path: str | os.PathLike[str]) -> str | None:
    """Why no file can have this name (a component over NAME_MAX bytes, the whole path
    over PATH_MAX), or None."""
    raw = os.fsencode(path)
    if len(raw) >= PATH_MAX:
        return f"the path is longer than {PATH_MAX - 1} bytes"
    if any(len(part) > NAME_MAX for part in raw.split(b"/")):
        return f"a name in the path is longer than {NAME_MAX} bytes"
    return None


def check_path(path: str | os.PathLike[str], what: str = "path") -> None:
    """An InputError for a path that no file can have (see ``path_problem``)."""
    problem = path_problem(path)
    if problem:
        raise InputError(f"{what} {os.fspath(path)}: {problem}")


def _pieces(data: bytes | str | Iterable[bytes | str]) -> Iterable[bytes]:
    if isinstance(data, bytes):
        return (data,)
    if isinstance(data, str):
        return (data.encode(),)
    return (piece.encode() if isinstance(piece, str) else piece for piece in data)


def atomic_write(
    path: str | os.PathLike[str],
    data: bytes | str | Iterable[bytes | str],
    *,
    mode: int = 0o644,
    overwrite: bool = False,
    backup: bool = False,
    stream_ok: bool = False,
) -> Path | None:
    """Write ``data`` to ``path`` atomically with ``mode``.

    Refuses to replace an existing file (or a symlink, even a dangling one) unless
    ``overwrite``; with ``backup`` the old file is kept as ``<name>.bak`` (or
    ``<name>.bak.N``). Returns the backup path, if any.

    A target that is not a regular file (``/dev/stdout``, ``/dev/null``, a FIFO) is never
    replaced by the rename, which would destroy a device node when run as root: with
    ``stream_ok`` (reports) the data is written into it, otherwise it is refused.

    ``data`` may come in pieces (an iterable of bytes or str, e.g. a report rendered a
    finding at a time); they are written one after the other, never joined in memory.
    """
    target = Path(str(path))
    pieces = _pieces(data)
    if not str(path):
        raise InputError("the output file name is empty")
    check_path(target, "output file")
    if str(path).endswith(("/", os.sep)):  # Path() would drop the slash and write a file "dir"
        raise InputError(f"{path} ends with '/': give a file name, not a directory")
    parent = target.parent if str(target.parent) else Path(".")
    if not parent.is_dir():
        raise InputError(f"directory does not exist: {parent}")
    if target.is_dir():
        raise InputError(f"{target} is a directory")
    try:
        st: os.stat_result | None = os.stat(target)
    except OSError:
        st = None  # missing, or a dangling symlink
    if is_special_path(target) or (st is not None and not stat.S_ISREG(st.st_mode)):
        if not stream_ok:
            raise InputError(f"{target} is not a regular file; refusing to replace it")
        return _write_stream(target, pieces)
    if os.path.lexists(target) and not overwrite:
        raise InputError(f"{target} already exists", hint="use --force to replace it")
    for stale in stale_temps(parent, target.name):  # a killed run's temp file (maybe a key)
        with contextlib.suppress(OSError):
            if not stale.is_dir():
                os.unlink(stale)
    try:
        fd, tmp = tempfile.mkstemp(prefix=temp_prefix(target.name), suffix=".tmp", dir=parent)
    except OSError as exc:
        raise InputError(f"cannot write in {parent}: {exc.strerror}") from None
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as fh:
            for piece in pieces:
                fh.write(piece)
            fh.flush()
            os.fsync(fh.fileno())
        crash_point()
        backup_path = None
        if backup and os.path.lexists(target):
            backup_path = _free_backup_name(target)
            os.link(target, backup_path, follow_symlinks=False)  # a symlink is kept as one
            crash_point()
        os.replace(tmp, target)
        crash_point()
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise InputError(f"cannot write {target}: {exc.strerror}") from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return backup_path


#: Temp files and directories are named ``.<target>.qdrantsec-<pid>-<random>``: a later run
#: removes those whose process is gone (a run killed mid-write), never a live run's.
TEMP_TAG = "qdrantsec-"


def temp_prefix(name: str) -> str:
    """The prefix for this process's temp files (or directories) for target ``name``."""
    return f".{name}.{TEMP_TAG}{os.getpid()}-"


def stale_temps(directory: str | os.PathLike[str], name: str) -> list[Path]:
    """Temp files or directories for target ``name`` in ``directory`` whose writer is gone."""
    import re

    pattern = re.compile(rf"\.{re.escape(name)}\.{TEMP_TAG}(\d{{1,10}})-")
    found = []
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return []
    for entry in entries:
        m = pattern.match(entry.name)
        if m and not _alive(int(m.group(1))):
            found.append(Path(directory) / entry.name)
    return found


def _alive(pid: int) -> bool:
    if pid == os.getpid():  # this process has not made one yet: an older process's pid
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True  # another user's live process (or not a pid): leave it alone
    return True


_crash_count = 0


def crash_point() -> None:
    """A test hook, inert unless the environment sets ``QDRANTSEC_TEST_KILL_AFTER=N``: then
    the process SIGKILLs itself at the Nth file operation of a write (file written and
    fsynced, link, rename, directory exchange or removal). For tests only
    (tests/certs/test_kill.py): it proves a run killed at any step leaves a whole set."""
    global _crash_count
    limit = os.environ.get("QDRANTSEC_TEST_KILL_AFTER")
    if not limit:
        return
    _crash_count += 1
    if str(_crash_count) == limit.strip():
        import signal

        os.kill(os.getpid(), signal.SIGKILL)


def is_special_path(path: str | os.PathLike[str]) -> bool:
    """A path under /dev or /proc (``/dev/stdout``, ``/dev/fd/63``, ``/proc/self/fd/1``):
    never replaced by a rename, even when it leads to a regular file (``/dev/stdout`` is a
    symlink to the file the shell redirected stdout to)."""
    return os.path.abspath(path).startswith(("/dev/", "/proc/"))


def _write_stream(target: Path, data: Iterable[bytes]) -> None:
    """Write into a device or FIFO (e.g. ``--output /dev/stdout``) without replacing it.

    Opened with O_NONBLOCK, so that a FIFO nobody reads from is an error (ENXIO) instead of
    a wait forever; ``>(cmd)`` works, its reader holds the pipe already. The writes block."""
    try:
        fd = os.open(target, os.O_WRONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    except OSError as exc:
        if exc.errno == errno.ENXIO:
            raise InputError(f"cannot write {target}: no process is reading from it") from None
        raise InputError(f"cannot write {target}: {exc.strerror}") from None
    try:
        os.set_blocking(fd, True)
        with os.fdopen(fd, "wb") as fh:
            for piece in data:
                fh.write(piece)
    except OSError as exc:
        raise InputError(f"cannot write {target}: {exc.strerror}") from None
    return None


def _free_backup_name(target: Path) -> Path:
    candidate = target.with_name(target.name + ".bak")
    n = 1
    while os.path.lexists(candidate):
        candidate = target.with_name(f"{target.name}.bak.{n}")
        n += 1
    return candidate


# -- bounded reads ----------------------------------------------------------------------
#
# Every file qdrantsec reads is opened only when it is a regular file (a symlink counts as
# what it leads to), and read with a size cap for its kind: a linted repository must not be
# able to hang or exhaust the memory of the CI job that lints it (``tls: {cert: /dev/zero}``,
# a FIFO named ``config.yaml``, a 5 GB "values.yaml"). The caps, named once here and listed
# in the README's "Input limits" section:

#: YAML and JSON documents: linted files, ``--qdrant-config``, ``token mint --from-file``,
#: ``--baseline`` (a realistic rendered manifest of several thousand objects fits).
MAX_DOCUMENT_BYTES = 10 * 1024 * 1024
#: the project file ``.qdrantsec.yaml`` (a few rules and ignores)
MAX_PROJECT_FILE_BYTES = 1024 * 1024
#: env files: ``--env-file``, compose ``env_file:`` and ``.env``, kustomize ``envs:``
MAX_ENV_BYTES = 1024 * 1024
#: PEM or DER certificates and keys (a CA bundle of a few hundred certificates fits)
MAX_PEM_BYTES = 1024 * 1024
#: a Dockerfile named by a compose ``build:`` (only its FROM and USER lines are read)
MAX_DOCKERFILE_BYTES = 1024 * 1024
#: API key files (``--api-key-file``) and tokens on standard input
MAX_KEY_BYTES = 64 * 1024


class NotRegularFileError(OSError):
    """The path leads to a FIFO, a device, a socket or a directory-like object."""


class FileTooLargeError(OSError):
    """The file holds more than the cap for its kind."""

    def __init__(self, limit: int, size: int | None = None) -> None:
        super().__init__(errno.EFBIG, f"larger than {describe_size(limit)}")
        self.limit = limit
        self.size = size


def describe_size(n: int) -> str:
    """``1 MiB``, ``64 KiB``, ``1000 bytes``: how a cap is shown in messages."""
    for unit, size in (("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size and n % size == 0:
            return f"{n // size} {unit}"
    return f"{n} bytes"


def _kind_of(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _check_mode(mode: int, pipe_ok: bool) -> None:
    if stat.S_ISDIR(mode):
        raise IsADirectoryError(errno.EISDIR, "is a directory")
    if stat.S_ISREG(mode) or (pipe_ok and stat.S_ISFIFO(mode)):
        return
    kind = _kind_of(mode)
    text = kind if kind == "not a regular file" else f"not a regular file: {kind}"
    raise NotRegularFileError(errno.EINVAL, text)


def read_limited(path: str | os.PathLike[str], *, limit: int, pipe_ok: bool = False) -> bytes:
    """The bytes of the regular file ``path``, at most ``limit`` of them.

    Raises OSError: FileNotFoundError, PermissionError, IsADirectoryError as usual;
    NotRegularFileError for a FIFO, device or socket; FileTooLargeError above ``limit``
    (refused from its size before reading, or after ``limit + 1`` bytes for a file whose
    size is not known up front, such as ``/proc`` files). With ``pipe_ok`` (a file named on
    the command line: ``<(cmd)``, ``/dev/stdin`` fed by a pipe) a pipe is read too, up to
    the same cap; a named FIFO nobody writes to reads as empty instead of blocking.

    The file is opened with O_NONBLOCK, so that opening a FIFO cannot block, and checked
    with fstat on the open descriptor, so that swapping the path for a FIFO or a device
    between a check and the open changes nothing.
    """
    st = os.stat(path)  # refuse devices before opening them (opening a tty or tape has effects)
    _check_mode(st.st_mode, pipe_ok)
    if stat.S_ISREG(st.st_mode) and st.st_size > limit:
        raise FileTooLargeError(limit, st.st_size)
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(path, flags)
    try:
        st = os.fstat(fd)
        _check_mode(st.st_mode, pipe_ok)
        if stat.S_ISREG(st.st_mode) and st.st_size > limit:
            raise FileTooLargeError(limit, st.st_size)
        if stat.S_ISFIFO(st.st_mode):
            # read it blocking: the writer of `<(cmd)` holds the pipe already, and a FIFO
            # that no process holds open for writing reads as empty (EOF), not forever
            os.set_blocking(fd, True)
        chunks: list[bytes] = []
        left = limit + 1
        # a regular file in one read of its size (+1 to see it grew): os.read allocates
        # what it is asked for, and a 1 MiB buffer per small file is a page-fault storm
        step = st.st_size + 1 if stat.S_ISREG(st.st_mode) and st.st_size else 64 * 1024
        while left > 0:
            chunk = os.read(fd, min(left, step))
            step = 1 << 16  # (then: at EOF at once, or a file that grows: in 64 KiB reads)
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if len(data) > limit:
        raise FileTooLargeError(limit)
    return data


def read_bytes(path: str | os.PathLike[str], *, what: str = "file", limit: int | None = None,
               pipe_ok: bool = False) -> bytes:
    """Read a file's bytes (see ``read_limited``; ``limit`` defaults to
    MAX_DOCUMENT_BYTES), turning OS errors into one-line InputErrors."""
    p = Path(path)
    cap = limit or MAX_DOCUMENT_BYTES
    try:
        return read_limited(p, limit=cap, pipe_ok=pipe_ok)
    except FileNotFoundError:
        raise InputError(f"{what} not found: {p}") from None
    except PermissionError:
        raise InputError(f"{what} not readable (permission denied): {p}") from None
    except IsADirectoryError:
        raise InputError(f"{what} {p} is a directory") from None
    except FileTooLargeError:
        raise InputError(f"{what} {p} is larger than {describe_size(cap)}") from None
    except NotRegularFileError as exc:
        raise InputError(f"{what} {p} is {exc.strerror}; refusing to read it") from None
    except OSError as exc:
        raise InputError(f"cannot read {what} {p}: {exc.strerror or type(exc).__name__}") from None


def read_text(path: str | os.PathLike[str], *, what: str = "file", limit: int | None = None,
              pipe_ok: bool = False) -> str:
    """Read a UTF-8 text file (a BOM is dropped), turning errors into one-line InputErrors."""
    raw = read_bytes(path, what=what, limit=limit, pipe_ok=pipe_ok)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(f"{what} {path} is not UTF-8 text") from None


def read_stdin(*, what: str = "standard input", limit: int | None = None) -> str:
    """Read standard input as UTF-8 text, at most ``limit`` bytes (default
    MAX_DOCUMENT_BYTES): closed, oversized or non-UTF-8 input becomes a one-line InputError
    (the text stream would raise UnicodeDecodeError under a strict locale, and
    ``sys.stdin`` is None when fd 0 is closed)."""
    import sys

    cap = limit or MAX_DOCUMENT_BYTES
    stream = sys.stdin
    if stream is None:
        raise InputError("standard input is not available (it is closed)")
    buffer = getattr(stream, "buffer", None)
    try:
        if buffer is not None:
            raw = buffer.read(cap + 1)
        else:
            raw = stream.read(cap + 1).encode("utf-8", "surrogateescape")
    except UnicodeDecodeError:
        raise InputError(f"{what} is not UTF-8 text") from None
    except OSError as exc:
        raise InputError(f"cannot read {what}: {exc.strerror}") from None
    if len(raw) > cap:
        raise InputError(f"{what} is larger than {describe_size(cap)}")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(f"{what} is not UTF-8 text") from None
