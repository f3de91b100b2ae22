"""A wheel's `entry_points.txt` -> (group, name, value) rows: console scripts say a project is a
tool, plugin groups (pytest11, flake8.extension, ...) say it plugs into another. Read loosely, as
`importlib.metadata` reads it (an INI file, `=` the only delimiter, names case-kept)."""

from __future__ import annotations

import configparser

from depgraph.store.rows import EntryPoint

__all__ = ["parse_entry_points"]


class _CaseKeepingParser(configparser.ConfigParser):
    def optionxform(self, optionstr: str) -> str:
        return optionstr  # configparser lower-cases option names; entry point names keep case


def parse_entry_points(data: bytes) -> tuple[list[EntryPoint], str | None]:
    """(entry points, None), or ([], why) when the file cannot be read at all."""
    parser = _CaseKeepingParser(delimiters=("=",), interpolation=None, strict=False)
    try:
        parser.read_string(data.decode("utf-8", "replace"))
    except configparser.Error as exc:
        return [], f"entry_points.txt: {type(exc).__name__}: {str(exc).splitlines()[0]}"
    found = [
        EntryPoint(group, name.strip(), value.strip())
        for group in parser.sections()
        for name, value in parser.items(group)
    ]
    return found, None
