"""The user's defaults file: what `--db`, `--index-url` and `--contact` are when neither the
command line nor the environment says.

Where: `$DEPGRAPH_CONFIG` if set, else `$XDG_CONFIG_HOME/pypi-depgraph/config.toml` (by default
`~/.config/pypi-depgraph/config.toml`). A missing file is no error; a file that is there must be
valid TOML with only these keys:

    db = "/data/pypi.sqlite"            # or "postgresql://user:password@host/dbname"
    index_url = "https://pypi.org/simple/"
    contact = "ops@example.org"

Precedence: the command line, then the environment (DEPGRAPH_DB, DEPGRAPH_INDEX_URL,
DEPGRAPH_CONTACT), then this file, then the built-in defaults."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

from .errors import UsageError

__all__ = ["KEYS", "config_path", "read_config"]

KEYS = ("db", "index_url", "contact")
#: a defaults file is a few lines; anything larger is not one
MAX_BYTES = 64 * 1024


def config_path() -> Path:
    explicit = os.environ.get("DEPGRAPH_CONFIG")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "pypi-depgraph" / "config.toml"


def read_config(path: Path | None = None) -> dict[str, str]:
    """The file's settings ({} when there is no file). UsageError, naming the file, for a file
    that cannot be read, is not TOML, or holds an unknown key or a value that is not text."""
    path = path or config_path()
    try:
        if not path.is_file():
            if "DEPGRAPH_CONFIG" in os.environ and path == Path(os.environ["DEPGRAPH_CONFIG"]):
                raise UsageError(f"$DEPGRAPH_CONFIG: no file {path}")
            return {}
        with path.open("rb") as fh:
            data = fh.read(MAX_BYTES + 1)
    except OSError as exc:
        raise UsageError(f"{path}: cannot read the config file: {exc.strerror}") from None
    if len(data) > MAX_BYTES:
        raise UsageError(f"{path}: larger than {MAX_BYTES} bytes: not a config file")
    try:
        settings = tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(f"{path}: not a TOML config file: {exc}") from None
    unknown = sorted(set(settings) - set(KEYS))
    if unknown:
        raise UsageError(f"{path}: unknown keys {unknown}; known: {', '.join(KEYS)}")
    for key, value in settings.items():
        if not isinstance(value, str):
            raise UsageError(f"{path}: {key} must be text in quotes, not {value!r}"[:300])
    return dict(settings)
