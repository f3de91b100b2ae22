"""The command line against a careless user: every mistake ends in one `depgraph:` line and the
documented exit code (2 for input, 130 for an interrupt), before anything is touched, and nothing
is created when a command fails. Each case is run as a user runs it: `python -m depgraph ...`."""

from __future__ import annotations

import codecs
import functools
import gzip
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from depgraph.core import __version__
from depgraph.core.schema import SCHEMA_VERSION


def depgraph(
    *args: str, cwd: Path | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "depgraph", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
    )


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo")
    done = depgraph("demo", "--sandbox", "none", "--out", str(out), "-q", "--json")
    assert done.returncode == 0, done.stderr
    return out / "demo.sqlite"


def usage(command: str, message: str) -> str:
    where = f"{command}: " if command else ""
    prog = f"depgraph {command}".strip()
    return f"depgraph: {where}{message} (see `{prog} --help`)\n"


@pytest.mark.parametrize(
    ("args", "command", "message"),
    [
        (
            ["crawl", "--project", "x", "--workers", "0"],
            "crawl",
            "argument --workers: must be 1 or more, not 0",
        ),
        (
            ["crawl", "--project", "x", "--workers", "-1"],
            "crawl",
            "argument --workers: must be 1 or more, not -1",
        ),
        (
            ["crawl", "--project", "x", "--max-rps", "0"],
            "crawl",
            "argument --max-rps: must be above 0, not 0",
        ),
        (
            ["crawl", "--project", "x", "--max-rps", "-5"],
            "crawl",
            "argument --max-rps: must be above 0, not -5",
        ),
        (
            ["crawl", "--project", "x", "--max-rps", "nan"],
            "crawl",
            "argument --max-rps: not a finite number: 'nan'",
        ),
        (
            ["crawl", "--project", "../../etc/passwd"],
            "crawl",
            "argument --project: not a project name: '../../etc/passwd' "
            "(letters, digits, and . _ - between them)",
        ),
        (
            ["crawl", "--project", ""],
            "crawl",
            "argument --project: not a project name: '' (letters, digits, and . _ - between them)",
        ),
        (
            ["crawl", "--project", "x", "--index-url", "ftp://example/simple/"],
            "crawl",
            "argument -i/--index-url: not an http(s) URL: 'ftp://example/simple/'",
        ),
        (
            ["installable", "--python", "3.11", "--top", "0"],
            "installable",
            "argument --top: must be 1 or more, not 0",
        ),
        (["report", "--top", "-3"], "report", "argument --top: must be 0 or more, not -3"),
        (
            ["report", "--python", "banana"],
            "report",
            "argument --python: not a Python version: 'banana' (X.Y or X.Y.Z: 2.7, 3.0 to 3.99)",
        ),
        (
            ["installable", "--python", "2.5"],
            "installable",
            "argument --python: not a Python version: '2.5' (X.Y or X.Y.Z: 2.7, 3.0 to 3.99)",
        ),
        (
            ["installable", "--python", "3"],
            "installable",
            "argument --python: not a Python version: '3' (X.Y or X.Y.Z: 2.7, 3.0 to 3.99)",
        ),
        (
            ["crawl", "--project", "x", "--db", "/nonexistent-folder/s.sqlite"],
            "crawl",
            "argument --db: no folder /nonexistent-folder for the store "
            "/nonexistent-folder/s.sqlite",
        ),
        (
            ["frobnicate"],
            "",
            "argument COMMAND: invalid choice: 'frobnicate' (choose from 'crawl', 'update', "
            "'demo', 'status', 'show', 'dependents', 'why', 'failures', 'serve', 'report', "
            "'export', 'installable', 'import', 'sandbox')",
        ),
    ],
)
def test_bad_arguments_are_one_line_and_exit_2(
    args: list[str], command: str, message: str, tmp_path: Path
) -> None:
    done = depgraph(*args, cwd=tmp_path)
    assert (done.returncode, done.stderr, done.stdout) == (2, usage(command, message), "")
    assert list(tmp_path.iterdir()) == []  # nothing created


