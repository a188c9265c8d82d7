"""Double of the Checkmk 2.0 GUI API used by ``web/plugins/wato/cmk_ilert.py``.

Offers exactly what ``tests/forms/facts/cmk20.py`` lists (sources there): ``cmk.gui.valuespec``
without ``TextInput`` (2.0 has ``TextAscii``/``TextUnicode``), ``Transform(valuespec, back,
forth, ...)``, ``cmk.gui.plugins.wato.utils`` with the class-registry
``register_notification_parameters``, ``IndividualOrStoredPassword(title, help, allow_empty,
size)`` (a ``Transform`` around the password cascading dropdown) and ``HTTPProxyReference()``
without arguments; ``cmk.utils.version.__version__``. The legacy form is exec'd into the wato
namespace like ``load_web_plugins`` does (see ``doubles/__init__.py``).
"""

from __future__ import annotations

from . import Release, new_module, package_tree
from . import _legacy_core as core

VERSION = "2.0.0p38"

DICTIONARY = ("elements", "title", "help", "required_keys", "default_keys")
TEXT = ("title", "help", "default_value", "size", "allow_empty", "regex", "regex_error")
TEXT_AREA = ("title", "help", "default_value", "cols", "rows")
CHOICES = ("choices", "title", "help", "default_value")
FIXED_VALUE = ("value", "title", "totext", "help")
CHECKBOX = ("title", "label", "help", "default_value")
INTEGER = ("title", "help", "unit", "default_value", "minvalue", "maxvalue")
TRANSFORM_FORTH_BACK = ("valuespec", "back", "forth", "title", "help", "default_value", "validate")
TRANSFORM_TO_FROM = ("valuespec", "to_valuespec", "from_valuespec", "title", "help", "default_value", "validate")


def valuespecs(text_names, transform):
    """``cmk.gui.valuespec`` of a release: ``text_names`` are the names of the one-line text
    input it has (2.0: ``TextUnicode``; 2.1/2.2: ``TextInput`` and its alias ``TextUnicode``;
    2.3+: ``TextInput``), ``transform`` the ``Transform`` double."""
    text = core.restrict(core.TextInput, TEXT, text_names[0])
    names = {
        "Dictionary": core.restrict(core.Dictionary, DICTIONARY),
        "TextAreaUnicode": core.restrict(core.TextAreaUnicode, TEXT_AREA),
        "DropdownChoice": core.restrict(core.DropdownChoice, CHOICES),
        "CascadingDropdown": core.restrict(core.CascadingDropdown, CHOICES),
        "FixedValue": core.restrict(core.FixedValue, FIXED_VALUE),
        "Checkbox": core.restrict(core.Checkbox, CHECKBOX),
        "Integer": core.restrict(core.Integer, INTEGER),
        "Transform": transform,
    }
    names.update((name, text) for name in text_names)
    return names


TRANSFORM_20 = core.restrict(core.TransformForthBack, TRANSFORM_FORTH_BACK, "Transform")


def IndividualOrStoredPassword(title=None, help=None, allow_empty=True, size=25):
    return core.TransformForthBack(
        core.password_from_store(core.CascadingDropdown, core.DropdownChoice, title, help, allow_empty, size),
        forth=lambda v: ("password", v) if not isinstance(v, tuple) else v,
    )


def HTTPProxyReference():
    return core.http_proxy_reference(core.CascadingDropdown, core.FixedValue, core.DropdownChoice)


def build(
    text_names=("TextUnicode",),
    transform=TRANSFORM_20,
    password=IndividualOrStoredPassword,
    proxy=HTTPProxyReference,
    version=VERSION,
    name="2.0",
):
    registry = core.ClassRegistry()
    wato_utils = {
        "register_notification_parameters": core.class_register_notification_parameters(registry),
        "IndividualOrStoredPassword": password,
        "HTTPProxyReference": proxy,
    }
    modules = {
        "cmk.gui.valuespec": new_module("cmk.gui.valuespec", valuespecs(text_names, transform)),
        "cmk.gui.plugins.wato.utils": new_module("cmk.gui.plugins.wato.utils", wato_utils),
        "cmk.gui.i18n": new_module("cmk.gui.i18n", {"_": core.i18n}),
        "cmk.utils.version": new_module("cmk.utils.version", {"__version__": version}),
    }
    return Release(name, package_tree(modules), registry, registry.spec)
