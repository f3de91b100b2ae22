"""Write the CSV reports and plots of a store (and optionally download counts)."""

from __future__ import annotations

import gc
import importlib.util
import json
import shutil
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from scipy import sparse

from depgraph.core.interruptible import in_background
from depgraph.core.progress import Progress, silent
from depgraph.store.reader import REQUIREMENT_COLUMNS, StoreSource

from .build import edges_from_requirements
from .coverage import CRAWL_STATES, crawl_states
from .csvout import write_csv
from .downloads import compare_downloads, downloads_window, read_downloads
from .folders import replaced_whole
from .graph import DependencyGraph, arrow_text, from_edge_frame
from .health import (
    cycles,
    missing_dependencies,
    self_loops,
    unknown_dependencies,
)
from .history import dependents_history, plot_history, read_downloads_history
from .installability import check_installability, write_verdicts
from .metrics import dependents_table, table_order
from .pinning import PINNING_KINDS, classify_pinning
from .reach import direct_dependents
from .roles import assign_roles
from .targets import Target
from .unmet_worker import start_unmet_check

if TYPE_CHECKING:  # matplotlib is imported by the first plot, networkx by GraphML: both are
    # start-up time (0.5 s) a report without them does not spend
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "DATA_DICTIONARY",
    "ReportTables",
    "any_version_dependents",
    "build_tables",
    "write_report",
]

#: what every column means; copied into each report folder as README.md
DATA_DICTIONARY = Path(__file__).with_name("DATA_DICTIONARY.md")


@dataclass
class ReportTables:
    """Everything a report holds, in memory (what `write_report` writes; handy in notebooks)."""

    graph: DependencyGraph
    packages: pd.DataFrame  # one row per project: metrics, role, health flags (+ downloads)
    pinning: pd.DataFrame  # metapackages, frozen environments, pinned applications
    cycles: list[list[str]]
    self_loops: list[str]
    missing: pd.DataFrame
    broken_edges: pd.DataFrame
    unknown: pd.DataFrame
    filters: dict[str, object] = field(default_factory=dict)  # what the filtered count leaves out
    comparison: dict[str, object] | None = None  # direct dependents vs downloads
    comparison_transitive: dict[str, object] | None = None
    coverage: dict[str, object] = field(default_factory=dict)  # nodes by crawl_state


#: a dependent whose newest upload is older than this (before the newest upload in the store)
#: is left out of the filtered count, when the store knows upload times
STALE_YEARS = 10


def filtered_dependents(
    graph: DependencyGraph, pinning: pd.DataFrame, include_extras: bool = False
) -> tuple[np.ndarray, dict[str, object], dict[str, np.ndarray]]:
    """Direct dependents counted only from dependents that carry a signal: frozen environments
    (a pasted `pip freeze` pins hundreds of unrelated projects) are left out always; projects whose
    newest upload is over STALE_YEARS years older than the store's newest are left out when the
    store knows upload times. Returns the counts, what was left out, and the counts with each
    filter alone."""
    names = graph.names
    frozen = set(pinning.loc[pinning["kind"] == "frozen-environment", "name"])
    drop = names.isin(frozen).to_numpy()
    stale = 0
    stale_mask: np.ndarray | None = None
    filters: dict[str, object] = {"frozen_environments_left_out": int(drop.sum())}
    if "last_upload" in graph.nodes and graph.nodes["last_upload"].notna().any():
        uploads = pd.to_datetime(graph.nodes["last_upload"], utc=True, errors="coerce")
        cutoff = uploads.max() - pd.DateOffset(years=STALE_YEARS)
        old = (uploads < cutoff).fillna(False).to_numpy(dtype=bool)
        stale = int((old & ~drop).sum())
        stale_mask = old
        drop = drop | old
        filters["stale_cutoff"] = str(cutoff.date())
    else:
        filters["stale_cutoff"] = None  # no upload times in the store: no age filter
    filters["stale_projects_left_out"] = stale
    own = graph.adjacency(include_extras=include_extras, include_implied=False)

    def without(mask: np.ndarray) -> np.ndarray:
        keep = sparse.diags((~mask).astype(np.int8), dtype=np.int8)
        return direct_dependents((keep @ own).tocsr())

    # each filter alone too, so its own effect can be stated
    each = {"frozen_environments": without(names.isin(frozen).to_numpy())}
    if stale_mask is not None:
        each["stale_projects"] = without(stale_mask)
    return without(drop), filters, each


