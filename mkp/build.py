"""Build the cmk_ilert MKPs: ``python mkp/build.py [--source-root DIR] [--out DIR]``.

One command writes two artifacts of the package ``cmk_ilert`` (plus a ``.sha256`` each):

======  ================  ======================================  ============  ============
line    version           parts                                   min_required  usable_until
======  ================  ======================================  ============  ============
legacy  ``X.Y.Z-legacy``  notifications, lib, web                 2.0.0         2.5.0i1
modern  ``X.Y.Z``         notifications, lib, cmk_addons_plugins  2.5.0i1       (none)
======  ================  ======================================  ============  ============

Range decisions. Checkmk activates a package on a site running version ``v`` when
``min_required <= v < usable_until``, and orders versions ``X.Y.ZiN < X.Y.ZbN < X.Y.Z < X.Y.ZpN``.
Both lines meet at ``2.5.0i1``, the lowest version string of the 2.5 line: every 2.4.x patch
(and 2.4 beta) gets the legacy line, every 2.5 innovation/beta/release/patch gets the modern one,
and no version from 2.0.0 on gets both or neither. ``2.5.0`` as the boundary would leave the 2.5
betas on the legacy form (2.5 reports legacy ``web/plugins/wato`` files as CRIT and no longer
loads them) and without the modern one; ``2.5.0b1`` would do the same for a 2.5 innovation build.
``min_required`` 2.0.0 of the legacy line excludes the 2.0.0 betas, like every GA-based range.
The modern line has no ``usable_until``: it uses only versioned APIs (``cmk.rulesets.v1``, the
notification script protocol, ``local/lib/python3``), and a ceiling would make ``omd update`` to
the next major disable the package — notifications would stop silently, the worst failure of an
alerting plugin and a common complaint about other MKPs. The description names the tested releases.

Version scheme. The modern line carries the plain version from ``src/cmk_ilert/__init__.py``;
the legacy line appends the semver pre-release tag ``-legacy``. Both are valid semver without
``/``, distinct for one source version, and the file names differ. The ranges are disjoint, so on
any site at most one enabled version is applicable and Checkmk's "enabled but inactive" logic
(``mkp enable`` both, ``omd update`` re-evaluates) activates exactly the right line. Where
precedence matters (several stored versions, newest applicable wins), ``X.Y.Z-legacy`` sorts just
below ``X.Y.Z`` and above every earlier release of either line. The source version must
therefore be a plain ``X.Y.Z``.

Reproducibility. Same source + same ``SOURCE_DATE_EPOCH`` (default 0) give byte-identical files:
sorted members, fixed modes (0755 for the script, 0644 otherwise), uid/gid 0, empty owner names,
mtime = the epoch, gzip header with that mtime and without a file name, CRLF normalised to LF.

Tooling. The standard library only (``zlib``, ``hashlib``; ``python3`` 3.8+, nothing from PyPI):
the tar headers (as ``tarfile`` writes them from Python 3.10 on) and the gzip header (as
``gzip.GzipFile`` writes it) are written here byte for byte, so every Python from 3.8 on builds
the same bytes; every MKP reader (Checkmk's own tool included) reads them with ``tarfile``.
Third-party builders (python-mkp, mkp-forge) write builder-dependent modes, owners and
timestamps; Checkmk's own packaging tool (``cmk-mkp-tool``) is not published on the package
index and only runs inside a site.
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import io
import json
import os
import pprint
import re
import struct
import sys
import tarfile
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository's `mkp` package importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mkp.manifest import Manifest, ManifestError
from mkp.versions import is_release_semver

PACKAGE_NAME = "cmk_ilert"
TITLE = "iLert notifications (cmk_ilert)"
AUTHOR = "cmk_ilert contributors"
DOWNLOAD_URL = ""

SCRIPT_SHEBANG = "#!/usr/bin/env python3"
SCRIPT_TITLE = re.compile(r"# \S.*")
SCRIPT_BULK = "# Bulk: yes"

_SUMMARY = (
    "Sends Checkmk host and service notifications to iLert (alert sources of type Checkmk or "
    "API) with the notification method 'iLert (cmk_ilert)': outbox with retries, rate limiting, "
    "password store support."
)

EXECUTABLE = 0o755
REGULAR = 0o644


class BuildError(Exception):
    """The sources cannot be packed (missing file, bad header, bad version …)."""


@dataclass(frozen=True)
class Line:
    """One release line of the package (see the module docstring)."""

    key: str
    parts: tuple[str, ...]
    min_required: str
    usable_until: str | None
    version_suffix: str
    releases_text: str
    form_text: str
    #: ``version.packaged``: a Checkmk version, as Checkmk writes there (see ``make_manifest``)
    version_packaged: str

    def package_version(self, base: str) -> str:
        return base + self.version_suffix


LEGACY = Line(
    key="legacy",
    parts=("lib", "notifications", "web"),
    min_required="2.0.0",
    usable_until="2.5.0i1",
    version_suffix="-legacy",
    releases_text="Checkmk 2.0 up to 2.4.x",
    form_text="parameter form in web/plugins/wato",
    version_packaged="2.0.0",
)
MODERN = Line(
    key="modern",
    parts=("cmk_addons_plugins", "lib", "notifications"),
    min_required="2.5.0i1",
    usable_until=None,
    version_suffix="",
    releases_text="Checkmk 2.5 and newer",
    form_text="parameter form via cmk.rulesets.v1",
    version_packaged="2.5.0",
)
LINES: tuple[Line, ...] = (LEGACY, MODERN)


@dataclass(frozen=True)
class SourceFile:
    """One file of a part: its member name in the part tar, content (LF line ends) and mode."""

    member: str
    data: bytes
    mode: int


@dataclass(frozen=True)
class Artifact:
    """A packed, validated artifact, not yet written."""

    line: Line
    manifest: Manifest
    data: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


@dataclass(frozen=True)
class BuiltArtifact:
    """An artifact written to disk."""

    line: Line
    manifest: Manifest
    path: Path
    sha256_path: Path


def read_version(source_root: Path) -> str:
    """``__version__`` of ``src/cmk_ilert/__init__.py`` (parsed, not imported); plain X.Y.Z."""
    init = source_root / "src" / PACKAGE_NAME / "__init__.py"
    try:
        tree = ast.parse(init.read_bytes(), filename=str(init))
    except (OSError, SyntaxError) as exc:
        raise BuildError(f"cannot read the version from {init}: {exc}") from exc
    for node in tree.body:
        value: ast.expr | None
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign):
            targets, value = [node.target], node.value
        else:
            continue
        if not any(isinstance(t, ast.Name) and t.id == "__version__" for t in targets):
            continue
        if not (isinstance(value, ast.Constant) and isinstance(value.value, str)):
            raise BuildError(f"{init}: __version__ must be a string literal")
        if not is_release_semver(value.value):
            raise BuildError(
                f"{init}: __version__ = {value.value!r} must be a plain X.Y.Z version "
                "(the legacy line appends '-legacy')"
            )
        return value.value
    raise BuildError(f"{init}: no __version__ assignment")


def source_date_epoch(environ: Mapping[str, str] = os.environ) -> int:
    """The archive timestamp: ``SOURCE_DATE_EPOCH`` when set, else 0."""
    raw = environ.get("SOURCE_DATE_EPOCH", "").strip()
    if not raw:
        return 0
    if not raw.isdigit():
        raise BuildError(f"SOURCE_DATE_EPOCH must be a non-negative integer, not {raw!r}")
    return int(raw)


def collect_sources(source_root: Path, line: Line) -> dict[str, tuple[SourceFile, ...]]:
    """The files of every part of ``line``, sorted by member name."""
    return {part: _COLLECTORS[part](source_root) for part in line.parts}


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes().replace(b"\r\n", b"\n")
    except OSError as exc:
        raise BuildError(f"cannot read {path}: {exc.strerror or exc}") from exc


def _script(source_root: Path) -> tuple[SourceFile, ...]:
    path = source_root / "notifications" / PACKAGE_NAME
    data = _read(path)
    head = data.decode("utf-8", errors="replace").split("\n")[:3]
    head += [""] * (3 - len(head))
    if head[0] != SCRIPT_SHEBANG or not SCRIPT_TITLE.fullmatch(head[1]) or head[2] != SCRIPT_BULK:
        raise BuildError(
            f"{path}: the first three lines must be {SCRIPT_SHEBANG!r}, '# <title>' and {SCRIPT_BULK!r}; found {head!r}"
        )
    return (SourceFile(PACKAGE_NAME, data, EXECUTABLE),)


def _python_files(directory: Path, recursive: bool) -> list[Path]:
    if not directory.is_dir():
        raise BuildError(f"missing source directory {directory}")
    found = directory.rglob("*.py") if recursive else directory.glob("*.py")
    return sorted(
        path
        for path in found
        if path.is_file()
        and not any(part == "__pycache__" or part.startswith(".") for part in path.relative_to(directory).parts)
    )


def _lib(source_root: Path) -> tuple[SourceFile, ...]:
    package = source_root / "src" / PACKAGE_NAME
    return _members(package, f"python3/{PACKAGE_NAME}", _python_files(package, recursive=True))


def _web(source_root: Path) -> tuple[SourceFile, ...]:
    member = f"plugins/wato/{PACKAGE_NAME}.py"
    return (SourceFile(member, _read(source_root / "web" / member), REGULAR),)


def _rulesets(source_root: Path) -> tuple[SourceFile, ...]:
    rulesets = source_root / "cmk_addons_plugins" / PACKAGE_NAME / "rulesets"
    return _members(rulesets, f"{PACKAGE_NAME}/rulesets", _python_files(rulesets, recursive=False))


def _members(directory: Path, prefix: str, paths: Sequence[Path]) -> tuple[SourceFile, ...]:
    if not paths:
        raise BuildError(f"no .py files in {directory}")
    files = (SourceFile(f"{prefix}/{path.relative_to(directory).as_posix()}", _read(path), REGULAR) for path in paths)
    return tuple(sorted(files, key=lambda f: f.member))


_COLLECTORS = {
    "cmk_addons_plugins": _rulesets,
    "lib": _lib,
    "notifications": _script,
    "web": _web,
}


def make_manifest(line: Line, base_version: str, files: Mapping[str, Sequence[str]]) -> Manifest:
    """The validated manifest of ``line`` (raises ``ManifestError``).

    ``version.packaged``: Checkmk writes the version of the site that packed the MKP there
    (2.0/2.1 ``cmk/utils/packaging`` ``write_file``: ``cmk_version.__version__``; 2.2
    ``cmk/utils/packaging/_manifest.py``; newest ``cmk.mkp_tool._mkp.create_mkp(...,
    version_packaged)``) and no release reads it for a decision; it is shown to the admin. We
    pack without a site, so it names the Checkmk release whose package format the line was built
    and checked for: the GA version of the line's oldest release (fixed, so builds stay
    reproducible)."""
    other = next(candidate for candidate in LINES if candidate is not line)
    description = (
        f"{_SUMMARY}\n\nThis build is for {line.releases_text} ({line.form_text}). For "
        f"{other.releases_text} use {PACKAGE_NAME} "
        f"{other.package_version(base_version)}. On sites that will be upgraded across "
        "2.4 -> 2.5, add and enable both: Checkmk activates the build that fits its release."
    )
    return Manifest.model_validate(
        {
            "title": TITLE,
            "name": PACKAGE_NAME,
            "description": description,
            "version": line.package_version(base_version),
            "version.packaged": line.version_packaged,
            "version.min_required": line.min_required,
            "version.usable_until": line.usable_until,
            "author": AUTHOR,
            "download_url": DOWNLOAD_URL,
            "files": {part: sorted(names) for part, names in sorted(files.items())},
        }
    )


def pack(manifest: Manifest, sources: Mapping[str, Sequence[SourceFile]], mtime: int) -> bytes:
    """The ``.mkp`` bytes: gzip(tar(info, info.json, <part>.tar …)), fully deterministic."""
    info = manifest.to_info()
    members: list[tuple[str, bytes]] = [
        ("info", (pprint.pformat(info) + "\n").encode("utf-8")),
        ("info.json", (json.dumps(info, sort_keys=True) + "\n").encode("utf-8")),
    ]
    for part in sorted(manifest.files):
        files = sorted(sources[part], key=lambda f: f.member)
        if [f.member for f in files] != sorted(manifest.files[part]):
            raise BuildError(f"part {part!r}: sources and manifest disagree")
        members.append((f"{part}.tar", _tar([(f.member, f.data, f.mode) for f in files], mtime)))
    outer = _tar([(name, data, REGULAR) for name, data in members], mtime)
    return _gzip(outer, mtime)


#: A tar block.
BLOCK = tarfile.BLOCKSIZE


def _gzip(data: bytes, mtime: int) -> bytes:
    """gzip (RFC 1952) with a fixed header: ``gzip.compress`` writes another OS byte from Python
    3.11 on (zlib's 3 instead of 255), and the same sources must give the same bytes under every
    Python the build runs on (3.8+)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    body = compressor.compress(data) + compressor.flush()
    header = b"\x1f\x8b\x08\x00" + struct.pack("<I", mtime & 0xFFFFFFFF) + b"\x02\xff"
    return header + body + struct.pack("<II", zlib.crc32(data) & 0xFFFFFFFF, len(data) & 0xFFFFFFFF)


def _tar(entries: Sequence[tuple[str, bytes, int]], mtime: int) -> bytes:
    """A plain ustar archive of regular files with normalised metadata, in the given order.

    The headers are written here, as ``tarfile`` writes them from Python 3.10 on (no device
    numbers for regular files; 3.8 and 3.9 wrote zeros there): the same sources give the same
    bytes under every Python the build runs on. Any tar reader (``tarfile`` of Checkmk's package
    tool, GNU tar) reads them."""
    out = io.BytesIO()
    for name, data, mode in entries:
        raw = name.encode("utf-8")
        if len(raw) > 100:
            raise BuildError(f"member name longer than 100 bytes: {name}")
        header = bytearray(BLOCK)
        header[0 : len(raw)] = raw
        header[100:108] = b"%07o\0" % mode
        header[108:116] = b"0000000\0"  # uid
        header[116:124] = b"0000000\0"  # gid
        header[124:136] = b"%011o\0" % len(data)
        header[136:148] = b"%011o\0" % mtime
        header[148:156] = b" " * 8  # the checksum counts itself as blanks
        header[156:157] = tarfile.REGTYPE
        header[257:265] = tarfile.POSIX_MAGIC
        header[148:155] = b"%06o\0" % sum(header)
        out.write(bytes(header))
        out.write(data)
        out.write(b"\0" * (-len(data) % BLOCK))
    out.write(b"\0" * (2 * BLOCK))  # the end of the archive, padded to a whole record, as tarfile does
    out.write(b"\0" * (-out.tell() % tarfile.RECORDSIZE))
    return out.getvalue()


def prepare(source_root: Path, mtime: int) -> list[Artifact]:
    """Collect, validate and pack every line; nothing is written."""
    base = read_version(source_root)
    artifacts = []
    for line in LINES:
        sources = collect_sources(source_root, line)
        manifest = make_manifest(line, base, {part: [f.member for f in files] for part, files in sources.items()})
        artifacts.append(Artifact(line, manifest, pack(manifest, sources, mtime)))
    return artifacts


def write(artifact: Artifact, out_dir: Path) -> BuiltArtifact:
    """Write ``<name>-<version>.mkp`` and its ``.sha256`` (sha256sum format) atomically."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / artifact.manifest.file_name
    sha256_path = path.with_name(path.name + ".sha256")
    _write_atomic(path, artifact.data)
    _write_atomic(sha256_path, f"{artifact.sha256}  {path.name}\n".encode("ascii"))
    return BuiltArtifact(artifact.line, artifact.manifest, path, sha256_path)


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


def build(source_root: Path, out_dir: Path, *, mtime: int | None = None) -> list[BuiltArtifact]:
    """Build both lines from ``source_root`` into ``out_dir``.

    ``mtime`` defaults to ``SOURCE_DATE_EPOCH`` (or 0). Every artifact is validated before the
    first file is written.
    """
    epoch = source_date_epoch() if mtime is None else mtime
    return [write(artifact, out_dir) for artifact in prepare(source_root, epoch)]


def main(argv: Sequence[str] | None = None) -> int:
    repo_root = Path(__file__).resolve().parent.parent
    parser = argparse.ArgumentParser(
        prog="mkp/build.py", description="Build the cmk_ilert MKPs (legacy and modern line)."
    )
    parser.add_argument("--source-root", type=Path, default=repo_root, help="default: %(default)s")
    parser.add_argument("--out", type=Path, default=repo_root / "dist", help="default: %(default)s")
    args = parser.parse_args(argv)
    try:
        built = build(args.source_root, args.out)
    except (BuildError, ManifestError) as exc:
        print(f"mkp/build.py: error: {exc}", file=sys.stderr)
        return 1
    for artifact in built:
        manifest = artifact.manifest
        print(f"{artifact.path}  ({artifact.line.key}, Checkmk {manifest.range_text})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
