"""Run folders, written atomically: a run is either complete or absent.

A run is written into a hidden temporary sibling folder (``.<name>.<pid>-<random>.partial``) and
renamed into place only when every file is written; an error, Ctrl-C, SIGTERM or SIGHUP removes
the temporary folder, and those of processes killed outright (SIGKILL, out of memory) are
removed by the next run (:func:`remove_stale`, by process id). An existing run is never
overwritten: if ``<name>`` exists, ``<name>-2``, ``<name>-3``, ... are tried.

:func:`replace_folder` is for a folder that *is* replaced on each run (``runs/paper/`` of
``analysis/reproduce_paper.py``): the finished folder takes the old one's place in one step.
"""

from __future__ import annotations

import ctypes
import errno
import os
import re
import secrets
import shutil
from datetime import datetime
from pathlib import Path

__all__ = ["RunFolder", "remove_stale", "replace_folder", "run_name"]

#: Format of the timestamp in a run's name.
TIMESTAMP_FORMAT = "%Y%m%d-%H%M%S"

#: Give up after this many taken names (something else is wrong).
MAX_SUFFIX = 10_000


def run_name(scenario: str, when: datetime) -> str:
    """``<scenario>-<YYYYmmdd-HHMMSS>``."""
    return f"{scenario}-{when.strftime(TIMESTAMP_FORMAT)}"


#: A temporary folder of this module: ``.<name>.<pid>-<hex>.partial`` (or ``.old``).
_TEMPORARY = re.compile(r"^\..+\.(\d+)-[0-9a-f]{8}\.(partial|old)$")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, owned by someone else
        return True
    return True


def remove_stale(root: str | os.PathLike) -> list[Path]:
    """Remove the temporary folders under ``root`` of processes that no longer run (killed by
    SIGKILL or out of memory, so they could not clean up); returns what was removed."""
    root = Path(root)
    removed = []
    try:
        entries = list(root.iterdir())
    except OSError:
        return removed
    for entry in entries:
        match = _TEMPORARY.match(entry.name)
        if match and int(match.group(1)) != os.getpid() and not _alive(int(match.group(1))):
            shutil.rmtree(entry, ignore_errors=True)
            if not entry.exists():
                removed.append(entry)
    return removed


class RunFolder:
    """A run folder being written; use as a context manager.

    Parameters
    ----------
    root : path
        The folder holding runs (created if missing).
    name : str
        The run's name; the final folder is ``root/name`` or ``root/name-<k>``.

    Examples
    --------
    >>> with RunFolder(root, "paper-example-20251012-120000") as run:  # doctest: +SKIP
    ...     (run.tmp / "summary.json").write_text("{}")
    ...     final = run.commit()
    """

    def __init__(self, root: str | os.PathLike, name: str) -> None:
        self.root = Path(root)
        self.name = name
        self.root.mkdir(parents=True, exist_ok=True)
        while True:  # a fresh hidden name; os.mkdir keeps the usual permissions (umask)
            tmp = self.root / f".{name}.{os.getpid()}-{secrets.token_hex(4)}.partial"
            try:
                tmp.mkdir()
                break
            except FileExistsError:
                continue
        self.tmp = tmp
        self.final: Path | None = None

    def __enter__(self) -> RunFolder:
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        if self.final is None:
            self.discard()
        return False

    def commit(self) -> Path:
        """Move the finished run into place under the first free name; return its path."""
        for k in range(1, MAX_SUFFIX + 1):
            target = self.root / (self.name if k == 1 else f"{self.name}-{k}")
            if target.exists() or target.is_symlink():
                continue
            try:
                os.rename(self.tmp, target)
            except OSError as exc:  # taken meanwhile by another run
                if exc.errno in (errno.EEXIST, errno.ENOTEMPTY):
                    continue
                raise
            self.final = target
            return target
        raise FileExistsError(f"{self.root / self.name}: {MAX_SUFFIX} runs of this name exist")

    def discard(self) -> None:
        """Remove the temporary folder and everything in it."""
        shutil.rmtree(self.tmp, ignore_errors=True)


#: ``renameat2`` flag swapping two paths atomically (Linux >= 3.15, glibc >= 2.28).
_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Swap two existing paths atomically with ``renameat2``; False if not supported."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p]
    renameat2.argtypes += [ctypes.c_uint]
    done = renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    if done == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False  # the filesystem or kernel cannot exchange: fall back
    raise OSError(code, os.strerror(code), str(a), None, str(b))


def replace_folder(new: str | os.PathLike, target: str | os.PathLike) -> Path:
    """Put the finished folder ``new`` at ``target``, replacing any folder there.

    If ``target`` exists the two are exchanged atomically (``renameat2(RENAME_EXCHANGE)``),
    so a reader sees either the old folder or the new one, never neither; the old one is then
    removed. Where the exchange is unsupported, the old folder is first renamed aside (a
    moment without ``target``). ``new`` must be on the same filesystem (a sibling).
    """
    new, target = Path(new), Path(target)
    if not (target.exists() or target.is_symlink()):
        os.rename(new, target)
        return target
    if not _exchange(new, target):
        aside = target.with_name(f".{target.name}.{os.getpid()}-{secrets.token_hex(4)}.old")
        os.rename(target, aside)
        os.rename(new, target)
        new = aside
    if new.is_dir() and not new.is_symlink():
        shutil.rmtree(new, ignore_errors=True)
    else:
        new.unlink(missing_ok=True)
    return target
