"""The interface every sandbox backend implements."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from .limits import Limits
from .result import SandboxResult

__all__ = [
    "EXTRACTOR_COMMAND",
    "EXTRACTOR_IN_IMAGE",
    "SANDBOX_ENV",
    "SANDBOX_GID",
    "SANDBOX_UID",
    "WORK_DIR",
    "Sandbox",
]

# What every backend runs, as whom and with what environment. image/Dockerfile says the same
# (USER, WORKDIR, ENV, ENTRYPOINT); a test holds the two together.

#: where the image carries image/inside/extract.py
EXTRACTOR_IN_IMAGE = "/opt/depgraph/extract.py"
#: the image's ENTRYPOINT; the sdist path and the work dir follow as arguments
EXTRACTOR_COMMAND = ("python3", EXTRACTOR_IN_IMAGE)
#: nobody:nogroup, owning nothing in the image
SANDBOX_UID = SANDBOX_GID = 65534
WORK_DIR = "/work"
SANDBOX_ENV = {"HOME": "/tmp", "PYTHONDONTWRITEBYTECODE": "1", "PIP_NO_INDEX": "1"}


class Sandbox(Protocol):
    name: str
    limits: Limits

    def extract(self, sdist: Path) -> SandboxResult:
        """Build `sdist` in a fresh, disposable sandbox; never raises for anything the sdist
        does."""
        ...
