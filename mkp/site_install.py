"""A simulated ``mkp install`` / ``mkp add`` + ``enable`` into a fake ``$OMD_ROOT``.

Mirrors what a Checkmk site of a given release does with an ``.mkp`` (rules read in Checkmk's
package code and handbook, summarised with their sources in ``mkp/README.md``; our own code, not
Checkmk's):

1. open the file as a gzip-compressed tar and read the manifest ``info`` with ``ast.literal_eval``
   (``info.json`` is never read);
2. check the manifest as that release does: 2.0/2.1 need the keys ``install`` reads and skip unknown
   parts; 2.2+ need every manifest field, check name and version, and refuse unknown parts;
3. refuse a site version outside ``[min_required, usable_until)``, as ``mkp enable`` and the 2.5 GUI
   do (2.0-2.4 apply ``usable_until`` on ``omd update``/``update-active`` rather than on a manual
   install; either way the package is not active on that site). Unparsable values skip the check,
   as in Checkmk;
4. refuse files that exist already and do not belong to the installed version of the same package;
5. pipe each part tar into GNU ``tar xf - --touch -C <omd_root>/<part dir> <names…>`` and chmod
   every listed file to the release's mode for that part;
6. remove files the previously installed version had and this one has not, and record the manifest
   in ``var/check_mk/packages/<name>``.
"""

from __future__ import annotations

import ast
import os
import pprint
import re
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from mkp.checkmk_releases import PART_DIRS, Release, release_for
from mkp.manifest import NAME_PATTERN
from mkp.versions import CheckmkVersion

Refusal = Literal["unreadable", "invalid_manifest", "unknown_part", "too_old", "outdated", "conflict"]

PACKAGES_DIR = "var/check_mk/packages"

# Keys the 2.0/2.1 `install` reads from the manifest dict (a missing one is a KeyError there).
_REQUIRED_2_0 = ("name", "version", "version.min_required", "files")
# Fields of the 2.2+ manifest model without a default.
_REQUIRED_2_2 = (
    "title",
    "name",
    "description",
    "version",
    "version.packaged",
    "version.min_required",
    "author",
    "download_url",
    "files",
)

_LINE_ONLY = re.compile(r"\d+\.\d+")


