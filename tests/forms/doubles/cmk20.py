"""Double of the Checkmk 2.0 GUI API used by ``web/plugins/wato/cmk_ilert.py``.

Checked against Checkmk/checkmk (code index, stored-file ids):
- ``cmk/gui/plugins/wato/utils/__init__.py`` 2.0 era, id 3945507851: ``register_notification_parameters``
  (class built with ``type()``, class registry instantiates it), ``IndividualOrStoredPassword(title,
  help, allow_empty, size)`` = ``Transform(PasswordFromStore(...), forth=...)``, ``HTTPProxyReference()``
  (no arguments; choices environment / no_proxy / global / url), valuespec imports incl. ``Checkbox``,
  ``TextAscii``, ``Transform``.
- ``cmk/gui/plugins/wato/notifications.py`` 2.0 era, id 1245752780: ``TextInput(regex=, regex_error=,
  size=, default_value=, allow_empty=)``, ``TextAreaUnicode(cols=, rows=)``, ``FixedValue(value, title=,
  totext=, help=)``, ``Integer(title=, label=, unit=, help=, default_value=, minvalue=)``,
  ``Dictionary(required_keys=)``, ``Transform(CascadingDropdown(...), forth=, back=)``.
- ``cmk/gui/utils/__init__.py`` ``load_web_plugins`` (newest id 7169042621; older id 1257948797 per
  shared/research): ``exec(compile(source, path, "exec"), globalvars)`` into the wato module's globals.
- ``cmk/utils/version.py`` (``__version__`` string, 2.1 snapshot id 1425780141; 2.0 same module [M]).
"""

from __future__ import annotations

from . import Release, new_module, package_tree
from . import _legacy_core as core

VERSION = "2.0.0p38"


def IndividualOrStoredPassword(title=None, help=None, allow_empty=True, size=25):
    return core.TransformForthBack(
        core.password_from_store(core.CascadingDropdown, core.DropdownChoice, title, help, allow_empty, size),
        forth=lambda v: ("password", v) if not isinstance(v, tuple) else v,
    )


def HTTPProxyReference():
    return core.http_proxy_reference(core.CascadingDropdown, core.FixedValue, core.DropdownChoice)


def valuespec_attrs(transform):
    return {
        "DEF_VALUE": core.DEF_VALUE,
        "ValueSpec": core.ValueSpec,
        "Dictionary": core.Dictionary,
        "TextInput": core.TextInput,
        "TextAscii": core.TextAscii,
        "TextAreaUnicode": core.TextAreaUnicode,
        "DropdownChoice": core.DropdownChoice,
        "CascadingDropdown": core.CascadingDropdown,
        "FixedValue": core.FixedValue,
        "Checkbox": core.Checkbox,
        "Integer": core.Integer,
        "Password": core.Password,
        "Transform": transform,
    }


def build(transform=core.TransformForthBack, version=VERSION, name="2.0"):
    registry = core.ClassRegistry()
    register = core.class_register_notification_parameters(registry)
    wato_utils = {
        "register_notification_parameters": register,
        "notification_parameter_registry": registry,
        "NotificationParameter": core.NotificationParameter,
        "IndividualOrStoredPassword": IndividualOrStoredPassword,
        "HTTPProxyReference": HTTPProxyReference,
    }
    modules = {
        "cmk.gui.valuespec": new_module("cmk.gui.valuespec", valuespec_attrs(transform)),
        "cmk.gui.plugins.wato.utils": new_module("cmk.gui.plugins.wato.utils", wato_utils),
        "cmk.gui.plugins.wato": new_module("cmk.gui.plugins.wato", dict(wato_utils), path=[]),
        "cmk.gui.i18n": new_module("cmk.gui.i18n", {"_": core.i18n}),
        "cmk.gui.exceptions": new_module("cmk.gui.exceptions", {"MKUserError": core.MKUserError}),
        "cmk.utils.version": new_module("cmk.utils.version", {"__version__": version}),
    }
    return Release(name, package_tree(modules), registry, registry.spec)
