"""Contract between the forms and the script: every value a form can save, flattened the way
each Checkmk release flattens it, gives the settings the value means."""

from __future__ import annotations

import doubles
import pytest
from doubles import _legacy_core as core
from expect import INVALID_KEY, expected_outcome, parsed_outcome
from flatten import flatten
from form_values import all_legacy_samples, combined_values, modern_element_samples, one_element_values
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

LEGACY = all_legacy_samples()
MODERN = modern_element_samples()


def assert_contract(value, release):
    context = flatten(value, release, core.FAKE_GLOBAL_PROXIES)
    assert all(k.startswith("PARAMETER_") and isinstance(v, str) for k, v in context.items())
    want = expected_outcome(value)
    got = parsed_outcome(context)
    if want == INVALID_KEY or got == INVALID_KEY:
        assert got == want, "%r: got %r, want %r" % (value, got, want)
        return
    assert got == want, "\n".join(
        "%s: got %r, want %r" % (field, g, w) for field, g, w in zip(want._fields, got, want) if g != w
    )


@pytest.mark.parametrize("release", doubles.LEGACY_RELEASES)
def test_legacy_values_one_element_at_a_time(release):
    values = one_element_values(LEGACY[release])
    assert len(values) > 100
    for value in values:
        assert_contract(value, release)


@pytest.mark.parametrize("release", doubles.LEGACY_RELEASES + ("2.5",))
def test_legacy_values_combined(release):
    # 2.5: parameter sets saved with the legacy form stay in legacy shapes until re-saved
    samples = LEGACY["2.4" if release == "2.5" else release]
    for value in combined_values(samples):
        assert_contract(value, release)


def test_modern_values_one_element_at_a_time():
    for value in one_element_values(MODERN):
        assert_contract(value, "2.5")


def test_modern_values_combined():
    for value in combined_values(MODERN):
        assert_contract(value, "2.5")


def test_25_explicit_password_kept_only_in_the_store():
    # 2.5 keeps explicit passwords in the password store too; should the secret part ever
    # arrive empty, the script resolves the ad-hoc id through the store.
    value = {"ilert_api_key": ("cmk_postprocessed", "explicit_password", ("ilert_prod", ""))}
    assert_contract(value, "2.5")


def test_what_the_script_sees_examples():
    """Literal examples for docs/forms.md (stored value -> context)."""
    legacy = {
        "ilert_api_key": ("store", "ilert_prod"),
        "url_prefix": {"automatic": "https"},
        "proxy_url": ("no_proxy", None),
        "ignore_ssl": True,
        "outbox": False,
        "timeout": 20,
    }
    assert flatten(legacy, "2.0") == {
        "PARAMETER_ILERT_API_KEY": "store\tilert_prod",
        "PARAMETER_URL_PREFIX_AUTOMATIC": "https",
        "PARAMETER_PROXY_URL": "",
        "PARAMETER_IGNORE_SSL": "True",
        "PARAMETER_OUTBOX": "False",
        "PARAMETER_TIMEOUT": "20",
    }
    assert flatten(legacy, "2.3") == {
        "PARAMETER_ILERT_API_KEY": "store\tilert_prod",
        "PARAMETER_ILERT_API_KEY_1": "store",
        "PARAMETER_ILERT_API_KEY_2": "ilert_prod",
        "PARAMETER_URL_PREFIX_AUTOMATIC": "https",
        "PARAMETER_PROXY_URL": "NO_PROXY",
        "PARAMETER_IGNORE_SSL": "True",
        "PARAMETER_OUTBOX": "False",
        "PARAMETER_TIMEOUT": "20",
    }
    modern = {
        "ilert_api_key": ("cmk_postprocessed", "explicit_password", ("uuid1", "s3cret")),
        "url_prefix": ("automatic_https", None),
        "proxy_url": ("cmk_postprocessed", "environment_proxy", ""),
        "ignore_ssl": False,
    }
    assert flatten(modern, "2.5") == {
        "PARAMETER_ILERT_API_KEY_1": "cmk_postprocessed",
        "PARAMETER_ILERT_API_KEY_2": "explicit_password",
        "PARAMETER_ILERT_API_KEY_3": "uuid1\ts3cret",
        "PARAMETER_ILERT_API_KEY_3_1": "uuid1",
        "PARAMETER_ILERT_API_KEY_3_2": "s3cret",
        "PARAMETER_URL_PREFIX_1": "automatic_https",
        "PARAMETER_URL_PREFIX_2": "",
        "PARAMETER_PROXY_URL": "FROM_ENVIRONMENT",
        "PARAMETER_IGNORE_SSL": "False",
    }
    for value, release in ((legacy, "2.0"), (legacy, "2.3"), (modern, "2.5")):
        assert_contract(value, release)


def _dicts(samples):
    optional = {
        name: st.sampled_from(values) for name, values in samples.items() if name != "ilert_api_key"
    }
    return st.fixed_dictionaries(
        {"ilert_api_key": st.sampled_from(samples["ilert_api_key"])}, optional=optional
    )


_ANY_FORM_VALUE = st.one_of(
    [st.tuples(st.just(release), _dicts(LEGACY[release])) for release in doubles.LEGACY_RELEASES]
    + [st.tuples(st.just("2.5"), _dicts(LEGACY["2.4"])), st.tuples(st.just("2.5"), _dicts(MODERN))]
)


@settings(max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(_ANY_FORM_VALUE)
def test_random_subsets_of_elements(release_and_value):
    release, value = release_and_value
    assert_contract(value, release)