def test_a_store_that_is_a_text_file_is_refused_by_every_reader(tmp_path: Path) -> None:
    junk = tmp_path / "notes.sqlite"
    junk.write_text("my notes\n")
    for args in (
        ["report", "--out", str(tmp_path / "r")],
        ["installable", "--python", "3.12"],
        ["status"],
    ):
        done = depgraph(*args, "--db", str(junk), cwd=tmp_path)
        assert (done.returncode, done.stderr) == (
            2,
            f"depgraph: {junk}: not a store: file is not a database; give another --db\n",
        ), args
    assert junk.read_text() == "my notes\n" and not (tmp_path / "r").exists()


def test_a_foreign_sqlite_file_gets_no_advice_to_open_it(tmp_path: Path) -> None:
    other = tmp_path / "other.sqlite"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE t (x)")
    done = depgraph("report", "--db", str(other), "--out", str(tmp_path / "r"))
    assert (done.returncode, done.stderr) == (
        2,
        f"depgraph: {other}: the store has no schema version; this pypi-depgraph uses "
        f"{SCHEMA_VERSION}. It is "
        "not a pypi-depgraph store; give another --db.\n",
    )


def test_python_x_y_z_is_accepted_as_pip_accepts_it(demo_store: Path, tmp_path: Path) -> None:
    done = depgraph(
        "installable",
        "--db",
        str(demo_store),
        "--python",
        "3.11.4",
        "--out",
        str(tmp_path),
        "--json",
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["targets"] == ["py3.11.4-linux"]


@pytest.mark.parametrize("kind", ["utf-16", "gzip"])
def test_downloads_in_utf16_or_gzip_give_the_same_report(
    kind: str, demo_store: Path, tmp_path: Path
) -> None:
    text = "project,downloads\ndemo-core,100\ndemo-http,50\ndemo-cli,7\n"
    plain = tmp_path / "plain.csv"
    plain.write_text(text)
    other = tmp_path / f"other.{kind}.csv"
    if kind == "gzip":
        other.write_bytes(gzip.compress(text.encode()))
    else:
        other.write_bytes(codecs.BOM_UTF16_LE + text.encode("utf-16-le"))
    summaries = []
    for path in (plain, other):
        done = depgraph(
            "report",
            "--db",
            str(demo_store),
            "--out",
            str(tmp_path / f"report-{path.stem}"),
            "--downloads",
            str(path),
            "--json",
        )
        assert done.returncode == 0, done.stderr
        summaries.append(json.loads(done.stdout)["comparison"])
    assert summaries[0] == summaries[1] and summaries[0]["projects_compared"] == 3


def test_a_downloads_file_that_is_not_text_is_named(demo_store: Path, tmp_path: Path) -> None:
    junk = tmp_path / "downloads.csv"
    junk.write_bytes(b"project,downloads\n\xff\xfe\xfa,1\n")
    done = depgraph(
        "report", "--db", str(demo_store), "--out", str(tmp_path / "r"), "--downloads", str(junk)
    )
    assert (done.returncode, done.stderr) == (
        2,
        f"depgraph: {junk}: not UTF-8 or UTF-16 text (invalid start byte at byte 18)\n",
    )


@pytest.mark.parametrize(
    ("kind", "make", "message"),
    [
        (
            "pypi-deps-db",
            lambda p: p.mkdir(),
            "{p}: no pypi-deps-db buckets (sdist/*.json.gz or wheel/*.json.gz)",
        ),
        (
            "pypi-deps-db",
            lambda p: p.write_text("x"),
            "{p}: not a folder (a pypi-deps-db checkout is one)",
        ),
        (
            "pypi-deps-db",
            lambda p: (
                (p / "sdist").mkdir(parents=True)
                or (p / "sdist" / "00.json.gz").write_bytes(b"\x1f\x8bgarbage")
            ),
            "{p}/sdist/00.json.gz: not a gzip file: ",
        ),
        (
            "pypi-deps-db",
            lambda p: (
                (p / "sdist").mkdir(parents=True)
                or (p / "sdist" / "00.json.gz").write_bytes(gzip.compress(b"[1, 2]"))
            ),
            "{p}/sdist/00.json.gz: not a pypi-deps-db bucket (a JSON object)",
        ),
        (
            "pypi-deps-db",
            lambda p: (
                (p / "sdist").mkdir(parents=True)
                or (p / "sdist" / "00.json.gz").write_bytes(gzip.compress(b'{"a": [1]}'))
            ),
            "{p}/*/00.json.gz: project 'a' is not an object of versions as pypi-deps-db writes it",
        ),
        ("bigquery", lambda p: p.mkdir(), "{p}: not a file (a CSV or JSON-lines export)"),
        ("bigquery", lambda p: p.write_text(""), "{p}: no rows"),
        ("bigquery", lambda p: p.with_suffix(".jsonl").write_text("[1]\n"), None),
    ],
)
def test_an_import_of_the_wrong_thing_is_named_and_creates_no_store(
    kind: str, make: object, message: str | None, tmp_path: Path
) -> None:
    source = tmp_path / "input"
    make(source)  # type: ignore[operator]
    if message is None:
        source = source.with_suffix(".jsonl")
        message = "{p}:1: not a JSON object"
    db = tmp_path / "s.sqlite"
    done = depgraph("import", kind, str(source), "--db", str(db))
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith("depgraph: " + message.format(p=source)), done.stderr
    assert not db.exists()


def test_an_unreachable_index_leaves_no_store(tmp_path: Path) -> None:
    db = tmp_path / "s.sqlite"
    done = depgraph(
        "crawl",
        "--index-url",
        "http://127.0.0.1:9/simple/",
        "--all",
        "--db",
        str(db),
        "--retries",
        "0",
        "--sandbox",
        "none",
    )
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    assert done.stderr.startswith("depgraph: http://127.0.0.1:9/simple/: ")
    assert list(tmp_path.iterdir()) == []


def test_a_requested_project_that_fails_is_named_with_its_reason(tmp_path: Path) -> None:
    from tests.lib.hostile_index import CASES, HostileIndex

    wanted = {n: CASES[n] for n in ("honest-html-ranges", "hostile-gone", "hostile-always-500")}
    with HostileIndex(tmp_path, wanted) as index:
        done = depgraph(
            "crawl",
            "--index-url",
            index.url,
            "--db",
            str(tmp_path / "s.sqlite"),
            "--project",
            "hostile-gone",
            "--project",
            "hostile-always-500",
            "--project",
            "honest-html-ranges",
            "--sandbox",
            "none",
            "-q",
            "--retries",
            "0",
        )
    assert done.returncode == 1
    lines = sorted(done.stderr.splitlines())
    assert lines == [
        f"depgraph: hostile-always-500: page:http-500: {index.url}hostile-always-500/: HTTP 500",
        f"depgraph: hostile-gone: page:http-404: {index.url}hostile-gone/: HTTP 404",
    ]


@pytest.mark.parametrize("command", ["report", "import"])
def test_ctrl_c_ends_in_one_line_and_130(command: str, tmp_path: Path) -> None:
    from tests.conftest import SHARED, need_shared

    data = need_shared(SHARED / "data" / "pypi-deps-db")
    db = tmp_path / "s.sqlite"
    if command == "report":
        # the store a report takes seconds over: the 2023 data set's latest releases (over two
        # minutes to import on two cores, several when they are shared)
        latest = ("-q", "--latest-only")
        done = depgraph("import", "pypi-deps-db", str(data), "--db", str(db), *latest, timeout=1200)
        assert done.returncode == 0, done.stderr
        args = ["report", "--db", str(db), "--out", str(tmp_path / "r"), "-q"]
    else:
        args = ["import", "pypi-deps-db", str(data), "--db", str(db), "-q"]
    process = subprocess.Popen(
        [sys.executable, "-m", "depgraph", *args], stderr=subprocess.PIPE, text=True
    )
    time.sleep(4)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=120)
    assert (process.returncode, err) == (
        130,
        f"depgraph: {command} interrupted; what was finished is kept, run it again\n",
    )


