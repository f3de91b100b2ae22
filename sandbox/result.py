"""What a sandbox returns: extracted metadata, or a typed failure with a capped log tail."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

from packaging.metadata import parse_email

__all__ = [
    "FAILURE_REASONS",
    "SandboxResult",
    "from_extractor_output",
    "requires_from_setup_kwargs",
]

#: every failure reason a SandboxResult can carry
FAILURE_REASONS = frozenset(
    {
        "timeout",
        "out-of-memory",
        "backend-missing",
        "missing-build-dependency",
        "python2-only",
        "python2-runtime-error",
        "syntax-error",
        "no-build-recipe",
        "build-failed",
        "unsafe-archive",
        "archive-too-large",
        "bad-archive",
        "bad-pyproject",
        "no-result",
        "extractor-crashed",
        "sandbox-error",
    }
)

RESULT_MARKER = "DEPGRAPH-RESULT "


@dataclass
class SandboxResult:
    ok: bool
    backend: str  # docker | bwrap
    method: str | None = None  # pep517-metadata | setup-capture | egg-info | static-setup-py
    confidence: str | None = None  # high | medium | low
    name: str | None = None
    version: str | None = None
    requires_python: str | None = None
    requires_dist: list[str] = field(default_factory=list)
    provides_extra: list[str] = field(default_factory=list)
    setup_requires: list[str] = field(default_factory=list)
    tests_require: list[str] = field(default_factory=list)
    build_backend: str | None = None
    failure: str | None = None
    detail: str | None = None
    log_tail: str = ""
    seconds: float = 0.0
    interpreter: str | None = None  # the Python that ran the build: python3.11 | python2.7
    #: why the build looks written for Python 2 (what sent it to the Python 2.7 sandbox)
    python2_evidence: str | None = None

    @classmethod
    def timeout(cls, backend: str, wall_seconds: float, seconds: float) -> SandboxResult:
        """A build killed at the wall-clock limit."""
        return cls(
            False,
            backend,
            failure="timeout",
            seconds=seconds,
            detail=f"killed after the {wall_seconds:g} s wall-clock limit",
        )

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)


def _as_list(value: object) -> list[str]:
    """Requirement strings as setuptools reads them (pkg_resources.yield_lines): a string or a
    list of strings, each split into lines; blank and `#` lines dropped, ` #` comments cut."""
    if value is None:
        return []
    if isinstance(value, str):
        items = [value]
    elif isinstance(value, list):
        items = [str(v) for v in value]
    else:
        return []
    lines = []
    for item in items:
        for line in item.splitlines():
            line = line.split(" #", 1)[0].strip()
            if line and not line.startswith("#"):
                lines.append(line)
    return lines


def requires_from_setup_kwargs(kwargs: dict[str, object]) -> tuple[list[str], list[str]]:
    """install_requires + extras_require -> (Requires-Dist strings, extras), as setuptools writes
    them.

    extras_require keys may carry a marker (`"security:python_version<'3'"`, or
    `":sys_platform=='win32'"`
    for a conditional run-time requirement), the form egg-info `requires.txt` sections use.
    """
    lines = _as_list(kwargs.get("install_requires"))
    extras: list[str] = []
    raw_extras = kwargs.get("extras_require") or {}
    if isinstance(raw_extras, dict):
        for key, reqs in raw_extras.items():
            extra, _, marker = str(key).partition(":")
            extra, marker = extra.strip(), marker.strip()
            if extra and extra not in extras:
                extras.append(extra)
            for req in _as_list(reqs):
                clauses = [f"({marker})" if marker else "", f'extra == "{extra}"' if extra else ""]
                cond = " and ".join(c for c in clauses if c)
                if ";" in req:
                    req, _, own = req.partition(";")
                    cond = f"({own.strip()}) and {cond}" if cond else own.strip()
                lines.append(f"{req.strip()}; {cond}" if cond else req.strip())
    return lines, extras


def _text_or_none(value: object) -> str | None:
    return str(value)[:500] if value else None


def from_extractor_output(stdout: str, backend: str) -> SandboxResult:
    """Parse the extractor's `DEPGRAPH-RESULT {json}` line (the last one wins)."""
    payload = None
    for line in reversed(stdout.splitlines()):
        if line.startswith(RESULT_MARKER):
            try:
                payload = json.loads(line[len(RESULT_MARKER) :])
            except ValueError:
                payload = None
            break
    if not isinstance(payload, dict):
        return SandboxResult(
            False,
            backend,
            failure="no-result",
            detail="the extractor printed no result",
            log_tail=stdout[-4000:],
        )
    res = SandboxResult(
        bool(payload.get("ok")),
        backend,
        method=payload.get("method"),
        build_backend=payload.get("backend"),
        detail=payload.get("detail"),
        log_tail=str(payload.get("log_tail") or "")[-4000:],
        interpreter=_text_or_none(payload.get("interpreter")),
        python2_evidence=_text_or_none(payload.get("python2_evidence")),
    )
    kwargs = payload.get("setup_kwargs") or {}
    if not isinstance(kwargs, dict):
        kwargs = {}
    res.setup_requires = _as_list(kwargs.get("setup_requires"))
    res.tests_require = _as_list(kwargs.get("tests_require"))
    if not res.ok:
        reason = str(payload.get("failure") or "build-failed")
        res.failure = reason if reason in FAILURE_REASONS else "build-failed"
        return res
    if res.method == "pep517-metadata":
        raw, _ = parse_email(str(payload.get("metadata", "")))
        res.name, res.version = raw.get("name"), raw.get("version")
        res.requires_python = raw.get("requires_python")
        res.requires_dist = list(raw.get("requires_dist", []))
        res.provides_extra = list(raw.get("provides_extra", []))
        res.confidence = "high"
    else:
        res.requires_dist, res.provides_extra = requires_from_setup_kwargs(kwargs)
        res.name = kwargs.get("name") if isinstance(kwargs.get("name"), str) else None
        res.version = kwargs.get("version") if isinstance(kwargs.get("version"), str) else None
        rp = kwargs.get("python_requires")
        res.requires_python = rp if isinstance(rp, str) else None
        res.confidence = "medium" if res.method in ("setup-capture", "egg-info") else "low"
    return res
