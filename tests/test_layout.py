"""The house's arrows, read from the source: one import namespace (`depgraph`); the application
composes the packages; the packages never import their callers; all SQL lives in the store and the
schema module; nothing in the wheel imports the tests; the wheel installs one top-level package."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "depgraph"
#: subpackage -> the subpackages it may import ("app" is everything else under depgraph/)
ALLOWED = {
    "core": {"core"},
    "store": {"store", "core"},
    "sandbox": {"sandbox", "core"},
    "crawler": {"crawler", "core", "store", "sandbox"},  # the sandbox through its protocol
    "analysis": {"analysis", "core", "store"},
    "app": {"app", "core", "store", "sandbox", "crawler", "analysis"},
}
#: names that were top-level packages once: nothing may import them bare any more
BARE = {"crawler", "sandbox", "analysis", "depgraph_core", "store", "core"}


def part_of(module: str) -> str:
    """depgraph.crawler.index -> crawler; depgraph.cli -> app."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in ALLOWED and parts[1] != "app" else "app"


def imports_of(path: Path) -> list[tuple[str, int]]:
    """Absolute module names a file imports (relative imports resolved), with their level."""
    tree = ast.parse(path.read_text(), str(path))
    rel = path.relative_to(ROOT)
    package = ["depgraph", *rel.parts[:-1]] if rel.parts[0] != "depgraph" else list(rel.parts[:-1])
    found: list[tuple[str, int]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((alias.name, 0) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                found.append((".".join([*base, *([node.module] if node.module else [])]), 1))
            elif node.module:
                found.append((node.module, 0))
    return found


def source_files() -> list[Path]:
    """Every .py file of the product, by its real path (the links under depgraph/ not walked)."""
    files = [p for p in PKG.rglob("*.py") if not any(q.is_symlink() for q in p.parents)]
    for folder in ("crawler", "sandbox", "analysis"):
        files += (ROOT / folder).rglob("*.py")
    return [p for p in files if "image/inside" not in p.as_posix()]


def owner(path: Path) -> str:
    rel = path.relative_to(ROOT).parts
    if rel[0] != "depgraph":
        return rel[0]
    return rel[1] if len(rel) > 2 and rel[1] in ALLOWED else "app"


def test_the_subpackages_are_links_to_the_design_card_folders() -> None:
    for folder in ("crawler", "sandbox", "analysis"):
        link = PKG / folder
        assert link.is_symlink() and os.readlink(link) == f"../{folder}", folder


def test_imports_run_one_way() -> None:
    wrong: dict[str, list[str]] = {}
    for path in source_files():
        allowed = ALLOWED[owner(path)]
        for module, _ in imports_of(path):
            top = module.split(".")[0]
            if (
                top in BARE
                or top == "tests"
                or (top == "depgraph" and part_of(module) not in allowed)
            ):
                wrong.setdefault(str(path.relative_to(ROOT)), []).append(module)
    assert wrong == {}


def test_tests_benchmarks_and_notebooks_import_the_namespace_only() -> None:
    wrong: dict[str, list[str]] = {}
    for path in [*(ROOT / "tests").rglob("*.py"), *(ROOT / "benchmarks").rglob("*.py")]:
        for module, level in imports_of(path):
            if level == 0 and module.split(".")[0] in BARE:
                wrong.setdefault(str(path.relative_to(ROOT)), []).append(module)
    for notebook in (ROOT / "notebooks").glob("*.ipynb"):
        for match in re.finditer(r"(?m)(?:from|import) (\w+)", notebook.read_text()):
            if match.group(1) in BARE:
                wrong.setdefault(str(notebook.relative_to(ROOT)), []).append(match.group(1))
    assert wrong == {}


def test_sql_lives_in_the_store_and_the_schema_only() -> None:
    """No module outside depgraph/store and depgraph/core spells a SELECT, INSERT, UPDATE or DELETE
    against the store's tables."""
    statement = re.compile(
        r"""["'](?:SELECT|INSERT INTO|UPDATE|DELETE FROM|CREATE TABLE)\b[^"']*"""
        r"""\b(?:projects|releases|files|requirements|failures|crawl_runs|crawl_queue|meta)\b"""
    )
    spelled = [
        str(p.relative_to(ROOT))
        for p in source_files()
        if owner(p) not in ("store", "core") and statement.search(p.read_text())
    ]
    assert spelled == []


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
    assert names - set(sys.stdlib_module_names) == {"pyproject_hooks"}


def test_the_schema_module_imports_nothing_heavy() -> None:
    """The schema and the connection layer use the standard library; psycopg is imported only
    when a PostgreSQL store is opened, so SQLite users never load it."""
    for module in ("schema.py", "db.py"):
        names = {
            a.name.split(".")[0]
            for n in ast.walk(ast.parse((PKG / "core" / module).read_text()))
            if isinstance(n, ast.Import) and n.col_offset == 0
            for a in n.names
        }
        assert names <= set(sys.stdlib_module_names), module
    loaded = subprocess.run(
        [sys.executable, "-c", "import sys, depgraph.core.schema; print('psycopg' in sys.modules)"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    ).stdout.strip()
    assert loaded == "False"


HEAVY = ("requests", "urllib3", "pypi_simple", "pandas", "pyarrow", "numpy", "docker", "psycopg")


def loaded_after(code: str, cwd: Path) -> list[str]:
    probe = f"{code}\nimport sys\nprint(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=cwd
    )
    return done.stdout.split("\n")[-2].split()


def test_the_cli_and_status_load_no_http_stack_and_no_pandas(tmp_path: Path) -> None:
    assert loaded_after("import depgraph.cli", tmp_path) == []
    store = tmp_path / "s.sqlite"
    status = (
        "from depgraph.store import Store\n"
        f"Store({str(store)!r}).close()\n"
        "from depgraph.cli import main\n"
        f"assert main(['status', '--db', {str(store)!r}]) == 0"
    )
    assert loaded_after(status, tmp_path) == []
    assert loaded_after("import depgraph.store.rows", tmp_path) == []


def test_state_strings_live_in_the_schema_module_only() -> None:
    """No package spells a deps_state / status value in SQL or code: they come from the enums."""
    spelled: dict[str, list[str]] = {}
    for path in source_files():
        if owner(path) == "core":
            continue
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


@pytest.mark.slow
def test_the_wheel_installs_one_top_level_package(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp_path), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    (wheel,) = tmp_path.glob("pypi_depgraph-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
    tops = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert tops == {"depgraph"}
    for sub in ("core", "store", "crawler", "sandbox", "analysis"):
        assert f"depgraph/{sub}/__init__.py" in names
    assert "depgraph/sandbox/image/inside/extract.py" in names
    assert "depgraph/analysis/DATA_DICTIONARY.md" in names
