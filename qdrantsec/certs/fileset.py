"""Write a set of files into a directory as one unit: a run killed at any moment (SIGKILL,
power loss) leaves either the whole old set or the whole new set, never a certificate
beside a key it does not belong to.

How, by case (``DIR`` is the target directory, ``.DIR.qdrantsec-<pid>-*`` a staging
directory beside it, on the same filesystem):

* ``DIR`` does not exist: the files are written and fsynced in the staging directory,
  which is then renamed to ``DIR``. Before the rename there is no ``DIR``; after it, all of it.
* ``DIR`` exists: the staging directory gets a hard link of every entry of ``DIR`` (so
  files not in the set are kept, as the same inodes), the backups (``X.bak``: a link of
  the old ``X``) and the new files; then ``renameat2(RENAME_EXCHANGE)`` swaps the two
  directories in one step, and the old one (now holding only links) is removed. ``DIR``
  becomes a new directory with the old one's mode: a process that holds the old one open
  (a container that bind-mounts ``DIR`` itself) sees the new files after a restart.
* Where no swap is possible (``DIR`` is a mount point, holds a subdirectory, the
  filesystem or OS has no RENAME_EXCHANGE): the new files are staged in
  ``DIR/.qdrantsec-<pid>-*``, a manifest is fsynced there, then each file is renamed into
  place. A run killed during those renames is finished by the next run (it replays the
  manifest) before anything else; the set is whole again once any ``certs generate`` on
  ``DIR`` has run.

Leftovers of a killed run (staging or old directories, which hold keys) are removed, or
finished, by the next run; a live run's are never touched (the pid is in the name).
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import stat
import sys
import tempfile
from pathlib import Path
from typing import NamedTuple

from qdrantsec.errors import InputError
from qdrantsec.fsutil import _alive, crash_point, stale_temps, temp_prefix

MANIFEST = ".manifest"
_INNER_TAG = ".qdrantsec-"  # staging inside DIR (the fallback)


# (NamedTuples, not dataclasses: see qdrantsec.certs.issue)
class Entry(NamedTuple):
    """One file of the set. An existing file of that name is replaced and kept as X.bak."""

    name: str  # a file name inside the directory, no '/'
    data: bytes  # may be a private key: not in the repr
    mode: int

    def __repr__(self) -> str:
        return f"Entry(name={self.name!r}, mode={self.mode!r})"


class Written(NamedTuple):
    written: list[str]  # names written
    backups: list[str]  # backup names made


def recover(directory: Path) -> list[str]:
    """Remove, or finish, what a killed run left: call before looking at ``directory``.
    Returns what was done, one line each, for the user."""
    real = Path(os.path.realpath(directory))
    done = []
    for stale in stale_temps(real.parent, real.name):
        _remove_tree(stale)
        done.append(f"removed {directory.parent / stale.name}, left by a run that was killed")
    if not real.is_dir():
        return done
    for entry in _inner_stale(real):
        manifest = entry / MANIFEST
        if manifest.is_file() and not manifest.is_symlink() and _replay(real, entry, manifest):
            done.append(f"finished writing the set a killed run had started in {directory}")
        else:
            done.append(f"removed {directory / entry.name}, left by a run that was killed")
        _remove_tree(entry)
    return done


def write_set(directory: Path, entries: list[Entry]) -> Written:
    """Write ``entries`` into ``directory`` (created mode 0700 if missing) as a unit."""
    real = Path(os.path.realpath(directory))
    try:
        real.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create directory {directory.parent}: {exc.strerror}") from None
    try:
        if not os.path.lexists(real):
            return _fresh(directory, real, entries)
        if not real.is_dir():
            raise InputError(f"{directory} is not a directory")
        done = _swap(directory, real, entries)
        return done if done is not None else _in_place(directory, real, entries)
    except OSError as exc:  # each way has undone its own writes by now
        raise InputError(f"cannot write the files in {directory}: {exc.strerror}; nothing was changed"
                         ) from None


# -- the three ways -------------------------------------------------------------------------

def _fresh(directory: Path, real: Path, entries: list[Entry]) -> Written:
    stage = _make_stage(real.parent, real.name, directory)
    try:
        _write_files(stage, entries)
        _fsync_dir(stage)
        try:
            os.rename(stage, real)  # fails if DIR appeared meanwhile: nothing is replaced
        except OSError as exc:
            raise InputError(f"cannot create directory {directory}: {exc.strerror}") from None
        crash_point()
    except BaseException:
        _remove_tree(stage)
        raise
    _fsync_dir(real.parent)
    return Written([e.name for e in entries], [])


def _swap(directory: Path, real: Path, entries: list[Entry]) -> Written | None:
    """The whole directory swapped in one step; None when that cannot be done here."""
    if not _can_exchange() or _is_mount_point(real):
        return None
    try:
        names = os.listdir(real)
    except OSError as exc:
        raise InputError(f"cannot read directory {directory}: {exc.strerror}") from None
    for name in names:
        if stat.S_ISDIR(os.lstat(real / name).st_mode):
            return None  # a subdirectory cannot be hard-linked
    try:
        stage = _make_stage(real.parent, real.name, directory)
    except InputError:
        return None  # the parent is not writable: stage inside DIR instead
    backups: list[str] = []
    try:
        try:
            for name in names:
                os.link(real / name, stage / name, follow_symlinks=False)
                crash_point()
        except OSError:
            _remove_tree(stage)
            return None  # not our file to link (protected_hardlinks), too many links, ...
        taken = set(names)
        for e in entries:
            if os.path.lexists(stage / e.name):
                bak = _free_name(e.name, taken)
                os.rename(stage / e.name, stage / bak)  # the old inode, kept as X.bak
                taken.add(bak)
                backups.append(bak)
                crash_point()
        _write_files(stage, entries)
        st = os.stat(real)
        os.chmod(stage, stat.S_IMODE(st.st_mode))
        with contextlib.suppress(OSError):  # keep the owner when we may (root)
            os.chown(stage, st.st_uid, st.st_gid)
        _fsync_dir(stage)
        if not _exchange(stage, real):
            _remove_tree(stage)
            return None
        crash_point()
    except BaseException:
        _remove_tree(stage)
        raise
    _fsync_dir(real.parent)
    _remove_tree(stage)  # the old directory now: links only, every file also in the new one
    crash_point()
    return Written([e.name for e in entries], backups)


def _in_place(directory: Path, real: Path, entries: list[Entry]) -> Written:
    """Staged inside DIR, then renamed file by file after an fsynced manifest (replayed by
    the next run if this one is killed during the renames)."""
    try:
        stage = Path(tempfile.mkdtemp(prefix=f"{_INNER_TAG}{os.getpid()}-", dir=real))
    except OSError as exc:
        raise InputError(f"cannot write in {directory}: {exc.strerror}") from None
    crash_point()
    plan: list[dict[str, str | None]] = []
    try:
        taken = set(os.listdir(real))
        _write_files(stage, entries)  # on disk before the manifest that makes them count
        for e in entries:
            bak = None
            if os.path.lexists(real / e.name):
                bak = _free_name(e.name, taken)
                taken.add(bak)
            plan.append({"name": e.name, "backup": bak})
        import json  # (here, not at the top: only the in-place way has a manifest)

        _write_files(stage, [Entry(MANIFEST, json.dumps(plan).encode(), 0o600)])
        _fsync_dir(stage)
    except BaseException:
        _remove_tree(stage)
        raise
    done: list[tuple[str, str | None]] = []
    try:
        for item in plan:
            name, bak = str(item["name"]), item["backup"]
            if bak is not None:
                os.link(real / name, real / bak, follow_symlinks=False)
                crash_point()
            os.replace(stage / name, real / name)
            crash_point()
            done.append((name, bak))
    except BaseException:
        for name, bak in reversed(done):  # undo this run's renames: DIR as it was
            with contextlib.suppress(OSError):
                if bak is not None:
                    os.replace(real / bak, real / name)
                else:
                    os.unlink(real / name)
        _remove_tree(stage)
        raise
    _fsync_dir(real)
    _remove_tree(stage)
    crash_point()
    return Written([e.name for e in entries], [str(i["backup"]) for i in plan if i["backup"]])


def _replay(real: Path, stage: Path, manifest: Path) -> bool:
    """Finish the renames a killed in-place run had started (its manifest was complete).
    False when there was nothing to finish."""
    import json

    try:
        plan = json.loads(manifest.read_text())
    except (OSError, ValueError):
        return False  # killed while writing the manifest: nothing was moved yet
    items = [i for i in plan if isinstance(i, dict)] if isinstance(plan, list) else []
    if not all(_plain_name(i.get("name")) and (i.get("backup") is None or _plain_name(i.get("backup")))
               for i in items):
        return False
    try:
        for item in items:
            name, bak = item["name"], item.get("backup")
            if not os.path.lexists(stage / name):
                continue  # already moved
            if bak is not None and not os.path.lexists(real / bak) and os.path.lexists(real / name):
                os.link(real / name, real / bak, follow_symlinks=False)
            os.replace(stage / name, real / name)
    except OSError as exc:
        raise InputError(f"cannot finish the set a killed run had started in {real}: {exc.strerror}",
                         hint=f"its files are in {stage}") from None
    _fsync_dir(real)
    return bool(items)


# -- helpers --------------------------------------------------------------------------------

def _make_stage(parent: Path, name: str, shown: Path) -> Path:
    try:
        stage = Path(tempfile.mkdtemp(prefix=temp_prefix(name), dir=parent))  # mode 0700
    except OSError as exc:
        raise InputError(f"cannot write in {shown.parent}: {exc.strerror}") from None
    crash_point()
    return stage


def _write_files(stage: Path, entries: list[Entry]) -> None:
    """Write every file of the set, then fsync each: all of them are on disk when this
    returns (the caller then fsyncs the directory and makes the set visible).

    Each write also asks the kernel to start writing the data out (``posix_fadvise``
    DONTNEED starts the writeback), so the first fsync's journal commit carries every
    file's blocks and the later fsyncs find their data already there: on ext4, the 12
    files of a set took 2.1 ms this way against 3.5 ms with an fsync after each write
    (``bench/bench_certs.py --fsync-ways``). One ``syncfs`` would take 0.5 ms on a quiet
    disk, but Python 3.11 reaches it only through ctypes (2 ms to import), and it writes
    out every other process's dirty data on the file system too: up to 75 ms behind a
    process writing large files."""
    for e in entries:
        _write_file(stage / e.name, e.data, e.mode)
    for e in entries:
        _fsync_file(stage / e.name)


def _write_file(path: Path, data: bytes, mode: int) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o600)
    try:
        os.fchmod(fd, mode)  # 0600 from the first byte, the final mode once complete
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        if _FADV_DONTNEED is not None:
            with contextlib.suppress(OSError):  # only a hint: the fsync below is what counts
                os.posix_fadvise(fd, 0, 0, _FADV_DONTNEED)
    finally:
        os.close(fd)
    crash_point()


_FADV_DONTNEED = getattr(os, "POSIX_FADV_DONTNEED", None) if hasattr(os, "posix_fadvise") else None


def _fsync_file(path: Path) -> None:
    """fsync a file just written (and closed) in our own staging directory."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some filesystems cannot fsync a directory
    finally:
        os.close(fd)


