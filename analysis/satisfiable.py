"""Whether some known release of a project meets a version specifier, as packaging reads it.

Pre-releases count as pip counts them: only when the specifier names one, or when no final release
matches (packaging's `filter` rule), which makes "satisfiable" the same as "some release matches
with pre-releases allowed". Yanked releases count only for an exact pin (PEP 592).

A report of PyPI asks this of hundreds of thousands of distinct (project, specifier) pairs, and one
`SpecifierSet.contains` costs tens of microseconds. Three exact shortcuts settle most pairs before
packaging is asked, in this order:

1. a witness: the project's selected (latest) release, when it is not yanked. For a plain final
   release (no pre-, post-, dev- or local part) every clause is an interval of version keys
   (`_Interval`), so the check is a few tuple comparisons; another witness goes to packaging;
2. an exact pin `==V` whose text is, verbatim, a version the project has released;
3. bisection of the project's sorted release keys down to the releases between the specifier's
   bounds (`_bounded`); packaging decides among those few.
"""

from __future__ import annotations

import math
import operator
import re
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache, partial
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

__all__ = [
    "KnownReleases",
    "Unmet",
    "parse_version",
    "unmet_pairs",
    "unmet_reading",
]


@lru_cache(maxsize=1 << 20)
def parse_version(text: str) -> Version | None:
    """A version, or None when the text is not PEP 440."""
    try:
        return Version(text)
    except InvalidVersion:
        return None


class _Interval:
    """One clause as the set of version keys it admits: exact for plain final releases (no pre-,
    post-, dev- or local part), which is all it is used for. None bounds are open ends.

    `checks`: the clause as predicates on a key, all of which must hold; each a C-level
    comparison bound to its version key (`partial(operator.le, low)` is `low <= key`), as the
    witness test runs ~300 k of them per report."""

    __slots__ = ("checks", "high", "high_closed", "low", "low_closed", "negated")

    def __init__(
        self, low: Any, low_closed: bool, high: Any, high_closed: bool, negated: bool = False
    ) -> None:
        self.low, self.low_closed, self.high, self.high_closed = low, low_closed, high, high_closed
        self.negated = negated
        checks: list[Callable[[Any], bool]] = []
        if negated and low == high:  # != V
            checks.append(partial(operator.ne, low))
        elif negated:  # != V.*: outside [low, high)
            checks.append(self._outside)
        else:
            if low is not None:
                checks.append(partial(operator.le if low_closed else operator.lt, low))
            if high is not None:
                checks.append(partial(operator.ge if high_closed else operator.gt, high))
        self.checks = tuple(checks)

    def _inside(self, key: Any) -> bool:
        return (self.low is None or key > self.low or (self.low_closed and key == self.low)) and (
            self.high is None or key < self.high or (self.high_closed and key == self.high)
        )

    def _outside(self, key: Any) -> bool:
        return not self._inside(key)

    def admits(self, key: Any) -> bool:
        return all(check(key) for check in self.checks)


@lru_cache(maxsize=1 << 18)
def _interval(op: str, text: str) -> _Interval | None:
    """The clause `op text` as an interval of keys, or None (`===`, a wildcard after a
    pre-release, a version that does not parse): packaging decides those."""
    wildcard = text.endswith(".*")
    if op == "===":
        return None
    if not wildcard and op != "~=":
        key = _plain_key(text)
        if key is None:
            version = parse_version(text)
            if version is None:
                return None
            key = version._key
        if op == ">=":
            return _Interval(key, True, None, False)
        if op == ">":
            return _Interval(key, False, None, False)
        if op == "<=":
            return _Interval(None, False, key, True)
        if op == "<":
            return _Interval(None, False, key, False)
        if op in ("==", "!="):
            return _Interval(key, True, key, True, negated=op == "!=")
        return None
    version = parse_version(text[:-2] if wildcard else text)
    if version is None:
        return None
    key = version._key
    if op in ("==", "!=", "~="):
        plain = not (version.pre or version.post is not None or version.dev is not None)
        if wildcard and not plain:
            return None
        # ==P.* admits [P.dev0, next(P).dev0); ~=V is >=V and ==P.* with P = V's release but last
        prefix = version.release if wildcard else version.release[:-1]
        if not prefix:
            return None
        following = ".".join(map(str, (*prefix[:-1], prefix[-1] + 1)))
        high = parse_version(f"{version.epoch}!{following}.dev0")
        low = parse_version(f"{version.epoch}!{'.'.join(map(str, prefix))}.dev0")
        if high is None or low is None:
            return None
        if op == "~=":
            return _Interval(key, True, high._key, False)
        return _Interval(low._key, True, high._key, False, negated=op == "!=")
    return None


