"""Follow mode measured: a replica index receiving uploads while `depgraph update --follow`
keeps a store and its report fresh; prints the lag from each upload to the store and to the
report (p50, p95, max).

    python benchmarks/follow.py --tree /var/tmp/replica --db kept.sqlite --rate 2.3 \
        --minutes 10 [--interval 5] [--report DIR]

`--tree` is a replica written by `replica.py build` and `--db` a store crawled from it
(`replica.py crawl --db`): the store must already be consistent with the tree. The uploads go to
existing projects (the popular ones more often, as in `replica.py day`), each a new release with
a small real wheel and its PEP 658 file; every second, the uploads of that second are published at
once: the project pages and then the JSON root (with the projects' and the index's serials
advanced) and an RSS feed of the last 100 uploads (as PyPI's `/rss/updates.xml`, which the
follow polls) replaced atomically, as a CDN would flip them. An upload's time is the moment the root
that lists it was in place. PyPI took about 20,000 releases a day in 2023 (0.23 a second): 10x is
`--rate 2.3`.

The lag to the store is read from the store itself (a read-only connection asking for each
pending release every half second); the lag to the report from each new report's packages.csv
(the project's latest version at or past the upload).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pandas as pd
from packaging.version import InvalidVersion, Version

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.replica import metadata_text, served, write_wheel


class Uploads:
    """Uploads into a replica tree, published a batch at a time."""

    def __init__(self, tree: Path, seed: int = 7) -> None:
        self.simple, self.files = tree / "simple", tree / "files"
        root = json.loads((self.simple / "index.json").read_text())
        self.meta: dict[str, Any] = root["meta"]
        self.serial = int(self.meta["_last-serial"])
        self.names = [p["name"] for p in root["projects"]]
        # the root as one JSON text per project: a publish re-serialises only what changed
        self.entries = {p["name"]: json.dumps(p) for p in root["projects"]}
        self.rng = random.Random(seed)
        self.weights = [1 / (i + 1) for i in range(len(self.names))]
        self.pending: dict[str, dict[str, Any]] = {}  # project -> its page, changed
        self.batch: list[tuple[str, str]] = []
        self.recent: list[tuple[str, str]] = []  # the RSS feed's last 100 uploads

    def upload(self, count: int) -> None:
        for name in self.rng.choices(self.names, self.weights, k=count):
            page = self.pending.get(name)
            if page is None:
                page = json.loads((self.simple / name / "index.json").read_text())
                self.pending[name] = page
            version = f"8888.{self.serial + 1}"
            requires = [f"{d}>=0" for d in self.rng.sample(self.names, 2)]
            path = write_wheel(
                self.files, name, version, metadata_text(name, version, None, requires, "2.1")
            )
            metadata = Path(f"{path}.metadata").read_bytes()
            page["files"].append(
                {
                    "filename": path.name,
                    "url": f"../../files/{path.name}",
                    "hashes": {"sha256": hashlib.sha256(path.read_bytes()).hexdigest()},
                    "size": path.stat().st_size,
                    "upload-time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                    "core-metadata": {"sha256": hashlib.sha256(metadata).hexdigest()},
                }
            )
            self.serial += 1
            page["meta"]["_last-serial"] = self.serial
            self.entries[name] = json.dumps({"name": name, "_last-serial": self.serial})
            self.batch.append((name, version))

    def publish(self) -> list[tuple[str, str]]:
        """The pages, then the root, replaced atomically; returns the releases now listed."""
        for name, page in self.pending.items():
            _replace(self.simple / name / "index.json", json.dumps(page))
        self.meta["_last-serial"] = self.serial
        listed = ",".join(self.entries[n] for n in self.names)
        _replace(
            self.simple / "index.json",
            f'{{"meta": {json.dumps(self.meta)}, "projects": [{listed}]}}',
        )
        self.recent = [*self.recent, *self.batch][-100:]
        items = "".join(
            f"<item><title>{name} {version}</title><link>/project/{name}/{version}/</link>"
            f"<pubDate>{time.strftime('%a, %d %b %Y %H:%M:%S GMT', time.gmtime())}</pubDate>"
            "</item>"
            for name, version in reversed(self.recent)
        )
        (self.simple.parent / "rss").mkdir(exist_ok=True)
        _replace(
            self.simple.parent / "rss" / "updates.xml",
            f'<?xml version="1.0"?><rss version="2.0"><channel><title>uploads</title>{items}'
            "</channel></rss>",
        )
        published, self.batch, self.pending = self.batch, [], {}
        return published


def _replace(path: Path, text: str) -> None:
    part = path.with_name(f".{path.name}.part")
    part.write_text(text)
    os.replace(part, path)


def _percentiles(values: list[float]) -> str:
    if not values:
        return "none"
    s = pd.Series(values)
    return (
        f"p50 {s.quantile(0.5):.1f} s, p95 {s.quantile(0.95):.1f} s, max {s.max():.1f} s "
        f"({len(values)} releases)"
    )


def _newer_or_same(latest: object, version: str) -> bool:
    try:
        return isinstance(latest, str) and Version(latest) >= Version(version)
    except InvalidVersion:
        return False


def follow(
    tree: Path, db: Path, rate: float, minutes: float, interval: float, report: Path
) -> None:
    uploads = Uploads(tree)
    uploads.publish()  # the feed in place before the follow asks for it
    with served(tree) as (url, _ca):
        command = [
            *(sys.executable, "-m", "depgraph", "update", "--follow", "--db", str(db)),
            *("--index-url", url, "--interval", str(interval), "--report", str(report)),
            *("--feed-url", url.replace("/simple/", "/rss/updates.xml")),
            *("--sandbox", "none", "--json", "-q"),
        ]
        process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        cycles: list[dict[str, Any]] = []
        stdout = process.stdout
        assert stdout is not None

        def read_cycles() -> None:
            for line in stdout:
                cycles.append(json.loads(line))

        threading.Thread(target=read_cycles, daemon=True).start()
        while not cycles:  # the first cycle brings the store up to the tree
            if process.poll() is not None:
                raise SystemExit(f"update --follow ended with {process.returncode}")
            time.sleep(0.5)
        print(f"first cycle: {cycles[0]}")
        published_at: dict[tuple[str, str], float] = {}
        in_store: dict[tuple[str, str], float] = {}
        in_report: dict[tuple[str, str], float] = {}
        reader = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True)
        started = time.monotonic()
        ends = started + minutes * 60
        owed, last_tick = 0.0, started
        last_report = _report_stamp(report)
        while time.monotonic() < ends or len(in_report) < len(published_at):
            tick = time.monotonic()
            if tick < ends:
                owed += rate * (tick - last_tick)
                last_tick = tick
                if int(owed):
                    uploads.upload(int(owed))
                    owed -= int(owed)
                    when = time.monotonic()
                    for key in uploads.publish():
                        published_at[key] = when
            for key in [k for k in published_at if k not in in_store]:
                if reader.execute(
                    "SELECT 1 FROM releases WHERE project = ? AND version = ?", key
                ).fetchone():
                    in_store[key] = time.monotonic()
            stamp = _report_stamp(report)
            if stamp != last_report:
                last_report = stamp
                seen = time.monotonic()
                try:
                    packages = pd.read_csv(
                        report / "packages.csv", usecols=["name", "latest_version"], dtype=str
                    ).set_index("name")["latest_version"]
                except (OSError, ValueError) as exc:
                    print(f"report not readable yet: {exc}")
                    packages = pd.Series(dtype=str)
                for key in [k for k in in_store if k not in in_report]:
                    if _newer_or_same(packages.get(key[0]), key[1]):
                        in_report[key] = seen
            if process.poll() is not None:
                raise SystemExit(f"update --follow ended with {process.returncode}")
            if time.monotonic() > ends + 600:
                print("gave up waiting 10 minutes past the last upload")
                break
            time.sleep(max(0.0, 0.5 - (time.monotonic() - tick)))
        reader.close()
        _print_figures(published_at, in_store, in_report, cycles, rate, minutes, interval)
        process.send_signal(signal.SIGINT)  # between cycles it ends at once; in one, it may take
        try:
            process.wait(timeout=600)
        except subprocess.TimeoutExpired:
            print("update --follow did not end within 600 s of Ctrl-C: killed")
            process.kill()


def _print_figures(
    published_at: dict[tuple[str, str], float],
    in_store: dict[tuple[str, str], float],
    in_report: dict[tuple[str, str], float],
    cycles: list[dict[str, Any]],
    rate: float,
    minutes: float,
    interval: float,
) -> None:
    store_lag = [in_store[k] - published_at[k] for k in in_store]
    report_lag = [in_report[k] - published_at[k] for k in in_report]
    print(
        f"{len(published_at):,} uploads in {minutes:g} min ({rate:g}/s), update --follow "
        f"--interval {interval:g}: {len(cycles)} cycles ("
        + ", ".join(f"{m} {n}" for m, n in Counter(c["mode"] for c in cycles).items())
        + ")"
    )
    print(f"upload -> store:  {_percentiles(store_lag)}")
    print(f"upload -> report: {_percentiles(report_lag)}")
    seconds = [c["report_seconds"] for c in cycles if c.get("report_seconds") is not None]
    if seconds:
        print(f"report rebuilt {len(seconds)} times: {_percentiles(seconds).split(' (')[0]}")


def _report_stamp(report: Path) -> float | None:
    try:
        return (report / "packages.csv").stat().st_mtime
    except OSError:
        return None


def main() -> None:
    # the follow is stopped with SIGINT, as Ctrl-C would: started in the background of a
    # non-interactive shell (`nohup ... &`), this process and its children would ignore it
    signal.signal(signal.SIGINT, signal.default_int_handler)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", type=Path, required=True)
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--rate", type=float, default=2.3, help="uploads a second")
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--interval", type=float, default=5.0, help="update --follow --interval")
    parser.add_argument("--report", type=Path, default=None, help="the report folder")
    args = parser.parse_args()
    report = args.report or args.db.with_name(f"{args.db.stem}-report")
    follow(args.tree, args.db, args.rate, args.minutes, args.interval, report)


if __name__ == "__main__":
    main()
