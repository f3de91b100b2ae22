"""Which extras pull a requirement in, decided by evaluating its marker with `packaging`.

A requirement belongs to the base install when its marker can hold with no extra requested, and to
extra `x` when requesting `x` makes it hold where it otherwise would not. Markers are evaluated,
never pattern-matched: `extra == "a" or extra == "b"` belongs to both a and b;
`python_version < "3.8" or extra == "x"` belongs to the base install (every install on 3.7 gets
it) and to x (on 3.8+ only x brings it).

"Can hold" is judged over REFERENCE_ENVIRONMENTS (CPython and PyPy, Python 2.7 and 3.5 to 3.14,
on Linux, Windows and macOS): a marker that names only `extra` is evaluated once; one that also
names the environment is evaluated in each. The names of the extras a marker compares with come
from packaging's parsed form of the marker (`Marker._markers`), the one place that is not a public
API; evaluation itself is `Marker.evaluate`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from itertools import product

from packaging.markers import (
    Marker,
    UndefinedComparison,
    UndefinedEnvironmentName,
    default_environment,
)
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import InvalidVersion

__all__ = ["REFERENCE_ENVIRONMENTS", "ExtraMembership", "extra_membership"]

_PYTHONS = ("2.7", *(f"3.{minor}" for minor in range(5, 15)))
_PLATFORMS = (
    ("linux", "Linux", "posix", "x86_64"),
    ("win32", "Windows", "nt", "AMD64"),
    ("darwin", "Darwin", "posix", "arm64"),
)
_IMPLEMENTATIONS = (("cpython", "CPython"), ("pypy", "PyPy"))


def _environment(
    python: str, platform: tuple[str, str, str, str], implementation: tuple[str, str]
) -> dict[str, str]:
    env = {key: str(value) for key, value in default_environment().items()}
    sys_platform, system, os_name, machine = platform
    env.update(
        python_version=python,
        python_full_version=f"{python}.0",
        implementation_name=implementation[0],
        platform_python_implementation=implementation[1],
        implementation_version=f"{python}.0",
        sys_platform=sys_platform,
        platform_system=system,
        os_name=os_name,
        platform_machine=machine,
    )
    return env


REFERENCE_ENVIRONMENTS: tuple[dict[str, str], ...] = tuple(
    _environment(*combo) for combo in product(_PYTHONS, _PLATFORMS, _IMPLEMENTATIONS)
)


@dataclass(frozen=True)
class ExtraMembership:
    """base: the requirement can apply with no extra requested; extras: the extras that bring it
    in where it would not otherwise apply (canonical names)."""

    base: bool
    extras: tuple[NormalizedName, ...]


def _atoms(tree: object) -> Iterator[tuple[object, object, object]]:
    if isinstance(tree, tuple) and len(tree) == 3:
        yield tree  # (lhs, op, rhs)
    elif isinstance(tree, list):
        for item in tree:
            yield from _atoms(item)


def _mentions(marker: Marker) -> tuple[set[str], list[str]]:
    """(the variables the marker names, the values it compares `extra` with, in order)."""
    variables: set[str] = set()
    extras: list[str] = []
    for lhs, _op, rhs in _atoms(marker._markers):
        names = [
            getattr(side, "value", "") for side in (lhs, rhs) if type(side).__name__ == "Variable"
        ]
        values = [
            getattr(side, "value", "") for side in (lhs, rhs) if type(side).__name__ == "Value"
        ]
        variables.update(names)
        if "extra" in names:
            extras.extend(values)
    return variables, extras


def _holds(marker: Marker, environment: dict[str, str]) -> bool:
    """Marker.evaluate; a marker packaging cannot evaluate here (a version comparison on a
    non-version, say) does not hold."""
    try:
        return marker.evaluate(environment)
    except (UndefinedComparison, UndefinedEnvironmentName, InvalidVersion, ValueError, TypeError):
        return False


@lru_cache(maxsize=1 << 16)
def extra_membership(marker: Marker) -> ExtraMembership:
    """Where a requirement with this marker applies: see the module's doc. (A Marker, not its
    text: packaging's str() of a marker with an odd extra value does not always parse again.)"""
    variables, mentioned = _mentions(marker)
    extras = tuple(dict.fromkeys(canonicalize_name(e) for e in mentioned))
    if not extras:
        return ExtraMembership(True, ())
    envs = REFERENCE_ENVIRONMENTS[:1] if variables <= {"extra"} else REFERENCE_ENVIRONMENTS
    base = [_holds(marker, {**env, "extra": ""}) for env in envs]
    members = tuple(
        extra
        for extra in extras
        if any(
            _holds(marker, {**env, "extra": extra}) and not without
            for env, without in zip(envs, base, strict=True)
        )
    )
    if not any(base) and not members:  # holds nowhere we look: keep it with the extras it names
        members = extras
    return ExtraMembership(any(base), members)
