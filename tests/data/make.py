"""Writes the saved bytes of tests/data: real distributions of the test project `tiny-lib`, built by
`depgraph.demo.distbuild` (deterministic: the same bytes on every run), and its project page as two
real servers answered it: pypiserver (PEP 503 HTML) and simple-repository-server (PEP 691 JSON,
PEP 658 metadata files). The pages' host and port are replaced by `index.test`.

    python tests/data/make.py        (rewrites the files; the tests read them as they are)
"""

from __future__ import annotations

import re
import shutil
import sys
import tempfile
from pathlib import Path

import requests

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from depgraph.demo.distbuild import DistSpec, write_sdist, write_wheel  # noqa: E402
from tests.lib.servers import IndexServer  # noqa: E402

SPEC = DistSpec(
    "tiny-lib",
    "1.0",
    requires=["requests>=2.0", 'colorama; sys_platform == "win32"'],
    extras={"socks": ["PySocks!=1.5.7,>=1.5.6"]},
    requires_python=">=3.8",
    filler=200_000,  # a wheel large enough that range reads read a fraction of it
    scripts={"tiny": "tiny_lib:main"},
)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "files"
        made = [
            write_wheel(SPEC, folder),
            write_sdist(SPEC, folder, "static"),
            write_sdist(DistSpec("tiny-lib", "0.9", requires=["requests"]), folder, "dynamic"),
        ]
        for path in made:
            shutil.copyfile(path, HERE / path.name)
        for kind, accept, out in (
            ("pypiserver", "text/html", "tiny-lib.pypiserver.html"),
            (
                "simple-repository-server",
                "application/vnd.pypi.simple.v1+json",
                "tiny-lib.pep691.json",
            ),
        ):
            with IndexServer(folder, kind) as server:
                page = requests.get(
                    f"{server.url}tiny-lib/", headers={"Accept": accept}, timeout=10
                )
                page.raise_for_status()
                text = re.sub(r"http://127\.0\.0\.1:\d+", "http://index.test", page.text)
                (HERE / out).write_text(text)


if __name__ == "__main__":
    main()