#: a clause on a plain release (`>=1.4`, `==2.*`, `~=1.4.2`): no Version object needed to read it
_PLAIN_CLAUSE = re.compile(r"(~=|==|!=|<=|>=|<|>)([0-9]+(?:\.[0-9]+)*)(\.\*)?")


def _stable_suffix() -> tuple[Any, ...] | None:
    """What follows the release in packaging's key of a plain final release (its key format is
    private and has changed between versions: checked here, else every version is parsed)."""
    suffix = Version("1")._key[2:]
    samples = ("0", "1.0", "2.0.1", "10.2.0.0", "007.1", "3.10")
    if all((0, _trimmed(t), *suffix) == Version(t)._key for t in samples):
        return suffix
    return None


def _trimmed(text: str) -> tuple[int, ...]:
    release = tuple(map(int, text.split(".")))
    end = len(release)
    while end and release[end - 1] == 0:  # 1.0.0 compares equal to 1
        end -= 1
    return release[:end]


_STABLE_SUFFIX = _stable_suffix()


@lru_cache(maxsize=1 << 20)
def _plain_key(text: str) -> Any:
    """packaging's comparison key of a plain release text (`1.4.2`), without building a Version;
    None for any other text."""
    digits = text.replace(".", "")
    plain = digits.isascii() and digits.isdigit() and ".." not in text  # (faster than a regex)
    if _STABLE_SUFFIX is None or not plain or text[0] == "." or text[-1] == ".":
        return None
    return (0, _trimmed(text), *_STABLE_SUFFIX)


class _Compiled:
    """A specifier read once: its clauses, their intervals, and the packaging object on demand."""

    def __init__(self, text: str, clauses: tuple[tuple[str, str], ...]) -> None:
        self.text = text
        self.clauses = clauses  # (operator, version) pairs
        found = [_interval(op, version) for op, version in clauses]
        self.intervals = None if any(i is None for i in found) else tuple(i for i in found if i)
        # every clause's checks in one flat tuple: what a plain release is tested against
        self.checks = (
            None if self.intervals is None else sum((i.checks for i in self.intervals), ())
        )
        op, version = clauses[0] if len(clauses) == 1 else ("", "")
        self.pin = version if op == "==" and "*" not in version else None  # a lone `==V`
        # an exact pin among the clauses: yanked releases count (PEP 592)
        self.exact = any(o in ("==", "===") and "*" not in v for o, v in clauses)
        self._spec: SpecifierSet | None = None

    @property
    def spec(self) -> SpecifierSet:
        if self._spec is None:
            self._spec = SpecifierSet(self.text)
        return self._spec

    def admits(self, key: Any, text: str, plain: bool) -> bool:
        """Whether the release `text` (its key; `plain`: a plain final release) meets it."""
        if plain and self.checks is not None:
            for check in self.checks:  # noqa: SIM110  (a loop: all() and a generator cost 2x)
                if not check(key):
                    return False
            return True
        version = parse_version(text)
        return version is not None and self.spec.contains(version, prereleases=True)


@lru_cache(maxsize=1 << 18)
def _compiled(specifier: str) -> _Compiled | None:
    """None when packaging cannot read the specifier. Clauses on plain releases are read here
    (each form is one packaging accepts); anything else by packaging."""
    clauses = []
    for part in specifier.split(","):
        match = _PLAIN_CLAUSE.fullmatch(part)
        if match is None:
            break
        op, version, wildcard = match.groups()
        if wildcard and op not in ("==", "!="):
            break
        if op == "~=" and "." not in version:
            break
        clauses.append((op, version + (wildcard or "")))
    else:
        return _Compiled(specifier, tuple(clauses))
    try:
        spec = SpecifierSet(specifier)
    except InvalidSpecifier:
        return None
    compiled = _Compiled(specifier, tuple((s.operator, s.version) for s in spec))
    compiled._spec = spec
    return compiled


