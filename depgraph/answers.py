"""The questions users ask of a store, answered the same way for the shell and the service: who
depends on X (directly or transitively, sorted and paged), why A depends on B, what the store
knows of one project, which failures it recorded.

The definitions are the report's (docs/data-dictionary.md): each project's selected (latest)
release with known dependencies, run-time requirements (through extras with `extras`), markers
kept. A list and its count are always the same set: the count is the list's length before paging.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from depgraph.errors import UsageError

if TYPE_CHECKING:  # numpy and scipy come with the graph index: a single question needs neither
    import numpy as np

    from depgraph.store import Store

__all__ = ["MAX_PAGE", "MAX_VISITED", "Answers", "DependentsPage", "GraphIndex"]

#: the most rows one answer lists (a page of a longer list is asked for with an offset)
MAX_PAGE = 1000
#: projects `why` looks at before it gives up: a bound on time, not a limit PyPI reaches
MAX_VISITED = 200_000
SORTS = ("name", "dependents", "downloads")


@dataclass(frozen=True)
class DependentsPage:
    project: str
    transitive: bool
    extras: bool
    sort: str
    count: int  # the whole list's length
    offset: int
    rows: list[dict[str, object]]  # name, and the sort key where it is not the name

    def as_dict(self) -> dict[str, object]:
        return {
            "project": self.project,
            "transitive": self.transitive,
            "extras": self.extras,
            "sort": self.sort,
            "count": self.count,
            "offset": self.offset,
            "shown": self.rows,
        }


class GraphIndex:
    """The graph reversed (who requires whom), built once from the store: then each project's
    dependents, direct or transitive, are a row of a sparse matrix or one breadth-first search
    over it (microseconds to milliseconds on a PyPI-size graph). A service keeps one; its answers
    are those of the store as it was when the index was built."""

    def __init__(self, store_path: str) -> None:
        import numpy as np

        from depgraph.analysis import load_graph

        graph = load_graph(store_path)
        self.names: list[str] = graph.names.tolist()
        self.code = {name: i for i, name in enumerate(self.names)}
        # direct: the edges each project's own metadata lists (the report's direct counts);
        # transitive: implied edges too (what pip installs)
        self._direct = {
            extras: graph.adjacency(include_extras=extras, include_implied=False)
            .transpose()
            .tocsr()
            for extras in (False, True)
        }
        self._reach = {
            extras: graph.adjacency(include_extras=extras).transpose().tocsr()
            for extras in (False, True)
        }
        self.direct_counts = {
            extras: np.diff(matrix.indptr) for extras, matrix in self._direct.items()
        }

        # each node's place in name order (the store's names come sorted, names only others
        # list come after them)
        self.rank = np.empty(len(self.names), dtype=np.int64)
        self.rank[np.argsort(np.array(self.names, dtype=object), kind="stable")] = np.arange(
            len(self.names)
        )
        self._downloads: np.ndarray | None = None

    def codes(self, name: str, transitive: bool, extras: bool) -> np.ndarray:
        """The nodes that depend on `name` (directly, or through any chain), in name order."""
        import numpy as np
        from scipy.sparse.csgraph import breadth_first_order

        at = self.code.get(name)
        if at is None:
            return np.empty(0, dtype=np.int64)
        if transitive:
            found: np.ndarray = breadth_first_order(
                self._reach[extras], at, directed=True, return_predecessors=False
            )
        else:
            matrix = self._direct[extras]
            found = matrix.indices[matrix.indptr[at] : matrix.indptr[at + 1]]
        found = found[found != at].astype(np.int64)
        ordered: np.ndarray = found[np.argsort(self.rank[found], kind="stable")]
        return ordered

    def direct(self, name: str, extras: bool) -> list[str]:
        return [self.names[i] for i in self.codes(name, False, extras).tolist()]

    def transitive(self, name: str, extras: bool) -> list[str]:
        return [self.names[i] for i in self.codes(name, True, extras).tolist()]

    def downloads_of(self, downloads: Mapping[str, int]) -> np.ndarray:
        """Each node's downloads (0 where the counts do not name it), kept after the first call."""
        import numpy as np

        if self._downloads is None:
            self._downloads = np.array(
                [int(downloads.get(n, 0)) for n in self.names], dtype=np.int64
            )
        return self._downloads

    def page(
        self, codes: np.ndarray, keys: np.ndarray | None, offset: int, limit: int
    ) -> list[dict[str, object]]:
        """Rows `offset` to `offset + limit` of `codes` ordered by `keys` (most first, then by
        name); by name without keys. Only the rows shown are turned into Python objects."""
        import numpy as np

        if keys is None:
            chosen = codes[offset : offset + limit]
            return [{"name": self.names[i]} for i in chosen.tolist()]
        values = keys[codes]
        order = np.lexsort((self.rank[codes], -values))[offset : offset + limit]
        return [
            {"name": self.names[i], "key": int(v)}
            for i, v in zip(codes[order].tolist(), values[order].tolist(), strict=True)
        ]


