"""Double of the Checkmk 2.4 GUI API used by ``web/plugins/wato/cmk_ilert.py``.

Checked against Checkmk/checkmk (code index, stored-file ids):
- ``cmk/gui/watolib/notification_parameter/_registry.py`` 2.4 era, id 10887566976: the registry holds
  *instances*; ``register_notification_parameters`` registers ``parameter_class()``; a class whose
  ``_form_spec`` raises ``NotImplementedError`` is a valuespec form, wrapped for the FormSpec world by
  ``_construct_form_spec_from_valuespec`` (``valuespec._elements()``, ``valuespec._required_keys``,
  one ``LegacyValueSpec`` per element) - used by the 2.3 -> 2.4 update to validate stored rules.
- ``cmk/update_config/plugins/actions/migrate_notifications.py`` (ids 58803767813, 7747869431, as summarised
  in shared/research/checkmk-24-forms.md §3.1): validates every inline parameter dict with that form, aborts
  on any message, writes ``to_disk``; a method with a script but no form gets ``parameter_called()``.
- ``cmk/gui/valuespec/__init__.py`` 2024 snapshot, id 40289388802: still exports ``Dictionary``,
  ``TextInput``, ``TextAreaUnicode``, ``DropdownChoice``, ``CascadingDropdown``, ``FixedValue``,
  ``Checkbox``, ``Integer``, ``Transform``, ``Migrate``.
- ``cmk/ccc/version.py`` id 30815115975 (``__version__ = "2.4.0b1"``).
"""

from __future__ import annotations

from . import _legacy_core as core
from . import cmk23


def build():
    return cmk23.build(
        registry=core.InstanceRegistry(set_title=False),
        register_factory=core.instance_register_notification_parameters,
        version_module="cmk.ccc.version",
        version="2.4.0p12",
        name="2.4",
    )
