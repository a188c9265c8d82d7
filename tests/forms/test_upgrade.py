"""Upgrade walk: a rule saved with the legacy form on 2.3 keeps its meaning through
2.3 -> 2.4 ("Migrate notifications") -> 2.5 (before and after re-saving with the modern form)."""

from __future__ import annotations

import doubles
import pytest
from doubles import _legacy_core as core
from doubles import formspec_visitor as fv
from doubles import legacy_form, modern_form
from expect import expected_outcome, parsed_outcome
from flatten import flatten
from form_values import combined_values, legacy_element_samples, one_element_values

pytestmark = pytest.mark.forms_upgrade

_ON_23 = legacy_element_samples("2.3")
SAVED_ON_23 = one_element_values(_ON_23) + combined_values(_ON_23)


def _settings(value, release):
    return parsed_outcome(flatten(value, release, core.FAKE_GLOBAL_PROXIES))


@pytest.fixture(scope="module")
def migrated_on_24():
    """cmk-update-config on 2.4 validates every stored dict with the form registered *then*
    (the legacy one, wrapped) and writes it back; one failure aborts the whole migration."""
    with legacy_form("2.4") as load:
        return [load.registry.validate_for_update("cmk_ilert", value) for value in SAVED_ON_23]


@pytest.fixture(scope="module")
def modern():
    with modern_form() as (_facts, _module, rule_specs):
        yield rule_specs["rule_spec_cmk_ilert"].parameter_form()


def test_24_migration_accepts_and_keeps_every_23_value(migrated_on_24):
    assert migrated_on_24 == SAVED_ON_23


def test_24_migration_would_abort_without_a_registered_legacy_form():
    # Without a registered form 2.4 validates with the fallback {"params": [...]} form: our
    # dicts fail it, and one failure stops "Migrate notifications" for every method.
    with doubles.installed("2.4") as facts:
        assert facts.registry.entries == {}
        with pytest.raises(core.DoubleValidationError):
            facts.registry.validate_for_update("cmk_ilert", SAVED_ON_23[0])


def test_25_before_and_after_resave_mean_the_same(migrated_on_24, modern):
    for stored in migrated_on_24:
        want = expected_outcome(stored)
        before = _settings(stored, "2.5")  # legacy shapes, 2.4+ flattening
        resaved = fv.from_disk(modern, stored)  # the editor loads with migrate ...
        fv.check(modern, resaved)  # ... and validates on save
        assert fv.from_disk(modern, resaved) == resaved  # the next load changes nothing
        after = _settings(resaved, "2.5")
        assert before == want, stored
        assert after == want, (stored, resaved)


def test_25_resave_changes_only_the_shapes_it_must(migrated_on_24, modern):
    changed = set()
    for stored in migrated_on_24:
        resaved = fv.from_disk(modern, stored)
        added = set(resaved) - set(stored)
        # the alert source type is required now (a new rule starts with API): a rule saved without
        # it gets what it always meant, Checkmk, written out
        assert added == ({"ilert_source_type"} if "ilert_source_type" not in stored else set()), stored
        assert resaved["ilert_source_type"] == stored.get("ilert_source_type", "checkmk")
        changed.update(key for key in stored if resaved[key] != stored[key])
    assert changed == {"ilert_api_key", "url_prefix", "proxy_url"}
