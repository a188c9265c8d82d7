"""The inventory scanner and the pure steps: text -> tree -> facts -> event.

Every stored format of Checkmk 2.0 - 2.5 gives the same facts; malformed, hostile or huge
text gives none, within the budget, without an exception.
"""

from __future__ import annotations

import ast
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cmk_ilert.ilert.event import Event
from cmk_ilert.notify import inventory
from cmk_ilert.notify.mapping import MAX_DETAILS
from tests.inventory import trees


@pytest.mark.parametrize("text", [
    pytest.param(repr(trees.legacy()), id="2.0-legacy-literal"),
    pytest.param(repr(trees.structured()), id="2.1-structured-literal"),
    pytest.param(repr(trees.structured(retentions=True)), id="2.2-with-retentions"),
    pytest.param(repr(trees.structured(order="software-first")), id="software-node-first"),
    pytest.param(trees.json_text(trees.structured()), id="2.5-json"),
    pytest.param(trees.gz_wrapped(trees.structured()), id="2.5-gz-meta-wrapper"),
    pytest.param(trees.json_text(trees.legacy()), id="legacy-as-json"),
])
def test_every_format_gives_the_same_facts(text: str) -> None:
    assert inventory.facts(inventory.read_tree(text)) == trees.EXPECTED


def test_scanner_agrees_with_the_full_parser() -> None:
    """What the scanner keeps is exactly what ast.literal_eval would find at those paths."""
    text = repr(trees.structured(packages=300, retentions=True))
    assert inventory.facts(inventory.read_tree(text)) == inventory.facts(ast.literal_eval(text))


def test_python2_unicode_literals() -> None:
    """Trees written by Checkmk 1.6 (Python 2) until the next inventory run: u'...' strings."""
    text = repr(trees.legacy(packages=3)).replace("'Dell Inc.'", "u'Dell Inc.'").replace("'name'", "u'name'")
    assert dict(inventory.facts(inventory.read_tree(text)))["manufacturer"] == "Dell Inc."


def test_escapes_and_non_ascii() -> None:
    tree = trees.legacy(packages=2)
    tree["hardware"]["system"]["manufacturer"] = "Gr\u00fc\u00dfe \u2603 'x' \"y\" \\ \t"
    for text in (repr(tree), trees.json_text(tree)):
        assert dict(inventory.facts(inventory.read_tree(text)))["manufacturer"] == "Gr\u00fc\u00dfe \u2603 'x' \"y\" \\"


def test_partial_trees_give_partial_facts() -> None:
    assert inventory.facts({"hardware": {"memory": {"total_ram_usable": 2048}}}) == (
        ("ram_bytes", 2048), ("ram", "2.0 KiB"))
    assert inventory.facts({"software": {"os": {"version": "12"}}}) == (("os_version", "12"),)
    assert inventory.facts({}) == ()
    assert inventory.facts(None) == ()
    assert inventory.facts({"hardware": {"cpu": {"cpus": 2, "cores_per_cpu": 8}}}) == (("cpu_cores", 16),)


def test_values_are_bounded_and_typed() -> None:
    tree = {"hardware": {"system": {"manufacturer": "x" * 5000, "serial": True, "product": ["a"]},
                         "cpu": {"cores": -3, "model": 12},
                         "memory": {"total_ram_usable": "lots"}}}
    found = dict(inventory.facts(tree))
    assert len(found["manufacturer"]) == inventory.MAX_VALUE
    assert "serial" not in found and "model" not in found and "cpu_cores" not in found and "ram" not in found
    assert found["cpu_model"] == "12"


@pytest.mark.parametrize("text", [
    "", "   ", "[]", "{", "{'hardware': {'cpu': {'model': 'x'", "None", "{'a': __import__('os')}",
    "{'hardware': {'cpu': {'model': open('/etc/passwd').read()}}}", "{1: 2}", "{'hardware': (1, 2]}",
    "{" * 5000 + "}" * 5000, "[" * 100000, "{'a': '" + "x" * 100000, "{\"a\": \"\\",
])
def test_malformed_or_hostile_text_gives_nothing(text: str) -> None:
    assert inventory.facts(inventory.read_tree(text)) == ()


def test_code_is_never_evaluated(tmp_path) -> None:
    marker = tmp_path / "evaluated"
    text = "{'hardware': {'cpu': {'model': __import__('pathlib').Path(%r).touch()}}}" % str(marker)
    inventory.read_tree(text)
    assert not marker.exists()


