"""The one base class of every error pypi-depgraph raises on purpose.

Each package derives its own hierarchy from it (`crawler.errors`, `sandbox.errors`,
`analysis.errors`; the store's are here); the command line maps them to exit codes in one place
(`depgraph.exitcodes`).
"""

from __future__ import annotations

__all__ = ["AsOfError", "DepgraphError", "EmptyStoreError", "SchemaVersionError", "StoreError"]


class DepgraphError(Exception):
    """Base class of every error this project raises on purpose."""

    #: short machine-readable reason, stored in the failures table where one applies
    reason = "error"


class StoreError(DepgraphError):
    """The store cannot be used as it is (missing, empty, another schema)."""

    reason = "store"


class SchemaVersionError(StoreError):
    """The store was written by another schema version than this code reads and writes."""

    reason = "schema-version"

    def __init__(self, path: str, found: str | None, expected: int, hint: str) -> None:
        self.path, self.found, self.expected = path, found, expected
        what = "no schema version" if found is None else f"schema version {found}"
        super().__init__(
            f"{path}: the store has {what}; this pypi-depgraph uses {expected}. {hint}"
        )


class EmptyStoreError(StoreError):
    """The store holds no projects: nothing to analyse."""

    reason = "empty-store"


class AsOfError(StoreError):
    """A store cannot be seen as of the date asked for (a malformed date, no upload times)."""

    reason = "as-of"
