"""Every double offers exactly what its release's fact file lists: no name, module or keyword
more (a double can no longer be more permissive than the release), none less."""

from __future__ import annotations

import dataclasses
import enum
import inspect
import types

import doubles
import pytest
from facts import FACTS, RELEASES

_KEYWORD_KINDS = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
_PLUGIN_NAMESPACE = "cmk_addons"  # the extension's own packages, not Checkmk's


def _public(module, listed):
    """Attributes a plug-in can import from the double's module. A submodule bound to its
    package counts only where the facts list it as a name (``form_specs.validators``)."""
    return {
        name
        for name, value in vars(module).items()
        if (name == "__version__" or not name.startswith("__"))
        and (not isinstance(value, types.ModuleType) or name in listed)
    }


def _keywords(obj):
    parameters = inspect.signature(obj).parameters.values()
    names = {p.name for p in parameters if p.kind in _KEYWORD_KINDS}
    var_keyword = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters)
    return names, var_keyword


@pytest.mark.parametrize("release", RELEASES)
def test_each_module_offers_exactly_the_names_of_the_facts(release):
    facts = FACTS[release]
    with doubles.installed(release, with_modern_form=True) as release_double:
        for module_name, module in sorted(release_double.modules.items()):
            if module_name.split(".")[0] == _PLUGIN_NAMESPACE:
                continue
            listed = set(facts.present(module_name))
            offered = _public(module, listed)
            assert offered == listed, (release, module_name, sorted(offered ^ listed))
        for module_name in facts.modules:
            assert module_name in release_double.modules, (release, module_name)
            absent = {n for n, fact in facts.modules[module_name].items() if not fact.present}
            assert not absent & set(vars(release_double.modules[module_name])), (release, module_name, absent)


@pytest.mark.parametrize("release", RELEASES)
def test_each_callable_takes_exactly_the_keywords_of_the_facts(release):
    facts = FACTS[release]
    with doubles.installed(release, with_modern_form=True) as release_double:
        checked = 0
        for module_name, names in facts.modules.items():
            module = release_double.modules[module_name]
            for name, fact in names.items():
                if not fact.present or not fact.callable:
                    continue
                keywords, var_keyword = _keywords(getattr(module, name))
                assert keywords == set(fact.keywords), (
                    release,
                    module_name,
                    name,
                    sorted(keywords ^ set(fact.keywords)),
                )
                assert var_keyword == fact.var_keyword, (release, module_name, name)
                checked += 1
        assert checked >= 12


@pytest.mark.parametrize("release", RELEASES)
def test_an_unlisted_keyword_is_a_type_error_as_in_checkmk(release):
    # e.g. 2.1's Transform: to_valuespec= is not swallowed (the old double swallowed it)
    with doubles.installed(release) as release_double:
        valuespec = release_double.modules["cmk.gui.valuespec"]
        with pytest.raises(TypeError):
            valuespec.Integer(title="t", no_such_keyword=1)
        transform_keywords = set(FACTS[release].modules["cmk.gui.valuespec"]["Transform"].keywords)
        other = {"to_valuespec", "forth"} - transform_keywords
        for keyword in other:
            with pytest.raises(TypeError):
                valuespec.Transform(valuespec.Checkbox(), **{keyword: lambda v: v})


@pytest.mark.parametrize("release", RELEASES)
def test_registry_behaves_as_the_facts_say(release):
    registration = FACTS[release].registration
    with doubles.legacy_form(release) as load:
        entry = load.registry.entries["cmk_ilert"]
        if registration.registry_holds == "dataclass":
            assert dataclasses.is_dataclass(entry) and entry.ident == "cmk_ilert"
        else:
            assert type(entry).__name__ == "NotificationParameterCmk_Ilert"
            assert entry.ident == "cmk_ilert"
        holds_instances = registration.registry_holds in ("instance", "dataclass")
        assert hasattr(load.registry, "validate_for_update") == holds_instances


def test_modern_form_is_registered_only_where_the_facts_say_so():
    # 2.5: the loader registers NotificationParameters; 2.3/2.4: no such path (facts), so no
    # double of those releases offers the rulesets API and the modern artifact is not admitted
    for release in RELEASES:
        registered = FACTS[release].registration.rulesets_notification_parameters_registered
        with doubles.installed(release) as release_double:
            assert ("cmk.rulesets.v1.rule_specs" in release_double.modules) == registered, release


def test_enums_offer_the_members_the_modern_form_uses():
    with doubles.installed("2.5") as release_double:
        validators = release_double.modules["cmk.rulesets.v1.form_specs.validators"]
        rule_specs = release_double.modules["cmk.rulesets.v1.rule_specs"]
        assert issubclass(validators.UrlProtocol, enum.Enum)
        assert validators.UrlProtocol.HTTP.value == "http" and validators.UrlProtocol.HTTPS.value == "https"
        assert rule_specs.Topic.NOTIFICATIONS


def test_every_fact_cites_a_source():
    for release, facts in FACTS.items():
        sources = [facts.python.source, facts.password_store.source] + list(facts.registration.sources)
        sources += list(facts.flattening.sources)
        sources += [fact.source for names in facts.modules.values() for fact in names.values()]
        for source in sources:
            assert source.path and source.ref and source.repo, (release, source)
            assert source.tagged or source.dated or source.ref.startswith("@"), (release, source)
            assert "shared" not in source.cite() and "research" not in source.cite(), source
