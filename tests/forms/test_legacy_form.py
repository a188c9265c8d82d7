"""The legacy form (web/plugins/wato/cmk_ilert.py) loaded like Checkmk 2.0 - 2.4 load it."""

from __future__ import annotations

import ast
import os

import doubles
import pytest
from doubles import _legacy_core as core
from doubles import legacy_form
from expect import CONTRACT_KEYS, NEW_RULE_DEFAULTS

from cmk_ilert.checkmk import params

TEMPLATE_DEFAULTS = {
    "ilert_summary_host": params.DEFAULT_SUMMARY_HOST,
    "ilert_summary_service": params.DEFAULT_SUMMARY_SERVICE,
    "ilert_details_host": params.DEFAULT_DETAILS_HOST,
    "ilert_details_service": params.DEFAULT_DETAILS_SERVICE,
}


@pytest.fixture(params=doubles.LEGACY_RELEASES)
def loaded(request):
    with legacy_form(request.param) as load:
        yield load


def test_registers_exactly_the_method_cmk_ilert(loaded):
    assert loaded.registered == ["cmk_ilert"]
    assert isinstance(loaded.spec(), core.Dictionary)


def test_offers_every_contract_key_and_nothing_else(loaded):
    spec = loaded.spec()
    assert sorted(spec.element_keys()) == sorted(CONTRACT_KEYS)
    assert len(spec.element_keys()) == len(set(spec.element_keys()))
    assert spec._required_keys == ["ilert_api_key"]


def test_defaults_match_the_contract(loaded):
    defaults = loaded.spec().defaults()
    for key, value in NEW_RULE_DEFAULTS.items():
        assert defaults[key] == value, key
        assert type(defaults[key]) is type(value), key
    for key, value in TEMPLATE_DEFAULTS.items():
        assert defaults[key] == value, key
    # a new rule shows the alert source type ticked, on API (the full feature set); a rule saved
    # without it (unticked) still means Checkmk: the parser's default for an absent key
    assert loaded.spec()._default_keys == ["ilert_source_type"]
    assert params.parse_settings({"PARAMETER_ILERT_API_KEY": "il1api-OLD-RULE-0000abcd"}).source_type == "checkmk"
    # ticking an optional element pre-fills: checkboxes on, proxy from environment, https links
    assert defaults["ignore_ssl"] is True
    assert defaults["forward_custom"] is True
    assert defaults["proxy_url"] == ("environment", "environment")
    assert defaults["url_prefix"] == {"automatic": "https"}


def test_default_on_checkboxes_can_store_false(loaded):
    # comment_events / coalesce / outbox default to on: the form must be able to save False
    spec = loaded.spec()
    for key in ("comment_events", "coalesce", "outbox", "inventory_facts", "runbook_links", "graph_link",
                "accept_comments"):
        assert set(spec.element(key).samples()) == {True, False}, key
        spec.validate({"ilert_api_key": ("password", "k"), key: False})


def test_every_element_can_save_values_and_validates_them(loaded):
    spec = loaded.spec()
    for key, samples in spec.element_samples().items():
        assert samples, key
        for sample in samples:
            spec.validate({"ilert_api_key": ("password", "k"), key: sample})


def test_refuses_what_the_script_cannot_use(loaded):
    spec = loaded.spec()
    bad = [
        {},  # the key is required
        {"ilert_api_key": ("password", "")},
        {"ilert_api_key": ("store", "no such entry")},
        {"ilert_api_key": ("password", "k"), "ilert_api_url": "https://user:pw@api.ilert.com"},
        {"ilert_api_key": ("password", "k"), "ilert_api_url": "https://api.ilert.com/?q=1"},
        {"ilert_api_key": ("password", "k"), "ilert_api_url": "ftp://api.ilert.com"},
        {"ilert_api_key": ("password", "k"), "ilert_priority": "high"},
        {"ilert_api_key": ("password", "k"), "timeout": 0},
        {"ilert_api_key": ("password", "k"), "timeout": 51},
        {"ilert_api_key": ("password", "k"), "rate_limit": -1},
        {"ilert_api_key": ("password", "k"), "url_prefix": {"manual": "https://h/site/"}},
        {"ilert_api_key": ("password", "k"), "routing_key": ""},
        {"ilert_api_key": ("password", "k"), "routing_key_fallback": ""},
        {"ilert_api_key": ("password", "k"), "ilert_services": ""},
        {"ilert_api_key": ("password", "k"), "ilert_severity": "3"},
        {"ilert_api_key": ("password", "k"), "ilert_severity": 3},
        {"ilert_api_key": ("password", "k"), "unknown": 1},
    ]
    for value in bad:
        with pytest.raises(core.DoubleValidationError):
            spec.validate(value)


