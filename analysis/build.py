"""Store -> DependencyGraph, with the user's choices: which releases, extras, markers."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import pandas as pd
from packaging.markers import InvalidMarker, Marker, default_environment
from packaging.utils import canonicalize_name

from depgraph.store.reader import StoreSource

from .graph import DependencyGraph, from_edge_frame

__all__ = ["edges_from_requirements", "load_graph", "target_environment"]


def target_environment(python: str = "3.12", platform: str = "linux") -> dict[str, str]:
    """A marker environment for CPython `python` (X.Y, or X.Y.Z for one patch release) on
    `platform` (linux, win32, darwin)."""
    env: dict[str, str] = {k: str(v) for k, v in default_environment().items()}
    system = {"linux": "Linux", "win32": "Windows", "darwin": "Darwin"}[platform]
    major_minor = ".".join(python.split(".")[:2])
    env.update(
        python_version=major_minor,
        python_full_version=python if python.count(".") == 2 else f"{python}.0",
        implementation_name="cpython",
        platform_python_implementation="CPython",
        sys_platform=platform,
        platform_system=system,
        os_name="nt" if platform == "win32" else "posix",
    )
    return env


@lru_cache(maxsize=65536)
def _marker_holds(marker: str, extra: str, env_items: tuple[tuple[str, str], ...]) -> bool:
    try:
        return Marker(marker).evaluate({**dict(env_items), "extra": extra})
    except (InvalidMarker, ValueError, TypeError):
        return True  # an unreadable marker is kept: the edge was declared


def _marker_filter(reqs: pd.DataFrame, environment: dict[str, str] | None) -> pd.DataFrame:
    if environment is None or not len(reqs):
        return reqs
    env_items = tuple(sorted(environment.items()))
    # SQL NULLs arrive as None or NaN: anything but a string means "no marker" / "no extra"
    holds = [
        not isinstance(m, str) or _marker_holds(m, x if isinstance(x, str) else "", env_items)
        for m, x in zip(reqs["marker"], reqs["extra"], strict=True)
    ]
    return reqs[holds]


def _requested_extras(reqs: pd.DataFrame, rounds: int = 5) -> pd.DataFrame:
    """Edges that `A requires B[x]` implies: A -> every C that B requires through its extra x.

    Extras requested inside those requirements are followed too, up to `rounds` levels. The new
    edges are through an extra only if A's own requirement on B was. They are `implied`: A's own
    metadata does not list C, so they count toward what A reaches (as pip installs B[x]), never
    toward C's direct dependents."""
    if "extras" not in reqs or not len(reqs):
        return pd.DataFrame(columns=["source", "target", "via_extra", "implied"])
    in_extra = reqs["extra"].notna()
    wants = (reqs["extras"].fillna("") != "").to_numpy()
    asking = reqs.loc[wants, ["source", "target", "extras"]].assign(
        via_extra=in_extra.to_numpy()[wants]
    )
    # Every project ever asked for an extra, in any round, is the target of a row that requests
    # one (a later round's requests are such rows too): only their extras are looked up, so each
    # round joins a few thousand rows, not every requirement under an extra.
    asked_of = in_extra & reqs["source"].isin(asking["target"].unique())
    offered = reqs.loc[asked_of, ["source", "extra", "target", "extras"]].rename(
        columns={"source": "provider", "target": "implied", "extras": "implied_extras"}
    )
    found = []
    # A request met before (the same source asking the same target for the same extras) brings
    # nothing new: extras that ask for each other (`pkg[all]` -> `pkg[a]` -> ...) would otherwise
    # repeat their rows every round (a hundred thousand rows a round on PyPI).
    request = ["source", "target", "extras", "via_extra"]
    seen = asking.iloc[:0][request]
    for _ in range(rounds):
        asking = asking.drop_duplicates(request)
        if len(seen):
            before = pd.concat([seen, asking[request]], ignore_index=True).duplicated()
            asking = asking[~before.to_numpy()[len(seen) :]]
        if asking.empty:
            break
        seen = pd.concat([seen, asking[request]], ignore_index=True)
        asking = asking.assign(asked=asking["extras"].str.split(",")).explode("asked")
        asking["asked"] = [canonicalize_name(a) for a in asking["asked"]]
        joined = asking.merge(offered, left_on=["target", "asked"], right_on=["provider", "extra"])
        new = joined[["source", "implied", "via_extra", "implied_extras"]].rename(
            columns={"implied": "target"}
        )
        found.append(new[["source", "target", "via_extra"]])
        asking = new.loc[new["implied_extras"].fillna("") != ""].rename(
            columns={"implied_extras": "extras"}
        )
    if not found:
        return pd.DataFrame(columns=["source", "target", "via_extra", "implied"])
    return pd.concat(found, ignore_index=True).assign(implied=True)


def edges_from_requirements(
    reqs: pd.DataFrame, environment: dict[str, str] | None = None
) -> pd.DataFrame:
    """Name-level edges (`source`, `target`, `via_extra`, `implied`); markers evaluated when
    `environment` is given.

    Extras requested of a dependency (`B[x]`) bring in what B requires through x, as `implied`
    edges (see `_requested_extras`)."""
    frame = _marker_filter(reqs, environment)
    # the name columns stay as they came (Arrow strings from the store: no conversion to objects)
    direct = pd.DataFrame(
        {
            "source": frame["source"].reset_index(drop=True),
            "target": frame["target"].reset_index(drop=True),
            "via_extra": frame["extra"].notna().to_numpy(),
            "implied": False,
        }
    )
    implied = _requested_extras(frame)
    return pd.concat([direct, implied], ignore_index=True) if len(implied) else direct


def load_graph(
    db: str | Path | StoreSource,
    latest_only: bool = True,
    environment: dict[str, str] | None = None,
) -> DependencyGraph:
    """The graph of a store. Edges through extras are kept and flagged (`via_extra`); metrics
    choose.

    latest_only: edges of each project's latest release only (default), or of any release.
    environment: evaluate markers for this environment (see `target_environment`); None keeps them
    all.
    """
    source = StoreSource.of(db)
    nodes = source.nodes()
    reqs = source.requirements(
        latest_only=latest_only, columns=("source", "target", "marker", "extra", "extras")
    )
    return from_edge_frame(edges_from_requirements(reqs, environment), nodes)
