"""The builder: archive layout, manifests, reproducibility, checksums, source checks, CLI."""

from __future__ import annotations

import ast
import hashlib
import io
import os
import pprint
import shutil
import subprocess
import sys
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mkp import build

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_both_artifacts_are_well_formed(
    built: Any, archive_checker: Callable[[Path], Any], lib_members: list[str]
) -> None:
    legacy = archive_checker(built.legacy)
    modern = archive_checker(built.modern)

    assert legacy.info["files"] == {
        "lib": lib_members,
        "notifications": ["cmk_ilert"],
        "web": ["plugins/wato/cmk_ilert.py"],
    }
    assert modern.info["files"] == {
        "cmk_addons_plugins": ["cmk_ilert/rulesets/cmk_ilert.py"],
        "lib": lib_members,
        "notifications": ["cmk_ilert"],
    }
    assert [m.name for m in legacy.members] == [
        "info",
        "info.json",
        "lib.tar",
        "notifications.tar",
        "web.tar",
    ]
    assert [m.name for m in modern.members] == [
        "info",
        "info.json",
        "cmk_addons_plugins.tar",
        "lib.tar",
        "notifications.tar",
    ]


def test_manifests_name_their_line(built: Any, archive_checker: Callable[[Path], Any]) -> None:
    legacy = archive_checker(built.legacy).info
    modern = archive_checker(built.modern).info

    assert built.legacy.name == "cmk_ilert-1.2.3-legacy.mkp"
    assert built.modern.name == "cmk_ilert-1.2.3.mkp"
    for info in (legacy, modern):
        assert info["name"] == "cmk_ilert"
        assert info["title"] == "iLert notifications (cmk_ilert)"
        assert info["author"] and isinstance(info["download_url"], str)
        assert set(info) == {
            "title",
            "name",
            "description",
            "version",
            "version.packaged",
            "version.min_required",
            "version.usable_until",
            "author",
            "download_url",
            "files",
        }
    # Checkmk writes a Checkmk version there (the packing site's); ours names each line's oldest release
    assert (legacy["version.packaged"], modern["version.packaged"]) == ("2.0.0", "2.5.0")
    assert (legacy["version"], legacy["version.min_required"], legacy["version.usable_until"]) == (
        "1.2.3-legacy",
        "2.0.0",
        "2.5.0i1",
    )
    assert (modern["version"], modern["version.min_required"], modern["version.usable_until"]) == (
        "1.2.3",
        "2.5.0i1",
        None,
    )
    assert "2.0 up to 2.4" in legacy["description"] and "cmk_ilert 1.2.3." in legacy["description"]
    assert "2.5 and newer" in modern["description"] and "1.2.3-legacy" in modern["description"]


def test_info_is_pprint_and_info_json_is_json(built: Any) -> None:
    with tarfile.open(built.modern, "r:gz") as outer:
        info_raw = outer.extractfile("info").read().decode()  # type: ignore[union-attr]
        json_raw = outer.extractfile("info.json").read().decode()  # type: ignore[union-attr]
    info = ast.literal_eval(info_raw)
    assert info_raw == pprint.pformat(info) + "\n"
    assert json_raw.endswith("\n") and json_raw.count("\n") == 1


def test_file_contents_come_from_the_sources(
    built: Any, source_tree: Path, archive_checker: Callable[[Path], Any]
) -> None:
    archive = archive_checker(built.legacy)
    assert archive.contents[("notifications", "cmk_ilert")] == (source_tree / "notifications/cmk_ilert").read_bytes()
    assert archive.contents[("lib", "python3/cmk_ilert/outbox/store.py")] == b"STORE = 1\n"
    assert archive.contents[("web", "plugins/wato/cmk_ilert.py")] == b"LEGACY_FORM = 1\n"


def test_two_builds_are_byte_identical(
    make_tree: Callable[..., Path], build_to: Callable[..., Any], tmp_path: Path
) -> None:
    first = build_to(make_tree(), tmp_path / "a")
    second_tree = make_tree()
    for path in second_tree.rglob("*"):  # other mtimes and modes must not matter
        if path.is_file():
            path.touch()
            path.chmod(0o600)
    second = build_to(second_tree, tmp_path / "b")
    for one, two in zip(first.both, second.both):
        assert one.read_bytes() == two.read_bytes()
        assert one.with_name(one.name + ".sha256").read_bytes() == two.with_name(two.name + ".sha256").read_bytes()


