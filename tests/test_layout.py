"""The house's arrows, read from the source: the application composes the packages; the packages
never import their callers; analysis reads the store through the schema module only; nothing in
the wheel imports the tests."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("depgraph", "depgraph_core", "crawler", "sandbox", "analysis")
# package -> the first-party packages it may import
ALLOWED = {
    "depgraph": {"depgraph", "depgraph_core", "crawler", "sandbox", "analysis"},
    "crawler": {"crawler", "depgraph_core", "sandbox"},  # sandbox through its protocol
    "sandbox": {"sandbox", "depgraph_core"},
    "analysis": {"analysis", "depgraph_core"},
    "depgraph_core": {"depgraph_core"},
}
FIRST_PARTY = set(ALLOWED) | {"tests", "benchmarks"}


def imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found & FIRST_PARTY


@pytest.mark.parametrize("package", PACKAGES)
def test_imports_run_one_way(package: str) -> None:
    wrong = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        if "image/inside" in path.as_posix():
            continue  # runs inside the sandbox on the standard library alone
        extra = imported_packages(path) - ALLOWED[package]
        if extra:
            wrong[str(path.relative_to(ROOT))] = sorted(extra)
    assert wrong == {}


def test_the_extractor_uses_the_standard_library_and_pyproject_hooks_only() -> None:
    path = ROOT / "sandbox" / "image" / "inside" / "extract.py"
    tree = ast.parse(path.read_text())
    names = {
        a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names
    }
    names |= {
        n.module.split(".")[0]
        for n in ast.walk(tree)
        if isinstance(n, ast.ImportFrom) and n.module and n.level == 0
    }
    import sys

    assert names - set(sys.stdlib_module_names) == {"pyproject_hooks"}


def test_the_schema_module_imports_nothing_heavy() -> None:
    """The schema and the connection layer use the standard library; psycopg is imported only
    when a PostgreSQL store is opened, so SQLite users never load it."""
    for module in ("schema.py", "db.py"):
        names = {
            a.name.split(".")[0]
            for n in ast.walk(ast.parse((ROOT / "depgraph_core" / module).read_text()))
            if isinstance(n, ast.Import) and n.col_offset == 0
            for a in n.names
        }
        assert names <= set(sys.stdlib_module_names), module
    loaded = subprocess.run(
        [sys.executable, "-c", "import sys, depgraph_core.schema; print('psycopg' in sys.modules)"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    ).stdout.strip()
    assert loaded == "False"


def test_state_strings_live_in_the_schema_module_only() -> None:
    """No package spells a deps_state / status value in SQL or code: they come from the enums."""
    spelled: dict[str, list[str]] = {}
    for package in ("crawler", "analysis", "depgraph"):
        for path in (ROOT / package).rglob("*.py"):
            text = path.read_text()
            for value in (
                "'pending-sandbox'",
                '"pending-sandbox"',
                "'known'",
                "'no-usable-files'",
                "'not-imported'",
                "'running'",
                "'interrupted'",
            ):
                if value in text:
                    spelled.setdefault(str(path.relative_to(ROOT)), []).append(value)
    assert spelled == {}
