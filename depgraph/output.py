"""What the commands print: closing summaries as text or JSON, and the report's top rows."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # types only: printing a report needs no crawler
    from depgraph.crawler.crawl import CrawlSummary
    from depgraph.crawler.sdist_builds import SandboxSummary

__all__ = ["print_json", "print_report", "print_summary"]


def print_json(data: object) -> None:
    print(json.dumps(data, indent=2, sort_keys=True, default=str))


def summary_dict(summary: CrawlSummary, builds: SandboxSummary | None = None) -> dict[str, object]:
    data = summary.as_dict()
    if builds is not None:
        data["sandbox"] = builds.as_dict()
    return data


def print_summary(
    summary: CrawlSummary, as_json: bool, builds: SandboxSummary | None = None
) -> None:
    data = summary_dict(summary, builds)
    if as_json:
        print_json(data)
        return
    state = "interrupted (run again to resume)" if summary.interrupted else "complete"
    print(
        f"crawl {state}{' (resumed)' if summary.resumed else ''}: {summary.projects} projects, "
        f"{summary.releases} releases ({summary.releases_unchanged} unchanged) in "
        f"{summary.seconds:.1f} s ({summary.releases_per_second:.0f} releases/s), "
        f"{summary.requests} requests, {summary.bytes_fetched / 1e6:.2f} MB fetched"
    )
    titles = (
        ("projects by status", "projects_by_status"),
        ("releases by metadata source", "releases_by_source"),
        ("releases by dependency state", "releases_by_state"),
        ("dependencies read from bytes (hash-verified or not)", "releases_by_verification"),
        ("failures by stage:reason", "failures_by_reason"),
    )
    for title, key in titles:
        counts = data[key]
        assert isinstance(counts, dict)
        if counts:
            ordered = sorted(counts.items(), key=lambda kv: -kv[1])
            print(f"  {title}: " + ", ".join(f"{k}={v}" for k, v in ordered))
    if builds is not None:
        outcomes = ", ".join(
            f"{k}={v}" for k, v in sorted(builds.by_outcome.items(), key=lambda kv: -kv[1])
        )
        print(
            f"  sdists built in the {builds.backend} sandbox: {builds.attempted} in "
            f"{builds.seconds:.1f} s" + (f" ({outcomes})" if outcomes else "")
        )


def print_report(summary: dict[str, object], out: Path, top: int) -> None:
    import pandas as pd

    # the rows are in report order: read until `top` projects on the index are in (not the whole
    # file, which is large on a PyPI-size store, for a dozen rows)
    shown = []
    with pd.read_csv(out / "packages.csv", chunksize=max(4 * top, 100)) as chunks:
        for chunk in chunks:
            shown.append(chunk[~chunk["missing"]])
            if sum(len(part) for part in shown) >= top:
                break
    table = pd.concat(shown, ignore_index=True)
    wanted = (
        "name",
        "direct_dependents",
        "transitive_dependents",
        "dependents_via_extras_only",
        "pagerank",
        "role",
        "downloads",
    )
    cols = [c for c in wanted if c in table]
    with pd.option_context("display.width", 140, "display.max_columns", 20):
        print(table.head(top)[cols].to_string(index=False))
    keys = (
        "projects",
        "edges",
        "projects_with_unknown_dependencies",
        "cycles",
        "unsatisfiable_edges",
        "metapackages",
        "frozen_environments",
        "pinned_applications",
        "missing_projects_required",
    )
    print("  " + ", ".join(f"{k}={summary[k]}" for k in keys))
    comp = summary.get("comparison")
    if isinstance(comp, dict) and "spearman" in comp:
        print(
            f"  vs downloads over {comp['projects_compared']} projects: Spearman "
            f"{comp['spearman']:.3f}, Kendall {comp['kendall']:.3f}, top-100 overlap "
            f"{comp['top_100_overlap']:.0%}"
        )
    print(
        f"report: {out}/ (packages.csv, edges.csv, broken_edges.csv, pinning.csv, summary.json, "
        "plots)"
    )