def test_a_closed_pipe_is_not_an_error(tmp_path: Path) -> None:
    """`depgraph failures ... | head -1` with more output than a pipe holds (1,000 rows of over
    100 bytes: more than a pipe's 64 KiB): no "Broken pipe", no traceback, exit 0."""
    export = tmp_path / "export.jsonl"
    rows = (
        json.dumps({"name": f"p{i}", "version": "1.0", "requires_dist": ["((bad requirement"]})
        for i in range(3000)
    )
    export.write_text("\n".join(rows) + "\n")
    db = tmp_path / "s.sqlite"
    assert depgraph("import", "bigquery", str(export), "--db", str(db), "-q").returncode == 0
    reader, writer = os.pipe()
    process = subprocess.Popen(
        [sys.executable, "-m", "depgraph", "failures", "--db", str(db), "--limit", "1000"],
        stdout=writer,
        stderr=subprocess.PIPE,
        text=True,
    )
    os.close(writer)
    os.read(reader, 10)
    os.close(reader)  # the reader goes away after a few bytes, as `head` does
    _, err = process.communicate(timeout=60)
    assert (process.returncode, err) == (0, "")


def test_a_store_on_a_read_only_filesystem_is_read(demo_store: Path, tmp_path: Path) -> None:
    """status, report and installable open a store they cannot write read-only (and, on a
    read-only filesystem, immutable: SQLite cannot make its WAL index there)."""
    if os.geteuid() != 0:
        pytest.skip("a read-only bind mount needs root")
    source, mount = tmp_path / "source", tmp_path / "ro"
    source.mkdir()
    mount.mkdir()
    (source / "s.sqlite").write_bytes(demo_store.read_bytes())
    bound = subprocess.run(["mount", "--bind", str(source), str(mount)], capture_output=True)
    if bound.returncode != 0:
        pytest.skip(f"mount --bind is not allowed here: {bound.stderr.decode().strip()}")
    try:
        subprocess.run(["mount", "-o", "remount,ro,bind", str(mount)], check=True)
        store = str(mount / "s.sqlite")
        for args in (
            ["status", "--db", store],
            ["report", "--db", store, "--out", str(tmp_path / "r"), "-q"],
            ["installable", "--db", store, "--python", "3.12", "--out", str(tmp_path / "i"), "-q"],
        ):
            done = depgraph(*args)
            assert done.returncode == 0 and done.stderr == "", (args, done.stderr)
        assert sorted(p.name for p in mount.iterdir()) == ["s.sqlite"]
    finally:
        subprocess.run(["umount", str(mount)], check=True)


