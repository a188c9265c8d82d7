"""Double of the Checkmk 2.2 GUI API used by ``web/plugins/wato/cmk_ilert.py``.

Checked against Checkmk/checkmk (code index, stored-file ids):
- ``cmk/gui/plugins/wato/utils/__init__.py`` 2.2 era (``RuleGroup.NotificationParameters``), id 39060175779:
  ``register_notification_parameters`` unchanged (class registry).
- ``cmk/gui/plugins/wato/notifications.py`` @01975b55, id 30244026358: ``Transform(valuespec=...,
  to_valuespec=..., from_valuespec=...)`` - the 2.2 keywords; ``FixedValue(value=True, ...)``;
  ``from cmk.gui.plugins.wato.utils import HTTPProxyReference, IndividualOrStoredPassword``.
- ``cmk/utils/version.py`` (``__version__``).
"""

from __future__ import annotations

from . import _legacy_core as core
from . import cmk20


def build():
    return cmk20.build(transform=core.TransformToFrom, version="2.2.0p30", name="2.2")
