"""Checkmk 2.5: what both forms depend on (the modern form is the one installed there)."""

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
MODULES[c.I18N] = c.i18n(src.REGISTRY_NEWEST)
MODULES["cmk.ccc.version"] = c.version(src.VERSION_24)
MODULES.update(r.modules())

FACTS = ReleaseFacts(
    release="2.5",
    python=SitePython("3.13", src.PYTHON_25),
    modules=MODULES,
    registration=Registration(
        registry_holds="dataclass",
        rulesets_notification_parameters_registered=True,
        unregistered_method_form='Dictionary with the one required key "params" (list of str)',
        sources=(src.REGISTRY_NEWEST, src.RULESPEC_25, src.WERK_DISCOVERY),
    ),
    discovery=Discovery("cmk_addons.plugins.{family}.rulesets", "rule_spec_", src.LOADER_DISCOVERY),
    flattening=c.FLATTEN_24,
    password_store=PasswordStore(
        "cmk.utils.password_store", "extract", "raises", "MKGeneralException", src.PASSWORD_STORE_NEWEST
    ),
    open_points=(
        "Only untagged newest (master) snapshots were readable: the dataclass registry and the"
        " loader that registers NotificationParameters are dated by the werk (2.5.0b1). The modern"
        " form is found by the loader either way; the legacy form calls only"
        " register_notification_parameters(), which exists in both registry variants.",
        "Python 3.13 for 2.5 comes from a third-party MKP's notes, not from a 2.5 build file.",
        "Whether 2.5 still execs web/plugins/wato: the newest snapshot does; 2.4 announced the"
        " removal. The legacy form registers nothing on 2.5 when the modern form is installed.",
    ),
)
