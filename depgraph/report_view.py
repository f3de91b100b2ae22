"""A report folder as the service reads it: packages (metrics per project), installability
verdicts and dependents history, loaded once at start."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from depgraph.errors import UsageError

__all__ = ["ReportView"]

#: the columns of packages.csv a page shows (those the report has; the direct counts come from
#: the store itself)
SHOWN = (
    "transitive_dependents",
    "direct_dependents_filtered",
    "pagerank",
    "role",
    "crawl_state",
    "downloads",
    "downloads_rank_pct",
)


@dataclass
class ReportView:
    folder: Path
    packages: pd.DataFrame  # indexed by name
    installable: pd.DataFrame  # project, target, verdict, detail
    history: pd.DataFrame  # month, name, direct_dependents, transitive_dependents
    summary: dict[str, object]

    @classmethod
    def open(cls, folder: Path) -> ReportView:
        summary_file = folder / "summary.json"
        if not summary_file.is_file():
            raise UsageError(f"{folder} is not a report folder (it has no summary.json)")
        try:
            summary = json.loads(summary_file.read_text(encoding="utf-8"))
            parquet = folder / "packages.parquet"
            packages = (
                pd.read_parquet(parquet)
                if parquet.is_file()
                else pd.read_csv(folder / "packages.csv", keep_default_na=False, na_values=[""])
            )
            installable = _optional_csv(folder / "installable.csv")
            history = _optional_csv(folder / "history.csv")
        except (OSError, ValueError) as exc:
            raise UsageError(f"{folder}: the report cannot be read: {exc}"[:400]) from None
        if not isinstance(summary, dict) or "name" not in packages:
            raise UsageError(f"{folder}: not a report of this tool (no summary or no names)")
        packages = packages.set_index(packages["name"].rename(None))
        return cls(folder, packages, installable, history, summary)

    def metrics(self, name: str) -> dict[str, object]:
        """What the report says of one project: its metric columns, verdicts and history."""
        if name not in self.packages.index:
            return {}
        row = self.packages.loc[name]
        facts: dict[str, object] = {
            column: _plain(row[column]) for column in SHOWN if column in self.packages
        }
        if not self.installable.empty:
            mine = self.installable[self.installable["project"] == name]
            facts["installability"] = [
                {"target": str(r.target), "verdict": str(r.verdict), "detail": _plain(r.detail)}
                for r in mine.itertuples()
            ]
        return facts

    def history_of(self, name: str) -> list[dict[str, object]]:
        if self.history.empty:
            return []
        mine = self.history[self.history["name"] == name].sort_values("month")
        return [
            {"month": str(r.month), "direct_dependents": int(r.direct_dependents)}
            for r in mine.itertuples()
        ]

    def downloads(self) -> dict[str, int] | None:
        if "downloads" not in self.packages:
            return None
        counts = self.packages["downloads"].dropna()
        return {str(k): int(v) for k, v in counts.items()}

    def top(self, by: str, limit: int, offset: int) -> tuple[int, list[dict[str, object]]]:
        if by not in self.packages:
            raise UsageError(f"the report has no column {by!r}")
        ranked = self.packages[self.packages[by].notna()]
        if "missing" in ranked:
            ranked = ranked[~ranked["missing"].astype(bool)]
        ranked = ranked.sort_values([by, "name"], ascending=[False, True], kind="stable")
        page = ranked.iloc[offset : offset + limit]
        return len(ranked), [
            {"name": str(name), by: _plain(value)} for name, value in page[by].items()
        ]


def _optional_csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path) if path.is_file() else pd.DataFrame()


def _plain(value: object) -> object:
    """A cell as JSON has it: numpy scalars as Python numbers, missing as None."""
    if value is None or (isinstance(value, float) and value != value):
        return None
    item = getattr(value, "item", None)
    plain = item() if callable(item) else value
    # a count read from CSV beside missing values comes as a float: 1291814272.0 is 1291814272
    return int(plain) if isinstance(plain, float) and plain.is_integer() else plain
