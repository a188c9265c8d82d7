"""Fixtures of the sync family: an installed package in a fake site, its key file, the stand-ins.

``sync`` runs as the site cron runs it: ``python3 -m cmk_ilert sync`` as a real process with
the site's environment and nothing but the site's ``local/lib/python3`` on its path (the MKP
built from this repository and installed the way Checkmk installs it).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator, List

import pytest

from ilert_standin import StandIn
from livestatus_standin import LivestatusStandIn
from mkp.build import build
from mkp.site_install import InstallRefusedError, install
from tests.support.site import KEY_API, KEY_CMK, KEY_UNAUTHORIZED, REPO, FakeSite

#: A user API key (REST API), not an integration key; no real iLert key looks like it.
USER_KEY = "sync-TEST-USERKEY-0a1b2c3d4e5f"
NO_READ_KEY = "sync-TEST-NOREAD-9z8y7x6w5v4u"
RELEASE = os.environ.get("CMK_ILERT_TEST_RELEASE", "2.3")


@pytest.fixture(scope="session")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> List[Path]:
    return [a.path for a in build(REPO, tmp_path_factory.mktemp("dist"))]


def installed_site(root: Path, artifacts: List[Path], site: str = "mysite") -> FakeSite:
    accepted = []
    for path in artifacts:
        try:
            install(path, root, RELEASE)
        except InstallRefusedError:
            continue
        accepted.append(path.name)
    assert len(accepted) == 1, accepted
    fake = FakeSite(root, site=site, use_repo_src=False,
                    script=root / "local" / "share" / "check_mk" / "notifications" / "cmk_ilert")
    fake.lib_dirs.append(root / "local" / "lib" / "python3")
    return fake


def write_key(site: FakeSite, key: str = USER_KEY, mode: int = 0o600) -> Path:
    path = site.root / "etc" / "cmk_ilert" / "sync.key"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(key + "\n", encoding="utf-8")
    os.chmod(path, mode)
    return path


@pytest.fixture
def ilert() -> Iterator[StandIn]:
    """The iLert stand-in with integration keys and user API keys."""
    with StandIn(keys=[KEY_API, KEY_CMK], unauthorized_keys=[KEY_UNAUTHORIZED], user_api_keys=[USER_KEY],
                 user_api_keys_no_read=[NO_READ_KEY], api_rate_limit=100000) as server:
        yield server


@pytest.fixture
def cmk(tmp_path: Path, artifacts: List[Path]) -> FakeSite:
    """An installed site with the sync key in its default place."""
    site = installed_site(tmp_path / "site", artifacts)
    write_key(site)
    return site


#: What the Livestatus double monitors: a CRIT service on an UP host, a DOWN host, an OK service.
FIXTURES = {
    "hosts": [{"name": "web01", "state": 0}, {"name": "db01", "state": 1, "plugin_output": "rta nan"},
              {"name": "app01", "state": 0}],
    "services": [{"host_name": "web01", "description": "CPU load", "state": 2},
                 {"host_name": "web01", "description": "Memory", "state": 0},
                 {"host_name": "app01", "description": "Filesystem /var/log", "state": 1}],
}


def livestatus_of(site: FakeSite, fixtures=None) -> LivestatusStandIn:  # type: ignore[no-untyped-def]
    return LivestatusStandIn(site.root / "tmp" / "run" / "live", fixtures or FIXTURES,
                             inventory_dir=site.root / "var" / "check_mk" / "inventory")


@pytest.fixture
def live(cmk: FakeSite) -> Iterator[LivestatusStandIn]:
    """The Livestatus double on the site's socket ($OMD_ROOT/tmp/run/live)."""
    with livestatus_of(cmk) as server:
        yield server
