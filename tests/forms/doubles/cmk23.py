"""Double of the Checkmk 2.3 GUI API used by ``web/plugins/wato/cmk_ilert.py``.

Checked against Checkmk/checkmk (code index, stored-file ids):
- ``cmk/gui/watolib/notification_parameter/_registry.py`` 2.3 era, id 11632303169: class registry,
  ``register_notification_parameters(scriptname, valuespec)`` builds the class with ``type()``.
- ``cmk/gui/wato/_pre_21_plugin_api.py`` id 69594041838 (newest snapshot; present since 2.3 [M]):
  ``register()`` copies ``register_notification_parameters``, ``IndividualOrStoredPassword``,
  ``HTTPProxyReference`` ... into ``cmk.gui.plugins.wato`` and ``cmk.gui.plugins.wato.utils``.
- ``cmk/gui/wato/_notification_parameter/_ilert.py`` 2.3 era, id 30356672738:
  ``from cmk.gui.wato import HTTPProxyReference``; ``cmk/gui/wato/_notification_parameter/_helpers.py``
  id 30282293580: ``Transform(valuespec=, to_valuespec=, from_valuespec=)``.
- ``cmk/gui/wato/pages/_password_store_valuespecs.py`` id 11011402174: ``IndividualOrStoredPassword(title,
  help, allow_empty, size)`` is a plain ``CascadingDropdown`` (password / store).
- ``cmk/gui/wato/_http_proxy.py`` id 13462372821: ``HTTPProxyReference(allowed_schemes=...)``.
"""

from __future__ import annotations

from . import Release, cmk20, new_module, package_tree
from . import _legacy_core as core


def IndividualOrStoredPassword(title=None, help=None, allow_empty=True, size=25):
    return core.password_from_store(core.CascadingDropdown, core.DropdownChoice, title, help, allow_empty, size)


def HTTPProxyReference(allowed_schemes=frozenset(("http", "https", "socks4", "socks4a", "socks5", "socks5h"))):
    return core.http_proxy_reference(core.CascadingDropdown, core.FixedValue, core.DropdownChoice)


def build(
    registry=None,
    register_factory=core.class_register_notification_parameters,
    version_module="cmk.utils.version",
    version="2.3.0p25",
    name="2.3",
):
    registry = registry or core.ClassRegistry()
    register = register_factory(registry)
    pre21 = {
        "register_notification_parameters": register,
        "notification_parameter_registry": registry,
        "NotificationParameter": core.NotificationParameter,
        "IndividualOrStoredPassword": IndividualOrStoredPassword,
        "HTTPProxyReference": HTTPProxyReference,
    }
    modules = {
        "cmk.gui.valuespec": new_module("cmk.gui.valuespec", cmk20.valuespec_attrs(core.TransformToFrom)),
        "cmk.gui.watolib.notification_parameter": new_module(
            "cmk.gui.watolib.notification_parameter",
            {
                "register_notification_parameters": register,
                "notification_parameter_registry": registry,
                "NotificationParameter": core.NotificationParameter,
            },
            path=[],
        ),
        "cmk.gui.wato": new_module(
            "cmk.gui.wato",
            {"HTTPProxyReference": HTTPProxyReference, "IndividualOrStoredPassword": IndividualOrStoredPassword},
            path=[],
        ),
        # filled by cmk.gui.wato._pre_21_plugin_api.register()
        "cmk.gui.plugins.wato.utils": new_module("cmk.gui.plugins.wato.utils", dict(pre21)),
        "cmk.gui.plugins.wato": new_module("cmk.gui.plugins.wato", dict(pre21), path=[]),
        "cmk.gui.i18n": new_module("cmk.gui.i18n", {"_": core.i18n}),
        "cmk.gui.exceptions": new_module("cmk.gui.exceptions", {"MKUserError": core.MKUserError}),
        version_module: new_module(version_module, {"__version__": version}),
    }
    return Release(name, package_tree(modules), registry, registry.spec)
