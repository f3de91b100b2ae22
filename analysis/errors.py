"""Errors of the analysis package."""

from __future__ import annotations

from pathlib import Path

from depgraph.core.errors import DepgraphError, EmptyStoreError

__all__ = ["AnalysisError", "ConvergenceError", "DownloadsFormatError", "EmptyStoreError"]


class AnalysisError(DepgraphError):
    reason = "analysis"


class DownloadsFormatError(AnalysisError):
    """A downloads file that cannot be read; names the file and line."""

    reason = "bad-downloads-file"

    def __init__(self, path: Path, line: int | None, message: str) -> None:
        self.path, self.line = path, line
        where = f"{path}:{line}" if line is not None else str(path)
        super().__init__(f"{where}: {message}")


class ConvergenceError(AnalysisError):
    reason = "no-convergence"
