"""Pull the metadata file out of archive bytes already in memory (sdists, whole wheels)."""

from __future__ import annotations

import io
import tarfile
import zipfile
import zlib
from typing import IO

from .errors import ArchiveError

__all__ = ["MAX_SCANNED", "SDIST_SUFFIXES", "read_capped", "sdist_pkg_info"]

SDIST_SUFFIXES = (".tar.gz", ".tgz", ".zip", ".tar.bz2", ".tar.xz", ".tar")
_MAX_PKG_INFO = 4 * 1024 * 1024
#: bytes of a compressed tar an sdist's PKG-INFO is looked for in, inflated: a decompression bomb
#: (a few MB that inflate to terabytes) stops here instead of running for hours
MAX_SCANNED = 1024 * 1024 * 1024


def read_capped(stream: IO[bytes], cap: int, filename: str, what: str) -> bytes:
    """At most `cap` bytes of a member, inflated as they are read: a member that inflates past
    the cap, whatever size its header declares, is a decompression bomb (ArchiveError)."""
    data = stream.read(cap + 1)
    if len(data) > cap:
        raise ArchiveError(
            filename, f"{what} inflates to more than {cap} bytes", "decompression-bomb"
        )
    return data


def _is_top_pkg_info(path: str) -> bool:
    parts = path.strip("/").split("/")
    return len(parts) == 2 and parts[1] == "PKG-INFO"


def sdist_pkg_info(filename: str, data: bytes) -> bytes:
    """The sdist's top-level `{name}-{version}/PKG-INFO`. Raises ArchiveError when
    absent/unreadable."""
    try:
        if filename.endswith(".zip"):
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                for info in zf.infolist():
                    if _is_top_pkg_info(info.filename):
                        if info.file_size > _MAX_PKG_INFO:
                            raise ArchiveError(filename, "PKG-INFO is implausibly large")
                        with zf.open(info) as member_file:
                            return read_capped(member_file, _MAX_PKG_INFO, filename, "PKG-INFO")
        else:
            with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as tf:
                for member in tf:
                    if tf.offset > MAX_SCANNED:
                        raise ArchiveError(
                            filename,
                            f"no PKG-INFO in the first {MAX_SCANNED} inflated bytes",
                            "decompression-bomb",
                        )
                    if member.isfile() and _is_top_pkg_info(member.name):
                        if member.size > _MAX_PKG_INFO:
                            raise ArchiveError(filename, "PKG-INFO is implausibly large")
                        extracted = tf.extractfile(member)
                        assert extracted is not None  # isfile() members always extract
                        return read_capped(extracted, _MAX_PKG_INFO, filename, "PKG-INFO")
    except (
        tarfile.TarError,
        zipfile.BadZipFile,
        EOFError,
        OSError,
        zlib.error,
        NotImplementedError,
        ValueError,
        MemoryError,
    ) as exc:
        raise ArchiveError(filename, f"unreadable archive: {type(exc).__name__}: {exc}") from exc
    raise ArchiveError(filename, "no top-level PKG-INFO")
