"""How dependents changed: monthly direct dependents of the top projects, from the store seen as of
each month's end (`StoreSource.at(month)`), beside the monthly download history of
top-pypi-packages (its `history/top-pypi-packages-30-days-monthly.csv.gz`)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from packaging.utils import canonicalize_name

from depgraph.core.progress import Progress, silent
from depgraph.store.reader import StoreSource

from .build import edges_from_requirements
from .errors import AnalysisError, DownloadsFormatError
from .graph import from_edge_frame
from .metrics import dependents_table

__all__ = ["dependents_history", "month_ends", "plot_history", "read_downloads_history"]


def month_ends(source: StoreSource, months: int, until: str | None = None) -> list[str]:
    """The last day of each of the `months` months up to `until` (default: the store's newest
    upload), oldest first."""
    newest = source.newest_upload()
    if newest is None:
        raise AnalysisError(
            f"{source.locator}: the store has no upload times, so it has no history"
        )
    end = pd.Timestamp(until or newest[:10])
    ends = pd.date_range(end=end + pd.offsets.MonthEnd(0), periods=months, freq="ME")
    return [d.date().isoformat() for d in ends]


def dependents_history(
    db: str | Path | StoreSource,
    months: int = 24,
    top: int = 10,
    include_extras: bool = False,
    until: str | None = None,
    progress: Progress = silent,
) -> pd.DataFrame:
    """month, name, direct_dependents, transitive_dependents for the `top` projects by direct
    dependents at the last month, for each month end."""
    source = StoreSource.of(db)
    frames = []
    ends = month_ends(source, months, until)
    for done, month in enumerate(ends):
        progress("history", done, len(ends))
        seen = source.at(month)
        nodes = seen.nodes()
        reqs = seen.requirements(
            latest_only=True, columns=("source", "target", "marker", "extra", "extras")
        )
        if nodes.empty:
            continue
        graph = from_edge_frame(edges_from_requirements(reqs), nodes)
        table = dependents_table(graph, include_extras=include_extras)
        table = table[~table["missing"]]
        frames.append(
            table.assign(month=month)[
                ["month", "name", "direct_dependents", "transitive_dependents"]
            ]
        )
    progress("history", len(ends), len(ends))
    if not frames:
        return pd.DataFrame(columns=["month", "name", "direct_dependents", "transitive_dependents"])
    history = pd.concat(frames, ignore_index=True)
    last = history[history["month"] == history["month"].max()]
    chosen = last.nlargest(top, ["direct_dependents"])["name"]
    return history[history["name"].isin(set(chosen))].reset_index(drop=True)


def read_downloads_history(path: str | Path) -> pd.DataFrame:
    """top-pypi-packages' monthly history (`last_update, source, rank, project, download_count`,
    gzipped CSV) as month, name, downloads."""
    try:
        raw = pd.read_csv(path, usecols=["last_update", "project", "download_count"])
    except (OSError, ValueError) as exc:
        raise DownloadsFormatError(
            Path(path), None, f"not a top-pypi-packages history: {exc}"
        ) from None
    month = pd.to_datetime(raw["last_update"]).dt.to_period("M").astype(str)
    frame = pd.DataFrame(
        {
            "month": month,
            "name": [canonicalize_name(p) for p in raw["project"]],
            "downloads": raw["download_count"],
        }
    )
    return frame.groupby(["month", "name"], as_index=False)["downloads"].max()


def plot_history(history: pd.DataFrame, downloads: pd.DataFrame | None, path: Path) -> Path:
    """Direct dependents per month of each project; beside it, its monthly downloads."""
    panels = 2 if downloads is not None else 1
    from matplotlib.figure import Figure  # on first plot: 0.4 s of every start otherwise

    fig = Figure(figsize=(7 * panels, 5))  # no pyplot: the caller's backend is left alone
    ax = fig.add_subplot(1, panels, 1)
    for name, rows in history.groupby("name"):
        ax.plot(pd.to_datetime(rows["month"]), rows["direct_dependents"], label=str(name))
    ax.set_title("Direct dependents, month by month")
    ax.set_ylabel("direct dependents")
    ax.legend(fontsize="small")
    if downloads is not None:
        ax2 = fig.add_subplot(1, panels, 2)
        wanted = downloads[downloads["name"].isin(set(history["name"]))]
        for name, rows in wanted.groupby("name"):
            ax2.plot(pd.to_datetime(rows["month"]), rows["downloads"], label=str(name))
        ax2.set_yscale("log")
        ax2.set_title("Monthly downloads (top-pypi-packages)")
        ax2.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return path
