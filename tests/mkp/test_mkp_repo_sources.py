"""The MKPs built from the repository's real sources (marker ``repo_sources``)."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from mkp import build
from mkp.checkmk_releases import RELEASES
from mkp.site_install import InstallRefusedError, install

pytestmark = pytest.mark.repo_sources

REPO_ROOT = Path(__file__).resolve().parents[2]
LIB = REPO_ROOT / "src/cmk_ilert"
RULESETS = REPO_ROOT / "cmk_addons_plugins/cmk_ilert/rulesets"
REQUIRED = [
    REPO_ROOT / "notifications/cmk_ilert",
    LIB / "__init__.py",
    REPO_ROOT / "web/plugins/wato/cmk_ilert.py",
]


def source_version() -> str:
    match = re.search(r'^__version__\s*=\s*"([^"]+)"', (LIB / "__init__.py").read_text(), re.M)
    assert match, "src/cmk_ilert/__init__.py has no __version__"
    return match[1]


@pytest.fixture(scope="module")
def repo_built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    missing = [str(p.relative_to(REPO_ROOT)) for p in REQUIRED if not p.is_file()]
    if not sorted(RULESETS.glob("*.py")):
        missing.append(f"{RULESETS.relative_to(REPO_ROOT)}/*.py")
    if missing:
        pytest.skip(f"the repository's sources are not complete yet, missing: {', '.join(missing)}")
    out = tmp_path_factory.mktemp("repo-dist")
    return {a.line.key: a.path for a in build.build(REPO_ROOT, out, mtime=0)}


def test_artifacts_are_well_formed(repo_built: dict[str, Path], archive_checker: Callable[[Path], Any]) -> None:
    version = source_version()
    lib = sorted(
        f"python3/cmk_ilert/{p.relative_to(LIB).as_posix()}" for p in LIB.rglob("*.py") if "__pycache__" not in p.parts
    )
    rulesets = sorted(f"cmk_ilert/rulesets/{p.name}" for p in RULESETS.glob("*.py"))

    legacy = archive_checker(repo_built["legacy"]).info
    modern = archive_checker(repo_built["modern"]).info
    assert legacy["version"] == f"{version}-legacy" and modern["version"] == version
    assert legacy["files"] == {
        "lib": lib,
        "notifications": ["cmk_ilert"],
        "web": ["plugins/wato/cmk_ilert.py"],
    }
    assert modern["files"] == {
        "cmk_addons_plugins": rulesets,
        "lib": lib,
        "notifications": ["cmk_ilert"],
    }


def test_rebuild_is_byte_identical(repo_built: dict[str, Path], tmp_path: Path) -> None:
    again = {a.line.key: a.path for a in build.build(REPO_ROOT, tmp_path, mtime=0)}
    for key, path in repo_built.items():
        assert again[key].read_bytes() == path.read_bytes(), key


def test_python_mkp_reads_them(repo_built: dict[str, Path], python_mkp: ModuleType) -> None:
    for path in repo_built.values():
        with path.open("rb") as stream:
            package = python_mkp.Package(stream)
            assert package.info == package.json_info
            assert package.info["name"] == "cmk_ilert"
            package.archive.close()


@pytest.mark.parametrize("line", list(RELEASES))
def test_each_release_installs_exactly_its_line(repo_built: dict[str, Path], tmp_path: Path, line: str) -> None:
    right, wrong = ("modern", "legacy") if line >= "2.5" else ("legacy", "modern")
    site = tmp_path / "site"
    with pytest.raises(InstallRefusedError):
        install(repo_built[wrong], site, line)
    result = install(repo_built[right], site, line)

    script = site / "local/share/check_mk/notifications/cmk_ilert"
    assert script in result.paths and script.stat().st_mode & 0o100
    completed = subprocess.run(
        [
            sys.executable,
            "-I",
            "-c",
            "import sys; sys.path.insert(0, sys.argv[1]); import cmk_ilert; print(cmk_ilert.__file__)",
            str(site / "local/lib/python3"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == str(site / "local/lib/python3/cmk_ilert/__init__.py")
