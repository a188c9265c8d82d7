"""What Checkmk's main branch shows for the release after 2.5 (no double models it)."""

from __future__ import annotations

from . import _common as c
from . import _rulesets as r
from . import _sources as src
from ._model import Discovery, PasswordStore, Registration, ReleaseFacts, SitePython
from .cmk23 import wato_names

MODULES = {
    c.VALUESPEC: c.valuespecs(src.VALUESPEC_PKG, True, c.TRANSFORM_TO_FROM, src.VALUESPEC_PKG, text_unicode=False)
}
MODULES.update(wato_names(src.REGISTRY_NEWEST))
MODULES.update(r.modules())

FACTS = ReleaseFacts(
    release="master",
    python=SitePython(">=3.14", src.MKP_TOOL_MASTER),
    modules=MODULES,
    registration=Registration(
        registry_holds="dataclass",
        rulesets_notification_parameters_registered=True,
        unregistered_method_form='Dictionary with the one required key "params" (list of str)',
        sources=(src.REGISTRY_NEWEST, src.RULESPEC_25),
    ),
    discovery=Discovery("cmk_addons.plugins.{family}.rulesets", "rule_spec_", src.LOADER_DISCOVERY),
    flattening=c.FLATTEN_24,
    password_store=PasswordStore(
        "cmk.utils.password_store", "extract", "raises", "MKGeneralException", src.PASSWORD_STORE_NEWEST
    ),
    open_points=(
        "The exact Python of the next release was not readable; its package tool needs the 3.14"
        " grammar (PEP 758). No 3.14 interpreter is on this machine and CPython is not on the"
        " package index: tests/forms/test_python_compat.py checks the newest grammar available"
        " and the modules removed in 3.13/3.14.",
    ),
)
