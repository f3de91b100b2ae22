"""The replica path of benchmarks/replica.py on a small sample, so that it never rots: the data
set written as an index, crawled, and every release's run-time requirements equal to the data
set's as the importer reads it."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT, SHARED, need_shared


def test_a_small_replica_crawls_to_the_data_sets_requirements(tmp_path: Path) -> None:
    data = need_shared(SHARED / "data" / "pypi-deps-db" / "sdist" / "00.json.gz").parents[1]
    script = str(ROOT / "benchmarks" / "replica.py")
    tree = tmp_path / "replica"
    built = subprocess.run(
        [
            *(sys.executable, script, "build", "--data", str(data), "--out", str(tree)),
            *("--sample", "0.2", "--buckets", "2"),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert built.returncode == 0, built.stderr
    # nginx over TLS (a throw-away CA), as the benchmark serves the full replica
    crawled = subprocess.run(
        [sys.executable, script, "crawl", "--tree", str(tree), "--server", "nginx", "--tls"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert crawled.returncode == 0, crawled.stderr
    assert "served by nginx over TLS at https://127.0.0.1:" in crawled.stdout
    found = re.search(
        r"check: ([\d,]+) releases in both, ([\d,]+) with other run-time requirements; "
        r"([\d,]+) only in the data set, ([\d,]+) only crawled",
        crawled.stdout,
    )
    assert found, crawled.stdout
    both, differ, only_data, only_crawl = (int(g.replace(",", "")) for g in found.groups())
    # every release both have lists the same requirements; a few version spellings the data set
    # aliases to another (0.1.dev0 for 0.1) stay unmatched: at most 0.5 %
    assert both > 100 and differ == 0, crawled.stdout
    assert only_data + only_crawl <= 0.005 * both, crawled.stdout
    assert re.search(r"1\.[01]\d requests a release", crawled.stdout), crawled.stdout
