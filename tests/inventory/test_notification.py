"""inventory_facts through the real notification script against the iLert stand-in.

The host's inventory lies where Checkmk keeps it (``$OMD_ROOT/var/check_mk/inventory``), in
the format of each release (tests/inventory/trees.py); what iLert received is read from the
stand-in's log.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any, Dict, List

import pytest

from tests.inventory import trees
from tests.support.contexts import api_params, checkmk_params, host, service
from tests.support.site import FakeSite

pytestmark = pytest.mark.runtime

LINE = ("Inventory: Dell Inc. PowerEdge R640, serial ABC1234; Ubuntu 22.04.3 LTS; "
        "Intel(R) Xeon(R) Gold 6130 CPU @ 2.10GHz, 16 cores; 62.5 GiB RAM")


def inventory_dir(site: FakeSite) -> Path:
    folder = site.root / "var" / "check_mk" / "inventory"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def events(standin: Any) -> List[Dict[str, Any]]:
    return [e["body"] for e in standin.log() if e["path"] == "/api/events" and isinstance(e.get("body"), dict)]


#: These tests show which facts arrive, not the lookup's time bound (tests/hostile/test_enrichment.py
#: and tests/inventory/test_tree.py hold that): 1 s instead of 40 ms, so that a loaded test machine,
#: where 40 ms of wall clock can pass before the script runs at all, does not leave the facts out.
RELAXED = {"CMK_ILERT_INVENTORY_BUDGET": "1"}


def notify(site: FakeSite, ctx: Dict[str, str]) -> Dict[str, Any]:
    run = site.run(ctx, env=RELAXED)
    assert run.returncode == 0, run.output
    assert "Traceback" not in run.output
    return run.output


@pytest.mark.parametrize("name,text", [
    ("web01", repr(trees.legacy())),
    ("web01", repr(trees.structured(retentions=True))),
    ("web01.json", trees.json_text(trees.structured())),
])
def test_facts_reach_ilert_with_the_checkbox_on(site: FakeSite, standin: Any, name: str, text: str) -> None:
    (inventory_dir(site) / name).write_text(text, encoding="utf-8")
    notify(site, service("PROBLEM", api_params(standin.url, inventory_facts="True")))
    (body,) = events(standin)
    assert body["customDetails"]["inventory"] == dict(trees.EXPECTED)
    assert body["details"].splitlines()[-1] == LINE
    assert body["customDetails"]["host"] == "web01"  # the other details stay


def test_host_alerts_get_facts_too(site: FakeSite, standin: Any) -> None:
    (inventory_dir(site) / "db01").write_text(repr(trees.structured()), encoding="utf-8")
    notify(site, host("PROBLEM", api_params(standin.url, inventory_facts="True")))
    (body,) = events(standin)
    assert body["customDetails"]["inventory"]["serial"] == "ABC1234"


def test_json_file_wins_over_the_legacy_file(site: FakeSite, standin: Any) -> None:
    """A site upgraded to a release that writes <host>.json may still hold the old <host> file."""
    newer = trees.structured()
    newer["Nodes"]["hardware"]["Nodes"]["system"]["Attributes"]["Pairs"]["serial"] = "NEW-SERIAL"
    (inventory_dir(site) / "web01.json").write_text(trees.json_text(newer), encoding="utf-8")
    (inventory_dir(site) / "web01").write_text(repr(trees.legacy()), encoding="utf-8")
    notify(site, service("PROBLEM", api_params(standin.url, inventory_facts="True")))
    (body,) = events(standin)
    assert body["customDetails"]["inventory"]["serial"] == "NEW-SERIAL"


def test_nothing_with_the_checkbox_off(site: FakeSite, standin: Any) -> None:
    (inventory_dir(site) / "web01").write_text(repr(trees.legacy()), encoding="utf-8")
    notify(site, service("PROBLEM", api_params(standin.url)))
    notify(site, service("PROBLEM", api_params(standin.url, inventory_facts=""), MICROTIME="1795341600000001"))
    for body in events(standin):
        assert "inventory" not in body["customDetails"]
        assert "Inventory:" not in body.get("details", "")


def test_nothing_with_the_checkmk_source_type(site: FakeSite, standin: Any) -> None:
    (inventory_dir(site) / "web01").write_text(repr(trees.legacy()), encoding="utf-8")
    notify(site, service("PROBLEM", checkmk_params(standin.url, inventory_facts="True")))
    (entry,) = [e for e in standin.log() if "checkmk-ext" in e["path"]]
    assert "Dell" not in str(entry["body"]) and "inventory" not in str(entry["body"]).lower()


def test_only_alerts_carry_facts(site: FakeSite, standin: Any) -> None:
    (inventory_dir(site) / "web01").write_text(repr(trees.legacy()), encoding="utf-8")
    params = api_params(standin.url, inventory_facts="True")
    notify(site, service("PROBLEM", params))
    notify(site, service("ACKNOWLEDGEMENT", params, MICROTIME="1795341600000001"))
    notify(site, service("RECOVERY", params, MICROTIME="1795341600000002"))
    bodies = events(standin)
    assert [b["eventType"] for b in bodies] == ["ALERT", "ACCEPT", "COMMENT", "RESOLVE"]
    assert "inventory" in bodies[0]["customDetails"]
    assert all("inventory" not in b.get("customDetails", {}) for b in bodies[1:])


@pytest.mark.parametrize("case", ["missing", "empty", "malformed", "binary", "huge", "directory", "fifo", "code"])
def test_unusable_inventory_adds_nothing_and_delivers(site: FakeSite, standin: Any, case: str) -> None:
    folder = inventory_dir(site)
    path = folder / "web01"
    if case == "empty":
        path.write_text("")
    elif case == "malformed":
        path.write_text("{'hardware': {'cpu': {'model': 'half")
    elif case == "binary":
        path.write_bytes(os.urandom(4096))
    elif case == "huge":
        with open(path, "wb") as handle:  # sparse: beyond the size cap without filling the disk
            handle.truncate(64 * 1024 * 1024)
    elif case == "directory":
        path.mkdir()
    elif case == "fifo":
        os.mkfifo(str(path))  # nobody ever writes: a blocking read would hang the notification
    elif case == "code":
        path.write_text("{'hardware': {'system': {'manufacturer': __import__('os').system('touch %s')}}}"
                        % (site.root / "pwned"))
    start = time.monotonic()
    notify(site, service("PROBLEM", api_params(standin.url, inventory_facts="True")))
    elapsed = time.monotonic() - start
    (body,) = events(standin)
    assert "inventory" not in body["customDetails"]
    assert "Inventory:" not in body["details"]
    assert not (site.root / "pwned").exists()
    assert elapsed < 20, elapsed  # bounded (a hang would run into the test timeout), not a speed claim


def test_host_names_cannot_escape_the_inventory_folder(site: FakeSite, standin: Any) -> None:
    secret = site.root / "var" / "check_mk" / "secret"
    secret.parent.mkdir(parents=True, exist_ok=True)
    secret.write_text(repr(trees.legacy()))
    for name in ("../secret", "..", ".hidden"):
        notify(site, service("PROBLEM", api_params(standin.url, inventory_facts="True"), HOSTNAME=name,
                             MICROTIME=str(1795341600000000 + len(name))))
    for body in events(standin):
        assert "inventory" not in body["customDetails"]


# --- the Livestatus path: no file on disk where we look, Livestatus knows one ----------------


def _live(site: FakeSite, inventory_file: Path):  # type: ignore[no-untyped-def]
    from livestatus_standin import LivestatusStandIn

    fixtures = {"hosts": [{"name": "web01", "mk_inventory_file": str(inventory_file)}],
                "services": [{"host_name": "web01", "description": "CPU load", "state": 2}]}
    return LivestatusStandIn(site.root / "tmp" / "run" / "live", fixtures)


def test_facts_from_livestatus_when_no_file_is_found(site: FakeSite, standin: Any, tmp_path: Path) -> None:
    """mk_inventory is the file's bytes, rendered one character per byte in JSON answers."""
    tree = trees.structured()
    tree["Nodes"]["hardware"]["Nodes"]["system"]["Attributes"]["Pairs"]["manufacturer"] = "Gr\u00fc\u00dfe GmbH"
    elsewhere = tmp_path / "inventory-of-web01"
    elsewhere.write_text(repr(tree), encoding="utf-8")
    with _live(site, elsewhere) as live:
        notify(site, service("PROBLEM", api_params(standin.url, inventory_facts="True")))
        asked = [q["lines"] for q in live.queries()]
    (body,) = events(standin)
    assert body["customDetails"]["inventory"]["manufacturer"] == "Gr\u00fc\u00dfe GmbH"
    assert body["customDetails"]["inventory"]["serial"] == "ABC1234"
    assert asked == [["GET hosts", "Columns: mk_inventory", "Filter: name = web01", "OutputFormat: json",
                      "ResponseHeader: fixed16"]]


