"""The per-project metrics table: dependents (direct, transitive, via extras only), PageRank,
ranks."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .centrality import pagerank
from .graph import DependencyGraph
from .reach import direct_dependents, transitive_dependents

__all__ = ["dependents_table", "table_order"]


def table_order(table: pd.DataFrame) -> np.ndarray:
    """The rows of a metrics table in report order: most direct dependents first, then most
    transitive ones, then by name."""
    ordered = table.sort_values(
        ["direct_dependents", "transitive_dependents", "name"], ascending=[False, False, True]
    )
    rows: np.ndarray = ordered.index.to_numpy(dtype=np.int64)
    return rows


def dependents_table(
    g: DependencyGraph,
    include_extras: bool = False,
    any_version: DependencyGraph | None = None,
    sort: bool = True,
) -> pd.DataFrame:
    """One row per node; every column is defined in docs/data-dictionary.md.

    Direct counts use only the edges each project's own metadata lists: `direct_dependents` counts
    the projects whose selected release lists the node outside any extra (with `include_extras`,
    inside one too). Edges implied by an extra requested of a dependency (`A -> B[x]` brings B's
    extra-x requirements) count toward transitive reach and PageRank only, and on their own in
    `dependents_via_requested_extras`. With `any_version` (a graph loaded with
    latest_only=False), `direct_dependents_any_version` too. Rows in `table_order`, or with
    `sort=False` in node order (row i is node i)."""
    own_runtime = g.adjacency(include_extras=False, include_implied=False)
    own_all = g.adjacency(include_extras=True, include_implied=False)
    reach = g.adjacency(include_extras=include_extras)  # with implied edges: what pip installs
    own_main = own_all if include_extras else own_runtime
    direct_runtime = direct_dependents(own_runtime)
    direct_all = direct_dependents(own_all)
    table = pd.DataFrame(
        {
            "name": g.names.reset_index(drop=True),
            "direct_dependents": direct_dependents(own_main),
            "transitive_dependents": transitive_dependents(reach),
            "direct_dependents_with_extras": direct_all,
            "dependents_via_extras_only": direct_all - direct_runtime,
            "dependents_via_requested_extras": direct_dependents(reach)
            - direct_dependents(own_main),
            "direct_dependencies": np.diff(own_main.indptr),
            "pagerank": pagerank(reach),
        }
    )
    if any_version is not None:
        counts = pd.Series(
            direct_dependents(any_version.adjacency(include_extras, include_implied=False)),
            index=any_version.names.to_numpy(),
        )
        table["direct_dependents_any_version"] = (
            counts.reindex(table["name"]).fillna(0).astype(np.int64).to_numpy()
        )
    for column in ("direct_dependents", "transitive_dependents", "pagerank"):
        table[f"{column}_pct"] = table[column].rank(pct=True, method="max").round(6)
    for column in g.nodes.columns.drop("name"):
        table[column] = g.nodes[column].reset_index(drop=True)  # (dtypes kept: no copy)
    return table.iloc[table_order(table)].reset_index(drop=True) if sort else table
