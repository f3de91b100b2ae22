"""The per-project metrics table: dependents (direct, transitive, via extras only), PageRank,
ranks."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .centrality import pagerank
from .graph import DependencyGraph
from .reach import direct_dependents, transitive_dependents

__all__ = ["dependents_table"]


def dependents_table(
    g: DependencyGraph, include_extras: bool = False, any_version: DependencyGraph | None = None
) -> pd.DataFrame:
    """One row per node. `include_extras` chooses whether the main columns count extras edges;
    `dependents_via_extras_only` always counts projects that require the node only through an extra.
    With `any_version` (a graph loaded with latest_only=False), `direct_dependents_any_version`
    too."""
    runtime = g.adjacency(include_extras=False)
    full = g.adjacency(include_extras=True)
    main = full if include_extras else runtime
    direct_runtime = direct_dependents(runtime)
    direct_all = direct_dependents(full)
    table = pd.DataFrame(
        {
            "name": g.names.to_numpy(),
            "direct_dependents": direct_dependents(main),
            "transitive_dependents": transitive_dependents(main),
            "direct_dependents_with_extras": direct_all,
            "dependents_via_extras_only": direct_all - direct_runtime,
            "direct_dependencies": np.diff(main.indptr),
            "pagerank": pagerank(main),
        }
    )
    if any_version is not None:
        counts = pd.Series(
            direct_dependents(any_version.adjacency(include_extras)),
            index=any_version.names.to_numpy(),
        )
        table["direct_dependents_any_version"] = (
            counts.reindex(table["name"]).fillna(0).astype(np.int64).to_numpy()
        )
    for column in ("direct_dependents", "transitive_dependents", "pagerank"):
        table[f"{column}_pct"] = table[column].rank(pct=True, method="max").round(6)
    for column in g.nodes.columns.drop("name"):
        table[column] = g.nodes[column].to_numpy()
    return table.sort_values(
        ["direct_dependents", "transitive_dependents", "name"], ascending=[False, False, True]
    ).reset_index(drop=True)
