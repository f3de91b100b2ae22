"""Download counts from the formats people have, and how they compare with dependents.

Formats (detected from the content):
- CSV as a BigQuery export gives it: `project,downloads[,installer]` (`download_count` and `name`
  are accepted for the columns too); with an installer column, counts are kept with and without
  mirror installers;
- top-pypi-packages JSON: `{"rows": [{"project": ..., "download_count": ...}]}`;
- pypistats JSON: `{"package": ..., "data": [{"category": ..., "downloads": ...}]}`, or a list of
them
  (category `without_mirrors` is used where present, as pypistats means it).
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import json
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
from packaging.utils import canonicalize_name

from .errors import DownloadsFormatError

__all__ = ["MIRROR_INSTALLERS", "compare_downloads", "downloads_window", "read_downloads"]

#: installers that mirror the index rather than install for a user; pypistats' "without_mirrors"
#: leaves out the same family
MIRROR_INSTALLERS = frozenset(
    {
        "bandersnatch",
        "devpi",
        "z3c.pypimirror",
        "nexus",
        "artifactory",
        "pep381client",
        "pypi-mirror",
        "minirepo",
        "proxpi",
    }
)


def _count(path: Path, line: int | None, value: object) -> int:
    try:
        number = int(str(value).strip().replace("_", ""))
    except ValueError:
        raise DownloadsFormatError(
            path, line, f"download count {value!r} is not a whole number"
        ) from None
    if number < 0:
        raise DownloadsFormatError(path, line, f"download count {number} is negative")
    return number


def _from_csv(path: Path, text: str) -> pd.DataFrame:
    with io.StringIO(text, newline="") as fh:
        reader = csv.DictReader(fh)
        fields = {f.strip().lower(): f for f in reader.fieldnames or []}
        name_col = fields.get("project") or fields.get("name") or fields.get("package")
        count_col = fields.get("downloads") or fields.get("download_count") or fields.get("count")
        if not name_col or not count_col:
            raise DownloadsFormatError(
                path, 1, f"header {reader.fieldnames} lacks a project and a downloads column"
            )
        installer_col = fields.get("installer") or fields.get("installer_name")
        rows = []
        for row in reader:
            line = reader.line_num
            name = (row.get(name_col) or "").strip()
            if not name:
                raise DownloadsFormatError(path, line, "empty project name")
            installer = (row.get(installer_col) or "").strip().lower() if installer_col else ""
            rows.append(
                (canonicalize_name(name), _count(path, line, row.get(count_col)), installer)
            )
    frame = pd.DataFrame(rows, columns=["name", "downloads", "installer"])
    frame["mirror"] = frame["installer"].isin(MIRROR_INSTALLERS)
    out = frame.groupby("name").agg(downloads=("downloads", "sum"))
    out["downloads_without_mirrors"] = frame[~frame["mirror"]].groupby("name")["downloads"].sum()
    out["downloads_without_mirrors"] = out["downloads_without_mirrors"].fillna(0).astype(np.int64)
    if not installer_col:
        out["downloads_without_mirrors"] = out["downloads"]
    return out.reset_index()


def _from_json(path: Path, text: str) -> pd.DataFrame:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DownloadsFormatError(path, exc.lineno, f"not JSON: {exc.msg}") from None
    except RecursionError:
        raise DownloadsFormatError(path, None, "JSON nested too deep") from None
    try:
        return _json_rows(path, data)
    except (TypeError, AttributeError, KeyError, ValueError) as exc:
        raise DownloadsFormatError(
            path, None, f"JSON of an unexpected shape: {type(exc).__name__}: {exc}"[:300]
        ) from None


def _json_rows(path: Path, data: object) -> pd.DataFrame:
    rows = []
    if isinstance(data, dict) and "rows" in data:  # top-pypi-packages
        for i, row in enumerate(data["rows"]):
            if not isinstance(row, dict) or "project" not in row or "download_count" not in row:
                raise DownloadsFormatError(path, None, f"rows[{i}] lacks project/download_count")
            n = _count(path, None, row["download_count"])
            rows.append((canonicalize_name(str(row["project"])), n, n))
    else:
        packages = data if isinstance(data, list) else [data]
        for i, pkg in enumerate(packages):
            if (
                not isinstance(pkg, dict)
                or "package" not in pkg
                or not isinstance(pkg.get("data"), list)
            ):
                raise DownloadsFormatError(
                    path, None, f"item {i} is neither top-pypi-packages nor pypistats JSON"
                )
            by_cat: dict[str, int] = {}
            for point in pkg["data"]:
                by_cat[str(point.get("category", "total"))] = by_cat.get(
                    str(point.get("category", "total")), 0
                ) + _count(path, None, point.get("downloads"))
            total = by_cat.get(
                "with_mirrors", sum(by_cat.values()) - by_cat.get("without_mirrors", 0)
            )
            rows.append(
                (canonicalize_name(pkg["package"]), total, by_cat.get("without_mirrors", total))
            )
    frame = pd.DataFrame(rows, columns=["name", "downloads", "downloads_without_mirrors"])
    return frame.groupby("name", as_index=False).sum()


#: the largest downloads file read (inflated, for a gzip-compressed one)
MAX_DOWNLOADS_BYTES = 1024**3


def _text(path: Path) -> str:
    """The file's text: gzip-compressed or not, UTF-8 (a BOM allowed) or UTF-16 with its BOM."""
    with path.open("rb") as fh:
        data = fh.read(MAX_DOWNLOADS_BYTES + 1)
    if data[:2] == b"\x1f\x8b":
        try:
            with gzip.GzipFile(fileobj=io.BytesIO(data)) as inflating:
                data = inflating.read(MAX_DOWNLOADS_BYTES + 1)
        except (OSError, EOFError, zlib.error) as exc:
            raise DownloadsFormatError(path, None, f"a broken gzip file: {exc}") from None
    if len(data) > MAX_DOWNLOADS_BYTES:
        raise DownloadsFormatError(path, None, f"larger than {MAX_DOWNLOADS_BYTES} bytes")
    try:
        if data[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
            return data.decode("utf-16")
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DownloadsFormatError(
            path, None, f"not UTF-8 or UTF-16 text ({exc.reason} at byte {exc.start})"
        ) from None


def read_downloads(path: str | Path) -> pd.DataFrame:
    """name (canonical), downloads, downloads_without_mirrors. Raises DownloadsFormatError with
    file:line. The file may be gzip-compressed, UTF-8 or UTF-16 (with a BOM)."""
    path = Path(path)
    text = _text(path)
    head = text.lstrip()[:1]
    return _from_json(path, text) if head in ("{", "[") else _from_csv(path, text)


def downloads_window(path: str | Path) -> str | None:
    """What time window a downloads file covers, where the file says (top-pypi-packages'
    `last_update`: the 30 days, or calendar month, before it); None when it does not say."""
    path = Path(path)
    if path.suffix != ".json":
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    if isinstance(data, dict) and data.get("last_update"):
        days = "365" if "365" in path.name else "30"
        return f"the {days} days before {data['last_update']} (top-pypi-packages)"
    return None


def compare_downloads(
    table: pd.DataFrame,
    downloads: pd.DataFrame,
    metric: str = "direct_dependents",
    top_k: int = 100,
    outliers: int = 20,
) -> dict[str, object]:
    """Rank agreement between `metric` and downloads over the projects present in both, and the
    projects on which they disagree most: the gap between the two on standardized log scales,
    among the lower half by downloads (depended on, rarely downloaded) or the lower half by
    `metric` (downloaded, rarely depended on)."""
    both = table.merge(downloads, on="name", how="inner")
    both = both[both["downloads"] > 0]
    if len(both) < 3:
        return {"projects_compared": len(both)}
    if both[metric].nunique() < 2 or both["downloads"].nunique() < 2:
        # a rank correlation is undefined when one side has a single value
        return {"projects_compared": len(both), "metric": metric, "spearman": None}
    from scipy import stats  # here: importing it costs 0.4 s, and only comparisons need it

    spearman = stats.spearmanr(both[metric], both["downloads"])
    kendall = stats.kendalltau(both[metric], both["downloads"])
    top_dep = set(both.nlargest(top_k, metric)["name"])
    top_dl = set(both.nlargest(top_k, "downloads")["name"])

    # outliers: distance between the two measures on standardized log scales (both are heavy-tailed)
    def z(values: pd.Series) -> pd.Series:
        logged = np.log1p(values.astype(float))
        return (logged - logged.mean()) / (logged.std() or 1.0)

    both = both.assign(gap=z(both[metric]) - z(both["downloads"]))
    cols = ["name", metric, "downloads"] + (["role"] if "role" in both else [])
    # each list holds only what its name says, whatever the gap: "rarely downloaded" are the
    # lower half of the projects compared by downloads, "rarely depended on" the lower half by
    # the metric (a project at the top of both is never an outlier of either)
    low_downloads = both["downloads"].rank(pct=True) <= 0.5
    low_metric = both[metric].rank(pct=True, method="max") <= 0.5
    return {
        "projects_compared": len(both),
        "metric": metric,
        "spearman": float(spearman.statistic),
        "kendall": float(kendall.statistic),
        f"top_{top_k}_overlap": len(top_dep & top_dl) / top_k,
        # depended on by many, downloaded rarely (relative to its dependents rank)
        "depended_not_downloaded": both[low_downloads & (both["gap"] > 0)].nlargest(
            outliers, "gap"
        )[cols],
        # downloaded a lot, depended on by few
        "downloaded_not_depended": both[low_metric & (both["gap"] < 0)].nsmallest(outliers, "gap")[
            cols
        ],
    }
