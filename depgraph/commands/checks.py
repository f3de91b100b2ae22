"""Argument types that check a value before any command touches anything: each raises
argparse.ArgumentTypeError with what was wrong, which the parser turns into one `depgraph:` line
and exit status 2."""

from __future__ import annotations

import argparse
import math
import re
from pathlib import Path

from depgraph.core.db import is_postgres

__all__ = [
    "count",
    "existing_file",
    "index_url",
    "non_negative",
    "positive",
    "positive_seconds",
    "project_name",
    "python_version",
    "rate",
    "store_locator",
]

#: PEP 508's name: letters, digits, and . _ - inside (never first or last)
_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?")
#: CPython 2.7 or 3.X, optionally one patch release: the versions packaging's markers describe
_PYTHON = re.compile(r"(?:2\.7|3\.(?:0|[1-9][0-9]?))(?:\.(?:0|[1-9][0-9]{0,2}))?")


def _integer(text: str) -> int:
    if not re.fullmatch(r"-?[0-9]{1,9}", text.strip()):
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}")
    return int(text)


def positive(text: str) -> int:
    """A whole number >= 1 (workers, rows, rounds, MiB)."""
    value = _integer(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {value}")
    return value


def non_negative(text: str) -> int:
    """A whole number >= 0 (retries, months)."""
    value = _integer(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, not {value}")
    return value


count = positive


def page_size(text: str) -> int:
    """Rows of one answer: 1 to 1000 (a longer list is read page by page with --offset)."""
    value = positive(text)
    if value > 1000:
        raise argparse.ArgumentTypeError(f"at most 1000 rows a page, not {value}")
    return value


def _finite(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"not a finite number: {text!r}")
    return value


def rate(text: str) -> float:
    """Requests per second: a finite number above 0."""
    value = _finite(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be above 0, not {text}")
    return value


def positive_seconds(text: str) -> float:
    value = _finite(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be above 0 seconds, not {text}")
    return value


def project_name(text: str) -> str:
    """A PEP 508 project name (no paths, no empty names)."""
    if not _NAME.fullmatch(text):
        raise argparse.ArgumentTypeError(
            f"not a project name: {text!r} (letters, digits, and . _ - between them)"
        )
    return text


def python_version(text: str) -> str:
    """A CPython version X.Y or X.Y.Z: 2.7 or 3.X."""
    if not _PYTHON.fullmatch(text):
        raise argparse.ArgumentTypeError(
            f"not a Python version: {text!r} (X.Y or X.Y.Z: 2.7, 3.0 to 3.99)"
        )
    return text


def index_url(text: str) -> str:
    """An http:// or https:// URL."""
    if not re.fullmatch(r"https?://[^\s/]+(/\S*)?", text):
        raise argparse.ArgumentTypeError(f"not an http(s) URL: {text!r}")
    return text


def iso_date(text: str) -> str:
    """A day, YYYY-MM-DD."""
    import datetime

    try:
        return datetime.date.fromisoformat(text).isoformat()
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date as YYYY-MM-DD: {text!r}") from None


def contact(text: str) -> str:
    """An e-mail address or URL for the User-Agent: printable, one line, at most 200 characters."""
    value = text.strip()
    if not value or len(value) > 200 or not value.isprintable():
        raise argparse.ArgumentTypeError(
            f"not a contact for a User-Agent header: {text[:60]!r} (one printable line, at most "
            "200 characters: an e-mail address or URL)"
        )
    return value


def existing_file(text: str) -> Path:
    path = Path(text)
    if not path.is_file():
        raise argparse.ArgumentTypeError(f"no such file: {text}")
    return path


def existing_folder(text: str) -> Path:
    path = Path(text)
    if not path.is_dir():
        raise argparse.ArgumentTypeError(f"no folder {text}")
    return path


def port(text: str) -> int:
    """A TCP port, 0 (any free one) to 65535."""
    value = non_negative(text)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"a port is at most 65535, not {value}")
    return value


def store_locator(text: str) -> str:
    """A PostgreSQL URL, or a SQLite file whose folder exists."""
    if is_postgres(text):
        return text
    if not text:
        raise argparse.ArgumentTypeError("no store given")
    folder = Path(text).parent
    if not folder.is_dir():
        raise argparse.ArgumentTypeError(f"no folder {folder} for the store {text}")
    if Path(text).is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a folder, not a store file")
    return text
