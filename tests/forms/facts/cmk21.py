"""Checkmk 2.1: what the legacy form depends on."""

from __future__ import annotations

from . import _common as c
from . import _sources as src
from ._model import Name, PasswordStore, Registration, ReleaseFacts, SitePython

FACTS = ReleaseFacts(
    release="2.1",
    python=SitePython("3.9", src.PYTHON_21),
    modules={
        c.VALUESPEC: c.valuespecs(src.VALUESPEC_21, True, c.TRANSFORM_FORTH_BACK, src.VALUESPEC_21),
        c.WATO_UTILS: {
            "register_notification_parameters": Name(True, src.WATO_UTILS_21, ("scriptname", "valuespec")),
            "IndividualOrStoredPassword": Name(True, src.WATO_UTILS_21, c.PASSWORD),
            "HTTPProxyReference": Name(True, src.WATO_UTILS_21, ("allowed_schemes",)),
        },
        c.I18N: c.i18n(src.VALUESPEC_21),
        "cmk.utils.version": c.version(src.VERSION_21),
    },
    registration=Registration(
        registry_holds="class",
        rulesets_notification_parameters_registered=False,
        unregistered_method_form="ListOfStrings (PARAMETERS, PARAMETER_1..n)",
        sources=(src.WATO_UTILS_21,),
    ),
    discovery=None,
    flattening=c.FLATTEN_21,
    password_store=PasswordStore("cmk.utils.password_store", "extract", "none", None, src.PASSWORD_STORE_21),
    open_points=(
        "Transform takes exactly (valuespec, back, forth, title, help, default_value, validate):"
        " an unknown keyword is a TypeError, it is not swallowed (only ValueSpec itself has **kwargs).",
    ),
)
