"""Simulated installation per Checkmk release into a temporary $OMD_ROOT."""

from __future__ import annotations

import gzip
import io
import os
import pprint
import stat
import subprocess
import sys
import tarfile
import time
from pathlib import Path
from typing import Any

import pytest

from mkp.site_install import InstallFailedError, InstallRefusedError, install

LEGACY_SITES = [
    "2.0.0",
    "2.0.0p38",
    "2.1.0",
    "2.1.0p21",
    "2.2.0",
    "2.2.0p40",
    "2.3.0b1",
    "2.3.0p27",
    "2.4.0",
    "2.4.0p20",
]
MODERN_SITES = ["2.5.0i1", "2.5.0b1", "2.5.0", "2.5.0p4"]

NOTIFICATIONS = "local/share/check_mk/notifications/cmk_ilert"
LIB_INIT = "local/lib/python3/cmk_ilert/__init__.py"
LIB_DEEP = "local/lib/python3/cmk_ilert/outbox/store.py"
WEB = "local/share/check_mk/web/plugins/wato/cmk_ilert.py"
RULESET = "local/lib/python3/cmk_addons/plugins/cmk_ilert/rulesets/cmk_ilert.py"


@pytest.fixture
def omd_root(tmp_path: Path) -> Path:
    root = tmp_path / "site"
    root.mkdir()
    return root


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def files_below(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


@pytest.mark.parametrize("site", LEGACY_SITES)
def test_legacy_installs_on_2_0_to_2_4(built: Any, omd_root: Path, site: str) -> None:
    started = time.time()
    result = install(built.legacy, omd_root, site)

    private = site >= "2.3"
    assert result.version == "1.2.3-legacy" and result.ignored_parts == ()
    assert files_below(omd_root) == sorted(
        [
            NOTIFICATIONS,
            LIB_INIT,
            "local/lib/python3/cmk_ilert/__main__.py",
            LIB_DEEP,
            WEB,
            "var/check_mk/packages/cmk_ilert",
        ]
    )
    assert sorted(str(p.relative_to(omd_root)) for p in result.paths) == sorted(
        f for f in files_below(omd_root) if not f.startswith("var/")
    )
    assert mode(omd_root / NOTIFICATIONS) == (0o700 if private else 0o755)
    for other in (LIB_INIT, LIB_DEEP, WEB):
        assert mode(omd_root / other) == (0o600 if private else 0o644)
    assert (omd_root / WEB).read_bytes() == b"LEGACY_FORM = 1\n"
    # `tar --touch`: the files carry the installation time, not the archive's epoch 0
    assert (omd_root / LIB_DEEP).stat().st_mtime >= started - 5


@pytest.mark.parametrize("site", MODERN_SITES)
def test_legacy_is_refused_on_2_5(built: Any, omd_root: Path, site: str) -> None:
    with pytest.raises(InstallRefusedError, match="usable until Checkmk 2.5.0i1") as caught:
        install(built.legacy, omd_root, site)
    assert caught.value.reason == "outdated"
    assert files_below(omd_root) == []


@pytest.mark.parametrize("site", MODERN_SITES)
def test_modern_installs_on_2_5(built: Any, omd_root: Path, site: str) -> None:
    result = install(built.modern, omd_root, site)

    assert result.version == "1.2.3" and result.release.line == "2.5"
    assert files_below(omd_root) == sorted(
        [
            NOTIFICATIONS,
            LIB_INIT,
            "local/lib/python3/cmk_ilert/__main__.py",
            LIB_DEEP,
            RULESET,
            "var/check_mk/packages/cmk_ilert",
        ]
    )
    assert mode(omd_root / NOTIFICATIONS) == 0o700
    assert mode(omd_root / RULESET) == mode(omd_root / LIB_INIT) == 0o600
    assert (omd_root / RULESET).read_bytes() == b"rule_spec_cmk_ilert = 1\n"


@pytest.mark.parametrize(
    ("site", "reason"),
    [
        ("2.0.0", "too_old"),
        ("2.0.0p38", "too_old"),
        ("2.1.0p49", "too_old"),
        ("2.2.0", "unknown_part"),
        ("2.2.0p40", "unknown_part"),
        ("2.3.0", "too_old"),
        ("2.4.0", "too_old"),
        ("2.4.0p99", "too_old"),
    ],
)
def test_modern_is_refused_before_2_5(built: Any, omd_root: Path, site: str, reason: str) -> None:
    with pytest.raises(InstallRefusedError) as caught:
        install(built.modern, omd_root, site)
    assert caught.value.reason == reason
    if reason == "unknown_part":
        assert "cmk_addons_plugins" in str(caught.value)
    assert files_below(omd_root) == []


def test_a_line_means_its_ga_release(built: Any, omd_root: Path) -> None:
    assert str(install(built.legacy, omd_root / "a", "2.4").site_version) == "2.4.0"
    with pytest.raises(InstallRefusedError):
        install(built.legacy, omd_root / "b", "2.5")


def test_the_installed_library_imports_from_local_lib(built: Any, omd_root: Path) -> None:
    install(built.legacy, omd_root, "2.0.0")
    completed = subprocess.run(
        [
            sys.executable,
            "-I",
            "-c",
            "import sys; sys.path.insert(0, sys.argv[1]); "
            "import cmk_ilert; print(cmk_ilert.__version__, cmk_ilert.__file__)",
            str(omd_root / "local/lib/python3"),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    version, location = completed.stdout.split()
    assert version == "1.2.3" and location == str(omd_root / LIB_INIT)


def test_upgrade_2_4_to_2_5_replaces_the_legacy_line(built: Any, omd_root: Path) -> None:
    install(built.legacy, omd_root, "2.4.0p20")
    result = install(built.modern, omd_root, "2.5.0")

    assert [str(p.relative_to(omd_root)) for p in result.removed] == [WEB]
    assert not (omd_root / WEB).exists()
    assert (omd_root / RULESET).is_file() and (omd_root / NOTIFICATIONS).is_file()
    registry = (omd_root / "var/check_mk/packages/cmk_ilert").read_text()
    assert "'version': '1.2.3'" in registry


def test_reinstall_of_the_same_package_is_no_conflict(built: Any, omd_root: Path) -> None:
    install(built.legacy, omd_root, "2.4.0")
    assert install(built.legacy, omd_root, "2.4.0").removed == ()


def test_unpackaged_files_conflict(built: Any, omd_root: Path) -> None:
    stray = omd_root / NOTIFICATIONS
    stray.parent.mkdir(parents=True)
    stray.write_text("hand-copied\n")
    with pytest.raises(InstallRefusedError, match="already existing") as caught:
        install(built.legacy, omd_root, "2.3.0")
    assert caught.value.reason == "conflict"
    assert stray.read_text() == "hand-copied\n"


# --- foreign / broken archives ------------------------------------------------------------------


def make_mkp(path: Path, info: dict[str, Any] | None, parts: dict[str, list[tuple[str, bytes]]]) -> Path:
    """A hand-made MKP (plain tarfile defaults), for archives the builder would never write."""

    def tar(entries: list[tuple[str, bytes]]) -> bytes:
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w") as archive:
            for name, data in entries:
                member = tarfile.TarInfo(name)
                member.size = len(data)
                archive.addfile(member, io.BytesIO(data))
        return buffer.getvalue()

    members = [] if info is None else [("info", pprint.pformat(info).encode())]
    members += [(f"{part}.tar", tar(entries)) for part, entries in parts.items()]
    path.write_bytes(gzip.compress(tar(members)))
    return path


def base_info(**changes: Any) -> dict[str, Any]:
    info: dict[str, Any] = {
        "title": "t",
        "name": "pkg",
        "description": "d",
        "version": "1.0.0",
        "version.packaged": "x",
        "version.min_required": "2.0.0",
        "version.usable_until": None,
        "author": "a",
        "download_url": "",
        "files": {"notifications": ["pkg"]},
    }
    info.update(changes)
    return info


def test_not_gzip_is_refused(tmp_path: Path) -> None:
    html = tmp_path / "downloaded.mkp"
    html.write_text("<!DOCTYPE html><html>GitHub</html>")
    with pytest.raises(InstallRefusedError) as caught:
        install(html, tmp_path / "site", "2.4.0")
    assert caught.value.reason == "unreadable"


def test_missing_info_is_refused(tmp_path: Path) -> None:
    path = make_mkp(tmp_path / "x.mkp", None, {"notifications": [("pkg", b"x")]})
    with pytest.raises(InstallRefusedError, match="'info' not contained") as caught:
        install(path, tmp_path / "site", "2.4.0")
    assert caught.value.reason == "invalid_manifest"


@pytest.mark.parametrize(("site", "accepted"), [("2.0.0", True), ("2.1.0", True), ("2.2.0", False)])
def test_only_2_2_and_later_require_every_field(tmp_path: Path, site: str, accepted: bool) -> None:
    info = base_info()
    del info["title"], info["download_url"]
    path = make_mkp(tmp_path / "x.mkp", info, {"notifications": [("pkg", b"x")]})
    if accepted:
        install(path, tmp_path / "site", site)
    else:
        with pytest.raises(InstallRefusedError, match="title, download_url"):
            install(path, tmp_path / "site", site)


@pytest.mark.parametrize(("site", "accepted"), [("2.1.0p21", True), ("2.2.0", False)])
def test_only_2_2_and_later_check_the_name(tmp_path: Path, site: str, accepted: bool) -> None:
    info = base_info(name="1bad name")
    path = make_mkp(tmp_path / "x.mkp", info, {"notifications": [("pkg", b"x")]})
    if accepted:
        install(path, tmp_path / "site", site)
    else:
        with pytest.raises(InstallRefusedError, match="invalid package name"):
            install(path, tmp_path / "site", site)


def test_2_0_skips_unknown_parts(tmp_path: Path) -> None:
    info = base_info(files={"notifications": ["pkg"], "cmk_plugins": ["x/y.py"]})
    parts = {"notifications": [("pkg", b"x")], "cmk_plugins": [("x/y.py", b"y")]}
    result = install(make_mkp(tmp_path / "x.mkp", info, parts), tmp_path / "site", "2.0.0")
    assert result.ignored_parts == ("cmk_plugins",)
    assert files_below(tmp_path / "site") == [
        "local/share/check_mk/notifications/pkg",
        "var/check_mk/packages/pkg",
    ]


def test_unparsable_range_values_skip_the_check(tmp_path: Path) -> None:
    # "2.9" would refuse a 2.0 site if it parsed (2.9.0 does, below); it does not, so no check runs
    info = base_info(**{"version.min_required": "2.9", "version.usable_until": "someday"})
    path = make_mkp(tmp_path / "x.mkp", info, {"notifications": [("pkg", b"x")]})
    result = install(path, tmp_path / "site", "2.0.0")
    assert result.files["notifications"] == (tmp_path / "site" / "local/share/check_mk/notifications/pkg",)
    assert result.files["notifications"][0].read_bytes() == b"x"
    parsable = make_mkp(tmp_path / "y.mkp", base_info(**{"version.min_required": "2.9.0"}),
                        {"notifications": [("pkg", b"x")]})
    with pytest.raises(InstallRefusedError, match="needs Checkmk 2.9.0 or newer"):
        install(parsable, tmp_path / "site2", "2.0.0")


def test_dot_slash_member_names_break_extraction_like_on_a_site(tmp_path: Path) -> None:
    path = make_mkp(tmp_path / "x.mkp", base_info(), {"notifications": [("./pkg", b"x")]})
    with pytest.raises(InstallFailedError, match="Not found in archive"):
        install(path, tmp_path / "site", "2.4.0")


def test_compressed_part_tar_breaks_extraction(tmp_path: Path) -> None:
    path = make_mkp(tmp_path / "x.mkp", base_info(), {"notifications": [("pkg", b"x")]})
    with tarfile.open(path, "r:gz") as outer:
        members = {m.name: outer.extractfile(m).read() for m in outer}  # type: ignore[union-attr]
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name, data in members.items():
            data = gzip.compress(data) if name.endswith(".tar") else data
            member = tarfile.TarInfo(name)
            member.size = len(data)
            archive.addfile(member, io.BytesIO(data))
    path.write_bytes(gzip.compress(buffer.getvalue()))
    with pytest.raises(InstallFailedError, match="notifications.tar"):
        install(path, tmp_path / "site", "2.4.0")


def test_missing_part_tar_breaks_extraction(tmp_path: Path) -> None:
    info = base_info(files={"notifications": ["pkg"], "web": ["plugins/wato/pkg.py"]})
    path = make_mkp(tmp_path / "x.mkp", info, {"notifications": [("pkg", b"x")]})
    with pytest.raises(InstallFailedError, match="web.tar is missing"):
        install(path, tmp_path / "site", "2.4.0")


def test_install_accepts_path_like_and_str(built: Any, omd_root: Path) -> None:
    result = install(os.fspath(built.legacy), os.fspath(omd_root), "2.2.0p1")
    assert result.files["notifications"] == (omd_root / NOTIFICATIONS,)
