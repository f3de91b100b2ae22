"""Errors of the command line itself (the packages it composes have their own)."""

from __future__ import annotations

from depgraph.core.errors import DepgraphError

__all__ = ["UsageError"]


class UsageError(DepgraphError):
    """The command cannot run as asked: a missing file, a store with nothing to work on."""

    reason = "usage"
