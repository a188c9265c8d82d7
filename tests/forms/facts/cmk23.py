"""Checkmk 2.3: what the legacy form depends on."""

from __future__ import annotations

from . import _common as c
from . import _sources as src
from ._model import Discovery, Name, PasswordStore, Registration, ReleaseFacts, SitePython


def wato_names(register_source, password_source=src.PASSWORD_VS_23, proxy_source=src.HTTP_PROXY_23):
    return {
        c.NOTIFICATION_PARAMETER: {
            "register_notification_parameters": Name(True, register_source, ("scriptname", "valuespec")),
        },
        c.WATO: {
            "IndividualOrStoredPassword": Name(True, password_source, c.PASSWORD),
            "HTTPProxyReference": Name(True, proxy_source, ("allowed_schemes",)),
        },
        # filled by cmk.gui.wato._pre_21_plugin_api.register() for old plug-ins
        c.WATO_UTILS: {
            "register_notification_parameters": Name(True, src.PRE21_API, ("scriptname", "valuespec")),
            "IndividualOrStoredPassword": Name(True, src.PRE21_API, c.PASSWORD),
            "HTTPProxyReference": Name(True, src.PRE21_API, ("allowed_schemes",)),
        },
    }


MODULES = {c.VALUESPEC: c.valuespecs(src.VALUESPEC_PKG, True, c.TRANSFORM_TO_FROM, src.HELPERS_23, text_unicode=False)}
MODULES.update(wato_names(src.REGISTRY_23))
MODULES[c.I18N] = c.i18n(src.ILERT_FORM_23)
MODULES["cmk.utils.version"] = c.version(src.VERSION_23)

FACTS = ReleaseFacts(
    release="2.3",
    python=SitePython("3.12", src.PYTHON_23),
    modules=MODULES,
    registration=Registration(
        registry_holds="class",
        rulesets_notification_parameters_registered=False,
        unregistered_method_form="ListOfStrings (PARAMETERS, PARAMETER_1..n)",
        sources=(src.REGISTRY_23, src.RULESPEC_23),
    ),
    discovery=Discovery("cmk_addons.plugins.{family}.rulesets", "rule_spec_", src.LOADER_DISCOVERY),
    flattening=c.FLATTEN_21,
    password_store=PasswordStore("cmk.utils.password_store", "extract", "none", None, src.PASSWORD_STORE_23),
    open_points=("The valuespec names are cited from a 2024 snapshot of cmk/gui/valuespec/__init__.py.",),
)
