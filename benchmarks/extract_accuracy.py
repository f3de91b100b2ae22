"""Extraction accuracy on the dev corpus: each sdist built in the sandbox vs the wheel's METADATA.

Requirement sets are compared semantically (canonical names, specifier sets, normalized markers).
Prints exact-match % per backend and lists each mismatch.

    python benchmarks/extract_accuracy.py [--backend docker|bwrap|both]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from depgraph.sandbox import open_sandbox  # noqa: E402
from tests.lib.helpers import requirement_set  # noqa: E402

CORPUS = Path(os.environ.get("DEPGRAPH_SHARED", ROOT.parent / "shared")) / "corpus" / "dev"


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--backend", choices=("docker", "bwrap", "both"), default="both")
    args = ap.parse_args()
    entries = json.loads((CORPUS / "expected.json").read_text())
    for backend in ["docker", "bwrap"] if args.backend == "both" else [args.backend]:
        sandbox = open_sandbox(backend)
        exact, methods = 0, Counter[str]()
        for e in entries:
            r = sandbox.extract(CORPUS / "sdists" / e["sdist"])
            got, want = requirement_set(r.requires_dist), requirement_set(e["requires_dist"])
            methods[r.method or f"failed:{r.failure}"] = (
                methods.get(r.method or f"failed:{r.failure}", 0) + 1
            )
            if r.ok and got == want:
                exact += 1
            else:
                print(
                    f"  MISMATCH {backend} {e['sdist']}: ok={r.ok} {r.failure or ''} "
                    f"missing={sorted(map(str, want - got))} extra={sorted(map(str, got - want))}"
                )
        print(
            f"{backend}: exact match {exact}/{len(entries)} = {100 * exact / len(entries):.1f}%  "
            f"methods {methods}"
        )


if __name__ == "__main__":
    main()
