"""The layout of src/cmk_ilert is a rule, not a habit (docs/architecture.md).

The layer and forbidden contracts live in setup.cfg and are checked by import-linter, the
tool made for it; these tests run that check on the real tree, prove that it fails when
an upward import is planted in a copy, and hold the two rules the tool does not express:
function-level imports are the documented lazy ones, and the runtime imports nothing but
the standard library and requests.
"""

from __future__ import annotations

import ast
import configparser
import os
import shutil
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

REPO = Path(__file__).resolve().parents[2]
SRC = REPO / "src"
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"
LAYERS = ["admin", "sync", "notify", "outbox", "ilert", "checkmk", "base"]


def _lint_imports(config: Path, src: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(src))
    return subprocess.run([str(LINT_IMPORTS), "--config", str(config), "--no-cache"], capture_output=True,
                          text=True, env=env, cwd=str(config.parent), timeout=120)


def test_setup_cfg_declares_the_layers_of_the_tree() -> None:
    cfg = configparser.ConfigParser()
    cfg.read(REPO / "setup.cfg")
    declared = cfg["importlinter:contract:layers"]["layers"].split()
    assert declared == LAYERS
    packages = sorted(p.name for p in (SRC / "cmk_ilert").iterdir() if (p / "__init__.py").exists())
    assert packages == sorted(LAYERS), "every subpackage is a layer of the contract"
    loose = sorted(p.name for p in (SRC / "cmk_ilert").glob("*.py"))
    assert loose == ["__init__.py", "__main__.py"], "modules live in a subsystem, not at the top"


def test_every_subpackage_says_its_job_and_what_it_may_import() -> None:
    for layer in LAYERS:
        doc = ast.get_docstring(ast.parse((SRC / "cmk_ilert" / layer / "__init__.py").read_text()))
        assert doc and "Job:" in doc and "May import:" in doc, layer


def test_the_tree_keeps_the_contracts() -> None:
    proc = _lint_imports(REPO / "setup.cfg", SRC)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "2 kept, 0 broken" in proc.stdout


@pytest.mark.parametrize("module, planted", [
    ("base/text.py", "from ..notify import mapping as _planted  # noqa: F401\n"),
    ("checkmk/params.py", "from ..ilert import wire as _planted  # noqa: F401\n"),
    ("outbox/flush.py", "from ..admin import status as _planted  # noqa: F401\n"),
])
def test_a_planted_upward_import_breaks_the_layer_contract(tmp_path: Path, module: str, planted: str) -> None:
    shutil.copytree(SRC, tmp_path / "src")
    shutil.copy(REPO / "setup.cfg", tmp_path / "setup.cfg")
    target = tmp_path / "src" / "cmk_ilert" / module
    target.write_text(target.read_text() + "\n" + planted)
    proc = _lint_imports(tmp_path / "setup.cfg", tmp_path / "src")
    assert proc.returncode != 0
    assert "BROKEN" in proc.stdout and "1 broken" in proc.stdout


def test_a_planted_import_of_a_stand_in_breaks_the_runtime_contract(tmp_path: Path) -> None:
    shutil.copytree(SRC, tmp_path / "src")
    shutil.copy(REPO / "setup.cfg", tmp_path / "setup.cfg")
    target = tmp_path / "src" / "cmk_ilert" / "base" / "output.py"
    target.write_text(target.read_text() + "\nimport ilert_standin  # noqa: F401,E402\n")
    (tmp_path / "src" / "ilert_standin").mkdir()
    (tmp_path / "src" / "ilert_standin" / "__init__.py").write_text("")
    proc = _lint_imports(tmp_path / "setup.cfg", tmp_path / "src")
    assert proc.returncode != 0 and "1 broken" in proc.stdout


def test_the_runtime_imports_only_the_standard_library_and_requests() -> None:
    graph = grimp.build_graph("cmk_ilert", include_external_packages=True)
    external = {m for m in graph.modules if not m.startswith("cmk_ilert")}
    allowed = set(sys.stdlib_module_names) | {"requests", "urllib3", "cmk"}
    assert sorted(external - allowed) == []
    # urllib3 comes with requests; cmk only in the guarded password-store lookup
    for name, only_in in (("cmk", "cmk_ilert.checkmk.password_store"),):
        if name in external:
            assert graph.find_modules_that_directly_import(name) == {only_in}


def _function_level_imports(path: Path):  # type: ignore[no-untyped-def]
    tree = ast.parse(path.read_text())
    lines = path.read_text().splitlines()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for inner in ast.walk(node):
                if isinstance(inner, (ast.Import, ast.ImportFrom)):
                    yield inner.lineno, " ".join(lines[inner.lineno - 1:inner.end_lineno or inner.lineno])


def test_function_level_imports_are_the_documented_lazy_ones() -> None:
    undocumented = []
    for path in sorted((SRC / "cmk_ilert").rglob("*.py")):
        for lineno, line in _function_level_imports(path):
            if "# lazy:" not in line:
                undocumented.append("%s:%d: %s" % (path.relative_to(SRC), lineno, line.strip()))
    assert undocumented == [], "a function-level import needs a '# lazy: why' comment (docs/architecture.md)"
