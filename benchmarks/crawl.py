"""Crawl benchmark: pypi-depgraph vs a `pip download --no-deps` + METADATA-parse loop, side by side.

Builds (or reuses) a loopback index of generated projects with wheels of realistic, heavy-tailed
sizes, serves it with pypiserver (HTML, byte ranges: the range-request path), with
simple-repository-server (PEP 691 + PEP 658: the metadata-file path), and as a static mirror tree
behind a static server without and with PEP 658 files; crawls each, then times the pip
baseline on a random sample of the same releases (pip is ~1 s a release, so the whole set would take
minutes; the rate is what is compared).

    python benchmarks/crawl.py [--projects 130] [--releases-per-project 4] [--baseline-sample 40]
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from depgraph.crawler.access import IndexAccess
from depgraph.crawler.metadata import parse_core_metadata
from depgraph.demo import ChildServer
from depgraph.demo.distbuild import DistSpec, write_wheel
from depgraph.store import Store
from depgraph.wiring import run_crawl
from tests.lib.mirror import write_static_mirror
from tests.lib.servers import IndexServer

CACHE = Path(__file__).resolve().parent / ".cache"


def build_index(
    folder: Path, projects: int, per_project: int, seed: int = 7
) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    names = [f"bench-pkg-{i:04d}" for i in range(projects)]
    releases = []
    folder.mkdir(parents=True, exist_ok=True)
    for i, name in enumerate(names):
        for r in range(per_project):
            deps = [
                f"{d}>={rng.randint(0, 3)}.0"
                for d in rng.sample(names[:i] or names, min(i, rng.randint(0, 6)))
            ]
            size = int(min(3_000_000, rng.lognormvariate(11.9, 1.0)))  # median ~150 kB, heavy tail
            spec = DistSpec(name, f"{r}.{rng.randint(0, 9)}.0", deps, filler=size)
            if not (folder / f"{spec.dist}-{spec.version}-py3-none-any.whl").exists():
                write_wheel(spec, folder)
            releases.append((name, spec.version))
    return releases


def pip_baseline(server: ChildServer, sample: list[tuple[str, str]]) -> tuple[float, int]:
    """seconds and bytes for `pip download --no-deps` + parse of each sampled release."""
    total_bytes = 0
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for name, version in sample:
            dest = Path(tmp) / f"{name}-{version}"
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "pip",
                    "download",
                    "--no-deps",
                    "--no-cache-dir",
                    "--quiet",
                    "--disable-pip-version-check",
                    "--isolated",
                    "--index-url",
                    server.url,
                    "-d",
                    str(dest),
                    f"{name}=={version}",
                ],
                check=True,
            )
            (wheel,) = dest.glob("*.whl")
            total_bytes += wheel.stat().st_size
            with zipfile.ZipFile(wheel) as zf:
                member = next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
                parse_core_metadata(zf.read(member))
    return time.perf_counter() - started, total_bytes


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--projects", type=int, default=130)
    ap.add_argument("--releases-per-project", type=int, default=4)
    ap.add_argument("--baseline-sample", type=int, default=40)
    ap.add_argument("--workers", type=int, default=16)
    args = ap.parse_args()

    folder = CACHE / f"index-{args.projects}x{args.releases_per_project}"
    releases = build_index(folder, args.projects, args.releases_per_project)
    wheel_bytes = sum(f.stat().st_size for f in folder.iterdir())
    print(
        f"index: {args.projects} projects, {len(releases)} releases, {wheel_bytes / 1e6:.1f} MB "
        "of wheels"
    )
    rows = []
    for kind in ("pypiserver", "simple-repository-server", "static", "static+pep658"):
        served = folder
        if kind.startswith("static"):
            served = write_static_mirror(
                folder,
                CACHE / f"mirror-{kind}-{args.projects}x{args.releases_per_project}",
                core_metadata=kind.endswith("pep658"),
            )
        with (
            IndexServer(served, kind.split("+")[0]) as server,
            tempfile.TemporaryDirectory() as tmp,
        ):
            s = run_crawl(
                Store(Path(tmp) / "bench.sqlite"),
                IndexAccess(index_url=server.url, workers=args.workers),
                None,
                progress=False,
            )
            assert s.releases == len(releases), (s.releases, len(releases))
            rows.append(
                (
                    f"depgraph via {kind}",
                    s.releases,
                    s.seconds,
                    s.bytes_fetched,
                    wheel_bytes,
                    dict(s.releases_by_source),
                )
            )
            if kind == "pypiserver":
                sample = random.Random(1).sample(releases, min(args.baseline_sample, len(releases)))
                secs, nbytes = pip_baseline(server, sample)
                sample_bytes = nbytes
                rows.append(
                    ("pip download --no-deps (sample)", len(sample), secs, nbytes, sample_bytes, {})
                )
    print(
        f"{'method':42} {'releases':>8} {'seconds':>8} {'rel/s':>8} {'MB fetched':>10} "
        f"{'% of wheel bytes':>16}"
    )
    for name, n, secs, fetched, of, sources in rows:
        print(
            f"{name:42} {n:8d} {secs:8.2f} {n / secs:8.1f} {fetched / 1e6:10.2f} "
            f"{100 * fetched / of:15.1f}%  {sources or ''}"
        )
    base_rate = rows[1][1] / rows[1][2]
    for name, n, secs, *_ in rows[:1] + rows[2:]:
        print(f"speed-up of {name} over the pip baseline: {n / secs / base_rate:.0f}x")


if __name__ == "__main__":
    main()
