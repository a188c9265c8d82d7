"""Double of the Checkmk 2.5 GUI APIs (offers exactly ``tests/forms/facts/cmk25.py``).

The rulesets API v1 (``_rulesets_v1.py``) for the modern form, found like the loader finds it
(``cmk_addons.plugins.<family>.rulesets``, variables ``rule_spec_*``) and registered as a
notification method form (werk "Ruleset API: Fix NotificationParameter discovery", 2.5.0b1);
the legacy names as in 2.3/2.4, with the registry of ``NotificationParameter`` dataclass
instances (``register_notification_parameters`` wraps the valuespec).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Optional

from . import MODERN_DIR, Release, _rulesets_v1, cmk23, new_module, package_tree
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
    modules.update(_rulesets_v1.modules())
    if with_modern_form:
        modules["cmk_addons"] = new_module("cmk_addons", path=[])
        modules["cmk_addons.plugins"] = new_module("cmk_addons.plugins", path=[])
        modules["cmk_addons.plugins.cmk_ilert"] = new_module("cmk_addons.plugins.cmk_ilert", path=[])
        modules["cmk_addons.plugins.cmk_ilert.rulesets"] = new_module(
            "cmk_addons.plugins.cmk_ilert.rulesets", path=[MODERN_DIR]
        )
    return Release("2.5", package_tree(modules), registry, registry.spec)
