"""The flattening model (``flatten.py``) and the test contexts built with it agree with each
release's fact file; the password-store facts hold for a store module built from them."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import doubles
import pytest
from doubles import _legacy_core as core
from expect import expected_outcome, parsed_outcome
from facts import FACTS, RELEASES
from flatten import flatten

REPO = doubles.REPO


@pytest.mark.parametrize("release", RELEASES)
def test_the_model_reproduces_every_example_of_the_facts(release):
    rules = FACTS[release].flattening
    assert rules.examples
    for params, expected in rules.examples:
        assert flatten(params, release, {}) == expected, (release, params)


@pytest.mark.parametrize("release", RELEASES)
def test_checkbox_values_are_the_strings_of_the_facts(release):
    rules = FACTS[release].flattening
    context = flatten({"outbox": True, "coalesce": False}, release)
    assert context == {"PARAMETER_OUTBOX": rules.checkbox_true, "PARAMETER_COALESCE": rules.checkbox_false}


@pytest.mark.parametrize("release", RELEASES)
def test_examples_mean_what_they_store(release):
    # the examples are also valid input for the script: with a key, each parses to its meaning
    key = {"ilert_api_key": ("password", "k")}
    for params, _expected in FACTS[release].flattening.examples:
        value = dict(key, **params)
        if "cmk_postprocessed" in repr(value.get("proxy_url")):
            continue  # a FormSpec proxy never reaches flattening on 2.0-2.3 (facts)
        got = parsed_outcome(flatten(value, release, core.FAKE_GLOBAL_PROXIES))
        assert got == expected_outcome(value), (release, value)


def test_formspec_families_only_where_the_facts_allow_them():
    for release in RELEASES:
        assert FACTS[release].flattening.formspec_families == (release in ("2.4", "2.5")), release


def _store_module(root, store, unknown):
    """A ``cmk.utils.password_store`` built from a release's facts: ``extract`` returns None
    for an unknown id, or raises ``MKGeneralException`` (an ``Exception``) like 2.4+."""
    package = os.path.join(root, "cmk", "utils")
    os.makedirs(package)
    for init in (os.path.join(root, "cmk", "__init__.py"), os.path.join(package, "__init__.py")):
        open(init, "w").close()
    body = textwrap.dedent(
        """
        class MKGeneralException(Exception):
            pass

        _STORE = %r

        def extract(password_id):
            if password_id in _STORE:
                return _STORE[password_id]
            if %r == "raises":
                raise MKGeneralException("Password not found. Please check the password store.")
            return None
        """
    ) % (dict(store), unknown)
    with open(os.path.join(package, "password_store.py"), "w", encoding="utf-8") as handle:
        handle.write(body)


@pytest.mark.parametrize("release", RELEASES)
def test_the_script_resolves_stored_keys_with_the_store_api_of_the_facts(release, tmp_path):
    facts = FACTS[release].password_store
    assert (facts.module, facts.function) == ("cmk.utils.password_store", "extract")
    _store_module(str(tmp_path), {"ilert_prod": " stored-key-1 "}, facts.unknown_id)
    probe = (
        "from cmk_ilert.checkmk.password_store import site_lookup\n"
        "print(repr(site_lookup('ilert_prod')), repr(site_lookup('missing')))\n"
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path), os.path.join(REPO, "src")]))
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "' stored-key-1 ' None"


@pytest.mark.parametrize("release", RELEASES)
def test_the_fake_sites_store_answers_unknown_ids_like_the_facts(release, tmp_path):
    # tests/support/site.py FakeSite.password_store(raises=...) is the double the script tests use
    from tests.support.site import FakeSite

    unknown = FACTS[release].password_store.unknown_id
    site = FakeSite(tmp_path / "site")
    site.password_store({"ilert_prod": "k"}, raises=unknown == "raises")
    probe = (
        "from cmk.utils import password_store\n"
        "try:\n    print('returned', repr(password_store.extract('missing')))\n"
        "except Exception as exc:\n    print('raised', isinstance(exc, Exception))\n"
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(str(p) for p in site.lib_dirs))
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=60, check=False
    )
    assert result.stdout.split() == (["raised", "True"] if unknown == "raises" else ["returned", "None"])
