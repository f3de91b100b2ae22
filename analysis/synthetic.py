"""A synthetic dependency graph of a chosen size with PyPI's shape, for benchmarks and scale tests.

In-degree is heavy-tailed (targets drawn from a Zipf-like law over a random popularity order, so a
few
projects are required by a large share of the index), out-degree is log-normal (most projects have a
handful of requirements, a few have dozens), most nodes have no dependents, and a small share of
edges point "backwards", closing cycles.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .graph import DependencyGraph

__all__ = ["synthetic_graph"]


def synthetic_graph(
    nodes: int = 1_013_630,
    edges: int = 3_795_130,
    alpha: float = 1.1,
    extra_share: float = 0.1,
    seed: int = 0,
) -> DependencyGraph:
    rng = np.random.default_rng(seed)
    target_edges, edges = (
        edges,
        int(edges * 1.25),
    )  # oversample: duplicates and self-loops are dropped
    # out-degrees: log-normal, 40 % of projects declare nothing, scaled to the edge budget
    out = rng.lognormal(1.0, 1.0, nodes)
    out[rng.random(nodes) < 0.4] = 0
    out = np.floor(out * edges / out.sum()).astype(np.int64)
    short = edges - int(out.sum())
    out[rng.choice(np.flatnonzero(out > 0), short, replace=True)] += 1
    src = np.repeat(np.arange(nodes), out)
    # targets: popularity rank r has weight r**-alpha; popular projects are mostly "older" (low
    # ids),
    # so most edges point from newer to older projects, and the rest close cycles
    ranks = np.arange(1, nodes + 1, dtype=np.float64)
    p = ranks**-alpha
    p /= p.sum()
    dst = rng.choice(nodes, size=len(src), p=p)
    popular_order = np.argsort(rng.random(nodes) * 0.05 + np.linspace(0, 1, nodes))
    dst = popular_order[dst]
    keep = src != dst
    frame = pd.DataFrame(
        {"src": src[keep], "dst": dst[keep], "via_extra": rng.random(int(keep.sum())) < extra_share}
    )
    frame = frame.groupby(["src", "dst"], sort=False, as_index=False)["via_extra"].min()
    frame = frame.iloc[rng.permutation(len(frame))[:target_edges]].reset_index(drop=True)
    frame["implied"] = False
    names = pd.DataFrame({"name": [f"p{i}" for i in range(nodes)], "missing": False})
    return DependencyGraph(names, frame)
