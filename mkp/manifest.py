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
from collections.abc import Iterable, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from mkp.checkmk_releases import OLDEST, PART_DIRS, Release, releases_between
from mkp.versions import CheckmkVersion, is_semver

NAME_PATTERN = re.compile(r"^[^\d\W][-\w]*$")


class Manifest(BaseModel):
    """An MKP manifest. Construct with the manifest's own keys (``version.min_required`` …)."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    title: str = Field(min_length=1)
    name: str
    description: str = Field(min_length=1)
    version: str
    version_packaged: str = Field(alias="version.packaged", min_length=1)
    version_min_required: str = Field(alias="version.min_required")
    version_usable_until: str | None = Field(default=None, alias="version.usable_until")
    author: str = Field(min_length=1)
    download_url: str
    files: dict[str, tuple[str, ...]]

    @field_validator("name")
    @classmethod
    def _check_name(cls, value: str) -> str:
        if not NAME_PATTERN.match(value):
            raise ValueError(
                f"invalid package name {value!r}: letters, digits, '-' and '_' only, starting with a letter or '_'"
            )
        return value

    @field_validator("version")
    @classmethod
    def _check_version(cls, value: str) -> str:
        if "/" in value:
            raise ValueError(f"package version {value!r} must not contain '/'")
        if not is_semver(value):
            raise ValueError(f"package version {value!r} is not a semantic version (X.Y.Z[-pre])")
        return value

    @field_validator("version_packaged")
    @classmethod
    def _check_packaged(cls, value: str) -> str:
        CheckmkVersion.parse(value)  # ValueError: "not a Checkmk release version"
        return value

    @field_validator("version_min_required")
    @classmethod
    def _check_min_required(cls, value: str) -> str:
        if CheckmkVersion.parse(value) < OLDEST.first_version:
            raise ValueError(
                f"min_required {value} is older than Checkmk {OLDEST.line}, "
                "whose package rules are the oldest modelled here"
            )
        return value

    @field_validator("version_usable_until")
    @classmethod
    def _check_usable_until(cls, value: str | None) -> str | None:
        if value is not None:
            CheckmkVersion.parse(value)
        return value

    @field_validator("files")
    @classmethod
    def _check_files(cls, value: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
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
        return value

    @model_validator(mode="after")
    def _check_range_and_parts(self) -> Manifest:
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
        return self

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
        """The manifest as the plain dict written to ``info`` / ``info.json`` (lists, no tuples)."""
        info = self.model_dump(by_alias=True)
        info["files"] = {part: list(names) for part, names in self.files.items()}
        return info


def admitting(manifests: Iterable[Manifest], version: str | CheckmkVersion) -> list[Manifest]:
    """The manifests a site running Checkmk ``version`` would activate."""
    return [manifest for manifest in manifests if manifest.admits(version)]


def _check_member_name(part: str, name: str) -> None:
    segments: Sequence[str] = name.split("/")
    if not name or name.startswith("/") or "\\" in name or any(segment in ("", ".", "..") for segment in segments):
        raise ValueError(
            f"part {part!r}: file name {name!r} must be a relative, normalised path "
            "(no leading '/' or './', no '..', no empty segment, no backslash)"
        )
