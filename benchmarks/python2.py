"""Python-2-only sdists: what the sandbox extracts vs what setup.py declared under CPython 2.7.

The corpus (tests/data/py2-corpus.txt, drawn from mach-nix's pypi-deps-db) is fetched first with
`python -m tests.lib.py2corpus fetch`. A release agrees when the sandbox succeeds and its
requirement set (canonical names, specifier sets, normalized markers; extras included) equals
mach-nix's py27 record, or the sdist's own `*.egg-info/requires.txt`. Prints each disagreement,
the agreement, the methods and interpreters that answered, and the per-sdist build time by
interpreter.

    python benchmarks/python2.py [--backend docker|bwrap] [--cache DIR] [--list FILE]

tests/data/py2-corpus.txt is the sample the extractor was tuned on (the tests build it);
tests/data/py2-heldout.txt, drawn with another salt, was only measured.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from depgraph.sandbox import open_sandbox  # noqa: E402
from tests.lib.helpers import requirement_set  # noqa: E402
from tests.lib.py2corpus import (  # noqa: E402
    LIST,
    cases,
    default_cache,
    egg_info_requires,
    fetched,
    machnix_py27,
)


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--backend", choices=("docker", "bwrap"), default="docker")
    ap.add_argument("--cache", type=Path, default=None)
    ap.add_argument("--list", type=Path, default=LIST, help="the releases to build")
    args = ap.parse_args()
    cache = args.cache or default_cache()
    manifest = fetched(cache)
    sandbox = open_sandbox(args.backend)
    agree, total = 0, 0
    methods: Counter[str] = Counter()
    seconds: dict[str, list[float]] = defaultdict(list)
    for case in cases(args.list):
        entry = manifest.get(case.key, {})
        if "file" not in entry:
            print(f"  ABSENT {case.key}: {entry.get('error', 'not fetched')}")
            continue
        sdist = cache / entry["file"]
        total += 1
        result = sandbox.extract(sdist)
        seconds[result.interpreter or "none"].append(result.seconds)
        methods[f"{result.method or 'failed:' + str(result.failure)} ({result.interpreter})"] += 1
        got = requirement_set(result.requires_dist)
        references = [r for r in (machnix_py27(case), egg_info_requires(sdist)) if r is not None]
        if result.ok and any(got == requirement_set(r) for r in references):
            agree += 1
            continue
        want = requirement_set(references[0]) if references else set()
        print(
            f"  DIFFERS {case.key} [{case.failure_class}] ok={result.ok} "
            f"{result.failure or result.method} ({result.interpreter}): {result.detail or ''}\n"
            f"    missing={sorted(map(str, want - got))}\n    extra={sorted(map(str, got - want))}"
        )
    print(f"{args.backend}: {agree}/{total} agree = {100 * agree / max(total, 1):.1f}%")
    for method, n in methods.most_common():
        print(f"  {n:3d} {method}")
    for interpreter, values in sorted(seconds.items()):
        print(
            f"  {interpreter}: {len(values)} sdists, median {statistics.median(values):.2f} s, "
            f"max {max(values):.2f} s per sdist (both stages)"
        )


if __name__ == "__main__":
    main()
