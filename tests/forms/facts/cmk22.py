"""Checkmk 2.2: what the legacy form depends on."""

from __future__ import annotations

from . import _common as c
from . import _sources as src
from ._model import Name, PasswordStore, Registration, ReleaseFacts, SitePython

FACTS = ReleaseFacts(
    release="2.2",
    python=SitePython("3.11", src.PYTHON_22),
    modules={
        c.VALUESPEC: c.valuespecs(src.VALUESPEC_22, True, c.TRANSFORM_TO_FROM, src.NOTIFICATIONS_22),
        c.WATO_UTILS: {
            "register_notification_parameters": Name(True, src.WATO_UTILS_22, ("scriptname", "valuespec")),
            "IndividualOrStoredPassword": Name(True, src.WATO_UTILS_22, c.PASSWORD),
            "HTTPProxyReference": Name(True, src.WATO_UTILS_22, ("allowed_schemes",)),
        },
        c.I18N: c.i18n(src.VALUESPEC_22),
        "cmk.utils.version": c.version(src.MANIFEST_22),
    },
    registration=Registration(
        registry_holds="class",
        rulesets_notification_parameters_registered=False,
        unregistered_method_form="ListOfStrings (PARAMETERS, PARAMETER_1..n)",
        sources=(src.WATO_UTILS_22,),
    ),
    discovery=None,
    flattening=c.FLATTEN_21,
    password_store=PasswordStore("cmk.utils.password_store", "extract", "none", None, src.PASSWORD_STORE_22),
    open_points=(
        "The Transform keywords to_valuespec/from_valuespec are read in 2.2-era calls, not in the"
        " 2.2 signature itself; the form picks the keywords by inspecting the signature, so it works"
        " with either pair.",
    ),
)