def test_crlf_sources_give_the_same_bytes_as_lf(
    make_tree: Callable[..., Path], build_to: Callable[..., Any], tmp_path: Path
) -> None:
    lf = build_to(make_tree(crlf=False), tmp_path / "lf")
    crlf = build_to(make_tree(crlf=True), tmp_path / "crlf")
    for one, two in zip(lf.both, crlf.both):
        assert one.read_bytes() == two.read_bytes()


def test_source_date_epoch_sets_every_timestamp(
    source_tree: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    zero = {a.line.key: a.path.read_bytes() for a in build.build(source_tree, tmp_path / "0")}
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    dated = {a.line.key: a.path for a in build.build(source_tree, tmp_path / "d")}

    for key, path in dated.items():
        raw = path.read_bytes()
        assert raw != zero[key]
        assert int.from_bytes(raw[4:8], "little") == 1_700_000_000  # gzip header MTIME
        with tarfile.open(path, "r:gz") as outer:
            for member in outer.getmembers():
                assert member.mtime == 1_700_000_000
                if member.name.endswith(".tar"):
                    blob = outer.extractfile(member).read()  # type: ignore[union-attr]
                    with tarfile.open(fileobj=io.BytesIO(blob)) as inner:
                        assert {m.mtime for m in inner.getmembers()} == {1_700_000_000}


def test_without_source_date_epoch_the_timestamp_is_zero(
    source_tree: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    for artifact in build.build(source_tree, tmp_path):
        raw = artifact.path.read_bytes()
        assert raw[4:8] == b"\0\0\0\0"


@pytest.mark.parametrize("value", ["-1", "yesterday", "1.5"])
def test_bad_source_date_epoch_is_an_error(value: str) -> None:
    with pytest.raises(build.BuildError, match="SOURCE_DATE_EPOCH"):
        build.source_date_epoch({"SOURCE_DATE_EPOCH": value})


def test_sha256_files_are_in_sha256sum_format(built: Any) -> None:
    for path in built.both:
        checksum = path.with_name(path.name + ".sha256").read_text()
        assert checksum == f"{hashlib.sha256(path.read_bytes()).hexdigest()}  {path.name}\n"
    if shutil.which("sha256sum"):
        names = [p.name + ".sha256" for p in built.both]
        subprocess.run(
            ["sha256sum", "--check", "--strict", *names],
            cwd=built.legacy.parent,
            check=True,
            capture_output=True,
        )


@pytest.mark.parametrize(
    "head",
    [
        "#!/usr/bin/python3\n# iLert\n# Bulk: yes\n",
        "#!/usr/bin/env python3\n# Bulk: yes\n# iLert\n",
        "#!/usr/bin/env python3\n# iLert\n",
        "#!/usr/bin/env python3\n#\n# Bulk: yes\n",
        "#!/usr/bin/env python3\n# iLert\n# Bulk: no\n",
    ],
)
def test_script_header_is_enforced(source_tree: Path, tmp_path: Path, head: str) -> None:
    (source_tree / "notifications/cmk_ilert").write_text(head + "main()\n")
    with pytest.raises(build.BuildError, match="first three lines"):
        build.build(source_tree, tmp_path / "out")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("missing", "message"),
    [
        ("notifications/cmk_ilert", "cannot read"),
        ("web/plugins/wato/cmk_ilert.py", "cannot read"),
        ("cmk_addons_plugins/cmk_ilert/rulesets/cmk_ilert.py", "no .py files"),
        ("src/cmk_ilert/__init__.py", "cannot read the version"),
    ],
)
def test_missing_sources_fail_before_anything_is_written(
    source_tree: Path, tmp_path: Path, missing: str, message: str
) -> None:
    (source_tree / missing).unlink()
    with pytest.raises(build.BuildError, match=message):
        build.build(source_tree, tmp_path / "out")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('__version__ = "1.2.3-rc.1"', "plain X.Y.Z"),
        ('__version__ = "1.2"', "plain X.Y.Z"),
        ("__version__ = VERSION", "string literal"),
        ('VERSION = "1.2.3"', "no __version__"),
    ],
)
def test_version_must_be_a_plain_release(source_tree: Path, line: str, message: str) -> None:
    (source_tree / "src/cmk_ilert/__init__.py").write_text(line + "\n")
    with pytest.raises(build.BuildError, match=message):
        build.read_version(source_tree)


