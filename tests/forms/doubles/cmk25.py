"""Double of the Checkmk 2.5 GUI APIs: the rulesets API v1 (modern form) and the legacy leftovers.

Checked against Checkmk/checkmk (code index, stored-file ids):
- ``cmk.rulesets.v1``: see ``_rulesets_v1.py`` (each file cited there).
- ``cmk/gui/rulespec.py`` (2.5/master, id 7394951879, per shared/research/checkmk-24-forms.md §1.3):
  every loaded ``NotificationParameters`` from ``cmk_addons/plugins/<family>/rulesets/*.py`` (module
  variables named ``rule_spec_*``) is registered in the notification parameter registry; werk
  "Ruleset API: Fix NotificationParameter discovery" (2.5.0b1).
- ``cmk/gui/watolib/notification_parameter/_registry.py`` (newest, id 7182713480): ``NotificationParameter``
  is a dataclass ``(ident, spec, form_spec)``; ``register_notification_parameters(scriptname, valuespec)``
  still exists and registers ``NotificationParameter(ident=scriptname, spec=lambda: valuespec)``.
- ``cmk/gui/wato/_pre_21_plugin_api.py`` id 69594041838 and ``cmk/gui/utils/__init__.py`` id 7169042621:
  legacy ``web/plugins/wato`` files are still exec'd in the newest snapshot.
- ``cmk/ccc/version.py`` (``__version__``; 2.4 snapshot id 30815115975).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Optional

from . import MODERN_DIR, Release, _rulesets_v1, cmk20, cmk23, new_module, package_tree
from . import _legacy_core as core


@dataclass(frozen=True)
class NotificationParameter:
    ident: str
    spec: Callable[[], Any]
    form_spec: Optional[Callable[[], Any]] = None


class DataclassRegistry(core.InstanceRegistry):
    def register(self, instance):
        if not isinstance(instance, NotificationParameter):
            raise TypeError("2.5 registers NotificationParameter instances, not %r" % (instance,))
        self.entries[instance.ident] = instance
        return instance

    def spec(self, method):
        return self.entries[method].spec()


def _register_factory(registry):
    def register_notification_parameters(scriptname, valuespec):
        registry.register(NotificationParameter(ident=scriptname, spec=lambda: valuespec))

    return register_notification_parameters


def build(with_modern_form=False):
    registry = DataclassRegistry(set_title=False)
    facts = cmk23.build(
        registry=registry,
        register_factory=_register_factory,
        version_module="cmk.ccc.version",
        version="2.5.0p3",
        name="2.5",
    )
    modules = dict(facts.modules)
    modules["cmk.gui.valuespec"] = new_module("cmk.gui.valuespec", cmk20.valuespec_attrs(core.TransformToFrom))
    modules.update(_rulesets_v1.modules())
    if with_modern_form:
        modules["cmk_addons"] = new_module("cmk_addons", path=[])
        modules["cmk_addons.plugins"] = new_module("cmk_addons.plugins", path=[])
        modules["cmk_addons.plugins.cmk_ilert"] = new_module("cmk_addons.plugins.cmk_ilert", path=[])
        modules["cmk_addons.plugins.cmk_ilert.rulesets"] = new_module(
            "cmk_addons.plugins.cmk_ilert.rulesets", path=[MODERN_DIR]
        )
    return Release("2.5", package_tree(modules), registry, registry.spec)