def test_status_says_a_killed_run_was_interrupted_and_a_complete_crawl_consistent(
    tmp_path: Path,
) -> None:
    from tests.lib.hostile_index import CASES, HostileIndex

    honest = {n: c for n, c in CASES.items() if n.startswith("honest-")}
    db = tmp_path / "s.sqlite"
    with HostileIndex(tmp_path, honest) as index:
        crawl = [
            sys.executable,
            "-m",
            "depgraph",
            "crawl",
            "--index-url",
            index.url,
            "--all",
            "--db",
            str(db),
            "--sandbox",
            "none",
            "-q",
        ]
        slow = subprocess.Popen([*crawl, "--max-rps", "1"], stderr=subprocess.DEVNULL)
        time.sleep(4)
        slow.kill()  # SIGKILL: no chance to record anything
        slow.wait()
        status = json.loads(depgraph("status", "--db", str(db), "--json").stdout)
        assert status["last_runs"][0]["status"].startswith("interrupted (its process is gone")
        assert status["consistent_at"] is None
        assert depgraph(*crawl[3:]).returncode == 0  # resumed, completed
    status = json.loads(depgraph("status", "--db", str(db), "--json").stdout)
    assert [run["status"] for run in status["last_runs"]] == ["complete"]
    assert status["consistent_at"] == status["last_runs"][0]["started_at"]
    text = depgraph("status", "--db", str(db)).stdout
    assert f"consistent with the index as of {status['consistent_at']}" in text


def test_the_store_and_the_index_come_from_the_environment(tmp_path: Path) -> None:
    """DEPGRAPH_DB and DEPGRAPH_INDEX_URL stand for --db and --index-url (-i) left out; a
    variable that holds something unusable is named."""
    from tests.lib.hostile_index import CASES, HostileIndex

    db = tmp_path / "s.sqlite"
    with HostileIndex(tmp_path, {"honest-html-ranges": CASES["honest-html-ranges"]}) as index:
        env = {**os.environ, "DEPGRAPH_DB": str(db), "DEPGRAPH_INDEX_URL": index.url}
        run = functools.partial(subprocess.run, capture_output=True, text=True, env=env)
        crawled = run(
            [sys.executable, "-m", "depgraph", "crawl", "--all", "--sandbox", "none", "-q"]
        )
        assert crawled.returncode == 0, crawled.stderr
    status = run([sys.executable, "-m", "depgraph", "status", "--json"])
    assert json.loads(status.stdout)["index_url"] == index.url
    flag = depgraph("crawl", "-i", "ftp://x/", "--project", "x", "--db", str(db))
    assert flag.stderr == usage("crawl", "argument -i/--index-url: not an http(s) URL: 'ftp://x/'")
    bad = subprocess.run(
        [sys.executable, "-m", "depgraph", "status"],
        capture_output=True,
        text=True,
        env={**os.environ, "DEPGRAPH_DB": "/nonexistent-folder/s.sqlite"},
    )
    assert (bad.returncode, bad.stderr) == (
        2,
        "depgraph: $DEPGRAPH_DB: no folder /nonexistent-folder for the store "
        "/nonexistent-folder/s.sqlite\n",
    )


