"""Update benchmark: a full crawl of a loopback mirror, then `update` with nothing changed and with
1 % of projects changed; prints requests made, bytes and time for each, side by side, for the three
ways of knowing what changed: conditional requests (any index), changelog serials (an XML-RPC
changelog) and root serials (a PEP 691 JSON root with each project's `_last-serial`, as PyPI's).

The index is a static mirror tree (tests/lib/mirror.py, laid out as bandersnatch does) behind a
static server that answers If-Modified-Since with 304, the way a local mirror behind any web
server does.

    python benchmarks/update.py [--projects 400] [--releases-per-project 6]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from depgraph.crawler.access import IndexAccess
from depgraph.crawler.update import Changelog, update
from depgraph.demo.distbuild import DistSpec, write_wheel
from depgraph.store import Store
from depgraph.wiring import crawler_for
from tests.lib.faultserver import FlakyMirror
from tests.lib.mirror import write_static_mirror
from tests.lib.servers import ChangelogServer, IndexServer


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--projects", type=int, default=400)
    ap.add_argument("--releases-per-project", type=int, default=6, help="PyPI averages about 6")
    ap.add_argument("--workers", type=int, default=8)
    args = ap.parse_args()
    rng = random.Random(3)
    with tempfile.TemporaryDirectory() as tmp:
        flat, mirror = Path(tmp) / "flat", Path(tmp) / "mirror"
        names = [f"upd-pkg-{i:04d}" for i in range(args.projects)]
        for i, name in enumerate(names):
            for r in range(args.releases_per_project):
                deps = [f"{d}>=1" for d in rng.sample(names[:i], min(i, rng.randint(0, 4)))]
                write_wheel(
                    DistSpec(name, f"{r}.0", deps, filler=rng.randint(20_000, 300_000)), flat
                )
        serials = {name: i + 1 for i, name in enumerate(names)}
        write_static_mirror(flat, mirror, serials=serials)
        rows: list[tuple[str, int, int, float, str | int]] = []
        with (
            IndexServer(mirror, "static") as static,
            FlakyMirror(mirror, cut_once=False) as json_server,
            ChangelogServer() as log,
        ):
            for name in names:
                log.add(name, "create")
            for mode in ("conditional", "changelog", "root-serials"):
                changelog = Changelog(log.url) if mode == "changelog" else None
                # the static server answers If-Modified-Since; the JSON one gives root serials
                server = json_server if mode == "root-serials" else static
                db = Path(tmp) / f"{mode}.sqlite"
                with crawler_for(
                    Store(db),
                    IndexAccess(index_url=server.url, workers=args.workers),
                    progress=False,
                ) as crawler:
                    full = update(Store(db), crawler, changelog).crawl  # first update = full crawl
                rows.append(
                    (f"[{mode}] full crawl", full.requests, full.bytes_fetched, full.seconds, "-")
                )
                with crawler_for(
                    Store(db),
                    IndexAccess(index_url=server.url, workers=args.workers),
                    progress=False,
                ) as crawler:
                    same = update(Store(db), crawler, changelog).crawl
                rows.append(
                    (
                        f"[{mode}] update, nothing changed",
                        same.requests,
                        same.bytes_fetched,
                        same.seconds,
                        same.projects_by_status.get("unchanged", 0),
                    )
                )
                changed = rng.sample(names, max(1, args.projects // 100))
                for name in changed:
                    write_wheel(
                        DistSpec(name, f"{99 + len(rows)}.0", ["upd-pkg-0000"], filler=50_000), flat
                    )
                    log.add(name, "new release")
                    serials[name] = max(serials.values()) + 1
                write_static_mirror(flat, mirror, serials=serials)
                with crawler_for(
                    Store(db),
                    IndexAccess(index_url=server.url, workers=args.workers),
                    progress=False,
                ) as crawler:
                    one = update(Store(db), crawler, changelog).crawl
                rows.append(
                    (
                        f"[{mode}] update, {len(changed)} projects changed (1 %)",
                        one.requests,
                        one.bytes_fetched,
                        one.seconds,
                        one.projects_by_status.get("unchanged", 0),
                    )
                )
    print(
        f"index: {args.projects} projects x {args.releases_per_project} releases (static mirror "
        "with PEP 658 "
        f"metadata files, If-Modified-Since; a loopback XML-RPC changelog for the changelog mode; "
        "JSON pages with _last-serial for the root-serials mode)"
    )
    print(f"{'run':48} {'requests':>8} {'bytes':>10} {'seconds':>8} {'304s':>6}")
    for name, reqs, nbytes, secs, unchanged in rows:
        print(f"{name:48} {reqs:8d} {nbytes:10,d} {secs:8.2f} {unchanged!s:>6}")
    for base in (0, 3, 6):
        full_reqs, full_secs = rows[base][1], rows[base][3]
        for name, reqs, _, secs, unchanged in rows[base + 1 : base + 3]:
            answered = (full_reqs - reqs + int(unchanged)) / full_reqs
            print(
                f"{name}: {answered:.1%} of the full crawl's requests avoided or answered 304; "
                f"{full_secs / secs:.1f}x faster than the full crawl"
            )


if __name__ == "__main__":
    main()
