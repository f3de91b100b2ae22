"""Sandbox speed: per-sdist wall time in each backend beside a bare host build, and sdists/s.

The bare baseline runs the same PEP 517 `prepare_metadata_for_build_wheel` hook on the host, in a
throw-away venv-less subprocess, for the dev corpus sdists whose backend is importable on the host.
(That is exactly what the project never does with untrusted code; here the corpus is known code.)
Ratios are per sdist, measured back to back in one run.

    python benchmarks/sandbox.py [--workers 2] [--limit 38]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from depgraph.sandbox import open_sandbox  # noqa: E402

CORPUS = Path(os.environ.get("DEPGRAPH_SHARED", ROOT.parent / "shared")) / "corpus" / "dev"

BARE = r"""
import sys, tomllib, os
from pyproject_hooks import BuildBackendHookCaller, quiet_subprocess_runner
root = sys.argv[1]
backend = "setuptools.build_meta:__legacy__"
path = os.path.join(root, "pyproject.toml")
if os.path.exists(path):
    with open(path, "rb") as fh:
        backend = tomllib.load(fh).get("build-system", {}).get("build-backend", backend)
caller = BuildBackendHookCaller(root, backend, runner=quiet_subprocess_runner)
caller.prepare_metadata_for_build_wheel(sys.argv[2], {})
"""


def bare_seconds(sdist: Path) -> float | None:
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        with tarfile.open(sdist) as tf:
            tf.extractall(tmp, filter="data")
        (root,) = [p for p in Path(tmp).iterdir() if p.is_dir()]
        out = Path(tmp) / "meta"
        out.mkdir()
        proc = subprocess.run(
            [sys.executable, "-c", BARE, str(root), str(out)], capture_output=True
        )
        return time.perf_counter() - started if proc.returncode == 0 else None


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--limit", type=int, default=38)
    args = ap.parse_args()
    entries = json.loads((CORPUS / "expected.json").read_text())[: args.limit]
    sdists = [CORPUS / "sdists" / e["sdist"] for e in entries]
    backends = {name: open_sandbox(name) for name in ("docker", "bwrap")}
    ratios: dict[str, list[float]] = {name: [] for name in backends}
    rows = []
    for sdist in sdists:
        bare = bare_seconds(sdist)
        times = {name: sb.extract(sdist).seconds for name, sb in backends.items()}
        rows.append((sdist.name, bare, times))
        if bare:
            for name, t in times.items():
                ratios[name].append(t / bare)
    print(f"{'sdist':36} {'bare s':>7} " + " ".join(f"{n + ' s':>9}" for n in backends))
    for name, bare, times in rows:
        print(
            f"{name:36} {bare if bare else float('nan'):7.2f} "
            + " ".join(f"{t:9.2f}" for t in times.values())
        )
    for name, values in ratios.items():
        print(
            f"{name}: median ratio to bare host build {statistics.median(values):.2f}x over "
            f"{len(values)} sdists "
            f"(bare build possible on the host for {len(values)} of {len(sdists)})"
        )
    for name, sb in backends.items():
        started = time.perf_counter()
        with ThreadPoolExecutor(args.workers) as pool:
            results = list(pool.map(sb.extract, sdists))
        secs = time.perf_counter() - started
        ok = sum(r.ok for r in results)
        print(
            f"{name}: {len(sdists)} sdists with {args.workers} workers in {secs:.1f} s = "
            f"{len(sdists) / secs:.2f} sdists/s ({ok} ok)"
        )


if __name__ == "__main__":
    main()
