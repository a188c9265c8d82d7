"""Values the forms can save, collected from the doubles (shared by the contract and upgrade tests).
Python 3.8 compatible for the legacy part."""

from __future__ import annotations

import doubles
from doubles import legacy_form


def legacy_element_samples(release):
    """{key: [every value the legacy form can save for that key]} on ``release``."""
    with legacy_form(release) as load:
        return load.spec().element_samples()


def modern_element_samples():
    """{key: [every value the modern form can save for that key]} on 2.5."""
    from doubles import formspec_visitor as fv
    from doubles import modern_form

    with modern_form() as (_facts, _module, rule_specs):
        form = rule_specs["rule_spec_cmk_ilert"].parameter_form()
        return {key: fv.samples(e.parameter_form) for key, e in form.elements.items()}


def one_element_values(samples):
    """Each sample of each element, next to a sample of the required key."""
    keys = samples["ilert_api_key"]
    out = [{"ilert_api_key": key} for key in keys]
    for name, values in samples.items():
        if name != "ilert_api_key":
            out.extend({"ilert_api_key": keys[i % len(keys)], name: v} for i, v in enumerate(values))
    return out


def combined_values(samples):
    """Full dicts: the i-th sample of every element (cycling), so values meet in new company."""
    width = max(len(values) for values in samples.values())
    return [{name: values[i % len(values)] for name, values in samples.items()} for i in range(width)]


def all_legacy_samples():
    return {release: legacy_element_samples(release) for release in doubles.LEGACY_RELEASES}
