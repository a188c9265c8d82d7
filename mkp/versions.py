"""Version strings: Checkmk release versions and package versions.

Checkmk release versions (``2.4.0``, ``2.4.0p3``, ``2.5.0b1``, ``2.2.0i1``, ``2.2.0i1p2``) order as
Checkmk orders them when it checks ``version.min_required`` / ``version.usable_until``:
innovation (``iN``, optionally ``iNpM``) < beta (``bN``) < release (``X.Y.Z``, same as ``X.Y.Zp0``)
< patch (``pN``). Daily builds (``2.4.0-2025.01.31``) are not modelled: Checkmk skips its range
checks for them, and no manifest of ours names one.

Package versions (the manifest's ``version``) are semantic versions (semver.org 2.0.0); precedence
follows semver §11, which is also how Checkmk 2.2+ orders several stored versions of one package.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal, Tuple

ReleaseKind = Literal["i", "b", "", "p"]

_CHECKMK_VERSION = re.compile(
    r"(?P<major>0|[1-9]\d*)\.(?P<minor>0|[1-9]\d*)\.(?P<sub>0|[1-9]\d*)"
    r"(?:(?P<kind>[ibp])(?P<num>0|[1-9]\d*)(?:p(?P<ipatch>0|[1-9]\d*))?)?"
)

# Rank of the release kind inside one X.Y.Z: innovation < beta < release == p0 < pN.
_KIND_RANK = {"i": 1, "b": 2, "": 5, "p": 5}

_SEMVER_IDENT_NUM = r"0|[1-9]\d*"
_SEMVER_IDENT_PRE = r"(?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*)"
_SEMVER = re.compile(
    rf"(?P<major>{_SEMVER_IDENT_NUM})\.(?P<minor>{_SEMVER_IDENT_NUM})\.(?P<patch>{_SEMVER_IDENT_NUM})"
    rf"(?:-(?P<pre>{_SEMVER_IDENT_PRE}(?:\.{_SEMVER_IDENT_PRE})*))?"
    r"(?:\+(?P<build>[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?"
)

# typing.Tuple: the project's mypy settings target Python 3.8, where this runtime alias needs it.
SemverKey = Tuple[Tuple[int, int, int], int, Tuple[Tuple[int, int, str], ...]]


@dataclass(frozen=True, eq=False)
class CheckmkVersion:
    """A Checkmk release version, ordered like Checkmk orders them."""

    major: int
    minor: int
    sub: int
    kind: ReleaseKind = ""
    num: int = 0
    innovation_patch: int = 0
    _key: tuple[int, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        num = self.num if self.kind else 0
        key = (self.major, self.minor, self.sub, _KIND_RANK[self.kind], num, self.innovation_patch)
        object.__setattr__(self, "_key", key)

    @classmethod
    def parse(cls, text: str) -> CheckmkVersion:
        """Parse ``X.Y.Z`` with an optional ``iN``, ``iNpM``, ``bN`` or ``pN`` suffix."""
        match = _CHECKMK_VERSION.fullmatch(text)
        if match is None or (match["ipatch"] is not None and match["kind"] != "i"):
            raise ValueError(f"not a Checkmk release version: {text!r} (expected e.g. 2.4.0, 2.4.0p3, 2.5.0b1)")
        kind: ReleaseKind = match["kind"] or ""  # type: ignore[assignment]
        return cls(
            major=int(match["major"]),
            minor=int(match["minor"]),
            sub=int(match["sub"]),
            kind=kind,
            num=int(match["num"] or 0),
            innovation_patch=int(match["ipatch"] or 0),
        )

    @classmethod
    def coerce(cls, value: str | CheckmkVersion) -> CheckmkVersion:
        return value if isinstance(value, CheckmkVersion) else cls.parse(value)

    @classmethod
    def first_of_line(cls, major: int, minor: int) -> CheckmkVersion:
        """The lowest version of a release line: ``X.Y.0i1`` sorts below every beta and release."""
        return cls(major, minor, 0, "i", 1)

    @property
    def line(self) -> str:
        """The release line, e.g. ``"2.4"`` for ``2.4.0p3``."""
        return f"{self.major}.{self.minor}"

    def __str__(self) -> str:
        text = f"{self.major}.{self.minor}.{self.sub}"
        if self.kind:
            text += f"{self.kind}{self.num}"
        if self.innovation_patch:
            text += f"p{self.innovation_patch}"
        return text

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CheckmkVersion):
            return NotImplemented
        return self._key == other._key

    def __hash__(self) -> int:
        return hash(self._key)

    def __lt__(self, other: CheckmkVersion) -> bool:
        return self._key < other._key

    def __le__(self, other: CheckmkVersion) -> bool:
        return self._key <= other._key

    def __gt__(self, other: CheckmkVersion) -> bool:
        return self._key > other._key

    def __ge__(self, other: CheckmkVersion) -> bool:
        return self._key >= other._key


def is_semver(text: str) -> bool:
    """True when ``text`` is a semantic version (semver.org 2.0.0)."""
    return _SEMVER.fullmatch(text) is not None


def is_release_semver(text: str) -> bool:
    """True for a plain ``X.Y.Z`` semantic version (no pre-release, no build metadata)."""
    match = _SEMVER.fullmatch(text)
    return match is not None and match["pre"] is None and match["build"] is None


def semver_key(text: str) -> SemverKey:
    """Sort key implementing semver precedence: a pre-release sorts below its release,
    numeric identifiers below alphanumeric ones, a longer identifier list above its prefix.
    Build metadata is ignored."""
    match = _SEMVER.fullmatch(text)
    if match is None:
        raise ValueError(f"not a semantic version: {text!r}")
    core = (int(match["major"]), int(match["minor"]), int(match["patch"]))
    pre = match["pre"]
    if pre is None:
        return core, 1, ()
    idents = tuple((0, int(ident), "") if ident.isdigit() else (1, 0, ident) for ident in pre.split("."))
    return core, 0, idents