class Answers:
    """Answers from one store. `downloads` (name -> count) sorts dependents by downloads.

    Direct dependents come from the store's index on requirement names (no start-up cost: what
    a command that answers one question needs) until `graph_index()` was called once; from then
    on, everything about dependents is answered from the in-memory graph (what a service
    answering many questions needs)."""

    def __init__(self, store: Store, downloads: Mapping[str, int] | None = None) -> None:
        self.store = store
        self.downloads = downloads
        self._graph: GraphIndex | None = None
        self._building = threading.Lock()

    def graph_index(self) -> GraphIndex:
        with self._building:
            if self._graph is None:
                self._graph = GraphIndex(self.store.path)
            return self._graph

    def dependents(
        self,
        name: str,
        *,
        transitive: bool = False,
        extras: bool = False,
        sort: str = "name",
        limit: int = 50,
        offset: int = 0,
    ) -> DependentsPage:
        if sort not in SORTS:
            raise UsageError(f"sort must be one of {', '.join(SORTS)}, not {sort!r}")
        if sort == "downloads" and self.downloads is None:
            raise UsageError("sorting by downloads needs download counts (--downloads FILE)")
        if not 0 < limit <= MAX_PAGE or offset < 0:
            raise UsageError(f"limit must be 1 to {MAX_PAGE} and offset 0 or more")
        graph = self._graph
        if graph is not None or transitive:
            graph = self.graph_index()
            codes = graph.codes(name, transitive, extras)
            keys = None
            if sort == "dependents":
                keys = graph.direct_counts[extras]
            elif sort == "downloads" and self.downloads is not None:
                keys = graph.downloads_of(self.downloads)
            rows = [
                {"name": row["name"], **({sort: row["key"]} if "key" in row else {})}
                for row in graph.page(codes, keys, offset, limit)
            ]
            return DependentsPage(name, transitive, extras, sort, len(codes), offset, rows)
        found = self.store.listed_by(name, extras=extras)
        counts: dict[str, int] = {}
        if sort == "dependents":
            counts = self.store.listed_by_counts(found, extras=extras)
        elif sort == "downloads" and self.downloads is not None:
            counts = {n: int(self.downloads.get(n, 0)) for n in found}
        ordered = sorted(found, key=lambda n: (-counts.get(n, 0), n)) if counts else found
        shown = ordered[offset : offset + limit]
        rows = [{"name": n, **({sort: counts[n]} if counts else {})} for n in shown]
        return DependentsPage(name, transitive, extras, sort, len(found), offset, rows)

    def why(self, source: str, target: str, extras: bool = False) -> list[dict[str, object]] | None:
        """A shortest chain of requirements from `source` to `target` (breadth first over each
        project's selected release), each step with its specifier, marker and extra; None when
        there is none."""
        came_from: dict[str, tuple[str, dict[str, object]] | None] = {source: None}
        queue: deque[str] = deque([source])
        while queue and target not in came_from and len(came_from) < MAX_VISITED:
            project = queue.popleft()
            for edge in self.store.lists(project, extras=extras):
                listed = str(edge["name"])
                if listed not in came_from:
                    came_from[listed] = (project, edge)
                    queue.append(listed)
        if target == source or target not in came_from:
            return None
        path: list[dict[str, object]] = []
        at = target
        while (step := came_from[at]) is not None:
            parent, edge = step
            path.append({"from": parent, **edge})
            at = parent
        return path[::-1]

    def project(self, name: str) -> dict[str, object] | None:
        """The project as the store knows it, with what it lists and how many list it; None when
        the store has no page of it."""
        from depgraph.core.versions import version_order

        record = self.store.project_record(name)
        if record is None:
            return None
        releases = record["releases"]
        assert isinstance(releases, list)
        releases.sort(key=lambda r: version_order(str(r["version"])), reverse=True)
        record["requires"] = self.store.lists(name, extras=True)
        graph = self._graph
        if graph is not None:
            at = graph.code.get(name)
            direct, with_extras = (
                (0, 0)
                if at is None
                else (int(graph.direct_counts[False][at]), int(graph.direct_counts[True][at]))
            )
        else:
            direct, with_extras = self.store.listed_by_both(name)
        record["direct_dependents"] = direct
        record["direct_dependents_with_extras"] = with_extras
        if self.downloads is not None:
            record["downloads"] = self.downloads.get(name)
        return record

    def listed_only(self, name: str) -> dict[str, object] | None:
        """A name the store has no page of, as far as others list it; None when nobody does."""
        page = self.dependents(name, extras=True, limit=1)
        if page.count == 0:
            return None
        direct = self.dependents(name, limit=1).count
        return {
            "name": name,
            "status": "not-stored",
            "releases": [],
            "failures": 0,
            "requires": [],
            "direct_dependents": direct,
            "direct_dependents_with_extras": page.count,
        }

    def failures(
        self,
        *,
        stage: str | None = None,
        reason: str | None = None,
        project: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> dict[str, object]:
        if not 0 < limit <= MAX_PAGE or offset < 0:
            raise UsageError(f"limit must be 1 to {MAX_PAGE} and offset 0 or more")
        total, rows = self.store.failures(
            stage=stage, reason=reason, project=project, limit=limit, offset=offset
        )
        return {"failures": total, "offset": offset, "shown": rows}