def test_annotated_version_is_read(source_tree: Path) -> None:
    (source_tree / "src/cmk_ilert/__init__.py").write_text('__version__: str = "2.0.1"\n')
    assert build.read_version(source_tree) == "2.0.1"


def test_cli_builds_and_reports(source_tree: Path, tmp_path: Path) -> None:
    out = tmp_path / "cli-out"
    completed = subprocess.run(
        [sys.executable, "mkp/build.py", "--source-root", str(source_tree), "--out", str(out)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert sorted(p.name for p in out.iterdir()) == [
        "cmk_ilert-1.2.3-legacy.mkp",
        "cmk_ilert-1.2.3-legacy.mkp.sha256",
        "cmk_ilert-1.2.3.mkp",
        "cmk_ilert-1.2.3.mkp.sha256",
    ]
    assert "2.0.0 <= v < 2.5.0i1" in completed.stdout


def test_cli_runs_from_any_directory_and_fails_cleanly(source_tree: Path, tmp_path: Path) -> None:
    (source_tree / "web/plugins/wato/cmk_ilert.py").unlink()
    completed = subprocess.run(
        [
            sys.executable,
            str(REPO_ROOT / "mkp/build.py"),
            "--source-root",
            str(source_tree),
            "--out",
            str(tmp_path / "out"),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 1
    assert completed.stderr.startswith("mkp/build.py: error: cannot read")
    assert "Traceback" not in completed.stderr


def _oldest_python() -> str | None:
    """Python 3.8, the floor the README names for building (pyenv or PATH, as the matrix finds it)."""
    sys.path.insert(0, str(REPO_ROOT))
    from tools.matrix import find_python

    return find_python("3.8")


def test_the_packages_build_with_a_bare_python38_and_nothing_from_pypi(built: Any, source_tree: Path,
                                                                        tmp_path: Path) -> None:
    """``python3 mkp/build.py`` (README, Install): the oldest Python the build supports, with no
    site-packages at all (``-S``: no pydantic, no python-mkp, no venv), from an empty environment,
    writes byte for byte the packages the test tooling builds."""
    python = _oldest_python()
    if python is None:
        pytest.skip("Python 3.8 not found (pyenv install 3.8, or python3.8 on PATH)")
    out = tmp_path / "bare"
    completed = subprocess.run(
        [python, "-S", "-I", str(REPO_ROOT / "mkp/build.py"), "--source-root", str(source_tree), "--out", str(out)],
        cwd=tmp_path, env={"PATH": "/usr/bin:/bin", "SOURCE_DATE_EPOCH": "0"}, capture_output=True, text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert completed.stderr == ""
    assert (out / built.legacy.name).read_bytes() == built.legacy.read_bytes()
    assert (out / built.modern.name).read_bytes() == built.modern.read_bytes()
    probe = subprocess.run([python, "-S", "-I", "-c", "import pydantic"], capture_output=True, text=True, check=False)
    assert probe.returncode != 0  # it really had nothing from PyPI


def test_make_mkp_needs_no_dev_venv(tmp_path: Path) -> None:
    """``make mkp`` runs the build with the plain interpreter, not through ``make setup``."""
    env = {k: v for k, v in os.environ.items() if k not in ("MAKELEVEL", "MAKEFLAGS", "MFLAGS")}  # under make test
    completed = subprocess.run(["make", "--no-print-directory", "-n", "mkp"], cwd=REPO_ROOT, capture_output=True,
                               text=True, check=False, env=env)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.splitlines() == ["python3 mkp/build.py --out dist"], completed.stdout
