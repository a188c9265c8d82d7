"""The MKP manifest (the ``info`` member) and the rules Checkmk 2.0 … 2.5 apply to it.

Our own model, written from the manifest rules of Checkmk's package code (2.0/2.1
``cmk/utils/packaging``, 2.2 ``cmk/utils/packaging/_manifest.py``, 2.3+ the package tool
``packages/cmk-mkp-tool/cmk/mkp_tool/_mkp.py`` in Checkmk/checkmk; summarised with their sources
in ``mkp/README.md``), not a copy of that code. It is stricter than any single Checkmk release,
so that a manifest it accepts is accepted by every release in its ``[min_required,
usable_until)`` range:

- every field Checkmk 2.2+ requires is present; ``title``, ``description``, ``author`` non-empty;
  no extra keys (``num_files`` is an old leftover Checkmk ignores; we do not write it);
- ``name`` matches ``^[^\\d\\W][-\\w]*$`` (2.2+);
- ``version`` has no ``/`` (2.2+) and is a semantic version (``mkp package``, Exchange);
- ``version.packaged`` is a Checkmk version, as Checkmk itself writes there (the version of the
  packing site), not a tool name;
- ``version.min_required`` / ``version.usable_until`` are Checkmk versions (an unparsable value
  silently disables Checkmk's check), ``min_required`` is 2.0.0 or newer and below ``usable_until``;
- ``files`` is non-empty, each part's list is non-empty, paths are relative, normalised and unique;
- every part is known to every release the range admits (2.2+ refuses unknown parts on ``add``,
  2.0/2.1 silently skip them).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from mkp.checkmk_releases import OLDEST, PART_DIRS, Release, releases_between
from mkp.versions import CheckmkVersion, is_semver

NAME_PATTERN = re.compile(r"^[^\d\W][-\w]*$")
#: The manifest's keys: required ones, then the optional one.
_REQUIRED = ("title", "name", "description", "version", "version.packaged", "version.min_required", "author",
             "download_url", "files")
_OPTIONAL = ("version.usable_until",)


class ManifestError(ValueError):
    """A manifest that some Checkmk release in its range would refuse; the text says why."""


@dataclass(frozen=True)
class Manifest:
    """An MKP manifest. Build it with ``Manifest.model_validate(info)`` from the manifest's own keys
    (``version.min_required`` …). Standard library only: ``python3 mkp/build.py`` needs nothing
    from PyPI."""

    title: str
    name: str
    description: str
    version: str
    version_packaged: str
    version_min_required: str
    author: str
    download_url: str
    files: dict[str, tuple[str, ...]]
    version_usable_until: str | None = None

    @classmethod
    def model_validate(cls, info: Any) -> Manifest:
        """The manifest of the dict ``info``; raises ``ManifestError`` naming every problem found."""
        if not isinstance(info, dict):
            raise ManifestError("the manifest is not a dict")
        problems = ["%s: Field required" % key for key in _REQUIRED if key not in info]
        problems += ["%s: Extra inputs are not permitted" % key for key in info if key not in _REQUIRED + _OPTIONAL]
        if problems:
            raise ManifestError("; ".join(problems))
        for key in _REQUIRED[:-1]:
            if not isinstance(info[key], str):
                problems.append("%s: Input should be a valid string" % key)
        until = info.get("version.usable_until")
        if until is not None and not isinstance(until, str):
            problems.append("version.usable_until: Input should be a valid string or None")
        files = info["files"]
        if not isinstance(files, dict) or not all(
            isinstance(part, str) and isinstance(names, (list, tuple)) and all(isinstance(n, str) for n in names)
            for part, names in files.items()
        ):
            problems.append("files: Input should map part names to lists of file names")
        if problems:
            raise ManifestError("; ".join(problems))
        for key in ("title", "description", "author", "version.packaged"):
            if not info[key]:
                problems.append("%s: String should have at least 1 character" % key)
        checks: tuple[tuple[str, Callable[[Any], object], Any], ...] = (
            ("name", _check_name, info["name"]),
            ("version", _check_version, info["version"]),
            ("version.packaged", CheckmkVersion.parse, info["version.packaged"]),
            ("version.min_required", _check_min_required, info["version.min_required"]),
            ("version.usable_until", _check_usable_until, until),
            ("files", _check_files, files),
        )
        for key, check, value in checks:
            try:
                check(value)
            except ValueError as exc:
                problems.append("%s: Value error, %s" % (key, exc))
        if problems:
            raise ManifestError("; ".join(problems))
        manifest = cls(
            title=info["title"], name=info["name"], description=info["description"], version=info["version"],
            version_packaged=info["version.packaged"], version_min_required=info["version.min_required"],
            author=info["author"], download_url=info["download_url"],
            files={part: tuple(names) for part, names in files.items()}, version_usable_until=until,
        )
        try:
            manifest._check_range_and_parts()
        except ValueError as exc:
            raise ManifestError("Value error, %s" % exc) from None
        return manifest

    def _check_range_and_parts(self) -> None:
        low = self.min_required
        high = self.usable_until
        if high is not None and not low < high:
            raise ValueError(
                f"min_required {self.version_min_required} must be below usable_until {self.version_usable_until}"
            )
        for release in self.releases:
            unknown = sorted(set(self.files) - release.parts)
            if unknown:
                raise ValueError(
                    f"part(s) {', '.join(unknown)} unknown to Checkmk {release.line}, which the "
                    f"range {self.range_text} admits"
                )

    @property
    def min_required(self) -> CheckmkVersion:
        return CheckmkVersion.parse(self.version_min_required)

    @property
    def usable_until(self) -> CheckmkVersion | None:
        until = self.version_usable_until
        return None if until is None else CheckmkVersion.parse(until)

    @property
    def releases(self) -> tuple[Release, ...]:
        """The release lines with at least one version this manifest admits."""
        return releases_between(self.min_required, self.usable_until)

    @property
    def range_text(self) -> str:
        until = self.version_usable_until
        return f"{self.version_min_required} <= v" + (f" < {until}" if until else "")

    @property
    def file_name(self) -> str:
        """The name Checkmk stores the package under: ``<name>-<version>.mkp``."""
        return f"{self.name}-{self.version}.mkp"

    def admits(self, version: str | CheckmkVersion) -> bool:
        """True when a site running Checkmk ``version`` installs/activates this package:
        ``min_required <= version < usable_until``."""
        site = CheckmkVersion.coerce(version)
        until = self.usable_until
        return self.min_required <= site and (until is None or site < until)

    def to_info(self) -> dict[str, Any]:
        """The manifest as the plain dict written to ``info`` / ``info.json`` (lists, no tuples),
        in the order of the fields (as Checkmk writes it)."""
        return {
            "title": self.title, "name": self.name, "description": self.description, "version": self.version,
            "version.packaged": self.version_packaged, "version.min_required": self.version_min_required,
            "version.usable_until": self.version_usable_until, "author": self.author,
            "download_url": self.download_url, "files": {part: list(names) for part, names in self.files.items()},
        }


def admitting(manifests: Iterable[Manifest], version: str | CheckmkVersion) -> list[Manifest]:
    """The manifests a site running Checkmk ``version`` would activate."""
    return [manifest for manifest in manifests if manifest.admits(version)]


def _check_name(value: str) -> None:
    if not NAME_PATTERN.match(value):
        raise ValueError(
            f"invalid package name {value!r}: letters, digits, '-' and '_' only, starting with a letter or '_'"
        )


def _check_version(value: str) -> None:
    if "/" in value:
        raise ValueError(f"package version {value!r} must not contain '/'")
    if not is_semver(value):
        raise ValueError(f"package version {value!r} is not a semantic version (X.Y.Z[-pre])")


def _check_min_required(value: str) -> None:
    if CheckmkVersion.parse(value) < OLDEST.first_version:
        raise ValueError(
            f"min_required {value} is older than Checkmk {OLDEST.line}, "
            "whose package rules are the oldest modelled here"
        )


def _check_usable_until(value: str | None) -> None:
    if value is not None:
        CheckmkVersion.parse(value)


def _check_files(value: dict[str, Sequence[str]]) -> None:
    if not value:
        raise ValueError("the package lists no files")
    for part, names in value.items():
        if part not in PART_DIRS:
            raise ValueError(f"unknown part {part!r}; known parts: {', '.join(PART_DIRS)}")
        if not names:
            raise ValueError(f"part {part!r} lists no files; leave the part out instead")
        for name in names:
            _check_member_name(part, name)
        if len(set(names)) != len(names):
            raise ValueError(f"part {part!r} lists a file more than once")


def _check_member_name(part: str, name: str) -> None:
    segments: Sequence[str] = name.split("/")
    if not name or name.startswith("/") or "\\" in name or any(segment in ("", ".", "..") for segment in segments):
        raise ValueError(
            f"part {part!r}: file name {name!r} must be a relative, normalised path "
            "(no leading '/' or './', no '..', no empty segment, no backslash)"
        )
