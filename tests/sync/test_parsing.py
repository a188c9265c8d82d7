"""Pure parts of sync: what is read from iLert's answers, and the state file's shape."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cmk_ilert.ilert.alerts import iso, parse_alert
from cmk_ilert.sync import state as sync_state

BASE = {"id": 7, "status": "ACCEPTED", "alertKey": "cmk/mysite/web01", "reportTime": "2026-11-30T10:00:00.000Z",
        "alertSource": {"id": 1001}}


def test_accepting_user_from_acknowledged_by() -> None:
    alert = parse_alert(dict(BASE, acknowledgedBy={"firstName": "Jane", "lastName": "Doe"}, acknowledgedByType="USER"))
    assert alert is not None and (alert.by, alert.by_type, alert.source_id) == ("Jane Doe", "USER", 1001)


def test_accepting_user_from_responders_when_acknowledged_by_is_missing() -> None:
    raw = dict(BASE, responders=[{"user": {"firstName": "Bob"}, "status": "PENDING"},
                                 {"user": {"username": "carol"}, "status": "ACCEPTED"}])
    assert parse_alert(raw).by == "carol"  # type: ignore[union-attr]


def test_resolver_and_fallbacks() -> None:
    raw = dict(BASE, status="RESOLVED", resolvedBy={"email": "ops@example.invalid"}, resolvedByType="SOURCE")
    alert = parse_alert(raw)
    assert alert is not None and (alert.by, alert.by_type) == ("ops@example.invalid", "SOURCE")
    assert parse_alert(dict(BASE, status="RESOLVED")).by == ""  # type: ignore[union-attr]


def test_names_are_one_bounded_line() -> None:
    raw = dict(BASE, acknowledgedBy={"firstName": "Jane\nInjected", "lastName": "x" * 500})
    by = parse_alert(raw).by  # type: ignore[union-attr]
    assert "\n" not in by and len(by) <= 80


@pytest.mark.parametrize("change", [
    {"id": True}, {"id": -1}, {"id": "7"}, {"id": None}, {"status": "NEW"}, {"status": "accepted"},
    {"alertKey": ""}, {"alertKey": 5},
])
def test_entries_sync_cannot_use_are_dropped(change) -> None:
    assert parse_alert(dict(BASE, **change)) is None


def test_odd_but_usable_entries() -> None:
    alert = parse_alert(dict(BASE, alertSource="x", acknowledgedByType="US-ER", reportTime=None))
    assert alert is not None and alert.source_id is None and alert.by_type == "" and alert.report_time == ""


def test_iso_is_the_api_reference_spelling() -> None:
    assert iso(1621978296.771) == "2021-05-25T21:31:36.771Z"
    assert iso(0) == "1970-01-01T00:00:00.000Z"


@settings(max_examples=300, deadline=None)
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=10),
                    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=12), c, max_size=5),
                    max_leaves=20))
def test_parse_alert_never_raises(raw) -> None:
    parse_alert(raw)
    if isinstance(raw, dict):
        parse_alert(dict(BASE, **raw))


def test_state_round_trip_and_shape(tmp_path) -> None:
    state = sync_state.SyncState()
    state.first, state.last = 10.0, 20.0
    state.done["7:ACCEPTED"] = {"t": 15.0, "r": "acknowledged"}
    state.watch["8"] = {"t": 16.0}
    sync_state.save(str(tmp_path), state)
    loaded, note = sync_state.load(str(tmp_path))
    assert note == "" and loaded.as_json() == state.as_json()
    assert oct((tmp_path / "sync" / "state.json").stat().st_mode & 0o777) == "0o600"


@pytest.mark.parametrize("data", [
    {"v": 1, "first": 0, "last": 0, "pause": -1, "done": {}, "intent": {}, "watch": {}},
    {"v": 1, "first": 0, "last": 0, "pause": float("nan"), "done": {}, "intent": {}, "watch": {}},
    {"v": 1, "first": 0, "last": 0, "pause": 0, "done": {"k": {"t": "x"}}, "intent": {}, "watch": {}},
    {"v": 1, "first": 0, "last": 0, "pause": 0, "done": {"k": {"t": 1, "r": 2}}, "intent": {}, "watch": {}},
    {"v": 1, "first": True, "last": 0, "pause": 0, "done": {}, "intent": {}, "watch": {}},
    {"v": 1, "first": 0, "last": 0, "pause": 0, "done": [], "intent": {}, "watch": {}},
])
def test_wrong_shapes_are_refused(data) -> None:
    assert not sync_state.valid(json.loads(json.dumps(data, allow_nan=True)))


def test_prune_bounds_the_tables() -> None:
    state = sync_state.SyncState()
    for n in range(sync_state.MAX_DONE + 50):
        state.done["%d:ACCEPTED" % n] = {"t": float(n), "r": ""}
    state.watch = {"old": {"t": 1.0}, "new": {"t": 1e9}}
    state.prune(keep_after=10.0)
    assert len(state.done) == sync_state.MAX_DONE and "9:ACCEPTED" not in state.done
    assert list(state.watch) == ["new"]
