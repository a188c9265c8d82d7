"""Checkmk 2.0: what the legacy form depends on (see ``_sources`` for every citation)."""

from __future__ import annotations

from . import _common as c
from . import _sources as src
from ._model import Name, Registration, ReleaseFacts, SitePython

FACTS = ReleaseFacts(
    release="2.0",
    python=SitePython("3.8", src.PYTHON_20),
    modules={
        c.VALUESPEC: c.valuespecs(src.VALUESPEC_20, False, c.TRANSFORM_FORTH_BACK, src.VALUESPEC_20),
        c.WATO_UTILS: {
            "register_notification_parameters": Name(True, src.WATO_UTILS_20, ("scriptname", "valuespec")),
            "IndividualOrStoredPassword": Name(True, src.WATO_UTILS_20, c.PASSWORD),
            "HTTPProxyReference": Name(True, src.WATO_UTILS_20, (), note="takes no arguments in 2.0"),
        },
        c.I18N: c.i18n(src.VALUESPEC_20),
        "cmk.utils.version": c.version(src.PACKAGING_20),
    },
    registration=Registration(
        registry_holds="class",
        rulesets_notification_parameters_registered=False,
        unregistered_method_form="ListOfStrings (PARAMETERS, PARAMETER_1..n)",
        sources=(src.WATO_UTILS_20,),
    ),
    discovery=None,
    flattening=c.FLATTEN_20,
    password_store=c.PASSWORD_STORE_NONE_20,
    open_points=(
        "The 2.0 snapshot is a fork's tree, dated by content; a v2.0.0 tag was not readable.",
        "proxy_url 'from environment' leaving the key out is read in get_http_proxy(), not observed.",
    ),
)
