"""Graph health: cycles, dependencies on missing projects, unsatisfiable edges,
projects whose dependencies are unknown."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from scipy.sparse.csgraph import connected_components

from .graph import DependencyGraph
from .satisfiable import unmet_pairs

__all__ = [
    "cycles",
    "missing_dependencies",
    "self_loops",
    "unknown_dependencies",
    "unsatisfiable_edges",
]


def cycles(g: DependencyGraph, include_extras: bool = False) -> list[list[str]]:
    """Strongly connected components of more than one project, largest first, members sorted."""
    n, labels = connected_components(
        g.adjacency(include_extras), directed=True, connection="strong"
    )
    sizes = np.bincount(labels, minlength=n)
    names = g.names.to_numpy()
    out = [sorted(names[labels == c].tolist()) for c in np.flatnonzero(sizes > 1)]
    return sorted(out, key=lambda members: (-len(members), members))


def self_loops(g: DependencyGraph) -> list[str]:
    e = g.edges
    return sorted(g.names.to_numpy()[e.loc[e["src"] == e["dst"], "src"]].tolist())


def missing_dependencies(g: DependencyGraph, absent: np.ndarray | None = None) -> pd.DataFrame:
    """Required names with no page of the store (or, with `absent`, a boolean per node: those
    nodes), with how many projects require them."""
    mask = g.nodes["missing"].to_numpy() if absent is None else absent
    missing = g.nodes.index[mask].to_numpy()
    e = g.edges[g.edges["dst"].isin(missing)]
    counts = e.groupby("dst").size()
    return (
        pd.DataFrame({"name": g.names.to_numpy()[counts.index], "dependents": counts.to_numpy()})
        .sort_values(["dependents", "name"], ascending=[False, True])
        .reset_index(drop=True)
    )


def unsatisfiable_edges(reqs: pd.DataFrame, versions: pd.DataFrame) -> pd.DataFrame:
    """Requirement rows (source, target, specifier, ...) on indexed projects that no known release
    of the target satisfies; `reason` says `no-matching-release` or `bad-specifier`. `versions`:
    the releases of (at least) the targets, as `depgraph.store.reader.read_versions` gives."""
    return requirements_of_pairs(reqs, unmet_pairs(reqs["target"], reqs["specifier"], versions))


def requirements_of_pairs(reqs: pd.DataFrame, pairs: pd.DataFrame) -> pd.DataFrame:
    """The rows of `reqs` whose (target, specifier) is one of `pairs` (with their other columns,
    e.g. `reason`), sorted by source and target."""
    if not len(pairs) or not len(reqs):
        return reqs.iloc[:0].assign(reason=pd.Series(dtype="str"))
    target = pa.array(reqs["target"], from_pandas=True)
    # the few targets first (Arrow's hash lookup), then the exact pairs among those rows
    rows = np.flatnonzero(
        pc.is_in(target, value_set=pa.array(pairs["target"].unique(), pa.large_string())).to_numpy(
            zero_copy_only=False
        )
    )
    out = reqs.take(rows).merge(pairs, on=["target", "specifier"], how="inner")
    return out.sort_values(["source", "target"]).reset_index(drop=True)


def unknown_dependencies(g: DependencyGraph) -> pd.DataFrame:
    """Projects on the index whose latest release's dependencies are not known (pending or
    failed)."""
    nodes = g.nodes
    if "deps_known" not in nodes:
        return pd.DataFrame(columns=["name", "deps_state"])
    mask = ~nodes["missing"] & ~nodes["deps_known"].fillna(False).astype(bool)
    return nodes.loc[mask, ["name", "deps_state"]].sort_values("name").reset_index(drop=True)
