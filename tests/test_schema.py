"""The one schema: stores of another version are migrated or refused with a clear message, by the
writer (the crawler's Store) and by the reader (analysis) alike; state values come from its
enums."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from depgraph.analysis import load_graph
from depgraph.cli import main
from depgraph.core.errors import SchemaVersionError, StoreError
from depgraph.core.schema import SCHEMA_VERSION, DepsState, stored_version
from depgraph.store import Store


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
    with pytest.raises(StoreError, match="not a store: file is not a database"):
        Store(junk)
    with pytest.raises(StoreError, match="not a store: file is not a database"):
        load_graph(junk)
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
        "not-read",
    }
    assert str(DepsState.KNOWN) == "known"  # StrEnum: stored as the plain string


def test_a_store_derived_by_regex_is_rederived_on_open_not_recrawled(tmp_path: Path) -> None:
    """Before marker evaluation, `extra == "a" or extra == "b"` was filed under `a` only and
    `python_version < "3.8" or extra == "x"` as extra-only; opening the store fixes both."""
    db = tmp_path / "old.sqlite"
    Store(db).close()
    with sqlite3.connect(db) as conn:
        conn.execute(
            "INSERT INTO projects VALUES ('p', 'p', 'x', NULL, NULL, NULL, 'ok', 't', NULL)"
        )
        conn.execute(
            "INSERT INTO releases (id, project, version, yanked, deps_state, files_digest,"
            " extractor_version, is_latest) VALUES (1, 'p', '1.0', 0, 'known', '', '1', 1)"
        )
        old_rows = [
            ('a-or-b; extra == "a" or extra == "b"', "a-or-b", 'extra == "a" or extra == "b"', "a"),
            (
                'old-py; python_version < "3.8" or extra == "x"',
                "old-py",
                'python_version < "3.8" or extra == "x"',
                "x",
            ),
            ("plain", "plain", None, None),
        ]
        conn.executemany(
            "INSERT INTO requirements (release_id, raw, name, specifier, marker, extra, extras,"
            " kind, source, extractor_version) VALUES (1, ?, ?, '', ?, ?, '', ?, 'pep658', '1')",
            [
                (raw, name, marker, extra, "extra" if extra else "run")
                for raw, name, marker, extra in old_rows
            ],
        )
        conn.execute("DELETE FROM meta WHERE key = 'extras_derivation'")
    with pytest.raises(StoreError, match="derived by an older pypi-depgraph"):
        load_graph(db)  # readers refuse: their counts would be wrong
    Store(db).close()  # any writer re-derives, in place
    with sqlite3.connect(db) as conn:
        rows = sorted(conn.execute("SELECT name, kind, coalesce(extra, '') FROM requirements"))
    assert rows == [
        ("a-or-b", "extra", "a"),
        ("a-or-b", "extra", "b"),
        ("old-py", "extra", "x"),
        ("old-py", "run", ""),
        ("plain", "run", ""),
    ]
    graph = load_graph(db)
    runtime = graph.edges[~graph.edges["via_extra"]]
    assert set(graph.names[runtime["dst"]]) == {"old-py", "plain"}


def test_a_postgresql_store_is_created_once_and_checked_like_a_file() -> None:
    """Created by whoever opens it first, under a lock (clients opening a new store together do
    not collide); a newer store or a database that is not a store is refused, by writer and
    reader, with one clear line; the password is not in the message."""
    from concurrent.futures import ThreadPoolExecutor

    import psycopg

    from depgraph.store.reader import read_nodes
    from tests.lib.pg import fresh_database

    with fresh_database() as url:
        with ThreadPoolExecutor(4) as pool:
            stores = list(pool.map(lambda _: Store(url), range(4)))
        assert stores[0].get_meta("schema_version") == str(SCHEMA_VERSION)
        for store in stores:
            store.close()
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
        for opening in (lambda: Store(url), lambda: read_nodes(url)):
            with pytest.raises(SchemaVersionError) as refused:
                opening()
            assert "99" in str(refused.value) and ":depgraph@" not in str(refused.value)
    with fresh_database() as url:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CREATE TABLE someone_elses (x int)")
        with pytest.raises(SchemaVersionError, match="not a pypi-depgraph store"):
            Store(url)