def test_a_report_replaces_an_earlier_one_whole_and_refuses_other_folders(
    demo_store: Path, tmp_path: Path
) -> None:
    out = tmp_path / "report"
    first = depgraph(
        "report", "--db", str(demo_store), "--out", str(out), "--installable", "3.12", "-q"
    )
    assert first.returncode == 0 and (out / "installable.csv").exists()
    second = depgraph("report", "--db", str(demo_store), "--out", str(out), "-q")
    assert second.returncode == 0, second.stderr
    assert not (out / "installable.csv").exists()  # nothing of the earlier report stays
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report"]  # no staging left behind
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("mine")
    refused = depgraph("report", "--db", str(demo_store), "--out", str(mine))
    assert (refused.returncode, refused.stderr) == (
        2,
        f"depgraph: {mine} holds files that are not an earlier report: give a new or empty "
        "folder (nothing was written)\n",
    )
    assert [p.name for p in mine.iterdir()] == ["notes.txt"]


def test_the_config_file_comes_after_the_command_line_and_the_environment(
    tmp_path: Path,
) -> None:
    """$XDG_CONFIG_HOME/pypi-depgraph/config.toml (or $DEPGRAPH_CONFIG) supplies --db,
    --index-url and --contact left out; the environment and the command line win over it; a bad
    file is named with what is wrong."""
    from tests.lib.hostile_index import CASES, HostileIndex

    home = tmp_path / "home"
    config = home / "pypi-depgraph" / "config.toml"
    config.parent.mkdir(parents=True)
    from_file, from_env = tmp_path / "file.sqlite", tmp_path / "env.sqlite"
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEPGRAPH_")}
    env["XDG_CONFIG_HOME"] = str(home)

    def run(*args: str, **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "depgraph", *args],
            capture_output=True,
            text=True,
            env={**env, **extra},
            timeout=120,
        )

    with HostileIndex(tmp_path, {"honest-html-ranges": CASES["honest-html-ranges"]}) as index:
        config.write_text(
            f'db = "{from_file}"\nindex_url = "{index.url}"\ncontact = "ops@example.org"\n'
        )
        crawled = run("crawl", "--all", "--sandbox", "none", "-q")
        assert crawled.returncode == 0, crawled.stderr
        assert from_file.is_file()
        assert index.user_agents() == {f"pypi-depgraph/{__version__} (contact: ops@example.org)"}
        assert (
            run("crawl", "--all", "--sandbox", "none", "-q", DEPGRAPH_DB=str(from_env)).returncode
            == 0
        )
        assert from_env.is_file()
    status = run("status", "--json", "--db", str(from_env))
    assert json.loads(status.stdout)["index_url"] == index.url
    for text, message in (
        ("db = [1, 2", "not a TOML config file"),
        ('dbb = "x"', "unknown keys ['dbb']; known: db, index_url, contact"),
        ("db = 3", "db must be text in quotes, not 3"),
        ('index_url = "ftp://x/"', "index_url: not an http(s) URL: 'ftp://x/'"),
    ):
        config.write_text(text + "\n")
        bad = run("crawl", "--project", "x", "--sandbox", "none")
        assert bad.returncode == 2 and bad.stderr.startswith(f"depgraph: {config}"), bad.stderr
        assert message in bad.stderr and "Traceback" not in bad.stderr
    missing = run("status", DEPGRAPH_CONFIG=str(tmp_path / "nope.toml"))
    assert missing.returncode == 2 and "$DEPGRAPH_CONFIG: no file" in missing.stderr
