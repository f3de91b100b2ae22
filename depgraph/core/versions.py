"""Which release is a project's latest: the one rule the store (`releases.is_latest`), the
importers and the as-of analysis share.

The latest release is the one pip would pick without constraints: the highest non-yanked final
release, else the highest non-yanked pre-release, else the highest release; versions that are not
PEP 440 rank below every PEP 440 one.
"""

from __future__ import annotations

from packaging.version import InvalidVersion, Version

__all__ = ["latest_key", "version_order"]

_LOWEST = Version("0")


def latest_key(version: str, yanked: bool = False) -> tuple[bool, bool, bool, Version]:
    """Sort key: the maximum over a project's releases is its latest."""
    try:
        parsed = Version(version)
    except InvalidVersion:
        return (not yanked, False, False, _LOWEST)
    return (not yanked, True, not parsed.is_prerelease, parsed)


def version_order(version: str) -> tuple[bool, Version]:
    """Sort key in PEP 440 order (versions that are not PEP 440 first, as the lowest)."""
    try:
        return (True, Version(version))
    except InvalidVersion:
        return (False, _LOWEST)
