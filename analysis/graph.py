"""The dependency graph: one node per canonical project name, an edge A -> B when A requires B.

Held as integer edge arrays over a node table (pandas), so metrics run on scipy sparse matrices at
PyPI scale; `to_networkx()` gives the same graph as an `nx.DiGraph` for exploration.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from scipy import sparse

if TYPE_CHECKING:  # networkx only where a graph is handed to or from it (0.1 s to import)
    import networkx as nx

__all__ = ["DependencyGraph", "arrow_text", "from_edge_frame"]


@dataclass
class DependencyGraph:
    """nodes: DataFrame indexed 0..n-1 with a `name` column (+ attributes);
    edges: DataFrame with int columns `src`, `dst` (src requires dst), boolean `via_extra` (the
    edge exists only through an extra) and boolean `implied` (src's own metadata does not list
    dst: it comes with an extra src requests of another dependency, `B[x]`), one row per distinct
    (src, dst, implied)."""

    nodes: pd.DataFrame
    edges: pd.DataFrame

    @property
    def n(self) -> int:
        return len(self.nodes)

    @property
    def names(self) -> pd.Series:
        return self.nodes["name"]

    def codes_of(self, names: pd.Series) -> np.ndarray:
        """The node code of each name, -1 for a name that is no node. The few distinct names are
        hashed and the nodes' names looked up among them (hashing all the nodes' names for a
        handful of lookups costs more)."""
        asked = arrow_text(names)
        distinct = pc.unique(asked)
        found = pc.index_in(arrow_text(self.names), value_set=distinct)
        at = pc.fill_null(found, -1).to_numpy(zero_copy_only=False)
        node_of = np.full(len(distinct), -1, dtype=np.int64)
        node_of[at[at >= 0]] = np.flatnonzero(at >= 0)
        which = pc.index_in(asked, value_set=distinct).to_numpy(zero_copy_only=False)
        codes: np.ndarray = node_of[which.astype(np.int64)] if len(which) else node_of[:0]
        return codes

    def runtime_edges(self) -> pd.DataFrame:
        return self.edges[~self.edges["via_extra"]]

    def adjacency(
        self, include_extras: bool = True, include_implied: bool = True
    ) -> sparse.csr_matrix:
        """A[src, dst] = 1 for each edge (self-loops dropped: a project does not depend on
        itself). Without `include_implied`, only the edges src's own metadata lists."""
        e = self.edges if include_extras else self.runtime_edges()
        if not include_implied and "implied" in e:
            e = e[~e["implied"]]
        e = e[e["src"] != e["dst"]]
        data = np.ones(len(e), dtype=np.int8)
        return sparse.csr_matrix(
            (data, (e["src"].to_numpy(), e["dst"].to_numpy())), shape=(self.n, self.n)
        )

    def to_networkx(self) -> nx.DiGraph[str]:
        import networkx as nx  # only for exploration: not part of any report

        g: nx.DiGraph[str] = nx.DiGraph()
        names = self.nodes["name"].to_numpy()
        attrs = self.nodes.drop(columns=["name"]).to_dict("records")
        g.add_nodes_from((names[i], a) for i, a in enumerate(attrs))
        g.add_edges_from(
            (names[s], names[d], {"via_extra": bool(x), "implied": bool(i)})
            for s, d, x, i in self.edges[["src", "dst", "via_extra", "implied"]].itertuples(
                index=False
            )
        )
        return g

    @classmethod
    def from_networkx(cls, g: nx.DiGraph[str]) -> DependencyGraph:
        names = list(g.nodes)
        nodes = pd.DataFrame([{"name": n, **g.nodes[n]} for n in names])
        rows = [
            (u, v, bool(d.get("via_extra", False)), bool(d.get("implied", False)))
            for u, v, d in g.edges(data=True)
        ]
        columns = ["source", "target", "via_extra", "implied"]
        return from_edge_frame(pd.DataFrame(rows, columns=columns), nodes)


def from_edge_frame(edges: pd.DataFrame, nodes: pd.DataFrame | None = None) -> DependencyGraph:
    """Build from name-level edges (`source`, `target`, `via_extra`) and optional node attributes.

    Targets that are not in `nodes` become nodes with `missing=True` (required, but not on the
    index).
    Several edges between one pair collapse into one own edge and at most one implied edge, each
    via_extra only if all of its rows are.
    """
    if nodes is None:
        nodes = pd.DataFrame({"name": pd.unique(edges["source"])})
    named = arrow_text(nodes["name"]).combine_chunks()
    if len(pc.unique(named)) != len(
        named
    ):  # (a store's names are unique: checked, not hashed twice)
        nodes = nodes.drop_duplicates("name")
        named = arrow_text(nodes["name"]).combine_chunks()
    nodes = nodes.reset_index(drop=True)
    if "missing" not in nodes:
        nodes["missing"] = False
    endpoints = pa.chunked_array(
        [*arrow_text(edges["source"]).chunks, *arrow_text(edges["target"]).chunks], pa.string()
    )
    # names to codes by Arrow's hash lookup (pandas' get_indexer on text costs ~5x more); the few
    # names that are no node get codes after the nodes'
    found = pc.index_in(endpoints, value_set=named)
    unknown = pc.is_null(found)
    codes = pc.fill_null(found, -1).to_numpy(zero_copy_only=False).astype(np.int64)
    strays = pc.filter(endpoints, unknown)
    # sorted: node codes (and so the report's row order) must not depend on the order the
    # database returned the edges in
    absent = pa.array(sorted(pc.unique(strays).to_pylist()), pa.string())
    if len(absent):
        codes[unknown.to_numpy(zero_copy_only=False)] = len(nodes) + pc.index_in(
            strays, value_set=absent
        ).to_numpy(zero_copy_only=False)
        nodes = pd.concat(
            [nodes, pd.DataFrame({"name": absent.to_pylist(), "missing": True})],
            ignore_index=True,
        )
    nodes["missing"] = nodes["missing"].fillna(False).astype(bool)
    implied = (
        edges["implied"].to_numpy(dtype=bool)
        if "implied" in edges
        else np.zeros(len(edges), dtype=bool)
    )
    # One row per (src, dst, implied), via_extra only if every row of it is: an own edge and an
    # implied one between the same pair stay two rows (collapsing their flags together would make
    # "listed in an extra" + "implied at run time" look like "listed at run time" to the direct
    # counts). Grouped on one integer key, in order of first appearance.
    n = max(len(nodes), 1)
    key = (codes[: len(edges)] * n + codes[len(edges) :]) * 2 + implied
    group, keys = pd.factorize(key)
    listed = np.bincount(
        group, weights=~edges["via_extra"].to_numpy(dtype=bool), minlength=len(keys)
    )
    e = pd.DataFrame(
        {
            "src": (keys // (2 * n)).astype(np.int32),
            "dst": ((keys // 2) % n).astype(np.int32),
            "via_extra": listed == 0,
            "implied": (keys % 2).astype(bool),
        }
    )
    return DependencyGraph(nodes, e)


def arrow_text(column: pd.Series) -> pa.ChunkedArray:
    """A text column as Arrow strings (zero-copy when pandas already holds it in Arrow)."""
    if not len(column):
        return pa.chunked_array([], pa.string())
    array = pa.array(column, from_pandas=True)
    if isinstance(array, pa.Array):  # (pandas' Arrow columns come chunked already)
        array = pa.chunked_array([array])
    return array.cast(pa.string())
