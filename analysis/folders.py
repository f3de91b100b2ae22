"""A report's folder is replaced whole: the files are written into a new folder beside it, which
takes its place only once everything is written, in one atomic swap where the system has one
(Linux's renameat2), so a reader never sees half a report. A folder that holds anything but an
earlier report is never written into."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import AnalysisError

__all__ = ["is_report", "replaced_whole"]


def is_report(folder: Path) -> bool:
    """Whether `folder` holds a report this tool wrote (its summary.json and data dictionary)."""
    summary = folder / "summary.json"
    if not (summary.is_file() and (folder / "README.md").is_file()):
        return False
    try:
        return "choices" in json.loads(summary.read_text())
    except (ValueError, OSError):
        return False


@contextmanager
def replaced_whole(
    target: Path, is_ours: Callable[[Path], bool] = is_report, what: str = "report"
) -> Iterator[Path]:
    """A new folder to write into; on success it replaces `target` (an earlier one of the same
    kind, as `is_ours` tells, or nothing, or an empty folder), on failure it is removed and
    `target` is left as it was."""
    if target.exists() and not target.is_dir():
        article = "an" if what[:1] in "aeiou" else "a"
        raise AnalysisError(f"{target} is a file, not a folder for {article} {what}")
    if target.is_dir() and any(target.iterdir()) and not is_ours(target):
        raise AnalysisError(
            f"{target} holds files that are not an earlier {what}: give a new or empty folder "
            "(nothing was written)"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.parent / f".{target.name}.writing-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    try:
        yield staging
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if target.exists() and _exchange(staging, target):
        # one atomic step: a reader sees the old folder whole or the new one whole, never neither
        shutil.rmtree(staging, ignore_errors=True)
        return
    old = target.parent / f".{target.name}.replaced-{os.getpid()}"
    if target.exists():
        target.rename(old)
    staging.rename(target)
    shutil.rmtree(old, ignore_errors=True)


#: renameat2(2)'s flag that swaps two paths in one step (Linux 3.15 and later)
_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Swap two folders atomically (Linux renameat2 with RENAME_EXCHANGE); False where the
    system or its file system cannot, and the caller renames in two steps instead."""
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    if name is None:
        return False
    libc = ctypes.CDLL(name, use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is None:
        return False
    done = renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    return bool(done == 0)
