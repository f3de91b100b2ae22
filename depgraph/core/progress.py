"""How long-running work says how far it is: a callback `(stage, done, total)`, called as the work
advances. The packages doing the work know nothing of bars or terminals; the commands turn the
calls into progress bars (`depgraph.progress`)."""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["Progress", "silent"]

#: (what is being done, units done, units in all)
Progress = Callable[[str, int, int], None]


def silent(stage: str, done: int, total: int) -> None:
    """The progress callback that reports nothing."""