class InstallRefusedError(Exception):
    """The site refuses the package (it stays inactive); ``reason`` says why."""

    def __init__(self, reason: Refusal, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason: Refusal = reason


class InstallFailedError(Exception):
    """The package was accepted but its files could not be extracted (a broken archive)."""


@dataclass(frozen=True)
class InstallResult:
    """What an installation put on the site."""

    site_version: CheckmkVersion
    release: Release
    name: str
    version: str
    files: dict[str, tuple[Path, ...]]
    ignored_parts: tuple[str, ...]
    removed: tuple[Path, ...]

    @property
    def paths(self) -> tuple[Path, ...]:
        """Every installed file, absolute, sorted."""
        return tuple(sorted(path for paths in self.files.values() for path in paths))


def install(
    mkp_path: str | os.PathLike[str],
    omd_root: str | os.PathLike[str],
    release: str | CheckmkVersion,
) -> InstallResult:
    """Install ``mkp_path`` into ``omd_root`` like a site running Checkmk ``release`` would.

    ``release`` is a Checkmk version (``"2.4.0p20"``, ``"2.5.0b1"``) or a line (``"2.4"`` means
    ``2.4.0``). Raises ``InstallRefusedError`` when the site would refuse the package,
    ``InstallFailedError`` when extraction fails.
    """
    site = _site_version(release)
    rel = release_for(site)
    root = Path(omd_root)
    members = _read_members(Path(mkp_path))
    info = _read_info(members)
    files, ignored = _check_manifest(info, rel)
    _check_range(info, site)
    name = str(info["name"])
    registry = root / PACKAGES_DIR / name
    previous = _installed_files(registry)
    _check_conflicts(root, files, previous)

    installed: dict[str, tuple[Path, ...]] = {}
    for part, names in sorted(files.items()):
        if names:
            installed[part] = _extract_part(root, rel, part, names, members)

    new = {(part, member) for part, names in files.items() for member in names}
    removed = []
    for part, member in sorted(previous - new):
        stale = root / PART_DIRS[part] / member
        if stale.is_file():
            stale.unlink()
            removed.append(stale)

    registry.parent.mkdir(parents=True, exist_ok=True)
    registry.write_text(pprint.pformat(info) + "\n", encoding="utf-8")
    return InstallResult(
        site_version=site,
        release=rel,
        name=name,
        version=str(info["version"]),
        files=installed,
        ignored_parts=ignored,
        removed=tuple(removed),
    )


def _site_version(release: str | CheckmkVersion) -> CheckmkVersion:
    if isinstance(release, str) and _LINE_ONLY.fullmatch(release):
        release += ".0"
    return CheckmkVersion.coerce(release)


def _read_members(path: Path) -> dict[str, bytes]:
    try:
        with tarfile.open(path, mode="r:gz") as outer:
            return {member.name: _read_member(outer, member) for member in outer if member.isfile()}
    except (OSError, tarfile.TarError, EOFError) as exc:
        raise InstallRefusedError("unreadable", f"{path} is not a gzip-compressed tar: {exc}") from exc


def _read_member(outer: tarfile.TarFile, member: tarfile.TarInfo) -> bytes:
    stream = outer.extractfile(member)
    assert stream is not None  # regular file
    return stream.read()


def _read_info(members: dict[str, bytes]) -> dict[str, Any]:
    if "info" not in members:
        raise InstallRefusedError("invalid_manifest", "'info' not contained in MKP")
    try:
        info = ast.literal_eval(members["info"].decode("utf-8"))
    except (ValueError, SyntaxError, UnicodeDecodeError) as exc:
        raise InstallRefusedError("invalid_manifest", f"'info' is no Python literal: {exc}") from exc
    if not isinstance(info, dict):
        raise InstallRefusedError("invalid_manifest", "'info' is not a dict")
    return info


def _check_manifest(info: dict[str, Any], rel: Release) -> tuple[dict[str, list[str]], tuple[str, ...]]:
    """The listed files per known part, and the unknown parts the release skips."""
    required = _REQUIRED_2_2 if rel.strict_manifest else _REQUIRED_2_0
    missing = [key for key in required if key not in info]
    if missing:
        raise InstallRefusedError("invalid_manifest", f"Checkmk {rel.line} needs manifest key(s) {', '.join(missing)}")
    raw_files = info["files"]
    if not isinstance(raw_files, dict):
        raise InstallRefusedError("invalid_manifest", "'files' is not a dict")
    if rel.strict_manifest:
        _check_strict_fields(info, rel)
    unknown = tuple(sorted(part for part in raw_files if part not in rel.parts))
    if unknown and rel.strict_manifest:
        raise InstallRefusedError("unknown_part", f"Checkmk {rel.line} does not know the part(s) {', '.join(unknown)}")
    files = {part: list(raw_files[part]) for part in raw_files if part not in unknown}
    return files, unknown


def _check_strict_fields(info: dict[str, Any], rel: Release) -> None:
    name, version = info["name"], info["version"]
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        raise InstallRefusedError("invalid_manifest", f"invalid package name {name!r}")
    if not isinstance(version, str) or "/" in version:
        raise InstallRefusedError("invalid_manifest", f"invalid package version {version!r}")
    for part, names in info["files"].items():
        if not isinstance(names, (list, tuple)) or not all(isinstance(n, str) for n in names):
            raise InstallRefusedError("invalid_manifest", f"Checkmk {rel.line}: files of {part!r} are no list of paths")


def _check_range(info: dict[str, Any], site: CheckmkVersion) -> None:
    low = _optional_version(info.get("version.min_required"))
    high = _optional_version(info.get("version.usable_until"))
    if low is not None and site < low:
        raise InstallRefusedError("too_old", f"the package needs Checkmk {low} or newer, the site runs {site}")
    if high is not None and site >= high:
        raise InstallRefusedError("outdated", f"the package is usable until Checkmk {high}, the site runs {site}")


def _optional_version(value: object) -> CheckmkVersion | None:
    """Checkmk skips a range check whose value does not parse (or is None)."""
    if not isinstance(value, str):
        return None
    try:
        return CheckmkVersion.parse(value)
    except ValueError:
        return None


def _installed_files(registry: Path) -> set[tuple[str, str]]:
    if not registry.is_file():
        return set()
    info = ast.literal_eval(registry.read_text(encoding="utf-8"))
    return {(part, name) for part, names in info.get("files", {}).items() if part in PART_DIRS for name in names}


def _check_conflicts(root: Path, files: dict[str, list[str]], own: set[tuple[str, str]]) -> None:
    for part, names in sorted(files.items()):
        for name in names:
            target = root / PART_DIRS[part] / name
            if target.exists() and (part, name) not in own:
                raise InstallRefusedError("conflict", f"file conflict: {target} is already existing")


def _extract_part(root: Path, rel: Release, part: str, names: list[str], members: dict[str, bytes]) -> tuple[Path, ...]:
    archive = members.get(f"{part}.tar")
    if archive is None:
        raise InstallFailedError(f"{part}.tar is missing from the package")
    target = root / PART_DIRS[part]
    target.mkdir(parents=True, exist_ok=True)
    completed = subprocess.run(
        ["tar", "xf", "-", "--touch", "-C", str(target), *names],
        input=archive,
        capture_output=True,
        check=False,
        env={**os.environ, "LC_ALL": "C"},
    )
    if completed.returncode != 0:
        raise InstallFailedError(
            f"tar could not extract {part}.tar: {completed.stderr.decode(errors='replace').strip()}"
        )
    paths = []
    for name in names:
        path = target / name
        try:
            path.chmod(rel.file_mode(part, name))
        except FileNotFoundError as exc:
            raise InstallFailedError(f"{part}: {name} was not extracted") from exc
        paths.append(path)
    return tuple(paths)