@dataclass
class _Releases:
    """One project's usable releases, ascending by key, in parallel lists."""

    keys: list[Any]
    texts: list[str]
    plain: list[bool]
    unyanked: list[int]  # positions of the releases not yanked
    unyanked_keys: list[Any]


class KnownReleases:
    """The releases a store knows, by project: `versions` has columns project, version, yanked.
    What the witness (`unmet_reading`, step 1) leaves undecided is asked here (steps 2 and 3)."""

    def __init__(self, versions: pd.DataFrame) -> None:
        codes, projects = pd.factorize(versions["project"])
        order = np.argsort(codes, kind="stable")
        starts = np.searchsorted(codes[order], np.arange(len(projects) + 1))
        self._rows = {
            str(p): order[starts[i] : starts[i + 1]] for i, p in enumerate(projects.tolist())
        }
        self._text = versions["version"].to_numpy(dtype=object)
        self._yanked = versions["yanked"].to_numpy(dtype=bool)
        self._texts: dict[str, set[str]] = {}
        self._built: dict[str, _Releases] = {}

    def projects(self) -> set[str]:
        return set(self._rows)

    def meets(self, project: str, specifier: str) -> bool | None:
        """Whether some release of `project` meets `specifier`; None when the specifier cannot be
        read. A project with no release (none read) meets nothing."""
        compiled = _compiled(specifier)
        if compiled is None:
            return None
        if compiled.pin is not None and compiled.pin in self._version_texts(project):
            return True
        return self._satisfiable(compiled, self._releases(project))

    def _version_texts(self, project: str) -> set[str]:
        found = self._texts.get(project)
        if found is None:
            found = self._texts[project] = set(
                self._text[self._rows.get(project, _NO_ROWS)].tolist()
            )
        return found

    def _releases(self, project: str) -> _Releases:
        found = self._built.get(project)
        if found is None:
            rows = self._rows.get(project, _NO_ROWS)
            usable = []
            for text, yanked in zip(
                self._text[rows].tolist(), self._yanked[rows].tolist(), strict=True
            ):
                key = _plain_key(text)
                if key is not None:
                    usable.append((key, text, True, yanked))
                elif (version := parse_version(text)) is not None:
                    usable.append((version._key, text, False, yanked))
            usable.sort(key=_first)
            keys = [u[0] for u in usable]
            unyanked = [i for i, u in enumerate(usable) if not u[3]]
            found = self._built[project] = _Releases(
                keys,
                [u[1] for u in usable],
                [u[2] for u in usable],
                unyanked,
                [keys[i] for i in unyanked],
            )
        return found

    @staticmethod
    def _satisfiable(compiled: _Compiled, releases: _Releases) -> bool:
        exact = compiled.exact
        pool = range(len(releases.keys)) if exact else releases.unyanked
        if not pool:
            return False

        def admitted(position: int) -> bool:
            return compiled.admits(
                releases.keys[position], releases.texts[position], releases.plain[position]
            )

        clauses = compiled.clauses
        if len(clauses) == 1:
            op = clauses[0][0]
            if compiled.pin is not None:
                pinned = parse_version(compiled.pin)
                if pinned is not None and _holds(releases.keys, pinned._key):  # by bisection
                    return True
            # a lone bound is met by some release iff by the newest (>, >=) or oldest (<, <=)
            if op in (">=", ">"):
                return admitted(pool[-1])
            if op in ("<", "<="):
                return admitted(pool[0])
        keys = releases.keys if exact else releases.unyanked_keys
        start, stop = _bounded(clauses, keys)
        # newest first: most specifiers are met by a recent release
        return any(admitted(pool[i]) for i in range(stop - 1, start - 1, -1))


_first = operator.itemgetter(0)


def _holds(keys: list[Any], key: Any) -> bool:
    """Whether the ascending `keys` hold `key`."""
    at = bisect_left(keys, key)
    return at < len(keys) and keys[at] == key


_NO_ROWS = np.empty(0, dtype=np.int64)


