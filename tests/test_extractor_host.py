"""The in-sandbox extractor's pure parts, run on the host: unpack checks, the static setup.py
reader,
Python 2 detection and the one-result contract. Nothing here builds an sdist (that is the sandbox's
job, tests/test_sandbox.py); these functions only read archives and text."""

from __future__ import annotations

import importlib.util
import io
import tarfile
import zipfile
from pathlib import Path
from types import ModuleType

import pytest

from depgraph.sandbox.image import IMAGE_DIR
from tests.lib.hostile import archive_attacks, failure_sdists


def _load_extractor() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "depgraph_extract", IMAGE_DIR / "inside" / "extract.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


extract = _load_extractor()


@pytest.fixture(scope="module")
def attacks(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return archive_attacks(tmp_path_factory.mktemp("attacks"))


@pytest.mark.parametrize(
    "attack, reason",
    [
        ("dotdot", "unsafe-archive"),
        ("absolute", "unsafe-archive"),
        ("symlink", "unsafe-archive"),
        ("bomb", "archive-too-large"),
    ],
)
def test_unpack_refuses_hostile_archives(
    attacks: dict[str, Path], tmp_path: Path, attack: str, reason: str
) -> None:
    dest = tmp_path / "dest"
    dest.mkdir()
    with pytest.raises(extract.ExtractFailure) as caught:
        extract.unpack(str(attacks[attack]), str(dest))
    assert caught.value.reason == reason
    assert not (tmp_path / "evil.txt").exists() and list(dest.rglob("passwd")) == []


def _zip_with_symlink(path: Path) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("pkg-1.0/setup.py", "from setuptools import setup\nsetup()\n")
        link = zipfile.ZipInfo("pkg-1.0/link")
        link.external_attr = 0o120777 << 16
        zf.writestr(link, "/etc/passwd")
    return path


def test_unpack_refuses_a_zip_symlink(tmp_path: Path) -> None:
    with pytest.raises(extract.ExtractFailure, match="symlink"):
        extract.unpack(str(_zip_with_symlink(tmp_path / "pkg-1.0.zip")), str(tmp_path))


def test_unpack_keeps_a_safe_archive_inside_dest(tmp_path: Path) -> None:
    sdist = tmp_path / "ok-1.0.tar.gz"
    with tarfile.open(sdist, "w:gz") as tf:
        for name, data in (("ok-1.0/setup.py", b"print('hi')\n"), ("ok-1.0/pkg/__init__.py", b"")):
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o4755  # setuid bit must not survive
            tf.addfile(info, io.BytesIO(data))
        inner = tarfile.TarInfo("ok-1.0/alias.py")
        inner.type, inner.linkname = tarfile.SYMTYPE, "setup.py"  # a link that stays inside is fine
        tf.addfile(inner)
    dest = tmp_path / "dest"
    dest.mkdir()
    extract.unpack(str(sdist), str(dest))
    root = Path(extract.project_root(str(dest)))
    assert root == dest / "ok-1.0"
    assert (root / "setup.py").read_bytes() == b"print('hi')\n"
    assert not (root / "setup.py").stat().st_mode & 0o4000


def test_not_an_archive_is_a_typed_failure(tmp_path: Path) -> None:
    junk = tmp_path / "junk-1.0.tar.gz"
    junk.write_bytes(b"this is not an archive")
    with pytest.raises(extract.ExtractFailure) as caught:
        extract.unpack(str(junk), str(tmp_path))
    assert caught.value.reason == "bad-archive"


def test_static_reader_takes_literals_only(tmp_path: Path) -> None:
    setup_py = tmp_path / "setup.py"
    setup_py.write_text(
        'print "old"\nfrom setuptools import setup\n'
        'setup(name="x", install_requires=["six>=1.4", "simplejson"],\n'
        '      extras_require={"speed": ["ujson"]}, tests_require=compute(),\n'
        '      python_requires=">=2.6")\n'
    )
    found = extract.static_setup_args(str(setup_py))
    assert found == {
        "install_requires": ["six>=1.4", "simplejson"],
        "extras_require": {"speed": ["ujson"]},
        "python_requires": ">=2.6",
    }


@pytest.mark.parametrize(
    "source, expected",
    [
        ("from setuptools import setup\nsetup()\n", None),
        ('print "building"\n', "python2"),
        ("except ValueError, exc:\n    pass\n", "python2"),
        ("setup(name='x',, version='1')\n", "syntax"),
    ],
)
def test_syntax_problem_tells_python2_from_plain_errors(
    tmp_path: Path, source: str, expected: str | None
) -> None:
    setup_py = tmp_path / "setup.py"
    setup_py.write_text(source)
    assert extract.syntax_problem(str(setup_py)) == expected


def test_main_reports_one_typed_result_for_a_recipe_less_sdist(tmp_path: Path) -> None:
    (tmp_path / "broken").mkdir()
    sdists = failure_sdists(tmp_path / "broken")
    outcome = extract.main(["extract.py", str(sdists["no-recipe"]), str(tmp_path / "work")])
    assert (outcome["ok"], outcome["failure"]) == (False, "no-build-recipe")
    assert outcome["root"] == "broken_no_recipe-1.0"  # what was learnt before the failure is kept


def test_main_turns_a_crash_into_extractor_crashed(tmp_path: Path) -> None:
    outcome = extract.main(["extract.py", str(tmp_path / "absent.tar.gz"), str(tmp_path / "work")])
    assert outcome["ok"] is False and outcome["failure"] in {"bad-archive", "extractor-crashed"}
    assert outcome["detail"]
