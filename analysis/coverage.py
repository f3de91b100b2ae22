"""What the store covers: each node of the graph as crawled, not crawled, or not on the index.

A name other projects list may have no page in the store for two reasons that mean opposite
things: the index does not have it (a typo, a removed project, a private package), or nobody
crawled it (a store of chosen projects). The store tells them apart where it can: a page the
index answered 404 is `not-on-index`; a name with no page at all is `not-on-index` in a store
that copies a whole index (a complete `crawl --all` or `update`, or an import of every project)
and `not-crawled` in any other."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["CRAWL_STATES", "crawl_states"]

CRAWL_STATES = ("crawled", "page-failed", "not-on-index", "not-crawled")


def crawl_states(status: pd.Series, whole_index: bool) -> pd.Series:
    """One of CRAWL_STATES per node, from its page's status (`ok`, `failed`, `missing`, or no
    page: missing value)."""
    known = status.fillna("").astype(str).to_numpy()
    state = np.select(
        [known == "ok", known == "failed", known == "missing"],
        ["crawled", "page-failed", "not-on-index"],
        default="not-on-index" if whole_index else "not-crawled",
    )
    return pd.Series(state, index=status.index, dtype=object)
