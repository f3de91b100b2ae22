"""A crawl of a hostile index (tests/lib/hostile_index.py: misbehaving pages, files, headers and
metadata beside honest projects, HTML and PEP 691, with and without PEP 658 files), whole, with
two workers: it ends with exit 1 in bounded time and memory, never a traceback; every honest
project has its exact dependencies, every hostile one its named failure; the store is intact; a
second run completes too."""

from __future__ import annotations

import json
import resource
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.lib.hostile_index import CASES, HostileIndex

#: seconds a request may take in all, in this test (the trickling cases hit it)
DEADLINE = 3
MAX_RSS = 1024**3


def crawl(index: HostileIndex, db: Path) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.monotonic()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "depgraph",
            "crawl",
            "--index-url",
            index.url,
            "--all",
            "--db",
            str(db),
            "--workers",
            "2",
            "--sandbox",
            "none",
            "--deadline",
            str(DEADLINE),
            "--retries",
            "1",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=db.parent,
    )
    return done, time.monotonic() - started


@pytest.mark.slow
def test_a_hostile_index_is_crawled_whole(tmp_path: Path) -> None:
    hostile = [n for n in CASES if n.startswith("hostile-")]
    assert len(hostile) >= 30 and len(CASES) - len(hostile) >= 9
    db = tmp_path / "hostile.sqlite"
    with HostileIndex(tmp_path) as index:
        done, seconds = crawl(index, db)
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
        assert "Traceback" not in done.stderr, done.stderr
        assert done.returncode == 1, done.stderr  # the failed projects, named on stderr
        summary = json.loads(done.stdout)
        assert summary["projects"] == len(CASES) and summary["incomplete"] == 0
        # every trickling answer is cut at the deadline; everything else is quick
        assert seconds < 120, seconds
        assert peak < MAX_RSS, f"peak RSS {peak / 2**20:.0f} MiB"
        for line in done.stderr.strip().splitlines():
            assert line.startswith("depgraph: "), line
        listed = subprocess.run(
            [
                sys.executable,
                "-m",
                "depgraph",
                "failures",
                "--db",
                str(db),
                "--json",
                "--reason",
                "metadata-identity",
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        identity = json.loads(listed.stdout)
        assert identity["failures"] == 4 == len(identity["shown"])
        assert {row["project"] for row in identity["shown"]} == {
            n for n, c in CASES.items() if any(f.endswith(":metadata-identity") for f in c.failures)
        }
        again, _ = crawl(index, db)  # no project stops a run, the second one either
        assert again.returncode == 1 and "Traceback" not in again.stderr
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        runs = [r[0] for r in conn.execute("SELECT status FROM crawl_runs ORDER BY id")]
        assert runs == ["complete", "complete"]
        wrong = {}
        for name, case in CASES.items():
            status = conn.execute("SELECT status FROM projects WHERE name = ?", (name,)).fetchone()
            states = {
                r[0]
                for r in conn.execute("SELECT deps_state FROM releases WHERE project = ?", (name,))
            }
            failures = {
                f"{stage}:{reason}"
                for stage, reason in conn.execute(
                    "SELECT stage, reason FROM failures WHERE project = ?", (name,)
                )
            }
            got: tuple[object, ...] = (status and status[0], states, failures)
            expected: tuple[object, ...] = (case.status, case.states, case.failures)
            if case.requires is not None:
                got += (requirements(conn, name),)
                expected += (case.requires,)
            if got != expected:
                wrong[name] = (got, expected)
        assert wrong == {}
        page_url = conn.execute(
            "SELECT page_url FROM projects WHERE name = 'honest-moved-page'"
        ).fetchone()[0]
        assert page_url.endswith("/simple/honest-moved-page-moved/")
        (final,) = conn.execute(
            "SELECT f.final_url FROM files f JOIN releases r ON r.id = f.release_id"
            " WHERE r.project = 'honest-file-redirected'"
        ).fetchone()
        assert final is not None and "/files/honest_file_redirected-1.0" in final


def requirements(conn: sqlite3.Connection, project: str) -> set[str]:
    return {
        r[0]
        for r in conn.execute(
            "SELECT q.name FROM requirements q JOIN releases r ON r.id = q.release_id"
            " WHERE r.project = ? AND q.kind = 'run'",
            (project,),
        )
    }


def test_an_index_that_is_not_an_index_is_said_to_be_one(tmp_path: Path) -> None:
    """A directory listing: its links are not projects, nothing is stored, exit 1."""
    import http.server
    import threading

    site = tmp_path / "site"
    for name in ("x", "y", "here"):
        (site / name).mkdir(parents=True)

    class Listing(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: Any) -> None:
            super().__init__(*args, directory=str(site))

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Listing)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/"
        db = tmp_path / "s.sqlite"
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "depgraph",
                "crawl",
                "--index-url",
                url,
                "--all",
                "--db",
                str(db),
                "--sandbox",
                "none",
                "-q",
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        server.shutdown()
        server.server_close()
    assert done.returncode == 1
    assert done.stderr == (
        f"depgraph: {url} is not a simple index: its root page has no simple-API markers and "
        "none of its first links (3 in all) is a project page listing files\n"
    )
    assert not db.exists()


def test_a_crawl_of_every_project_knows_its_total(tmp_path: Path) -> None:
    """The run's list, once read from the root page, sizes the progress bar (and its ETA); a
    resumed run counts what it had done."""
    from depgraph.crawler.crawl import Crawler
    from depgraph.crawler.fetch import Fetcher
    from depgraph.crawler.http import make_session
    from depgraph.crawler.index import IndexClient
    from depgraph.store import Store

    honest = {n: c for n, c in CASES.items() if n.startswith("honest-")}
    totals: list[tuple[int, int]] = []
    with HostileIndex(tmp_path, honest) as index:
        fetcher = Fetcher(make_session())
        crawler = Crawler(
            Store(tmp_path / "s.sqlite"),
            IndexClient(fetcher, index.url),
            fetcher,
            on_total=lambda total, done: totals.append((total, done)),
        )
        crawler.crawl()
    assert totals == [(len(honest), 0)]


def test_with_deps_follows_requirements_until_everything_required_is_stored(
    tmp_path: Path,
) -> None:
    """`crawl --project app --with-deps`: app, what it requires, what that requires; extras only
    with --with-extras; a required project the index lacks is recorded missing, once."""
    from tests.lib.hostile_index import honest

    chain = {
        "app": honest("json", ["lib-a>=1", 'lib-x; extra == "fancy"']),
        "lib-a": honest("html", ["lib-b"]),
        "lib-b": honest("json", ["not-on-the-index"]),
        "lib-x": honest("json", []),
        "unrelated": honest("json", []),
    }
    with HostileIndex(tmp_path, chain) as index:
        for flags, expected in (
            (["--with-deps"], {"app", "lib-a", "lib-b", "not-on-the-index"}),
            (
                ["--with-deps", "--with-extras"],
                {"app", "lib-a", "lib-b", "lib-x", "not-on-the-index"},
            ),
        ):
            db = tmp_path / f"{len(flags)}.sqlite"
            done = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "depgraph",
                    "crawl",
                    "--index-url",
                    index.url,
                    "--project",
                    "app",
                    *flags,
                    "--db",
                    str(db),
                    "--sandbox",
                    "none",
                    "--json",
                ],
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert done.returncode == 1  # not-on-the-index is named
            assert done.stderr.startswith("depgraph: not-on-the-index: page:http-404")
            with sqlite3.connect(db) as conn:
                stored = dict(conn.execute("SELECT name, status FROM projects"))
            assert set(stored) == expected
            assert stored["not-on-the-index"] == "missing"
            assert json.loads(done.stdout)["projects"] == len(expected)