def any_version_dependents(
    graph: DependencyGraph,
    older: pd.DataFrame,
    environment: dict[str, str] | None = None,
    include_extras: bool = False,
) -> np.ndarray:
    """Per node of `graph`: the projects whose selected release *or any older known release*
    lists it (outside extras unless `include_extras`; implied edges never). `older`: requirement
    rows (source, target, extra, and marker where `environment` is given) of the known releases
    that are not selected, each distinct row once is enough (`StoreSource.older_edges`); only
    their edges are computed here, the rest is the graph's own."""
    own = graph.adjacency(include_extras=include_extras, include_implied=False)
    edges = edges_from_requirements(older, environment)
    edges = edges[~edges["implied"].astype(bool)]
    if not include_extras:
        edges = edges[~edges["via_extra"].astype(bool)]
    src, dst = graph.codes_of(edges["source"]), graph.codes_of(edges["target"])
    # a name only an older release requires is not a node of the report: nothing to count
    keep = (src >= 0) & (dst >= 0) & (src != dst)
    # each pair once: a pair repeated 256 times would sum to 0 in the int8 matrix
    pairs = np.unique(src[keep].astype(np.int64) * graph.n + dst[keep])
    ones = np.ones(len(pairs), dtype=np.int8)
    shape = (graph.n, graph.n)
    older_adj = sparse.csr_matrix((ones, (pairs // graph.n, pairs % graph.n)), shape=shape)
    return direct_dependents((own + older_adj).tocsr())


def _by_name(table: pd.DataFrame, values: pd.Series) -> pd.Series:
    """`values` (indexed by a few names) as a column of `table`, missing where a name has none:
    only the few names are looked up, not every row's."""
    # Arrow's lookup hashes the few names and probes the table's (an Index of the table's names
    # is hashed anew at every call)
    few = pa.array(values.index.astype(str).to_numpy(dtype=object), pa.string())
    position = pc.index_in(arrow_text(table["name"]), value_set=few)
    at = pc.fill_null(position, -1).to_numpy(zero_copy_only=False)
    column = np.full(len(table), None, dtype=object)
    column[at >= 0] = values.to_numpy()[at[at >= 0]]
    return pd.Series(column, index=table.index)


#: the requirement columns a report reads for every row: marker, kind and raw text are read later,
#: for the broken requirements only
_REQUIREMENTS_READ = (*(c for c in REQUIREMENT_COLUMNS if c not in ("marker", "kind", "raw")), "id")


def _requirements_read(environment: dict[str, str] | None) -> tuple[str, ...]:
    """What a report reads of every requirement row: the text of their markers only where markers
    are evaluated (the broken requirements' is read with their kind and raw text)."""
    return (*_REQUIREMENTS_READ, "marker") if environment is not None else _REQUIREMENTS_READ


def build_tables(
    db: str | Path | StoreSource,
    downloads: str | Path | None = None,
    include_extras: bool = False,
    environment: dict[str, str] | None = None,
    as_of: str | None = None,
) -> ReportTables:
    """Every table of a report; with `as_of` (YYYY-MM-DD), as the index stood on that date."""
    source = StoreSource.open(db, as_of)
    with (
        _without_cycle_collection(),
        _TableBuild(source, downloads, include_extras, environment) as build,
    ):
        return build.finish()


@contextmanager
def _without_cycle_collection() -> Iterator[None]:
    """Python's cyclic garbage collector off for a while, as it was afterwards. A report makes
    millions of short-lived objects and no cycles worth collecting, and the collector would walk
    them again and again (about a second of CPU on a PyPI-size store); reference counting frees
    everything at once."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class _TableBuild:
    """A report's tables in two steps: `tables` (everything but the unsatisfiable requirements,
    whose check runs in a process of its own), then `finish()` (waits for the check). A report
    writes the files that do not need the check in between.

    The store is read once: the selected releases' requirements (the graph, the health checks),
    the older known releases' (any-version counts) and the nodes. The reads run at once, each on
    its own connection: the database works without holding Python's lock. Which specifiers no
    release meets (pure Python, seconds on a PyPI-size store) is found by a process of its own
    reading the store beside everything else: a second core does it."""

    def __init__(
        self,
        source: StoreSource,
        downloads: str | Path | None,
        include_extras: bool,
        environment: dict[str, str] | None,
    ) -> None:
        self._source = source
        # a small read of its own (sqlite3), before the columnar reads (ADBC) start on two threads
        whole_index = source.whole_index()
        self._checking = start_unmet_check(source.locator, source.as_of)
        try:
            # the nodes, then the older releases' distinct edges, on the side (the selected
            # releases' requirements are never copied out of all of them)
            reading_nodes, reading_older = in_background(
                source.nodes, lambda: source.older_edges(environment is not None, include_extras)
            )
            reqs = source.requirements(columns=_requirements_read(environment))
            self._checking.ask(reqs["target"], reqs["specifier"])
            self._reqs: pd.DataFrame | None = reqs
            self.tables = _graph_tables(
                reqs,
                reading_nodes.result(),
                reading_older.result,
                downloads,
                include_extras,
                environment,
                whole_index,
            )
        except BaseException:
            self._checking.stop()
            raise

    def __enter__(self) -> _TableBuild:
        return self

    def __exit__(self, *exc: object) -> None:
        self._checking.stop()

    def finish(self) -> ReportTables:
        """The tables with the unsatisfiable requirements (`broken_edges`, and the packages'
        `unsatisfiable_requirements` column, after `in_cycle`)."""
        tables = self.tables
        # the requirements are not needed past here: freed before the report's files are written
        reqs, self._reqs = self._reqs, None
        if reqs is None:
            raise RuntimeError("finish() was called twice")
        unmet = self._checking.result()
        broken = (
            reqs.take(unmet["row"].to_numpy())
            .assign(reason=unmet["reason"].to_numpy())
            .sort_values(["source", "target"])
            .reset_index(drop=True)
        )
        del reqs
        texts = self._source.requirement_texts(broken["id"].tolist())
        texts = texts.set_index("id")
        tables.broken_edges = broken.assign(
            **{column: broken["id"].map(texts[column]) for column in ("marker", "kind", "raw")}
        )[[*REQUIREMENT_COLUMNS, "reason"]]
        table = tables.packages
        counts = _by_name(table, tables.broken_edges.groupby("source").size())
        table.insert(
            table.columns.get_loc("in_cycle") + 1,
            "unsatisfiable_requirements",
            counts.fillna(0).astype(int),
        )
        return tables


def _graph_tables(
    reqs: pd.DataFrame,
    nodes: pd.DataFrame,
    read_older: Callable[[], pd.DataFrame],
    downloads: str | Path | None,
    include_extras: bool,
    environment: dict[str, str] | None,
    whole_index: str | None = None,
) -> ReportTables:
    graph = from_edge_frame(edges_from_requirements(reqs, environment), nodes)
    # columns are computed in node order (row i is node i), then the rows put in report order
    table = dependents_table(graph, include_extras=include_extras, sort=False)
    status = table["status"] if "status" in table else pd.Series(None, index=table.index)
    table["crawl_state"] = crawl_states(status, whole_index is not None)
    not_crawled = (table["crawl_state"] != "crawled").to_numpy()
    # any version: the latest releases' own edges, and those older known releases add
    table["direct_dependents_any_version"] = any_version_dependents(
        graph, read_older(), environment, include_extras
    )
    pinning = classify_pinning(reqs)
    table["pinning"] = _by_name(table, pinning.set_index("name")["kind"])
    table["role"] = assign_roles(table, pinning)
    filtered, filters, each = filtered_dependents(graph, pinning, include_extras)
    table["direct_dependents_filtered"] = filtered
    order = table_order(table)
    table = table.iloc[order].reset_index(drop=True)
    top_plain = set(table.nlargest(100, "direct_dependents")["name"])
    top_filtered = set(table.nlargest(100, "direct_dependents_filtered")["name"])
    filters["top_100_changed"] = len(top_plain - top_filtered)
    alone = {label: pd.Series(counts[order]) for label, counts in each.items()}
    effects: dict[str, dict[str, object]] = {
        label: {
            "top_100_changed": len(top_plain - set(table.loc[counts.nlargest(100).index, "name"]))
        }
        for label, counts in alone.items()
    }
    filters["each_filter"] = effects
    cyc = cycles(graph, include_extras)
    table["in_cycle"] = table["name"].isin({name for members in cyc for name in members})
    tables = ReportTables(
        graph,
        table,
        pinning,
        cyc,
        self_loops(graph),
        _with_state(missing_dependencies(graph, not_crawled), table),
        pd.DataFrame(columns=[*REQUIREMENT_COLUMNS, "reason"]),  # (`_TableBuild.finish`)
        unknown_dependencies(graph),
        filters,
    )
    tables.coverage = {
        "whole_index": whole_index,
        **{
            state.replace("-", "_"): int((table["crawl_state"] == state).sum())
            for state in CRAWL_STATES
        },
    }
    if downloads is not None:
        dl = read_downloads(downloads)
        # over crawled projects only: a name nobody crawled has no dependents counted because
        # nothing of it was read, not because nobody depends on it
        crawled = table[table["crawl_state"] == "crawled"]
        tables.comparison = compare_downloads(crawled, dl, metric="direct_dependents")
        tables.comparison_transitive = compare_downloads(
            crawled, dl, metric="transitive_dependents"
        )
        filtered_vs = compare_downloads(crawled, dl, metric="direct_dependents_filtered")
        filters["spearman_with_downloads"] = {
            "plain": tables.comparison.get("spearman"),
            "filtered": filtered_vs.get("spearman"),
        }
        for label, counts in alone.items():
            effects[label]["spearman_with_downloads"] = compare_downloads(
                table.assign(alone=counts)[table["crawl_state"] == "crawled"], dl, metric="alone"
            ).get("spearman")
        table = table.merge(dl, on="name", how="left")
        table["downloads_rank_pct"] = table["downloads"].rank(pct=True, method="max")
        tables.packages = table
    return tables


def _with_state(missing: pd.DataFrame, table: pd.DataFrame) -> pd.DataFrame:
    """missing.csv's rows with each name's crawl_state."""
    return missing.assign(crawl_state=_by_name(missing, table.set_index("name")["crawl_state"]))


def _summary(tables: ReportTables) -> dict[str, object]:
    table = tables.packages
    on_index = table[~table["missing"]]
    summary: dict[str, object] = {
        "projects": len(on_index),
        "missing_projects_required": int(table["missing"].sum()),
        # every node as crawled, page-failed, not-on-index or not-crawled (data dictionary)
        "coverage": tables.coverage,
        "edges": len(tables.graph.edges),
        "edges_via_extras_only": int(tables.graph.edges["via_extra"].sum()),
        "edges_implied_by_requested_extras": int(tables.graph.edges["implied"].sum()),
        "projects_with_unknown_dependencies": len(tables.unknown),
        # latest releases whose dependencies came from bytes not checked against the index's
        # sha256 (HTTP range reads): `depgraph crawl --verify-hashes` re-reads them verified
        "projects_with_unverified_dependencies": int(
            (on_index.get("deps_verified", pd.Series(dtype=float)) == 0).sum()
        ),
        "cycles": len(tables.cycles),
        "largest_cycle": max((len(c) for c in tables.cycles), default=0),
        "self_loops": len(tables.self_loops),
        "unsatisfiable_edges": len(tables.broken_edges),
        **{
            f"{kind.replace('-', '_')}s": int((tables.pinning["kind"] == kind).sum())
            for kind in PINNING_KINDS
        },
        "filtered_dependents": tables.filters,
        "roles": on_index["role"].value_counts().to_dict(),
        "top_by_direct_dependents": on_index.head(10)["name"].tolist(),
    }
    for key, comp in (
        ("comparison", tables.comparison),
        ("comparison_transitive", tables.comparison_transitive),
    ):
        if comp is not None:
            summary[key] = {k: v for k, v in comp.items() if not isinstance(v, pd.DataFrame)}
    return summary


def _figure(width: float, height: float) -> tuple[Figure, Axes]:
    """A figure that belongs to no pyplot state: report files are written without touching the
    caller's matplotlib backend, so plots still render inline in a notebook that imports us."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height))
    return fig, fig.add_subplot()


def _save(fig: Figure, path: Path, left: float = 0.12) -> Path:
    # fixed margins: tight_layout measured every label and took half of the plots' time
    fig.subplots_adjust(left=left, right=0.97, bottom=0.12, top=0.9)
    fig.savefig(path, dpi=110)
    return path


def caption(tables: ReportTables, store: str, as_of: str | None) -> str:
    """Where a plot's numbers come from: the store, how many projects were crawled, and the
    date the data stands at (the as-of date, else the newest upload the store knows)."""
    crawled = tables.coverage.get("crawled", len(tables.packages))
    uploads = tables.graph.nodes.get("last_upload")
    newest = None if uploads is None or not uploads.notna().any() else str(uploads.max())[:10]
    when = f"as of {as_of}" if as_of else (f"newest upload {newest}" if newest else "")
    if not when and tables.coverage.get("whole_index"):
        when = str(tables.coverage["whole_index"])
    return " · ".join(
        part for part in (f"store {store}", f"{crawled} projects crawled", when) if part
    )


def _note(fig: Figure, text: str) -> None:
    fig.text(0.01, 0.01, text, fontsize=7, color="0.35", ha="left", va="bottom")


def _plots(
    tables: ReportTables, out: Path, note: str = "", window: str | None = None, label: int = 8
) -> list[Path]:
    table = tables.packages
    crawled = table[table["crawl_state"] == "crawled"] if "crawl_state" in table else table
    fig, ax = _figure(7, 5)
    counts = np.bincount(crawled["direct_dependents"].to_numpy())
    ks = np.flatnonzero(counts[1:]) + 1
    ax.loglog(ks, counts[ks], ".")
    ax.set_xlabel("dependents (k)")
    ax.set_ylabel("projects with k dependents")
    ax.set_title(f"In-degree distribution (n = {int(counts[1:].sum())} projects with k >= 1)")
    _note(fig, note)
    written = [_save(fig, out / "degree_distribution.png")]
    top = crawled.head(25)[::-1]
    fig, ax = _figure(7, 7)
    ax.barh(top["name"], top["direct_dependents"])
    ax.set_xlabel("direct dependents")
    ax.set_title(f"Most depended-upon projects (top {len(top)} of {len(crawled)} crawled)")
    _note(fig, note)
    # room for the longest name on the left (~0.011 of a 7-inch figure per character)
    longest = max((len(str(n)) for n in top["name"]), default=0)
    written.append(_save(fig, out / "top_dependents.png", left=min(0.5, 0.06 + 0.011 * longest)))
    comp = tables.comparison
    if comp is not None and "downloads" in table:
        written.append(_downloads_plot(crawled, comp, out, note, window, label))
    return written


def _downloads_plot(
    crawled: pd.DataFrame,
    comp: dict[str, object],
    out: Path,
    note: str,
    window: str | None,
    label: int,
) -> Path:
    """Dependents against downloads over the crawled projects both know, the strongest outliers
    of each kind named, labels moved apart (adjustText) so none covers another."""
    from adjustText import adjust_text

    both = crawled[crawled["downloads"] > 0]
    fig, ax = _figure(8, 6)
    # +1 so that projects nobody depends on stay on the log axis
    ax.loglog(both["downloads"], both["direct_dependents"] + 1, ".", alpha=0.3, markersize=3)
    texts = []
    for key, colour in (
        ("depended_not_downloaded", "tab:red"),
        ("downloaded_not_depended", "tab:green"),
    ):
        frame = comp.get(key)
        if isinstance(frame, pd.DataFrame):
            for row in frame.head(label // 2).itertuples():
                texts.append(
                    ax.text(
                        float(row.downloads),
                        float(row.direct_dependents) + 1,
                        str(row.name),
                        fontsize=7,
                        color=colour,
                    )
                )
    if texts:
        adjust_text(texts, ax=ax, arrowprops={"arrowstyle": "-", "color": "0.5", "lw": 0.5})
    ax.set_xlabel("downloads" + (f" ({window})" if window else ""))
    ax.set_ylabel("direct dependents + 1")
    spearman = comp.get("spearman")
    rho = f"Spearman {spearman:.2f}" if isinstance(spearman, float) else "no rank correlation"
    ax.set_title(
        f"Dependents vs downloads, n = {comp.get('projects_compared', len(both))} crawled "
        f"projects ({rho})\nred: depended on, rarely downloaded - green: downloaded, rarely "
        "depended on",
        fontsize=9,
    )
    _note(fig, note)
    return _save(fig, out / "dependents_vs_downloads.png")


def write_graphml(graph: DependencyGraph, path: Path) -> Path:
    """The graph for Gephi, Cytoscape, igraph ... (GraphML has no null: missing values become
    "")."""
    import networkx as nx

    g = graph.to_networkx()
    for _, attrs in g.nodes(data=True):
        for key, value in list(attrs.items()):
            if value is None or (isinstance(value, float) and np.isnan(value)):
                attrs[key] = ""
            elif isinstance(value, np.generic):
                attrs[key] = value.item()
    nx.write_graphml(g, path)
    return path


def _write_graph_files(tables: ReportTables, out: Path) -> None:
    """edges.csv, pinning.csv, missing.csv and cycles.csv: final before the specifier check."""
    names = pa.array(tables.graph.names, pa.string())
    edges = tables.graph.edges
    # rows in node order (names sorted by the reader), whichever order the database gave them in
    order = np.lexsort((edges["dst"].to_numpy(), edges["src"].to_numpy()))
    edges = edges.iloc[order]
    edge_rows = pd.DataFrame(
        {
            "source": pd.arrays.ArrowStringArray(names.take(edges["src"].to_numpy())),
            "target": pd.arrays.ArrowStringArray(names.take(edges["dst"].to_numpy())),
            "via_extra": edges["via_extra"].to_numpy(),
            "implied": edges["implied"].to_numpy(),
        }
    )
    write_csv(edge_rows, out / "edges.csv")
    write_csv(tables.pinning, out / "pinning.csv")
    write_csv(tables.missing, out / "missing.csv")
    cycle_rows = pd.DataFrame(
        [(i, name) for i, members in enumerate(tables.cycles) for name in members],
        columns=["cycle", "name"],
    )
    write_csv(cycle_rows, out / "cycles.csv")


def _write_broken_edges_and_parquet(tables: ReportTables, out: Path) -> None:
    write_csv(
        tables.broken_edges.sort_values(list(tables.broken_edges.columns[:2])),
        out / "broken_edges.csv",
    )
    if importlib.util.find_spec("pyarrow") is not None:  # optional: Parquet only with pyarrow
        tables.packages.to_parquet(out / "packages.parquet", index=False)


def _add_installability(
    source: StoreSource,
    out: Path,
    tables: ReportTables,
    targets: Sequence[Target],
    top_n: int,
    progress: Progress,
) -> dict[str, object]:
    """installable.csv for the `top_n` projects by direct dependents, and an
    `installable_<target>` column per target."""
    top = (
        tables.packages[~tables.packages["missing"]]
        .sort_values(["direct_dependents", "name"], ascending=[False, True])["name"]
        .head(top_n)
    )
    checked = check_installability(
        source, targets, projects=[str(n) for n in top], progress=progress
    )
    write_verdicts(checked, targets, out)
    verdicts = checked.table
    for target in targets:
        column = verdicts[verdicts["target"] == target.label].set_index("project")["verdict"]
        tables.packages[f"installable_{target.label}"] = tables.packages["name"].map(column)
    return checked.summary


def _import_plotting() -> None:
    """matplotlib's import (0.4 s), on a thread while the store is read: reading works outside
    Python's lock."""
    import matplotlib.figure  # noqa: F401


def write_report(
    db: str | Path | StoreSource,
    out: str | Path,
    *,
    downloads: str | Path | None = None,
    include_extras: bool = False,
    environment: dict[str, str] | None = None,
    graphml: bool = False,
    installable: Sequence[Target] = (),
    installable_top: int = 1000,
    as_of: str | None = None,
    history_months: int = 0,
    history_top: int = 10,
    downloads_history: str | Path | None = None,
    progress: Progress = silent,
) -> dict[str, object]:
    """packages.csv, edges.csv, broken_edges.csv, pinning.csv, cycles.csv, missing.csv,
    summary.json, PNG plots (and packages.parquet where pyarrow is installed; graph.graphml on
    request). With `installable` targets: installable.csv and an `installable_<target>` column
    for the `installable_top` projects by direct dependents. Returns the summary.

    `out` is replaced whole once everything is written (an earlier report in it goes, no file of
    it stays beside the new ones); a folder holding anything else is refused."""
    source = StoreSource.open(db, as_of)
    with replaced_whole(Path(out)) as staging:
        return _write_report(
            source,
            staging,
            downloads=downloads,
            include_extras=include_extras,
            environment=environment,
            graphml=graphml,
            installable=installable,
            installable_top=installable_top,
            as_of=as_of,
            history_months=history_months,
            history_top=history_top,
            downloads_history=downloads_history,
            progress=progress,
        )


def _write_report(
    source: StoreSource,
    out: Path,
    *,
    downloads: str | Path | None,
    include_extras: bool,
    environment: dict[str, str] | None,
    graphml: bool,
    installable: Sequence[Target],
    installable_top: int,
    as_of: str | None,
    history_months: int,
    history_top: int,
    downloads_history: str | Path | None,
    progress: Progress,
) -> dict[str, object]:
    steps = 3

    def step(done: int) -> None:
        progress("report", done, steps)

    step(0)
    # The files are written by Arrow on two threads (it works outside the GIL) while this one
    # draws the plots; whatever does not need the specifier check is written before it is waited
    # for.
    with (
        _without_cycle_collection(),
        ThreadPoolExecutor(max_workers=2, thread_name_prefix="report-files") as files,
    ):
        writing = [files.submit(_import_plotting)]
        with _TableBuild(source, downloads, include_extras, environment) as build:
            step(1)  # the store read, the graph and its metrics
            writing.append(files.submit(_write_graph_files, build.tables, out))
            # the plots see the table as it is now (a copy-on-write view): `finish` adds a column
            snapshot = replace(build.tables, packages=build.tables.packages.copy(deep=False))
            window = downloads_window(downloads) if downloads is not None else None
            note = caption(snapshot, source.name, as_of)
            drawing = files.submit(_plots, snapshot, out, note, window)
            tables = build.finish()
        step(2)  # the specifiers no release meets
        checked: dict[str, object] | None = None
        if installable:
            checked = _add_installability(
                source, out, tables, installable, installable_top, progress
            )
        writing.append(files.submit(_write_broken_edges_and_parquet, tables, out))
        write_csv(tables.packages, out / "packages.csv")
        for future in writing:
            future.result()
        plots = [p.name for p in drawing.result()]
    step(3)  # the files and plots
    if graphml:
        write_graphml(tables.graph, out / "graph.graphml")
    summary = _summary(tables)
    summary["choices"] = {
        "store": source.name,
        "releases": "latest per project",
        "releases_read_by_the_last_crawl": source.meta("releases_read"),
        "include_extras": include_extras,
        "python": environment.get("python_version") if environment else None,
        "platform": environment.get("sys_platform") if environment else None,
        "markers": "evaluated for python/platform" if environment else "every edge kept",
        "requested_extras": "implied edges: reach and PageRank only, not direct counts",
        "downloads_file": str(downloads) if downloads is not None else None,
        "downloads_window": downloads_window(downloads) if downloads is not None else None,
        "as_of": as_of,
        "filters": "direct_dependents_filtered: frozen environments left out; projects with no "
        f"upload in the {STALE_YEARS} years before the store's newest upload left out",
    }
    if history_months:
        history = dependents_history(
            source,
            months=history_months,
            top=history_top,
            include_extras=include_extras,
            until=as_of,
            progress=progress,
        )
        write_csv(history, out / "history.csv")
        dl_history = read_downloads_history(downloads_history) if downloads_history else None
        plot_history(history, dl_history, out / "history.png")
        summary["history"] = {
            "months": sorted(history["month"].unique().tolist()),
            "projects": sorted(history["name"].unique().tolist()),
            "downloads_history": str(downloads_history) if downloads_history else None,
        }
    if checked is not None:
        summary["installability"] = {
            "projects": checked["projects"],
            "selection": f"top {installable_top} by direct dependents",
            "share_installable": checked["share_installable"],
            "verdicts": checked["verdicts"],
            "assumption": checked["assumption"],
        }
    summary["plots"] = plots
    (out / "summary.json").write_text(json.dumps(summary, indent=2, default=str))
    # the data dictionary travels with the numbers
    shutil.copyfile(DATA_DICTIONARY, out / "README.md")
    return summary
