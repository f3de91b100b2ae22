"""Pull the metadata file out of archive bytes already in memory (sdists, whole wheels)."""

from __future__ import annotations

import io
import tarfile
import zipfile
import zlib

from .errors import ArchiveError

__all__ = ["SDIST_SUFFIXES", "sdist_pkg_info"]

SDIST_SUFFIXES = (".tar.gz", ".tgz", ".zip", ".tar.bz2", ".tar.xz", ".tar")
_MAX_PKG_INFO = 4 * 1024 * 1024


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
                        return zf.read(info)
        else:
            with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as tf:
                for member in tf:
                    if member.isfile() and _is_top_pkg_info(member.name):
                        if member.size > _MAX_PKG_INFO:
                            raise ArchiveError(filename, "PKG-INFO is implausibly large")
                        extracted = tf.extractfile(member)
                        assert extracted is not None  # isfile() members always extract
                        return extracted.read()
    except (
        tarfile.TarError,
        zipfile.BadZipFile,
        EOFError,
        OSError,
        zlib.error,
        NotImplementedError,
    ) as exc:
        raise ArchiveError(filename, f"unreadable archive: {type(exc).__name__}: {exc}") from exc
    raise ArchiveError(filename, "no top-level PKG-INFO")