def _bounded(clauses: Sequence[tuple[str, str]], keys: list[Any]) -> tuple[int, int]:
    """The positions [start, stop) of the ascending `keys` between the specifier's lower and upper
    bounds: a superset of what it admits (the clauses still decide), found by bisection, so a
    specifier like `>=1.2,<2,!=1.5`, `~=1.4` or `==2.0.*` checks a handful of releases rather
    than every one."""
    lows, highs = [], []
    for op, version in clauses:
        bound = _item_bounds(op, version)
        if bound is None:
            return 0, len(keys)  # ===, or a version that does not parse: check them all
        low, high = bound
        if low is not None:
            lows.append(low)
        if high is not None:
            highs.append(high)
    start = bisect_left(keys, max(lows)) if lows else 0
    stop = bisect_right(keys, min(highs)) if highs else len(keys)
    return start, max(start, stop)


#: a local-label key above every real one (those are tuples of (int, "") / (-1, str) pairs); put
#: in place of the local part of V's key (the last of packaging's key, in every format so far),
#: it sorts after every V+label and before the next public version
_ABOVE_ANY_LOCAL = ((math.inf,),)


@lru_cache(maxsize=1 << 16)
def _item_bounds(op: str, text: str) -> tuple[Any, Any] | None:
    """(lowest, highest) comparison key a release admitted by `op text` can have, inclusive, each
    None when unbounded on that side; None when there is no cheap bound. Wider than exact is fine.

    ==V and <=V: up to V with any local label (they sort right after V); ==V.* and ~=V: the
    release prefix, from its first dev release to the next prefix."""
    if op == "!=":
        return (None, None)
    if op == "===":
        return None
    wildcard = text.endswith(".*")
    version = parse_version(text[:-2] if wildcard else text)
    if version is None:
        return None
    # <=V and ==V (V without a local label) compare a release's public part: V+anything
    # is admitted, and sorts right after V
    with_locals = (*version._key[:5], _ABOVE_ANY_LOCAL) if version.local is None else version._key
    if op in (">=", ">"):
        return (version._key, None)
    if op == "<":
        return (None, version._key)
    if op == "<=":
        return (None, with_locals)
    if op == "==" and not wildcard:
        return (version._key, with_locals)
    if op == "==" or op == "~=":
        release = version.release if wildcard else version.release[:-1]
        if not release:  # (~= needs two components; packaging refuses one)
            return None
        prefix = ".".join(map(str, release))
        following = ".".join(map(str, (*release[:-1], release[-1] + 1)))
        low = parse_version(f"{version.epoch}!{prefix}.dev0") if wildcard else version
        high = parse_version(f"{version.epoch}!{following}.dev0")
        if low is None or high is None:
            return None
        return (low._key, high._key)
    return None


def unmet_pairs(targets: pd.Series, specifiers: pd.Series, versions: pd.DataFrame) -> pd.DataFrame:
    """The distinct (target, specifier) pairs, of targets `versions` knows, that no known release
    meets, with `reason`: `no-matching-release`, or `bad-specifier` (packaging cannot read it).
    Empty specifiers and targets `versions` does not know (missing projects) are not asked.
    `versions`: project, version, yanked and optionally is_latest (the first witness tried)."""
    # one row per project: its selected release, or (none selected) a stand-in that is no witness
    rows = versions[["project", "version", "yanked"]]
    latest = rows.drop_duplicates("project").assign(yanked=True)
    if "is_latest" in versions:
        chosen = rows[versions["is_latest"].to_numpy(dtype=bool)]
        latest = pd.concat([chosen, latest[~latest["project"].isin(chosen["project"])]])
    return unmet_reading(
        targets,
        specifiers,
        lambda names: latest[latest["project"].isin(names)],
        lambda names: versions[versions["project"].isin(names)],
    ).pairs


class Unmet(NamedTuple):
    """What no known release meets: the distinct pairs, and the input rows that ask them."""

    pairs: pd.DataFrame  # target, specifier, reason
    rows: pd.DataFrame  # row (the position in the input, ascending), reason


