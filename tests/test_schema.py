"""The one schema: stores of another version are migrated or refused with a clear message, by the
writer (the crawler's Store) and by the reader (analysis) alike; state values come from its
enums."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from analysis import load_graph
from crawler.store import Store
from depgraph.cli import main
from depgraph_core.errors import SchemaVersionError, StoreError
from depgraph_core.schema import SCHEMA_VERSION, DepsState, stored_version


def newer_store(path: Path) -> Path:
    Store(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute(
            "UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION + 1),)
        )
    return path


def test_a_new_store_records_the_schema_version(tmp_path: Path) -> None:
    store = Store(tmp_path / "new.sqlite")
    assert stored_version(store.db) == str(SCHEMA_VERSION)
    Store(tmp_path / "new.sqlite")  # reopening a current store changes nothing
    assert stored_version(store.db) == str(SCHEMA_VERSION)


def test_the_writer_refuses_a_newer_store(tmp_path: Path) -> None:
    db = newer_store(tmp_path / "newer.sqlite")
    with pytest.raises(
        SchemaVersionError,
        match=r"newer.sqlite: the store has schema version \d+; .*newer pypi-depgraph",
    ):
        Store(db)


def test_the_reader_refuses_a_newer_store(tmp_path: Path) -> None:
    db = newer_store(tmp_path / "newer.sqlite")
    with pytest.raises(SchemaVersionError, match="schema version"):
        load_graph(db)


def test_a_file_that_is_not_a_store_is_refused(tmp_path: Path) -> None:
    junk = tmp_path / "notes.sqlite"
    junk.write_text("these are my notes, not a database\n")
    with pytest.raises(SchemaVersionError, match="not an SQLite database"):
        Store(junk)
    assert junk.read_text() == "these are my notes, not a database\n"  # untouched
    other = tmp_path / "other.sqlite"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE t (x)")
    with pytest.raises(SchemaVersionError, match="not a pypi-depgraph store"):
        Store(other)
    with pytest.raises(StoreError):
        load_graph(other)


@pytest.mark.parametrize(
    "command", [["status"], ["report", "--out", "r"], ["update", "--sandbox", "none"]]
)
def test_every_command_ends_in_one_line_and_exit_2(
    tmp_path: Path, command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    db = newer_store(tmp_path / "newer.sqlite")
    assert main([command[0], "--db", str(db), *command[1:]]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("depgraph: ") and "schema version" in err[0]


def test_state_values_are_the_enums(tmp_path: Path) -> None:
    assert {s.value for s in DepsState} == {
        "known",
        "pending-sandbox",
        "failed",
        "no-usable-files",
        "not-imported",
    }
    assert str(DepsState.KNOWN) == "known"  # StrEnum: stored as the plain string
