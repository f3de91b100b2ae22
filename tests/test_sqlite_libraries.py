"""Two SQLite libraries (Python's and the ADBC driver's) never hold one store file at once in a
process: without the guard, a columnar read opening a WAL store beside a writer's sqlite3
connection truncates the shared-memory index the writer has mapped and the process dies of
SIGBUS (what `update --follow --report` did when it rebuilt its report)."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest

from depgraph.core import sqlite_libraries
from depgraph.core.db import connect
from depgraph.store import Store
from depgraph.store.reader import Query, read_queries

# a writer committing all the time (a connection now held, now reopened) beside readers that
# read columnar whenever they may
STRESS = """
import sys, threading, time
from depgraph.core.db import connect
from depgraph.store.reader import Query, read_queries

db, seconds, reopen = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
stop = time.monotonic() + seconds
reads, errors = [], []

def write():
    i = 0
    while time.monotonic() < stop:
        writer = connect(db)
        for _ in range(reopen):
            if time.monotonic() > stop:
                break
            writer.execute("BEGIN IMMEDIATE")
            writer.execute(
                "INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (f"k{i % 50}", str(i))
            )
            writer.execute("COMMIT")
            i += 1
        writer.close()

def read():
    while time.monotonic() < stop:
        try:
            (frame,) = read_queries(db, [Query("SELECT count(*) AS n FROM meta")])
            reads.append(int(frame["n"][0]))
        except Exception as exc:
            errors.append(repr(exc))

threads = [threading.Thread(target=write)] + [threading.Thread(target=read) for _ in range(2)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(len(reads), len(errors), errors[:3])
"""


@pytest.mark.parametrize("reopen", [1, 20, 1_000_000])
def test_a_writer_and_columnar_readers_share_a_process(tmp_path: Path, reopen: int) -> None:
    db = tmp_path / "s.sqlite"
    Store(db).close()
    script = tmp_path / "stress.py"
    script.write_text(STRESS)
    run = subprocess.run(
        [sys.executable, "-X", "faulthandler", str(script), str(db), "4", str(reopen)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert run.returncode == 0, run.stderr[-3000:]
    reads, errors, _ = run.stdout.split(" ", 2)
    assert int(reads) > 10 and errors == "0", run.stdout


def test_a_columnar_read_stands_aside_while_sqlite3_holds_the_file(tmp_path: Path) -> None:
    db = tmp_path / "s.sqlite"
    Store(db).close()
    held = connect(db)
    try:
        assert not sqlite_libraries.take("adbc", db, wait=False)
        # the reader answers all the same, through sqlite3
        (frame,) = read_queries(db, [Query("SELECT count(*) AS n FROM meta")])
        assert int(frame["n"][0]) > 0
    finally:
        held.close()
    assert sqlite_libraries.take("adbc", db, wait=False)
    sqlite_libraries.release("adbc", db)


def test_sqlite3_waits_for_a_columnar_read_to_end(tmp_path: Path) -> None:
    db = tmp_path / "s.sqlite"
    Store(db).close()
    assert sqlite_libraries.take("adbc", db)
    opened = threading.Event()

    def open_sqlite3() -> None:
        connect(db).close()
        opened.set()

    thread = threading.Thread(target=open_sqlite3)
    thread.start()
    try:
        assert not opened.wait(0.5)  # waiting: the columnar reader still holds the file
    finally:
        sqlite_libraries.release("adbc", db)
    assert opened.wait(10)
    thread.join()


def test_a_release_never_counted_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="no adbc connection"):
        sqlite_libraries.release("adbc", tmp_path / "never.sqlite")


# a columnar read of minutes on the main thread, SIGINT after a second: the ADBC driver manager
# puts its own SIGINT handler in place while a statement runs on the main thread, and SQLite's
# driver cannot cancel, so without a thread of its own the signal is lost until the read ends
INTERRUPTED = """
import os, signal, sys, threading, time
from depgraph.store.reader import Query, read_queries

slow = Query(
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 4000000000) "
    "SELECT count(*) AS n FROM c"
)
threading.Timer(1.0, os.kill, (os.getpid(), signal.SIGINT)).start()
start = time.monotonic()
try:
    read_queries(sys.argv[1], [slow])
except KeyboardInterrupt:
    print(f"interrupted {time.monotonic() - start:.1f}")
else:
    print("read to its end")
"""


def test_ctrl_c_reaches_a_columnar_read_on_the_main_thread(tmp_path: Path) -> None:
    db = tmp_path / "s.sqlite"
    Store(db).close()
    run = subprocess.run(
        [sys.executable, "-c", INTERRUPTED, str(db)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert run.returncode == 0, run.stderr[-3000:]
    word, seconds = run.stdout.split()
    assert word == "interrupted" and float(seconds) < 10, run.stdout
