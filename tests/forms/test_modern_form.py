"""The modern form (cmk_addons/plugins/cmk_ilert/rulesets) against the Checkmk 2.5 double."""

from __future__ import annotations

import doubles
import pytest
from doubles import formspec_visitor as fv
from doubles import legacy_form, modern_form
from expect import CONTRACT_KEYS, NEW_RULE_DEFAULTS

from cmk_ilert.checkmk import params


@pytest.fixture(scope="module")
def loaded():
    with modern_form() as (facts, module, rule_specs):
        yield facts, module, rule_specs


@pytest.fixture(scope="module")
def form(loaded):
    _facts, _module, rule_specs = loaded
    return rule_specs["rule_spec_cmk_ilert"].parameter_form()


@pytest.fixture(scope="module")
def legacy_samples():
    """Every value the legacy form can save, per element, on every legacy release."""
    out = {}
    for release in doubles.LEGACY_RELEASES:
        with legacy_form(release) as load:
            for key, samples in load.spec().element_samples().items():
                bucket = out.setdefault(key, [])
                bucket.extend(s for s in samples if s not in bucket)
    return out


def test_is_discovered_as_the_notification_method_cmk_ilert(loaded):
    facts, _module, rule_specs = loaded
    rule_specs_module = facts.modules["cmk.rulesets.v1.rule_specs"]
    assert list(rule_specs) == ["rule_spec_cmk_ilert"]
    spec = rule_specs["rule_spec_cmk_ilert"]
    assert spec.name == "cmk_ilert"
    assert spec.topic is rule_specs_module.Topic.NOTIFICATIONS
    assert str(spec.title) == "iLert (cmk_ilert)"
    assert isinstance(spec.parameter_form(), facts.modules["cmk.rulesets.v1.form_specs"].Dictionary)


def test_offers_every_contract_key_and_nothing_else(form):
    assert sorted(form.elements) == sorted(CONTRACT_KEYS)
    assert [k for k, e in form.elements.items() if e.required] == ["ilert_api_key", "ilert_source_type"]


def test_same_keys_and_order_as_the_legacy_form(form):
    with legacy_form("2.4") as load:
        assert list(form.elements) == load.spec().element_keys()


def test_defaults_match_the_contract(form):
    prefill = {key: fv.prefill_value(e.parameter_form) for key, e in form.elements.items()}
    for key, value in NEW_RULE_DEFAULTS.items():
        assert prefill[key] == value, key
        assert type(prefill[key]) is type(value), key
    assert prefill["ilert_summary_host"] == params.DEFAULT_SUMMARY_HOST
    assert prefill["ilert_summary_service"] == params.DEFAULT_SUMMARY_SERVICE
    assert prefill["ilert_details_host"] == params.DEFAULT_DETAILS_HOST
    assert prefill["ilert_details_service"] == params.DEFAULT_DETAILS_SERVICE
    assert prefill["url_prefix"] == ("automatic_https", None)
    assert prefill["ignore_ssl"] is True  # ticking the option pre-ticks the checkbox
    assert prefill["forward_custom"] is True


def test_a_new_rule_is_api_and_an_old_rule_without_the_source_type_stays_checkmk(form):
    """Source type API gets every feature: a new rule starts with it (required, prefilled). A rule
    saved without the setting meant Checkmk (the parser's default for an absent key) and still does
    after the editor loads it (migrate) and saves it."""
    assert form.elements["ilert_source_type"].required
    assert fv.prefill_value(form.elements["ilert_source_type"].parameter_form) == "api"
    key = fv.samples(form.elements["ilert_api_key"].parameter_form)[0]
    old = fv.from_disk(form, {"ilert_api_key": key})
    assert old["ilert_source_type"] == "checkmk"
    fv.check(form, old)
    assert fv.messages(form, {"ilert_api_key": key})  # without migrate the required key would be missing
    assert fv.from_disk(form, {"ilert_api_key": key, "ilert_source_type": "api"})["ilert_source_type"] == "api"
    assert params.parse_settings({"PARAMETER_ILERT_API_KEY": "il1api-OLD-RULE-0000abcd"}).source_type == "checkmk"


def test_every_element_can_save_values_and_validates_them(form):
    for key, element in form.elements.items():
        samples = fv.samples(element.parameter_form)
        assert samples, key
        for sample in samples:
            fv.check(form, {"ilert_api_key": fv.samples(form.elements["ilert_api_key"].parameter_form)[0],
                            "ilert_source_type": "api", key: sample})