def test_deep_nesting_is_refused_not_recursed() -> None:
    deep = "{'hardware': " + "{'x': " * 2000 + "1" + "}" * 2000 + "}"
    assert inventory.read_tree(deep) is None or inventory.facts(inventory.read_tree(deep)) == ()


def test_scan_stops_at_the_deadline() -> None:
    text = repr(trees.structured(packages=20000, order="software-first"))
    start = time.monotonic()
    assert inventory.read_tree(text, deadline=start + 0.005) is None
    assert time.monotonic() - start < 0.5  # the point: it returned instead of scanning megabytes


def test_big_package_tables_are_skipped_fast() -> None:
    """A realistic ~650 kB tree (3,000 packages) scans well inside the default budget."""
    text = repr(trees.structured(packages=3000, order="software-first", retentions=True))
    assert len(text) > 600000
    best = min(_timed(inventory.read_tree, text) for _ in range(3))
    assert inventory.facts(inventory.read_tree(text)) == trees.EXPECTED
    # generous: this is a smoke check of the algorithm's order, bench/ measures the cost
    assert best < inventory.DEFAULT_BUDGET * 2, best


def _timed(function, *args) -> float:
    start = time.perf_counter()
    function(*args)
    return time.perf_counter() - start


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet=st.sampled_from(list("{}[](),:'\"\\ uaT1.-eNn\n")), max_size=400))
def test_fuzz_never_raises(text: str) -> None:
    tree = inventory.read_tree(text, deadline=time.monotonic() + 1.0)
    inventory.facts(tree)


@settings(max_examples=200, deadline=None)
@given(st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=30))
def test_fuzz_any_literal_matches_the_full_parser(value) -> None:
    """For any Python literal, the scanner finds what a full parse finds at the wanted paths."""
    tree = {"hardware": {"cpu": {"model": "m", "junk": value}, "system": value}, "software": value}
    text = repr(tree)
    assert inventory.facts(inventory.read_tree(text)) == inventory.facts(ast.literal_eval(text))


# --- apply: facts into the event --------------------------------------------------------


def _event(details: str = "CRIT - load") -> Event:
    return Event(event_type="ALERT", alert_key="cmk/mysite/web01/cpu load",
                 summary="s", notification_type="PROBLEM",
                 details=details, custom_details=(("site", "mysite"), ("host", "web01")))


def test_apply_adds_custom_details_and_one_line() -> None:
    event = inventory.apply(_event(), trees.EXPECTED)
    assert dict(event.custom_details)["inventory"] == dict(trees.EXPECTED)
    assert list(dict(event.custom_details))[:2] == ["site", "host"]
    last = event.details.splitlines()[-1]
    assert last == ("Inventory: Dell Inc. PowerEdge R640, serial ABC1234; Ubuntu 22.04.3 LTS; "
                    "Intel(R) Xeon(R) Gold 6130 CPU @ 2.10GHz, 16 cores; 62.5 GiB RAM")
    assert event.details.startswith("CRIT - load\n\n")


def test_apply_without_facts_changes_nothing() -> None:
    assert inventory.apply(_event(), ()) == _event()


def test_apply_keeps_details_bounded() -> None:
    event = inventory.apply(_event("x" * MAX_DETAILS), trees.EXPECTED)
    assert len(event.details) <= MAX_DETAILS
    assert event.details.endswith("62.5 GiB RAM")


def test_summary_line_variants() -> None:
    assert inventory.summary_line((("os", "Debian 12"), ("os_version", "12"))) == "Inventory: Debian 12"
    assert inventory.summary_line((("os", "Windows"), ("os_version", "10.0.19045"))) == \
        "Inventory: Windows (10.0.19045)"
    assert inventory.summary_line((("serial", "X"),)) == "Inventory: serial X"
    assert inventory.summary_line(()) == ""
    assert inventory.human_bytes(1023) == "1023 B"
    assert inventory.human_bytes(5 << 40) == "5.0 TiB"


def test_scanning_stops_once_everything_wanted_is_read() -> None:
    """Whatever follows the last wanted node is not even looked at (here: not valid at all)."""
    text = repr(trees.legacy(packages=0))
    cut = text.index("'packages'")
    assert inventory.facts(inventory.read_tree(text[:cut] + "@@@ not a literal")) == trees.EXPECTED
    # ... but a tree that lacks a wanted node is read to its end, and the junk is noticed
    partial = trees.legacy(packages=0)
    del partial["hardware"]["memory"]
    text = repr(partial)
    assert inventory.read_tree(text[:text.index("'packages'")] + "@@@") is None
