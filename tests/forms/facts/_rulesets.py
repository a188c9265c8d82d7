"""``cmk.rulesets.v1`` (the rulesets API, 2.3+): the names and keywords the modern form uses.

Read in the newest snapshot of ``packages/cmk-rulesets`` (see ``_sources``); v1 is a versioned
API whose names are not removed within v1, and every name below is in that snapshot's
``__all__``. Keywords are the dataclass fields (``kw_only``) of each form spec.
"""

from __future__ import annotations

from typing import Dict

from . import _sources as src
from ._model import Name

BASE = ("title", "help_text", "migrate", "custom_validate")

V1 = "cmk.rulesets.v1"
FORM_SPECS = "cmk.rulesets.v1.form_specs"
VALIDATORS = "cmk.rulesets.v1.form_specs.validators"
RULE_SPECS = "cmk.rulesets.v1.rule_specs"


def _n(source, keywords=(), callable=True, note=""):
    return Name(True, source, tuple(keywords), callable=callable, note=note)


def modules() -> Dict[str, Dict[str, Name]]:
    text = "one positional str (positional-only)"
    return {
        V1: {name: _n(src.V1_INIT, note=text) for name in ("Title", "Help", "Label", "Message")},
        FORM_SPECS: {
            "FormSpec": _n(src.V1_BASE, BASE),
            "DefaultValue": _n(src.V1_BASE, ("value",)),
            "InputHint": _n(src.V1_BASE, ("value",)),
            "FieldSize": _n(src.V1_BASIC, callable=False, note="enum SMALL/MEDIUM/LARGE"),
            "BooleanChoice": _n(src.V1_BASIC, BASE + ("label", "prefill")),
            "FixedValue": _n(src.V1_BASIC, BASE + ("value", "label")),
            "Integer": _n(src.V1_BASIC, BASE + ("label", "unit_symbol", "prefill")),
            "MultilineText": _n(src.V1_BASIC, BASE + ("monospaced", "macro_support", "label", "prefill")),
            "String": _n(src.V1_BASIC, BASE + ("label", "macro_support", "prefill", "field_size")),
            "SingleChoiceElement": _n(src.V1_BASIC, ("name", "title")),
            "SingleChoice": _n(
                src.V1_BASIC,
                BASE
                + (
                    "elements",
                    "no_elements_text",
                    "frozen",
                    "label",
                    "prefill",
                    "ignored_elements",
                    "invalid_element_validation",
                ),
            ),
            "CascadingSingleChoiceElement": _n(src.V1_COMPOSED, ("name", "title", "parameter_form")),
            "CascadingSingleChoice": _n(src.V1_COMPOSED, BASE + ("elements", "label", "prefill")),
            "DictElement": _n(src.V1_COMPOSED, ("parameter_form", "required", "render_only", "group")),
            "DictGroup": _n(src.V1_COMPOSED, ("title", "help_text")),
            "NoGroup": _n(src.V1_COMPOSED),
            "Dictionary": _n(src.V1_COMPOSED, BASE + ("elements", "no_elements_text", "ignored_elements")),
            "Password": _n(src.V1_PRECONFIGURED, BASE),
            "Proxy": _n(src.V1_PRECONFIGURED, BASE + ("allowed_schemas",)),
            "ProxySchema": _n(src.V1_PRECONFIGURED, callable=False, note="enum http ... socks5h"),
            "migrate_to_password": _n(src.V1_MIGRATIONS, ("model",)),
            "migrate_to_proxy": _n(src.V1_MIGRATIONS, ("model",)),
            "validators": _n(src.V1_FORM_SPECS, callable=False, note="the validators module"),
        },
        VALIDATORS: {
            "ValidationError": _n(src.V1_VALIDATORS, ("message",)),
            "LengthInRange": _n(src.V1_VALIDATORS, ("min_value", "max_value", "error_msg")),
            "NumberInRange": _n(src.V1_VALIDATORS, ("min_value", "max_value", "error_msg")),
            "MatchRegex": _n(src.V1_VALIDATORS, ("regex", "error_msg")),
            "Url": _n(src.V1_VALIDATORS, ("protocols", "error_msg")),
            "UrlProtocol": _n(src.V1_VALIDATORS, callable=False, note="StrEnum; the form uses HTTP, HTTPS"),
        },
        RULE_SPECS: {
            "NotificationParameters": _n(
                src.V1_RULE_SPECS, ("title", "topic", "parameter_form", "name", "is_deprecated", "help_text")
            ),
            "Topic": _n(src.V1_RULE_SPECS, callable=False, note="enum; the form uses NOTIFICATIONS"),
        },
    }
