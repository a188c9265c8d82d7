"""Simulated install per Checkmk release, then delivery through the INSTALLED script.

The interpreter matrix (tools/matrix.py) runs this module once per release
with that release's site Python and requests (``CMK_ILERT_TEST_PYTHON``) and
``CMK_ILERT_TEST_RELEASE``; a plain pytest run uses release 2.3 and the dev
Python. The package is built from the repository, installed the way Checkmk
installs it (GNU tar per part into $OMD_ROOT), and the script then runs with
nothing but the site's ``local/lib/python3`` on its path.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import List

import pytest

from mkp.build import build
from mkp.site_install import InstallRefusedError, install
from tests.support.contexts import api_params, checkmk_params, host, service
from tests.support.site import REPO, FakeSite

pytestmark = pytest.mark.runtime

RELEASE = os.environ.get("CMK_ILERT_TEST_RELEASE", "2.3")


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> List[Path]:
    out = tmp_path_factory.mktemp("dist")
    return [a.path for a in build(REPO, out)]


@pytest.fixture
def installed(tmp_path: Path, artifacts: List[Path]) -> FakeSite:
    root = tmp_path / "site"
    accepted = []
    for path in artifacts:
        try:
            install(path, root, RELEASE)
        except InstallRefusedError:
            continue
        accepted.append(path.name)
    assert len(accepted) == 1, "exactly one artifact must install on %s, got %s" % (RELEASE, accepted)
    site = FakeSite(root, use_repo_src=False,
                    script=root / "local" / "share" / "check_mk" / "notifications" / "cmk_ilert")
    site.lib_dirs.append(root / "local" / "lib" / "python3")
    return site


def test_installed_script_has_checkmk_header(installed: FakeSite) -> None:
    lines = installed.script.read_text(encoding="utf-8").splitlines()[:3]
    assert lines == ["#!/usr/bin/env python3", "# iLert (cmk_ilert)", "# Bulk: yes"]
    assert os.access(installed.script, os.X_OK)


def test_installed_script_runs_a_lifecycle(installed: FakeSite, standin) -> None:
    params = api_params(standin.url)
    for ntype in ("PROBLEM", "ACKNOWLEDGEMENT", "RECOVERY"):
        run = installed.run(service(ntype, params, MICROTIME=str(len(ntype))))
        assert run.returncode == 0, run.output
    alerts = standin.alerts()
    assert [(a["key"], a["status"]) for a in alerts] == [("cmk/mysite/web01/cpu load~f26268fd97", "RESOLVED")]


def test_installed_script_checkmk_format_and_bulk(installed: FakeSite, standin) -> None:
    params = checkmk_params(standin.url)
    contexts = [host("PROBLEM", {}, HOSTNAME="h%d" % i, MICROTIME=str(1000 + i)) for i in range(3)]
    run = installed.run(bulk=contexts, bulk_parameters=params)
    assert run.returncode == 0, run.output
    assert sorted(a["key"] for a in standin.alerts()) == ["h0", "h1", "h2"]


def test_library_missing_is_a_clean_permanent_error(tmp_path: Path, installed: FakeSite) -> None:
    bare = FakeSite(tmp_path / "bare", use_repo_src=False, script=installed.script)
    run = bare.run(service("PROBLEM", api_params("http://127.0.0.1:9")))
    assert run.returncode == 2
    assert "Traceback" not in run.output
    assert "library not importable" in run.stdout
