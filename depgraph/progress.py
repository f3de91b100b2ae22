"""Progress bars on stderr for commands that work in stages (an import, a report): each stage
its own bar, with its total and tqdm's rate and time left."""

from __future__ import annotations

import sys
from types import TracebackType
from typing import Any

from tqdm import tqdm

__all__ = ["StageBars"]


class StageBars:
    """A `depgraph.core.progress.Progress` callback drawing one bar per stage; nothing when
    disabled (no terminal, --quiet, --json)."""

    def __init__(self, enabled: bool, unit: str = "step") -> None:
        self.enabled = enabled
        self.unit = unit
        self._stage: str | None = None
        self._bar: tqdm[Any] | None = None

    def __call__(self, stage: str, done: int, total: int) -> None:
        if not self.enabled:
            return
        if stage != self._stage or self._bar is None:
            self.close()
            self._stage = stage
            self._bar = tqdm(total=total, desc=stage, unit=self.unit, file=sys.stderr)
        bar = self._bar
        bar.total = total
        bar.update(done - bar.n)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def __enter__(self) -> StageBars:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
