"""The 2023 dependency data set served as an index, and a crawl of it measured.

`build` writes, from mach-nix's pypi-deps-db checkout, a static index as PyPI serves it: a PEP 691
JSON root with each project's `_last-serial` (and the index's), a JSON page per project (PEP 700
upload times, `_last-serial`), and per version one file with its sha256 and size: a small real
wheel with a PEP 658 metadata file whose Requires-Dist / Requires-Python are the data set's where
the data set has wheel data; otherwise a small real sdist whose static PKG-INFO (metadata 2.2)
says what the data set's sdist entry declared, and no metadata file, as PyPI has sdist-only
releases. `--sample F` keeps that share of the projects (chosen by a hash of the name: the same
projects every time). The tree is written once, outside the repository.

`crawl` serves the tree on loopback (Python's threaded static server) and crawls all of it into a
new SQLite store; it prints the wall time, the releases per second of each tenth of the run, the
peak RSS, the store's size, requests per release, and checks every release's run-time
requirements against an import of the same sample (the importer reads the data set's JSON; the
crawl reads the replica's metadata files and sdists).

    python benchmarks/replica.py build --data ../shared/data/pypi-deps-db --out /var/tmp/replica \
        --sample 0.01
    python benchmarks/replica.py crawl --tree /var/tmp/replica [--workers 8] [--db kept.sqlite] \
        [--server nginx|python] [--tls] [--cluster local:2x8]
    python benchmarks/replica.py day --tree /var/tmp/replica --releases 200
    python benchmarks/replica.py update --tree /var/tmp/replica --db kept.sqlite

`day` applies a simulated day of PyPI to the tree (new releases, yanks, removed and new projects,
serials advanced); `update` brings a store crawled before it up to date through the root's
serials and compares it with a fresh crawl of the changed tree.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import resource
import shutil
import signal
import sys
import tarfile
import tempfile
import threading
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from depgraph.core.schema import RequirementKind
from depgraph.crawler.importers import (
    _bucket_names,
    _read_bucket,
    _resolve,
    _sdist_lines,
    _wheel_meta,
    pypi_deps_db_releases,
)
from depgraph.crawler.index import release_key
from tests.lib.nginx import NginxServer, nginx_available

JSON = "application/vnd.pypi.simple.v1+json"


def sampled(name: str, share: float) -> bool:
    """Whether the sample of `share` holds the project: by a salted hash of its name (the data
    set's buckets are the unsalted hash's first byte: a sample by that would be whole buckets)."""
    digest = hashlib.sha256(b"replica-sample:" + canonicalize_name(name).encode()).digest()
    return int.from_bytes(digest[:4], "big") < share * 2**32


def versions_of(
    data: Path, share: float, buckets: int | None = None
) -> Iterator[tuple[str, str, str, str | None, list[str]]]:
    """(project, version, "wheel" | "sdist", Requires-Python, Requires-Dist lines) of every
    version with dependency data, for the sampled projects (of the first `buckets` buckets)."""
    for bucket in _bucket_names(data)[:buckets]:
        sdists = _read_bucket(data / "sdist" / bucket)
        wheels = _read_bucket(data / "wheel" / bucket)
        for project in sorted(set(sdists) | set(wheels)):
            if not sampled(project, share):
                continue
            entry, tags = sdists.get(project, {}), wheels.get(project, {})
            versions = set(entry) | {v for files in tags.values() for v in files}
            for version in sorted(versions):
                meta = _wheel_meta(tags, version)
                if meta is not None:
                    rp = meta.get("requires_python")
                    yield project, version, "wheel", rp, list(meta.get("requires_dist") or [])
                    continue
                resolved = _resolve(entry, version)
                if isinstance(resolved, dict):
                    lines, rp, _ = _sdist_lines(resolved)
                    runs = [line for line, kind in lines if kind == RequirementKind.RUN]
                    yield project, version, "sdist", rp, runs


def metadata_text(name: str, version: str, rp: str | None, requires: list[str], v: str) -> str:
    head = [f"Metadata-Version: {v}", f"Name: {name}", f"Version: {version}"]
    if rp:
        head.append(f"Requires-Python: {rp}")
    return "\n".join(head + [f"Requires-Dist: {r}" for r in requires]) + "\n"


def write_wheel(folder: Path, name: str, version: str, text: str) -> Path:
    dist = f"{canonicalize_name(name).replace('-', '_')}-{version}"
    path = folder / f"{dist}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as wheel:
        wheel.writestr(f"{dist}.dist-info/METADATA", text)
        wheel.writestr(f"{dist}.dist-info/WHEEL", "Wheel-Version: 1.0\nTag: py3-none-any\n")
        wheel.writestr(f"{dist}.dist-info/RECORD", "")
    (folder / f"{path.name}.metadata").write_text(text)
    return path


def write_sdist(folder: Path, name: str, version: str, text: str) -> Path:
    dist = f"{canonicalize_name(name).replace('-', '_')}-{version}"
    path = folder / f"{dist}.tar.gz"
    data = text.encode()
    with tarfile.open(path, "w:gz") as sdist:
        info = tarfile.TarInfo(f"{dist}/PKG-INFO")
        info.size = len(data)
        sdist.addfile(info, io.BytesIO(data))
    return path


def build(data: Path, out: Path, share: float, buckets: int | None = None) -> None:
    started = time.monotonic()
    files_dir, simple = out / "files", out / "simple"
    shutil.rmtree(out, ignore_errors=True)
    files_dir.mkdir(parents=True)
    simple.mkdir()
    pages: dict[str, list[dict[str, object]]] = {}
    count = 0
    seen: set[tuple[str, str]] = set()
    for project, version, kind, rp, requires in versions_of(data, share, buckets):
        name = str(canonicalize_name(project))
        # two keys of the data set may name one project ("fs.googledrivefs", "fs-googledrivefs"),
        # two spellings one version: the index lists each release once
        if (name, release_key(version)) in seen:
            continue
        seen.add((name, release_key(version)))
        try:
            if kind == "wheel":
                text = metadata_text(project, version, rp, requires, "2.1")
                path = write_wheel(files_dir, project, version, text)
            else:
                text = metadata_text(project, version, rp, requires, "2.2")
                path = write_sdist(files_dir, project, version, text)
        except (OSError, ValueError):
            continue  # a version string no file name can hold
        count += 1
        entry: dict[str, object] = {
            "filename": path.name,
            "url": f"../../files/{path.name}",
            "hashes": {"sha256": hashlib.sha256(path.read_bytes()).hexdigest()},
            "size": path.stat().st_size,
            "upload-time": "2023-09-07T21:12:01Z",
        }
        if kind == "wheel":
            metadata = Path(f"{path}.metadata").read_bytes()
            entry["core-metadata"] = {"sha256": hashlib.sha256(metadata).hexdigest()}
        pages.setdefault(name, []).append(entry)
    root_projects = []
    for serial, (name, files) in enumerate(sorted(pages.items()), start=1):
        page = {
            "meta": {"api-version": "1.1", "_last-serial": serial},
            "name": name,
            "files": files,
        }
        (simple / name).mkdir()
        (simple / name / "index.json").write_text(json.dumps(page))
        root_projects.append({"name": name, "_last-serial": serial})
    root = {"meta": {"api-version": "1.1", "_last-serial": len(pages)}, "projects": root_projects}
    (simple / "index.json").write_text(json.dumps(root))
    (out / "replica.json").write_text(
        json.dumps(
            {
                "data": str(data),
                "sample": share,
                "buckets": buckets,
                "projects": len(pages),
                "files": count,
            }
        )
    )
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    print(
        f"replica: {len(pages):,} projects, {count:,} releases in "
        f"{time.monotonic() - started:.0f} s, {size / 1e6:.0f} MB at {out}"
    )


class _Handler(SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass

    def guess_type(self, path: str | os.PathLike[str]) -> str:
        return JSON if str(path).endswith(".json") else "application/octet-stream"

    def send_head(self) -> Any:
        if self.path.endswith("/"):
            self.path += "index.json"
        return super().send_head()


@contextmanager
def served(
    tree: Path, server: str = "nginx", tls: bool = False
) -> Iterator[tuple[str, str | None]]:
    """(index URL, CA bundle or None) of the tree on loopback: Debian's nginx (over TLS with a
    throw-away CA if asked), or Python's threaded static server (index.json for a folder), which
    runs in this process and so takes its CPU from the crawl's."""
    if server == "nginx":
        with NginxServer(tree, tls=tls) as nginx:
            yield nginx.url + "simple/", str(nginx.ca_bundle) if nginx.ca_bundle else None
        return
    if tls:
        raise SystemExit("--tls needs --server nginx")
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), lambda *a: _Handler(*a, directory=str(tree)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/simple/", None
    finally:
        httpd.shutdown()


def crawl(
    tree: Path,
    workers: int,
    keep: Path | None = None,
    check_too: bool = True,
    server: str = "nginx",
    tls: bool = False,
    cluster: str | None = None,
) -> Path:
    """Crawl the whole tree into a new store (kept at `keep`, else in a temporary folder); with
    `cluster` (local:NxT) on a Dask LocalCluster of N processes of T threads, as `--cluster`."""
    from depgraph.cluster import open_cluster
    from depgraph.crawler.access import IndexAccess
    from depgraph.store import ProjectRecord, Store
    from depgraph.wiring import crawler_for

    info = json.loads((tree / "replica.json").read_text())
    db = keep or Path(tempfile.mkdtemp()) / "replica.sqlite"
    store = Store(db)
    stamps: list[tuple[float, int]] = []
    with served(tree, server, tls) as (url, ca), open_cluster(None, cluster) as on_cluster:
        started = time.monotonic()
        access = IndexAccess(index_url=url, workers=workers, ca_bundle=ca)
        with crawler_for(store, access, progress=False, cluster=on_cluster) as crawler:
            original = crawler.on_project

            def counted(record: ProjectRecord) -> None:
                original(record)
                stamps.append((time.monotonic(), len(record.releases)))

            crawler.on_project = counted
            summary = crawler.crawl()
        wall = time.monotonic() - started
    print(f"served by {server} over {'TLS' if tls else 'HTTP'} at {url}")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if cluster:  # the workers have ended: the largest of them
        children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        print(f"on {cluster}: peak RSS of a worker process {children:.0f} MiB")
    print(
        f"crawl of the replica ({info['projects']:,} projects, {info['files']:,} releases, "
        f"{info['sample']:.1%} of the data set): {wall:.1f} s, {summary.releases / wall:.0f} "
        f"releases/s, {summary.requests / max(summary.releases, 1):.2f} requests a release, peak "
        f"RSS {rss:.0f} MiB, store {db.stat().st_size / 1e6:.0f} MB"
    )
    total = sum(n for _, n in stamps)
    tenth, done, mark = total / 10, 0, started
    rates: list[float] = []
    for at, n in stamps:
        done += n
        if done >= tenth * (len(rates) + 1) and len(rates) < 10:
            rates.append(tenth / max(at - mark, 1e-9))
            mark = at
    print("releases/s per tenth of the run: " + ", ".join(f"{r:.0f}" for r in rates))
    if check_too:
        check(Path(info["data"]), info["sample"], info.get("buckets"), db)
    return db


def simulate_day(tree: Path, releases: int, churn: int | None = None, seed: int = 5) -> None:
    """A day of uploads applied to the tree: `releases` new releases (on existing projects, the
    popular ones more often), a yank for every hundredth, a few hundred projects removed and as
    many created (`churn`, by default a hundredth of the releases), every change advancing the
    index's serial and the changed project's."""
    import random

    rng = random.Random(seed)
    simple, files_dir = tree / "simple", tree / "files"
    root = json.loads((simple / "index.json").read_text())
    serial = int(root["meta"]["_last-serial"])
    names = [p["name"] for p in root["projects"]]
    serials = {p["name"]: p["_last-serial"] for p in root["projects"]}
    pages: dict[str, dict[str, Any]] = {}

    def page(name: str) -> dict[str, Any]:
        if name not in pages:
            pages[name] = json.loads((simple / name / "index.json").read_text())
        return pages[name]

    def upload(name: str, version: str) -> None:
        nonlocal serial
        requires = [f"{d}>=0" for d in rng.sample(names, 2)]
        text = metadata_text(name, version, None, requires, "2.1")
        path = write_wheel(files_dir, name, version, text)
        metadata = Path(f"{path}.metadata").read_bytes()
        page(name)["files"].append(
            {
                "filename": path.name,
                "url": f"../../files/{path.name}",
                "hashes": {"sha256": hashlib.sha256(path.read_bytes()).hexdigest()},
                "size": path.stat().st_size,
                "upload-time": "2023-09-08T12:00:00Z",
                "core-metadata": {"sha256": hashlib.sha256(metadata).hexdigest()},
            }
        )
        serial += 1
        serials[name] = page(name)["meta"]["_last-serial"] = serial

    started = time.monotonic()
    if churn is None:  # a few hundred projects a day of 20,000 releases, as on PyPI
        churn = max(1, releases // 100)
    removed = set(rng.sample(names, churn))
    names = [n for n in names if n not in removed]
    weights = [1 / (i + 1) for i in range(len(names))]  # a few projects get most uploads
    for i in range(releases - churn):
        upload(rng.choices(names, weights)[0], f"9999.{i}")
        if i % 100 == 0:  # a yank of a file listed before today
            name = rng.choice(names)
            listed = [f for f in page(name)["files"] if not f.get("yanked")]
            if listed:
                listed[0]["yanked"] = "simulated"
                serial += 1
                serials[name] = page(name)["meta"]["_last-serial"] = serial
    for i in range(churn):
        name = f"new-project-{seed}-{i}"
        (simple / name).mkdir()
        pages[name] = {"meta": {"api-version": "1.1"}, "name": name, "files": []}
        names.append(name)
        upload(name, "1.0")
    for name in removed:
        shutil.rmtree(simple / name)
        serials.pop(name)
    for name, data in pages.items():
        if name not in removed:
            (simple / name / "index.json").write_text(json.dumps(data))
    root["projects"] = [{"name": n, "_last-serial": serials[n]} for n in sorted(serials)]
    root["meta"]["_last-serial"] = serial
    (simple / "index.json").write_text(json.dumps(root))
    # what the day touched, for `update --compare changed`
    created = [f"new-project-{seed}-{i}" for i in range(churn)]
    (tree / "day.json").write_text(
        json.dumps(
            {
                "changed": sorted(n for n in pages if n not in removed and n not in created),
                "created": created,
                "removed": sorted(removed),
            }
        )
    )
    print(
        f"day: {releases - churn:,} new releases, {churn} projects removed and {churn} created, "
        f"yanks every hundredth upload; index serial now {serial:,} "
        f"({time.monotonic() - started:.0f} s)"
    )


def update_and_compare(
    tree: Path, db: Path, workers: int, server: str = "nginx", compare: str = "all"
) -> None:
    """`update` of a store crawled before the day, then the store compared with a fresh crawl of
    the changed tree (`compare` all), or of the projects the day touched with every other
    project left as it was (`compare` changed: for the full replica, whose fresh crawl is an
    hour)."""
    from depgraph.crawler.access import IndexAccess
    from depgraph.crawler.update import update
    from depgraph.store import Store
    from depgraph.wiring import crawler_for

    before = _per_project(db) if compare == "changed" else {}
    store = Store(db)
    with served(tree, server) as (url, ca):
        access = IndexAccess(index_url=url, workers=workers, ca_bundle=ca)
        with crawler_for(store, access, progress=False) as crawler:
            result = update(store, crawler)
    store.close()
    summary = result.crawl
    print(
        f"update ({result.mode}): {summary.seconds:.1f} s, {summary.requests:,} requests, "
        f"{summary.projects:,} projects read, {len(result.new)} new, {len(result.removed)} "
        f"removed, consistent to {result.consistent_to}"
    )
    if compare == "all":
        fresh = crawl(tree, workers, check_too=False, server=server)
        same = _contents(db) == _contents(fresh)
        print(f"the updated store equals a fresh crawl of the changed replica: {same}")
        if not same:
            a, b = _contents(db), _contents(fresh)
            print(f"  only updated: {sorted(a - b)[:5]}; only fresh: {sorted(b - a)[:5]}")
        return
    _compare_changed(tree, db, before, workers, server)


def _per_project(db: Path) -> dict[str, tuple[int, int]]:
    """project -> (releases, requirements) as a store holds them."""
    import sqlite3

    with sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True) as conn:
        counts = {
            p: (n, 0)
            for p, n in conn.execute("SELECT project, count(*) FROM releases GROUP BY project")
        }
        for p, n in conn.execute(
            "SELECT r.project, count(*) FROM requirements q CROSS JOIN releases r"
            " ON r.id = q.release_id GROUP BY r.project"
        ):
            counts[p] = (counts[p][0], n)
    return counts


def _compare_changed(
    tree: Path, db: Path, before: dict[str, tuple[int, int]], workers: int, server: str
) -> None:
    """The projects the day touched, crawled afresh into a new store, equal to the updated
    store's; the projects it removed gone; every other project as it was before the update (its
    releases and requirements counted)."""
    from depgraph.crawler.access import IndexAccess
    from depgraph.store import Store
    from depgraph.wiring import crawler_for

    day = json.loads((tree / "day.json").read_text())
    touched = [*day["changed"], *day["created"]]
    fresh = Path(tempfile.mkdtemp()) / "fresh.sqlite"
    with served(tree, server) as (url, ca):
        access = IndexAccess(index_url=url, workers=workers, ca_bundle=ca)
        with crawler_for(Store(fresh), access, progress=False) as crawler:
            crawler.crawl(touched)
    mine, theirs = _contents(db, touched), _contents(fresh, touched)
    after = _per_project(db)
    gone = [p for p in day["removed"] if p in after]
    untouched = set(before) - set(touched) - set(day["removed"])
    moved = [p for p in untouched if after.get(p) != before[p]]
    print(
        f"the {len(touched):,} projects the day touched equal a fresh crawl of them: "
        f"{mine == theirs} ({len(mine):,} rows); removed projects still stored: {len(gone)}; "
        f"of the {len(untouched):,} others, changed by the update: {len(moved)}"
    )
    if mine != theirs:
        print(
            f"  only updated: {sorted(mine - theirs)[:5]}; only fresh: {sorted(theirs - mine)[:5]}"
        )


def _contents(db: Path, projects: list[str] | None = None) -> set[tuple[object, ...]]:
    """What a store says of the index (of `projects`, else of all): releases (yanked,
    dependency state) and requirements."""
    import sqlite3

    sql = (
        "SELECT r.project, r.version, r.yanked, r.deps_state, r.is_latest, q.raw, q.kind"
        " FROM releases r LEFT JOIN requirements q ON q.release_id = r.id"
    )
    with sqlite3.connect(db) as conn:
        if projects is None:
            return {tuple(row) for row in conn.execute(sql)}
        found: set[tuple[object, ...]] = set()
        for i in range(0, len(projects), 500):
            chunk = projects[i : i + 500]
            where = f" WHERE r.project IN ({','.join('?' * len(chunk))})"
            found.update(tuple(row) for row in conn.execute(sql + where, chunk))
        return found


def check(data: Path, share: float, buckets: int | None, db: Path) -> None:
    """Every crawled release's run-time requirement names equal the data set's (read by the
    importer, which knows nothing of the replica)."""
    import sqlite3

    expected: dict[tuple[str, str], set[str]] = {}
    chosen = set(_bucket_names(data)[:buckets])
    for rel in pypi_deps_db_releases(data, all_versions=True, only=chosen):
        if sampled(rel.project, share):
            expected[(rel.project, release_key(rel.version))] = {
                e.name for e in rel.edges if e.kind == RequirementKind.RUN
            }
    got: dict[tuple[str, str], set[str]] = {}
    with sqlite3.connect(db) as conn:
        for project, version, name in conn.execute(
            "SELECT r.project, r.version, q.name FROM releases r LEFT JOIN requirements q"
            " ON q.release_id = r.id AND q.kind = 'run'"
        ):
            got.setdefault((project, version), set())
            if name is not None:
                got[(project, version)].add(name)
    both = set(expected) & set(got)
    differ = [key for key in both if expected[key] != got[key]]
    print(
        f"check: {len(both):,} releases in both, {len(differ):,} with other run-time requirements"
        f"; {len(set(expected) - set(got)):,} only in the data set, "
        f"{len(set(got) - set(expected)):,} only crawled"
    )
    for key in differ[:5]:
        print(f"  {key}: data set {sorted(expected[key])}, crawl {sorted(got[key])}")
    for label, keys in (
        ("only in the data set", set(expected) - set(got)),
        ("only crawled", set(got) - set(expected)),
    ):
        print(f"  {label}, e.g.: {sorted(keys)[:8]}")


def _sigterm_as_interrupt(signum: int, frame: object) -> None:
    # `kill` unwinds as Ctrl-C does: the nginx it started is stopped on the way out
    raise KeyboardInterrupt


def main() -> None:
    signal.signal(signal.SIGTERM, _sigterm_as_interrupt)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="what", required=True)
    b = sub.add_parser("build")
    b.add_argument("--data", type=Path, required=True)
    b.add_argument("--out", type=Path, required=True)
    b.add_argument("--sample", type=float, default=0.01)
    b.add_argument("--buckets", type=int, default=None, help="only the first N buckets")
    c = sub.add_parser("crawl")
    c.add_argument("--tree", type=Path, required=True)
    c.add_argument("--workers", type=int, default=8)
    c.add_argument("--db", type=Path, default=None, help="keep the store here")
    c.add_argument("--tls", action="store_true", help="over TLS (nginx, a throw-away CA)")
    c.add_argument("--cluster", default=None, metavar="local:NxT", help="as crawl --cluster")
    c.add_argument("--no-check", action="store_true", help="skip the check against the data set")
    d = sub.add_parser("day", help="apply a simulated day of PyPI to the tree")
    d.add_argument("--tree", type=Path, required=True)
    d.add_argument("--releases", type=int, default=20000)
    d.add_argument(
        "--churn", type=int, default=None, help="projects removed and created (releases / 100)"
    )
    u = sub.add_parser("update", help="update a kept store, then compare with a fresh crawl")
    u.add_argument("--tree", type=Path, required=True)
    u.add_argument("--db", type=Path, required=True)
    u.add_argument("--workers", type=int, default=8)
    u.add_argument(
        "--compare",
        choices=("all", "changed"),
        default="all",
        help="against a fresh crawl of the whole tree, or of what the day touched (the others "
        "checked unchanged)",
    )
    for p in (c, u):
        p.add_argument(
            "--server",
            choices=("nginx", "python"),
            default="nginx" if nginx_available() else "python",
            help="what serves the tree: Debian's nginx (default where installed), or Python's "
            "threaded server in this process",
        )
    args = parser.parse_args()
    if args.what == "build":
        build(args.data, args.out, args.sample, args.buckets)
    elif args.what == "crawl":
        crawl(
            args.tree,
            args.workers,
            args.db,
            check_too=not args.no_check,
            server=args.server,
            tls=args.tls,
            cluster=args.cluster,
        )
    elif args.what == "day":
        simulate_day(args.tree, args.releases, args.churn)
    else:
        update_and_compare(args.tree, args.db, args.workers, args.server, args.compare)


if __name__ == "__main__":
    main()
