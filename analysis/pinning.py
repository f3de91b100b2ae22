"""What a project that pins its dependencies exactly is: a metapackage, a pasted environment, or an
application that pins what it runs with. Each is told by evidence in its own metadata.

Over the run-time requirements of each project's selected release (outside extras), with `pins`
the distinct targets required with an exact `==` / `===` version (no wildcard):

- **metapackage**: >= 2 requirements, every one an exact pin, more than half of them on the
  project's own family (targets whose first name token is the project's, as `pyobjc` ->
  `pyobjc-framework-cocoa`), released in lockstep: at least half of the family pins are at the
  project's own version (`lockstep`; pyobjc: 1.0). A distribution of parts released together.
- **frozen-environment**: >= 20 exact pins, >= 80 % of its requirements pinned, and most of them
  *not* its own family: a pasted `pip freeze`. Its pins carry no signal about the pinned projects,
  so the filtered dependents count leaves it out.
- **pinned-application**: every requirement an exact pin (>= 1), and neither of the above: a tool
  that pins what it was tested with (`wheelr`: click==4.0, wheel==0.24.0).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

__all__ = ["FROZEN_MIN_PINS", "PINNING_KINDS", "classify_pinning", "family_token"]

PINNING_KINDS = ("metapackage", "frozen-environment", "pinned-application")
FROZEN_MIN_PINS = 20
FROZEN_MIN_SHARE = 0.8


def family_token(name: str) -> str:
    """The first token of a canonical name: `pyobjc-framework-cocoa` -> `pyobjc`."""
    return name.split("-", 1)[0]


@lru_cache(maxsize=1 << 16)
def _pinned_version(specifier: str) -> str | None:
    """The version of an exact pin (`==1.2`, `===1.2`), else None."""
    if "==" not in specifier:  # (no need to parse the many that cannot be one)
        return None
    try:
        specs = list(SpecifierSet(specifier))
    except InvalidSpecifier:
        return None
    if len(specs) == 1 and specs[0].operator in ("==", "===") and "*" not in specs[0].version:
        return specs[0].version
    return None


def _same_version(pin: object, own: str) -> bool:
    if not isinstance(pin, str):
        return False
    try:
        return Version(pin) == Version(own)
    except InvalidVersion:
        return pin == own


def classify_pinning(reqs: pd.DataFrame) -> pd.DataFrame:
    """One row per project whose selected release pins: name, version, requirements, pins,
    family_pins, lockstep, kind (see the module's doc). `reqs` are requirement rows with
    source, version, target, specifier, extra."""
    columns = ["name", "version", "requirements", "pins", "family_pins", "lockstep", "kind"]
    # names as integer codes, and every step on arrays: grouping and de-duplicating text columns
    # (and filtering frames of them) costs several times more
    outside_extras = reqs["extra"].isna().to_numpy()
    codes, names = pd.factorize(pd.concat([reqs["source"], reqs["target"]], ignore_index=True))
    source, target = codes[: len(reqs)], codes[len(reqs) :]
    specifiers, distinct = pd.factorize(reqs["specifier"])
    keep = outside_extras & (source != target)
    pair = source[keep].astype(np.int64) * len(names) + target[keep]
    keep[keep] = ~pd.Series(pair).duplicated().to_numpy()
    rows = np.flatnonzero(keep)
    if not len(rows):
        return pd.DataFrame(columns=columns)
    source, target = source[rows], target[rows]
    pin = np.array([_pinned_version(s) for s in distinct.tolist()] + [None], dtype=object)[
        specifiers[rows]
    ]
    pinned = pin != None  # noqa: E711  (elementwise)
    # family tokens of the names in a pin only, each once, then compared by position
    tokens = np.full(len(names), None, dtype=object)
    in_pin = np.unique(np.concatenate([source[pinned], target[pinned]]))
    tokens[in_pin] = [family_token(n) for n in names.take(in_pin).tolist()]
    family_pin = pinned & (tokens[source] == tokens[target])
    # only family pins need the (slower) version comparison
    versions = reqs["version"]
    lockstep = np.zeros(len(rows), dtype=bool)
    where = np.flatnonzero(family_pin)
    owns = versions.take(rows[where]).tolist()
    lockstep[where] = [_same_version(p, own) for p, own in zip(pin[where], owns, strict=True)]
    # one selected release per project: its code stands for (source, version)
    grouped = (
        pd.DataFrame(
            {"code": source, "pinned": pinned, "family_pin": family_pin, "lockstep": lockstep}
        )
        .groupby("code")
        .agg(
            requirements=("pinned", "size"),
            pins=("pinned", "sum"),
            family_pins=("family_pin", "sum"),
            lockstep_pins=("lockstep", "sum"),
        )
    )
    _, first = np.unique(source, return_index=True)  # grouped's index is sorted too
    grouped["source"] = names[grouped.index.to_numpy()]
    grouped["version"] = versions.take(rows[first]).to_numpy()
    grouped = grouped[grouped["pins"] > 0].reset_index()
    all_pinned = grouped["pins"] == grouped["requirements"]
    family_share = grouped["family_pins"] / grouped["pins"]
    lockstep_share = grouped["lockstep_pins"] / grouped["family_pins"].where(
        grouped["family_pins"] > 0, 1
    )
    meta = (
        all_pinned & (grouped["requirements"] >= 2) & (family_share > 0.5) & (lockstep_share >= 0.5)
    )
    frozen = (
        ~meta
        & (grouped["pins"] >= FROZEN_MIN_PINS)
        & (grouped["pins"] / grouped["requirements"] >= FROZEN_MIN_SHARE)
    )
    pinned_app = all_pinned & ~meta & ~frozen
    grouped["kind"] = None
    grouped.loc[pinned_app, "kind"] = "pinned-application"
    grouped.loc[frozen, "kind"] = "frozen-environment"
    grouped.loc[meta, "kind"] = "metapackage"
    grouped["lockstep"] = (
        grouped["lockstep_pins"] / grouped["family_pins"].where(grouped["family_pins"] > 0)
    ).round(3)
    out = grouped[grouped["kind"].notna()].rename(columns={"source": "name"})
    out = out.astype({"pins": int, "family_pins": int, "requirements": int})
    return out[columns].sort_values(["kind", "pins", "name"], ascending=[True, False, True])
