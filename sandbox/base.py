"""The interface every sandbox backend implements."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from .limits import Limits
from .result import SandboxResult

__all__ = ["Sandbox", "EXTRACTOR_IN_IMAGE"]

#: where the image carries image/inside/extract.py
EXTRACTOR_IN_IMAGE = "/opt/depgraph/extract.py"


class Sandbox(Protocol):
    name: str
    limits: Limits

    def extract(self, sdist: Path) -> SandboxResult:
        """Build `sdist` in a fresh, disposable sandbox; never raises for anything the sdist does."""
        ...
