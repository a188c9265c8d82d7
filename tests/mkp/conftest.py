"""Fixtures for the MKP builder tests: a throw-away source tree, built artifacts, archive checks.

Marker ``repo_sources``: tests that build from the repository's real sources (deselect with
``-m "not repo_sources"``).
"""

from __future__ import annotations

import ast
import importlib.metadata
import importlib.util
import io
import json
import sys
import tarfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:  # `mkp` must be this repository's package, not python-mkp
    sys.path.insert(0, str(REPO_ROOT))

from mkp import build  # noqa: E402

SCRIPT_HEAD = "#!/usr/bin/env python3\n# iLert (cmk_ilert)\n# Bulk: yes\n"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "repo_sources: builds the MKPs from the repository's real sources")


def make_source_tree(root: Path, version: str = "1.2.3", crlf: bool = False) -> Path:
    """A minimal source tree in the layout the builder packs, with traps it must skip."""
    newline = "\r\n" if crlf else "\n"

    def write(relative: str, text: str) -> None:
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.replace("\n", newline).encode("utf-8"))

    write("notifications/cmk_ilert", SCRIPT_HEAD + "from cmk_ilert.admin.cli import main\nmain()\n")
    write("src/cmk_ilert/__init__.py", f'"""cmk_ilert."""\n__version__ = "{version}"\n')
    write("src/cmk_ilert/__main__.py", "print('cli')\n")
    write("src/cmk_ilert/outbox/store.py", "STORE = 1\n")
    write("src/cmk_ilert/__pycache__/__init__.cpython-311.pyc", "bytecode")
    write("src/cmk_ilert/outbox/__pycache__/store.cpython-38.pyc", "bytecode")
    write("src/cmk_ilert/notes.txt", "not python\n")
    write("src/cmk_ilert/.hidden.py", "editor scratch\n")
    write("web/plugins/wato/cmk_ilert.py", "LEGACY_FORM = 1\n")
    write("web/plugins/wato/other.py", "not ours\n")
    write("cmk_addons_plugins/cmk_ilert/rulesets/cmk_ilert.py", "rule_spec_cmk_ilert = 1\n")
    write("cmk_addons_plugins/cmk_ilert/rulesets/__pycache__/cmk_ilert.cpython-313.pyc", "bc")
    return root


@pytest.fixture
def lib_members() -> list[str]:
    """The ``lib`` members of a build from ``make_source_tree``."""
    return [
        "python3/cmk_ilert/__init__.py",
        "python3/cmk_ilert/__main__.py",
        "python3/cmk_ilert/outbox/store.py",
    ]


@pytest.fixture
def make_tree(tmp_path: Path) -> Callable[..., Path]:
    """Factory: ``make_tree(version="1.2.3", crlf=False)`` -> a fresh source tree."""
    counter = iter(range(1_000))

    def make(version: str = "1.2.3", crlf: bool = False) -> Path:
        return make_source_tree(tmp_path / f"src-{next(counter)}", version=version, crlf=crlf)

    return make


@pytest.fixture
def source_tree(make_tree: Callable[..., Path]) -> Path:
    return make_tree()


@dataclass(frozen=True)
class Built:
    legacy: Path
    modern: Path

    @property
    def both(self) -> tuple[Path, Path]:
        return self.legacy, self.modern


def build_into(source_root: Path, out: Path, mtime: int = 0) -> Built:
    artifacts = {a.line.key: a.path for a in build.build(source_root, out, mtime=mtime)}
    return Built(legacy=artifacts["legacy"], modern=artifacts["modern"])


@pytest.fixture
def build_to() -> Callable[..., Built]:
    """``build_to(source_root, out_dir, mtime=0)`` -> the two written artifacts."""
    return build_into


@pytest.fixture
def built(source_tree: Path, tmp_path: Path) -> Built:
    return build_into(source_tree, tmp_path / "dist")