def test_url_prefix_is_stored_like_checkmks_builtin_forms(loaded):
    # {"automatic": ...} / {"manual": ...}: the Transform keywords differ per release
    # (forth/back up to 2.1, to_valuespec/from_valuespec from 2.2; 2.1 swallows unknown ones)
    samples = loaded.spec().element("url_prefix").samples()
    assert {"automatic": "http"} in samples
    assert {"automatic": "https"} in samples
    assert all(isinstance(s, dict) and len(s) == 1 for s in samples)
    assert {next(iter(s)) for s in samples} == {"automatic", "manual"}


def test_keeps_the_shared_wato_namespace_clean(loaded):
    added = {name for name in loaded.namespace if not name.startswith("__")}
    assert added == {"_cmk_ilert_register_form"}


def test_stored_shapes_are_flat_enough_for_checkmk_20():
    # 2.0 joins tuples with TAB and crashes on non-str items: only str tuples may be stored
    # (proxy_url is replaced before flattening, so its ("no_proxy", None) is fine)
    with legacy_form("2.0") as load:
        for key, samples in load.spec().element_samples().items():
            for sample in samples:
                if key != "proxy_url" and isinstance(sample, tuple):
                    assert all(isinstance(item, str) for item in sample), (key, sample)
                assert not isinstance(sample, list), key


def test_on_25_defers_to_the_rulesets_form_when_installed():
    with legacy_form("2.5", with_modern_form=True) as load:
        assert load.registered == []
    with legacy_form("2.5", with_modern_form=False) as load:
        assert load.registered == ["cmk_ilert"]
        assert sorted(load.spec().element_keys()) == sorted(CONTRACT_KEYS)


def test_fails_loudly_when_a_name_is_missing():
    # Checkmk records a failing plug-in ("failed plugins"); a silent no-op would leave 2.4
    # without a form and abort the 2.3 -> 2.4 notification migration.
    with doubles.installed("2.0") as facts:
        delattr(facts.modules["cmk.gui.plugins.wato.utils"], "HTTPProxyReference")
        with pytest.raises(ImportError, match="HTTPProxyReference"):
            doubles.exec_legacy_plugin(doubles.wato_namespace(facts))


def test_loads_on_20_which_has_no_text_input():
    # issue 10: 2.0's cmk.gui.valuespec has TextAscii/TextUnicode but no TextInput
    with legacy_form("2.0") as load:
        valuespec = load.facts.modules["cmk.gui.valuespec"]
        assert not hasattr(valuespec, "TextInput")
        assert load.registered == ["cmk_ilert"]
        assert isinstance(load.spec().element("ilert_api_url"), valuespec.TextUnicode)


def test_names_both_text_inputs_when_neither_exists():
    with doubles.installed("2.0") as facts:
        delattr(facts.modules["cmk.gui.valuespec"], "TextUnicode")
        with pytest.raises(ImportError, match="'TextInput' or 'TextUnicode'"):
            doubles.exec_legacy_plugin(doubles.wato_namespace(facts))


def test_parses_as_python_38_source():
    # (the real Python 3.8 compile and load run in test_py38.py)
    for path in (doubles.LEGACY_FORM, os.path.join(doubles.MODERN_DIR, "cmk_ilert.py")):
        with open(path, encoding="utf-8") as handle:
            ast.parse(handle.read(), path, feature_version=(3, 8))


def test_the_script_header_gives_the_gui_title():
    path = os.path.join(doubles.REPO, "notifications", "cmk_ilert")
    with open(path, encoding="utf-8") as handle:
        lines = handle.read().splitlines()
    assert lines[0].startswith("#!")
    assert lines[1] == "# iLert (cmk_ilert)"