def _free_name(name: str, taken: set[str]) -> str:
    """``X.bak``, or ``X.bak.N`` when that is taken (as fsutil.atomic_write names backups)."""
    candidate, n = f"{name}.bak", 1
    while candidate in taken:
        candidate, n = f"{name}.bak.{n}", n + 1
    return candidate


def _plain_name(name: object) -> bool:
    return isinstance(name, str) and bool(name) and "/" not in name and name not in (".", "..")


def _inner_stale(real: Path) -> list[Path]:
    out = []
    with contextlib.suppress(OSError):
        for entry in os.scandir(real):
            if entry.name.startswith(_INNER_TAG) and entry.is_dir(follow_symlinks=False):
                pid = entry.name[len(_INNER_TAG):].split("-", 1)[0]
                if pid.isdigit() and not _alive(int(pid)):
                    out.append(real / entry.name)
    return out


def _remove_tree(path: Path) -> None:
    with contextlib.suppress(OSError):
        if os.path.islink(path) or not os.path.isdir(path):
            os.unlink(path)
        else:
            shutil.rmtree(path, ignore_errors=True)


def _is_mount_point(real: Path) -> bool:
    try:
        return os.stat(real).st_dev != os.stat(real.parent).st_dev or os.path.ismount(real)
    except OSError:
        return True


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100
#: renameat2's syscall number, for a C library without the wrapper (glibc < 2.28, musl)
_SYSCALLS = {"x86_64": 316, "aarch64": 276, "armv7l": 382, "ppc64le": 357, "s390x": 347}


def _can_exchange() -> bool:
    return sys.platform.startswith("linux")


def _exchange(a: Path, b: Path) -> bool:
    """Swap two directory entries atomically (Linux renameat2 with RENAME_EXCHANGE).
    False when this system or filesystem cannot; other failures raise InputError."""
    import ctypes
    import platform

    libc = ctypes.CDLL(None, use_errno=True)
    src, dst = os.fsencode(a), os.fsencode(b)
    fn = getattr(libc, "renameat2", None)
    if fn is not None:
        fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
        rc = fn(_AT_FDCWD, src, _AT_FDCWD, dst, _RENAME_EXCHANGE)
    else:
        number = _SYSCALLS.get(platform.machine())
        if number is None:
            return False
        libc.syscall.restype = ctypes.c_long
        rc = libc.syscall(ctypes.c_long(number), _AT_FDCWD, src, _AT_FDCWD, dst,
                          ctypes.c_uint(_RENAME_EXCHANGE))
    if rc == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EXDEV, errno.EBUSY, errno.ENOTSUP, errno.EPERM):
        return False
    raise InputError(f"cannot replace directory {b}: {os.strerror(err)}")