@dataclass(frozen=True)
class Archive:
    """An ``.mkp`` read with nothing but the standard library."""

    raw: bytes
    members: list[tarfile.TarInfo]
    info: dict[str, Any]
    info_json: dict[str, Any]
    parts: dict[str, list[tarfile.TarInfo]]
    contents: dict[tuple[str, str], bytes]


def read_archive(path: Path) -> Archive:
    raw = path.read_bytes()
    with tarfile.open(fileobj=io.BytesIO(raw), mode="r:gz") as outer:
        members = outer.getmembers()
        data = {m.name: outer.extractfile(m).read() for m in members}  # type: ignore[union-attr]
    info = ast.literal_eval(data["info"].decode("utf-8"))
    info_json = json.loads(data["info.json"].decode("utf-8"))
    parts: dict[str, list[tarfile.TarInfo]] = {}
    contents: dict[tuple[str, str], bytes] = {}
    for name, blob in data.items():
        if not name.endswith(".tar"):
            continue
        part = name[: -len(".tar")]
        with tarfile.open(fileobj=io.BytesIO(blob), mode="r:") as inner:
            parts[part] = inner.getmembers()
            for member in parts[part]:
                stream = inner.extractfile(member)
                contents[(part, member.name)] = stream.read() if stream else b""
    return Archive(raw, members, info, info_json, parts, contents)


def check_archive(path: Path) -> Archive:
    """Every structural rule an artifact must meet, whatever its sources."""
    archive = read_archive(path)
    raw = archive.raw
    assert raw[:3] == b"\x1f\x8b\x08", "outer archive must be gzip"
    assert raw[3] & 0x08 == 0, "gzip header must carry no file name"
    assert archive.info == archive.info_json, "info and info.json must hold the same manifest"
    info = archive.info
    assert "num_files" not in info
    assert path.name == f"{info['name']}-{info['version']}.mkp"

    expected = ["info", "info.json"] + [f"{part}.tar" for part in sorted(info["files"])]
    assert [m.name for m in archive.members] == expected
    for member in archive.members:
        assert member.isfile() and member.uid == member.gid == 0
        assert member.uname == member.gname == ""

    with tarfile.open(fileobj=io.BytesIO(raw), mode="r:gz") as outer:
        for part in info["files"]:
            blob = outer.extractfile(f"{part}.tar").read()  # type: ignore[union-attr]
            assert blob[:2] != b"\x1f\x8b", f"{part}.tar must be uncompressed"
            assert blob[257:262] == b"ustar", f"{part}.tar must be a plain ustar/GNU tar"
    for part, names in info["files"].items():
        assert names == sorted(names) and names, part
        members = archive.parts[part]
        assert [m.name for m in members] == names, f"{part}.tar names must equal the manifest"
        for member in members:
            assert member.isfile(), member.name
            assert member.uid == member.gid == 0 and member.uname == member.gname == ""
            assert not member.name.startswith(("./", "/")) and ".." not in member.name.split("/")
            assert "__pycache__" not in member.name and not member.name.endswith(".pyc")
            expected_mode = 0o755 if part == "notifications" else 0o644
            assert member.mode == expected_mode, member.name
    for (_part, _name), blob in archive.contents.items():
        assert b"\r\n" not in blob

    script = archive.contents[("notifications", "cmk_ilert")].decode("utf-8").split("\n")
    assert script[0] == "#!/usr/bin/env python3"
    assert script[1].startswith("# ") and len(script[1]) > 2
    assert script[2] == "# Bulk: yes"
    return archive


@pytest.fixture(scope="session")
def python_mkp() -> ModuleType:
    """The PyPI package ``mkp`` (python-mkp), loaded under another name: the repository's own
    ``mkp`` package shadows it on ``sys.path``."""
    try:
        init = importlib.metadata.distribution("mkp").locate_file("mkp/__init__.py")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("python-mkp (PyPI 'mkp') is not installed")
    spec = importlib.util.spec_from_file_location(
        "python_mkp", str(init), submodule_search_locations=[str(Path(str(init)).parent)]
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["python_mkp"] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def archive_checker() -> Callable[[Path], Archive]:
    return check_archive
