"""Checkmk 2.4: what the legacy form depends on, and why the modern form is not used there."""

from __future__ import annotations

from . import _common as c
from . import _sources as src
from ._model import Discovery, PasswordStore, Registration, ReleaseFacts, SitePython
from .cmk23 import wato_names

MODULES = {
    c.VALUESPEC: c.valuespecs(src.VALUESPEC_PKG, True, c.TRANSFORM_TO_FROM, src.VALUESPEC_PKG, text_unicode=False)
}
MODULES.update(wato_names(src.REGISTRY_24))
MODULES[c.I18N] = c.i18n(src.REGISTRY_24)
MODULES["cmk.ccc.version"] = c.version(src.VERSION_24)

FACTS = ReleaseFacts(
    release="2.4",
    python=SitePython("3.12", src.PYTHON_24),
    modules=MODULES,
    registration=Registration(
        registry_holds="instance",
        rulesets_notification_parameters_registered=False,
        unregistered_method_form='Dictionary with the one required key "params" (list of str)',
        sources=(src.REGISTRY_24, src.RULESPEC_24, src.WERK_DISCOVERY, src.MIGRATE_NOTIFICATIONS_24),
    ),
    discovery=Discovery("cmk_addons.plugins.{family}.rulesets", "rule_spec_", src.LOADER_DISCOVERY),
    flattening=c.FLATTEN_24,
    password_store=PasswordStore(
        "cmk.utils.password_store", "extract", "raises", "MKGeneralException", src.PASSWORD_STORE_24
    ),
    open_points=(
        "No 2.4 branch file was readable. The 2.4-era rulespec loader registers no"
        " NotificationParameters; the loader that does is dated after the werk 'Ruleset API: Fix"
        " NotificationParameter discovery' (version 2.5.0b1). A 2.4.0pN backport is not shown by"
        " any source read; the legacy form is registered on 2.4 either way.",
    ),
)