def unmet_reading(
    targets: pd.Series,
    specifiers: pd.Series,
    latest_of: Callable[[list[str]], pd.DataFrame],
    releases_of: Callable[[list[str]], pd.DataFrame],
) -> Unmet:
    """`unmet_pairs`, reading only the releases it needs, with the rows of the input too.
    `latest_of(names)`: the selected release (project, version, yanked) of those of the projects
    `names` that have releases (every such project has one): which targets are known, and each
    one's witness; `releases_of(names)`: every release (project, version, yanked) of the projects
    whose witness leaves a pair undecided (on PyPI a third of the projects asked)."""
    pairs, rows, pair_of_row, latest = _distinct_pairs(targets, specifiers, latest_of)
    projects = pa.array(latest["project"], pa.large_string())
    witness = ~latest["yanked"].to_numpy(dtype=bool)
    witnesses = dict(
        zip(
            pc.filter(projects, witness).to_pylist(),
            pc.filter(pa.array(latest["version"], pa.large_string()), witness).to_pylist(),
            strict=True,
        )
    )
    verdicts = np.array(
        [
            _witnessed(witnesses.get(t), s)
            for t, s in zip(pairs["target"].tolist(), pairs["specifier"].tolist(), strict=True)
        ],
        dtype=object,
    )
    open_rows = np.flatnonzero(verdicts == False)  # noqa: E712  (the witness does not meet it)
    if len(open_rows):
        undecided = pairs.iloc[open_rows]
        names = sorted(set(undecided["target"].tolist()))
        known = KnownReleases(releases_of(names))
        verdicts[open_rows] = [
            known.meets(t, s)
            for t, s in zip(
                undecided["target"].tolist(), undecided["specifier"].tolist(), strict=True
            )
        ]
    unmet = verdicts != True  # noqa: E712  (None = an unreadable specifier)
    reasons = np.where(pd.isna(verdicts), "bad-specifier", "no-matching-release")
    broken = unmet[pair_of_row]
    return Unmet(
        pairs[unmet].assign(reason=reasons[unmet]).reset_index(drop=True),
        pd.DataFrame({"row": rows[broken], "reason": reasons[pair_of_row[broken]]}),
    )


def _witnessed(witness: str | None, specifier: str) -> bool | None:
    """True when the release `witness` meets `specifier`; None when the specifier cannot be
    read; False otherwise (the other releases decide)."""
    compiled = _compiled(specifier)
    if compiled is None:
        return None
    if witness is None:
        return False
    key = _plain_key(witness)
    return compiled.admits(key, witness, key is not None)


def _distinct_pairs(
    targets: pd.Series, specifiers: pd.Series, latest_of: Callable[[list[str]], pd.DataFrame]
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, pd.DataFrame]:
    """Each distinct (target, specifier) once, of the targets with releases, non-empty
    specifiers; the rows asking them (positions in the input, ascending), each such row's pair,
    and the targets' selected releases (`latest_of` the distinct targets)."""
    # on Arrow arrays (pandas would copy every text column), each column dictionary-encoded: the
    # pairs are then integer keys, and only the distinct targets are looked up
    specifier = _text_array(specifiers)
    some = pc.fill_null(pc.not_equal(specifier, ""), False)
    target_codes = pc.filter(_text_array(targets), some).dictionary_encode()
    specifier_codes = pc.filter(specifier, some).dictionary_encode()
    latest = latest_of(target_codes.dictionary.to_pylist())
    known = pa.array(latest["project"], pa.large_string())
    t = target_codes.indices.to_numpy().astype(np.int64)
    s = specifier_codes.indices.to_numpy()
    known_target = pc.is_in(target_codes.dictionary, value_set=known).to_numpy(zero_copy_only=False)
    asking = np.flatnonzero(known_target[t])
    t, s = t[asking], s[asking]
    pair_of_row, _ = pd.factorize(t * max(len(specifier_codes.dictionary), 1) + s)
    first = np.flatnonzero(~pd.Series(pair_of_row).duplicated().to_numpy())  # (in pair order)
    pairs = pd.DataFrame(
        {
            "target": target_codes.dictionary.take(pa.array(t[first], pa.int64())).to_pandas(),
            "specifier": specifier_codes.dictionary.take(
                pa.array(s[first], pa.int64())
            ).to_pandas(),
        }
    )
    rows = np.flatnonzero(some.to_numpy(zero_copy_only=False))[asking]
    return pairs, rows, pair_of_row, latest


def _text_array(values: pd.Series) -> pa.Array:
    array = pa.array(values, pa.large_string(), from_pandas=True)
    # (pandas' Arrow-backed columns come chunked)
    return array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array