def test_migrate_leaves_modern_values_alone(form):
    for key, element in form.elements.items():
        for sample in fv.samples(element.parameter_form):
            assert fv.from_disk(element.parameter_form, sample) == sample, (key, sample)


def test_migrate_turns_every_legacy_value_into_a_valid_modern_one(form, legacy_samples):
    assert sorted(legacy_samples) == sorted(form.elements)
    for key, samples in legacy_samples.items():
        element = form.elements[key].parameter_form
        for legacy in samples:
            migrated = fv.from_disk(element, legacy)
            assert not fv.messages(element, migrated), (key, legacy, migrated)
            assert fv.from_disk(element, migrated) == migrated, (key, legacy)  # idempotent


def test_migrated_shapes(form):
    el = {key: e.parameter_form for key, e in form.elements.items()}
    explicit = fv.from_disk(el["ilert_api_key"], ("password", "abc"))
    assert explicit[:2] == ("cmk_postprocessed", "explicit_password") and explicit[2][1] == "abc"
    assert fv.from_disk(el["ilert_api_key"], "abc")[2][1] == "abc"  # bare key (pre-tuple era)
    assert fv.from_disk(el["ilert_api_key"], ("store", "ilert_prod")) == (
        "cmk_postprocessed", "stored_password", ("ilert_prod", "")
    )
    assert fv.from_disk(el["url_prefix"], {"automatic": "http"}) == ("automatic_http", None)
    assert fv.from_disk(el["url_prefix"], {"automatic": "https"}) == ("automatic_https", None)
    manual = "https://mon.example.com/site/check_mk/"
    assert fv.from_disk(el["url_prefix"], {"manual": manual}) == ("manual", manual)
    assert fv.from_disk(el["proxy_url"], ("environment", "environment")) == (
        "cmk_postprocessed", "environment_proxy", ""
    )
    assert fv.from_disk(el["proxy_url"], ("no_proxy", None)) == ("cmk_postprocessed", "no_proxy", "")
    assert fv.from_disk(el["proxy_url"], ("global", "corp")) == ("cmk_postprocessed", "stored_proxy", "corp")
    assert fv.from_disk(el["proxy_url"], ("url", "http://p:3128")) == (
        "cmk_postprocessed", "explicit_proxy", "http://p:3128"
    )
    for key in ("ignore_ssl", "forward_custom", "outbox"):
        assert fv.from_disk(el[key], True) is True
        assert fv.from_disk(el[key], False) is False


def test_migrate_rejects_garbage(loaded):
    _facts, module, _specs = loaded
    for bad in (("what", "ever"), 42, {"automatic": "gopher"}):
        with pytest.raises(TypeError):
            module.migrate_url_prefix(bad)
    with pytest.raises(TypeError):
        module.migrate_flag("yes")
    with pytest.raises(TypeError):
        module.migrate_api_key(("token", "x"))


def test_text_validation_agrees_with_the_legacy_form(form):
    """A URL the legacy form accepts is accepted here and vice versa (same patterns)."""
    from doubles import _legacy_core as core

    modern = {
        "ilert_api_url": form.elements["ilert_api_url"].parameter_form,
        "url_prefix": form.elements["url_prefix"].parameter_form,
        "routing_key": form.elements["routing_key"].parameter_form,
        "routing_key_fallback": form.elements["routing_key_fallback"].parameter_form,
        "ilert_services": form.elements["ilert_services"].parameter_form,
    }
    with legacy_form("2.4") as load:
        spec = load.spec()
        for candidate in core.STRING_POOL:
            legacy_ok = _valid(spec.element("ilert_api_url"), candidate)
            assert legacy_ok == (not fv.messages(modern["ilert_api_url"], candidate)), candidate
            legacy_ok = _valid(spec.element("url_prefix"), {"manual": candidate})
            assert legacy_ok == (not fv.messages(modern["url_prefix"], ("manual", candidate))), candidate
            for name in ("routing_key", "routing_key_fallback", "ilert_services"):
                legacy_ok = _valid(spec.element(name), candidate)
                assert legacy_ok == (not fv.messages(modern[name], candidate)), (name, candidate)


def _valid(valuespec, value):
    from doubles import _legacy_core as core

    try:
        valuespec.validate(value)
    except core.DoubleValidationError:
        return False
    return True
