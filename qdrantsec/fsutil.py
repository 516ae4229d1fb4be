"""Safe file writes: temp file in the same directory, fsync, then rename.

Nothing already on disk is lost or half-written: the old file stays intact until the
new one is complete, and secrets are created with their final mode from the start (the
temp file is opened 0600 before a single byte is written).
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path

from qdrantsec.errors import InputError

SECRET_MODE = 0o600


def atomic_write(
    path: str | os.PathLike[str],
    data: bytes | str,
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
    """
    target = Path(str(path))
    if isinstance(data, str):
        data = data.encode()
    if not str(path):
        raise InputError("the output file name is empty")
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
        return _write_stream(target, data)
    if os.path.lexists(target) and not overwrite:
        raise InputError(f"{target} already exists", hint="use --force to replace it")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=parent)
    except OSError as exc:
        raise InputError(f"cannot write in {parent}: {exc.strerror}") from None
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        backup_path = None
        if backup and os.path.lexists(target):
            backup_path = _free_backup_name(target)
            os.link(target, backup_path, follow_symlinks=False)  # a symlink is kept as one
        os.replace(tmp, target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise InputError(f"cannot write {target}: {exc.strerror}") from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return backup_path


def is_special_path(path: str | os.PathLike[str]) -> bool:
    """A path under /dev or /proc (``/dev/stdout``, ``/dev/fd/63``, ``/proc/self/fd/1``):
    never replaced by a rename, even when it leads to a regular file (``/dev/stdout`` is a
    symlink to the file the shell redirected stdout to)."""
    return os.path.abspath(path).startswith(("/dev/", "/proc/"))


def _write_stream(target: Path, data: bytes) -> None:
    """Write into a device or FIFO (e.g. ``--output /dev/stdout``) without replacing it."""
    try:
        with open(target, "wb") as fh:
            fh.write(data)
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


def read_bytes(path: str | os.PathLike[str], *, what: str = "file", limit: int | None = None) -> bytes:
    """Read a file's bytes, turning OS errors into one-line InputErrors; with ``limit``, a
    larger file is refused without reading it all."""
    p = Path(path)
    try:
        if p.is_dir():
            raise InputError(f"{what} {p} is a directory")
        with p.open("rb") as fh:
            raw = fh.read(limit + 1 if limit else -1)
    except FileNotFoundError:
        raise InputError(f"{what} not found: {p}") from None
    except PermissionError:
        raise InputError(f"{what} not readable (permission denied): {p}") from None
    except OSError as exc:
        raise InputError(f"cannot read {what} {p}: {exc.strerror}") from None
    if limit and len(raw) > limit:
        raise InputError(f"{what} {p} is larger than {limit} bytes")
    return raw


def read_text(path: str | os.PathLike[str], *, what: str = "file", limit: int | None = None) -> str:
    """Read a UTF-8 text file (a BOM is dropped), turning errors into one-line InputErrors."""
    raw = read_bytes(path, what=what, limit=limit)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(f"{what} {path} is not UTF-8 text") from None


def read_stdin(*, what: str = "standard input", limit: int | None = None) -> str:
    """Read standard input as UTF-8 text: closed, oversized or non-UTF-8 input becomes a
    one-line InputError (the text stream would raise UnicodeDecodeError under a strict
    locale, and ``sys.stdin`` is None when fd 0 is closed)."""
    import sys

    stream = sys.stdin
    if stream is None:
        raise InputError("standard input is not available (it is closed)")
    buffer = getattr(stream, "buffer", None)
    try:
        if buffer is not None:
            raw = buffer.read(limit + 1 if limit else -1)
        else:
            raw = stream.read(limit + 1 if limit else -1).encode("utf-8", "surrogateescape")
    except UnicodeDecodeError:
        raise InputError(f"{what} is not UTF-8 text") from None
    except OSError as exc:
        raise InputError(f"cannot read {what}: {exc.strerror}") from None
    if limit and len(raw) > limit:
        raise InputError(f"{what} is larger than {limit} bytes")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(f"{what} is not UTF-8 text") from None
