"""The product's documents: README opens with the two commands and stays short, every link in it
and in docs/ resolves, the CLI reference is the parser's own help, and no product file speaks of
how the project was developed."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from depgraph.clidoc import render

ROOT = Path(__file__).resolve().parents[1]
DOCS = sorted((ROOT / "docs").glob("*.md"))


def test_readme_opens_with_the_two_commands_and_stays_short() -> None:
    lines = (ROOT / "README.md").read_text().splitlines()
    assert len(lines) <= 200
    block = lines[lines.index("```bash") + 1 : lines.index("```bash") + 3]
    assert [line.split("#")[0].strip() for line in block] == [
        "bash scripts/demo.sh",
        "bash scripts/test.sh",
    ]
    assert (ROOT / "scripts" / "demo.sh").exists() and (ROOT / "scripts" / "test.sh").exists()


@pytest.mark.parametrize("page", [ROOT / "README.md", *DOCS], ids=lambda p: p.name)
def test_every_relative_link_resolves(page: Path) -> None:
    for target in re.findall(r"\]\(([^)#\s]+)\)", page.read_text()):
        if "://" not in target:
            assert (page.parent / target).exists(), f"{page.name} links to {target}"


def test_the_cli_reference_is_the_parsers_help() -> None:
    if sys.version_info[:2] != (3, 11):
        pytest.skip("argparse's layout differs between Python versions; docs/cli.md is 3.11's")
    assert (ROOT / "docs" / "cli.md").read_text() == render(), (
        "docs/cli.md is stale: python -m depgraph.clidoc > docs/cli.md"
    )


#: how development talks, which product files must not (an HTTP session is not one of these)
DIARY = re.compile(
    r"\b(?:this|last|next|earlier|previous) session\b|\bsession \d+|\bissue #?\d+"
    r"|--against [0-9a-f]{7}|\bcommit [0-9a-f]{7,}\b|\b[0-9a-f]{7,40}'s start",
    re.IGNORECASE,
)


def product_files() -> list[Path]:
    files = [ROOT / "README.md", *DOCS, *(ROOT / "benchmarks").glob("*.py")]
    for folder in (
        "depgraph/core",
        "depgraph/store",
        "depgraph/commands",
        "crawler",
        "sandbox",
        "analysis",
    ):
        files += (ROOT / folder).rglob("*.py")
    files += ROOT.joinpath("depgraph").glob("*.py")
    return files


def test_no_product_file_speaks_of_how_it_was_developed() -> None:
    found: dict[str, list[int]] = {}
    for path in product_files():
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if DIARY.search(line):
                found.setdefault(str(path.relative_to(ROOT)), []).append(number)
    assert found == {}
