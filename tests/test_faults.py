"""Faults injected from loopback servers: each is recorded against its project or release, with its
reason, and the crawl goes on with everything else intact."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from depgraph.crawler.crawl import Crawler
from depgraph.crawler.fetch import Fetcher
from depgraph.crawler.http import make_session
from depgraph.crawler.index import IndexClient
from depgraph.demo.distbuild import DistSpec, write_wheel
from depgraph.store import Store
from tests.lib.faultserver import RawFaultServer

JSON = "application/vnd.pypi.simple.v1+json"


@pytest.fixture
def httpserver() -> HTTPServer:  # type: ignore[misc]
    """A threaded loopback server: one slow answer must not stall the others."""
    server = HTTPServer(host="127.0.0.1", threaded=True)
    server.start()
    yield server
    server.clear()
    server.stop()


def wheel_bytes(tmp: Path, name: str, requires: list[str]) -> tuple[str, bytes]:
    path = write_wheel(DistSpec(name, "1.0", requires, filler=50_000), tmp)
    return path.name, path.read_bytes()


def serve_ranges(data: bytes):  # type: ignore[no-untyped-def]
    def handler(request: Request) -> Response:
        spec = request.headers.get("Range", "")
        if spec.startswith("bytes=-"):
            n = int(spec[7:])
            start = max(0, len(data) - n)
            end = len(data) - 1
        elif spec.startswith("bytes="):
            a, b = spec[6:].split("-")
            start, end = int(a), min(int(b), len(data) - 1)
        else:
            return Response(data, content_type="application/octet-stream")
        return Response(
            data[start : end + 1],
            status=206,
            content_type="application/octet-stream",
            headers={"Content-Range": f"bytes {start}-{end}/{len(data)}"},
        )

    return handler


def slow_answer(request: object) -> Response:
    time.sleep(3)
    return Response("late")


def page(httpserver: HTTPServer, project: str, files: list[dict[str, Any]]) -> None:
    body = {"meta": {"api-version": "1.1"}, "name": project, "files": files}
    httpserver.expect_request(f"/simple/{project}/").respond_with_data(
        json.dumps(body), content_type=JSON
    )


def file_entry(
    httpserver: HTTPServer, filename: str, data: bytes, **extra: object
) -> dict[str, Any]:
    return {
        "filename": filename,
        "url": httpserver.url_for(f"/files/{filename}"),
        "hashes": {"sha256": hashlib.sha256(data).hexdigest()},
        **extra,
    }


def crawl(
    httpserver: HTTPServer,
    db: Path,
    projects: list[str],
    retries: int = 2,
    timeout: tuple[float, float] = (2.0, 2.0),
) -> tuple[Store, object]:
    fetcher = Fetcher(make_session(retries=retries, backoff=0.05), timeout=timeout)
    store = Store(db)
    summary = Crawler(
        store, IndexClient(fetcher, httpserver.url_for("/simple/")), fetcher, workers=4
    ).crawl(projects)
    return store, summary


def failures(db: Path) -> dict[str, list[tuple[str, str]]]:
    out: dict[str, list[tuple[str, str]]] = {}
    with sqlite3.connect(db) as conn:
        for project, stage, reason in conn.execute(
            "SELECT project, stage, reason FROM failures ORDER BY id"
        ):
            out.setdefault(project, []).append((stage, reason))
    return out


def states(db: Path) -> dict[str, tuple[str, str | None]]:
    with sqlite3.connect(db) as conn:
        return {
            p: (s, src)
            for p, s, src in conn.execute(
                "SELECT project, deps_state, metadata_source FROM releases"
            )
        }


def test_transient_errors_are_retried(httpserver: HTTPServer, tmp_path: Path) -> None:
    name, data = wheel_bytes(tmp_path, "flaky", ["six"])
    httpserver.expect_ordered_request("/simple/flaky/").respond_with_data("busy", status=503)
    httpserver.expect_ordered_request("/simple/flaky/").respond_with_data("busy", status=503)
    page(httpserver, "flaky", [file_entry(httpserver, name, data)])
    httpserver.expect_request(f"/files/{name}").respond_with_handler(serve_ranges(data))
    _store, _summary = crawl(httpserver, tmp_path / "s.sqlite", ["flaky"], retries=3)
    assert states(tmp_path / "s.sqlite") == {"flaky": ("known", "wheel-range")}
    assert failures(tmp_path / "s.sqlite") == {}


def test_429_retry_after_is_honoured(httpserver: HTTPServer, tmp_path: Path) -> None:
    name, data = wheel_bytes(tmp_path, "limited", [])
    httpserver.expect_ordered_request("/simple/limited/").respond_with_data(
        "slow down", status=429, headers={"Retry-After": "1"}
    )
    page(httpserver, "limited", [file_entry(httpserver, name, data)])
    httpserver.expect_request(f"/files/{name}").respond_with_handler(serve_ranges(data))
    started = time.monotonic()
    crawl(httpserver, tmp_path / "s.sqlite", ["limited"])
    assert time.monotonic() - started >= 1.0
    assert states(tmp_path / "s.sqlite") == {"limited": ("known", "wheel-range")}


def test_every_fault_is_recorded_and_the_crawl_goes_on(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    good_name, good = wheel_bytes(tmp_path, "good", ["requests>=2"])
    page(httpserver, "good", [file_entry(httpserver, good_name, good)])
    httpserver.expect_request(f"/files/{good_name}").respond_with_handler(serve_ranges(good))
    # always 500
    httpserver.expect_request("/simple/broken/").respond_with_data("oops", status=500)
    # not JSON although it says so
    httpserver.expect_request("/simple/badjson/").respond_with_data("{not json", content_type=JSON)
    # a response slower than the read timeout
    httpserver.expect_request("/simple/slow/").respond_with_handler(slow_answer)
    # PEP 658 metadata whose hash is wrong: recorded, then the wheel itself is read
    meta_name, meta_wheel = wheel_bytes(tmp_path, "badmeta", ["attrs"])
    page(
        httpserver,
        "badmeta",
        [file_entry(httpserver, meta_name, meta_wheel, **{"core-metadata": {"sha256": "0" * 64}})],
    )
    httpserver.expect_request(f"/files/{meta_name}.metadata").respond_with_data(
        b"Metadata-Version: 2.1\nName: evil\n"
    )
    httpserver.expect_request(f"/files/{meta_name}").respond_with_handler(serve_ranges(meta_wheel))
    # a wheel served without ranges whose bytes do not match the index's digest
    hash_name, hash_wheel = wheel_bytes(tmp_path, "badhash", ["attrs"])
    entry = file_entry(httpserver, hash_name, hash_wheel)
    entry["hashes"]["sha256"] = "f" * 64
    page(httpserver, "badhash", [entry])
    httpserver.expect_request(f"/files/{hash_name}").respond_with_data(hash_wheel)
    # a "wheel" that is not a zip
    # (ranges fail on it, the whole file is fetched and verified, then recorded as bad-archive)
    page(
        httpserver,
        "notzip",
        [file_entry(httpserver, "notzip-1.0-py3-none-any.whl", b"PK garbage" * 100)],
    )
    httpserver.expect_request("/files/notzip-1.0-py3-none-any.whl").respond_with_handler(
        serve_ranges(b"PK garbage" * 100)
    )
    # a project the index does not have
    httpserver.expect_request("/simple/gone/").respond_with_data("no", status=404)
    with RawFaultServer("reset") as reset, RawFaultServer("truncate") as truncate:
        page(
            httpserver,
            "resetwheel",
            [
                {
                    "filename": "resetwheel-1.0-py3-none-any.whl",
                    "url": f"{reset.url}/resetwheel-1.0-py3-none-any.whl",
                    "hashes": {},
                }
            ],
        )
        page(
            httpserver,
            "truncwheel",
            [
                {
                    "filename": "truncwheel-1.0-py3-none-any.whl",
                    "url": f"{truncate.url}/truncwheel-1.0-py3-none-any.whl",
                    "hashes": {},
                }
            ],
        )
        projects = [
            "good",
            "broken",
            "badjson",
            "slow",
            "badmeta",
            "badhash",
            "notzip",
            "gone",
            "resetwheel",
            "truncwheel",
        ]
        _store, summary = crawl(httpserver, tmp_path / "s.sqlite", projects, timeout=(2.0, 1.0))
        assert reset.connections >= 2  # retried before giving up
    db = tmp_path / "s.sqlite"
    f = failures(db)
    assert f["broken"] == [("page", "http-500")]
    assert f["badjson"] == [("page", "bad-index-page")]
    assert f["slow"] == [("page", "fetch-failed")]
    assert f["gone"] == [("page", "http-404")]
    assert f["badmeta"] == [("metadata-file", "hash-mismatch")]
    assert f["badhash"] == [("wheel", "hash-mismatch")]
    assert f["notzip"] == [("wheel", "bad-archive")]
    assert f["resetwheel"] == [("wheel", "fetch-failed")]
    assert f["truncwheel"] == [("wheel", "fetch-failed")]
    s = states(db)
    assert s["good"] == ("known", "wheel-range") and s["badmeta"] == ("known", "wheel-range")
    for bad in ("badhash", "notzip", "resetwheel", "truncwheel"):
        assert s[bad] == ("failed", None)  # never "no dependencies"
    with sqlite3.connect(db) as conn:
        assert conn.execute(
            "SELECT count(*) FROM requirements q JOIN releases r ON r.id = q.release_id"
            " WHERE r.project = 'badmeta' AND q.name = 'attrs'"
        ).fetchone() == (1,)
        statuses = dict(conn.execute("SELECT name, status FROM projects"))
    assert statuses["gone"] == "missing" and statuses["broken"] == "failed"
    assert summary.projects == len(projects)  # type: ignore[attr-defined]


def test_failed_page_keeps_what_the_last_good_crawl_stored(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    name, data = wheel_bytes(tmp_path, "stable", ["six"])
    httpserver.expect_ordered_request("/simple/stable/").respond_with_data(
        json.dumps(
            {
                "meta": {"api-version": "1.1"},
                "name": "stable",
                "files": [file_entry(httpserver, name, data)],
            }
        ),
        content_type=JSON,
    )
    httpserver.expect_request(f"/files/{name}").respond_with_handler(serve_ranges(data))
    db = tmp_path / "s.sqlite"
    crawl(httpserver, db, ["stable"])
    httpserver.expect_request("/simple/stable/").respond_with_data("down", status=503)
    Store(db).db.execute("UPDATE crawl_runs SET status = 'complete'")
    crawl(httpserver, db, ["stable"], retries=1)
    assert states(db) == {"stable": ("known", "wheel-range")}
    assert failures(db) == {"stable": [("page", "http-503")]}


def test_unreachable_index_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from depgraph.cli import main
    from tests.lib.servers import free_port

    url = f"http://127.0.0.1:{free_port()}/simple/"  # nothing listens there
    rc = main(
        [
            "crawl",
            "--index-url",
            url,
            "--db",
            str(tmp_path / "s.sqlite"),
            "--all",
            "--retries",
            "0",
            "--no-progress",
            "--sandbox",
            "none",
        ]
    )
    assert rc == 2
    err = capsys.readouterr().err
    assert err.startswith("depgraph: ") and "127.0.0.1" in err and "Traceback" not in err
