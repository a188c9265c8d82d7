"""Double of the Checkmk 2.4 GUI API (offers exactly ``tests/forms/facts/cmk24.py``).

As 2.3, but the registry holds *instances* (``register_notification_parameters`` registers
``parameter_class()``), a valuespec form is wrapped element by element for the FormSpec world,
and "Migrate notifications" (2.3 -> 2.4 update) validates every stored dict with the form
registered then (``InstanceRegistry.validate_for_update``). The version lives in
``cmk.ccc.version``. The rulesets loader of 2.4 registers no ``NotificationParameters`` (facts).
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
