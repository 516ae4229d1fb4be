"""Safe file writes: temp file in the same directory, fsync, then rename.

Nothing already on disk is lost or half-written: the old file stays intact until the
new one is complete, and secrets are created with their final mode from the start (the
temp file is opened 0600 before a single byte is written).
"""

from __future__ import annotations

import contextlib
import os
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
) -> Path | None:
    """Write ``data`` to ``path`` atomically with ``mode``.

    Refuses to replace an existing file unless ``overwrite``; with ``backup`` the old file
    is kept as ``<name>.bak`` (or ``<name>.bak.N``). Returns the backup path, if any.
    """
    target = Path(path)
    if isinstance(data, str):
        data = data.encode()
    parent = target.parent if str(target.parent) else Path(".")
    if not parent.is_dir():
        raise InputError(f"directory does not exist: {parent}")
    if target.exists() and not overwrite:
        raise InputError(f"{target} already exists", hint="use --force to replace it")
    if target.is_dir():
        raise InputError(f"{target} is a directory")
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
        if backup and target.exists():
            backup_path = _free_backup_name(target)
            os.link(target, backup_path)
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


def _free_backup_name(target: Path) -> Path:
    candidate = target.with_name(target.name + ".bak")
    n = 1
    while candidate.exists():
        candidate = target.with_name(f"{target.name}.bak.{n}")
        n += 1
    return candidate


def read_text(path: str | os.PathLike[str], *, what: str = "file", limit: int | None = None) -> str:
    """Read a UTF-8 text file, turning OS errors into one-line InputErrors."""
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
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(f"{what} {p} is not UTF-8 text") from None
