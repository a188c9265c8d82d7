"""An independent reader, python-mkp (PyPI ``mkp``), sees the same manifest and files."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any


def extracted_files(root: Path) -> dict[tuple[str, str], bytes]:
    return {
        (
            path.relative_to(root).parts[0],
            "/".join(path.relative_to(root).parts[1:]),
        ): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def test_python_mkp_reads_both_artifacts(
    built: Any,
    python_mkp: ModuleType,
    archive_checker: Callable[[Path], Any],
    tmp_path: Path,
) -> None:
    for path in built.both:
        ours = archive_checker(path)
        # python_mkp.load_file(path) is `Package(open(path, "rb"))` and never closes the file;
        # same reader, with the file closed afterwards:
        with path.open("rb") as stream:
            package = python_mkp.Package(stream)
            assert package.info == ours.info
            assert package.json_info == ours.info
            target = tmp_path / path.stem
            package.extract_files(str(target))
            package.archive.close()
        assert extracted_files(target) == ours.contents
        assert (target / "notifications/cmk_ilert").stat().st_mode & 0o111


def test_python_mkp_is_the_pypi_package(python_mkp: ModuleType) -> None:
    assert python_mkp.__name__ == "python_mkp"
    assert callable(python_mkp.load_file) and "cmk_addons_plugins" in python_mkp.DIRECTORIES
