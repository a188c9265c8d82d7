"""Double of the Checkmk 2.1 GUI API used by ``web/plugins/wato/cmk_ilert.py``.

Checked against Checkmk/checkmk (code index, stored-file ids):
- ``cmk/gui/plugins/wato/utils/__init__.py`` 2.1 era, id 1234270853: ``register_notification_parameters``
  unchanged (class registry), ``Transform`` still called with ``forth=`` / ``back=``
  (``DictHostTagCondition``), ``IndividualOrStoredPassword`` / ``HTTPProxyReference`` as in 2.0.
- ``cmk/gui/valuespec.py`` 2.1 era (``cmk.gui.globals``), id 30472614494: ``ValueSpec.__init__(title,
  help, default_value, validate, **kwargs)`` - unknown keywords are swallowed ("TODO: Remove **kwargs"),
  so the double's ``Transform`` swallows them too (a ``to_valuespec=`` would be silently ignored).
- ``cmk/base/events.py`` 2.1/2.2, id 1219679225: ``_1.._n`` flattening, proxy ``serialize()``.
- ``cmk/utils/version.py`` id 1425780141 (``__version__ = "2.1.0b10"``).
"""

from __future__ import annotations

from . import _legacy_core as core
from . import cmk20


def build():
    return cmk20.build(transform=core.TransformForthBackLenient, version="2.1.0p40", name="2.1")
