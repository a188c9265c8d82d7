"""Double of the Checkmk 2.3 GUI API (offers exactly ``tests/forms/facts/cmk23.py``).

``register_notification_parameters`` lives in ``cmk.gui.watolib.notification_parameter`` (class
registry); ``IndividualOrStoredPassword`` and ``HTTPProxyReference`` in ``cmk.gui.wato``;
``cmk.gui.wato._pre_21_plugin_api`` copies all three into ``cmk.gui.plugins.wato.utils``.
"""

from __future__ import annotations

from . import Release, cmk20, cmk21, cmk22, new_module, package_tree
from . import _legacy_core as core


def build(
    registry=None,
    register_factory=core.class_register_notification_parameters,
    version_module="cmk.utils.version",
    version="2.3.0p25",
    name="2.3",
):
    registry = registry or core.ClassRegistry()
    register = register_factory(registry)
    password = cmk22.IndividualOrStoredPassword
    proxy = cmk21.HTTPProxyReference
    modules = {
        "cmk.gui.valuespec": new_module("cmk.gui.valuespec", cmk20.valuespecs(("TextInput",), cmk22.TRANSFORM_22)),
        "cmk.gui.watolib.notification_parameter": new_module(
            "cmk.gui.watolib.notification_parameter", {"register_notification_parameters": register}, path=[]
        ),
        "cmk.gui.wato": new_module(
            "cmk.gui.wato", {"HTTPProxyReference": proxy, "IndividualOrStoredPassword": password}, path=[]
        ),
        "cmk.gui.plugins.wato.utils": new_module(
            "cmk.gui.plugins.wato.utils",
            {
                "register_notification_parameters": register,
                "IndividualOrStoredPassword": password,
                "HTTPProxyReference": proxy,
            },
        ),
        "cmk.gui.i18n": new_module("cmk.gui.i18n", {"_": core.i18n}),
        version_module: new_module(version_module, {"__version__": version}),
    }
    return Release(name, package_tree(modules), registry, registry.spec)