def test_a_file_on_disk_needs_no_livestatus(site: FakeSite, standin: Any, tmp_path: Path) -> None:
    (inventory_dir(site) / "web01").write_text(repr(trees.legacy()), encoding="utf-8")
    with _live(site, tmp_path / "unused") as live:
        notify(site, service("PROBLEM", api_params(standin.url, inventory_facts="True")))
        assert live.queries() == []
    (body,) = events(standin)
    assert body["customDetails"]["inventory"]["model"] == "PowerEdge R640"


@pytest.mark.parametrize("fault", ["hang", "slow:20", "close", "garbage", "truncate", "no-inventory"])
def test_livestatus_trouble_adds_nothing_and_delivers(site: FakeSite, standin: Any, tmp_path: Path,
                                                      fault: str) -> None:
    elsewhere = tmp_path / "inventory-of-web01"
    if fault != "no-inventory":
        elsewhere.write_text(repr(trees.structured()), encoding="utf-8")
    with _live(site, elsewhere) as live:
        if fault != "no-inventory":
            live.inject(fault)
        start = time.monotonic()
        notify(site, service("PROBLEM", api_params(standin.url, inventory_facts="True")))
        elapsed = time.monotonic() - start
    (body,) = events(standin)
    assert "inventory" not in body["customDetails"]
    assert elapsed < 15, elapsed  # the lookup gave up after its budget; a hang would be 20 s or forever
