"""Double of the Checkmk 2.2 GUI API (offers exactly ``tests/forms/facts/cmk22.py``).

Differences to 2.1: ``Transform(valuespec, to_valuespec, from_valuespec, ...)``;
``IndividualOrStoredPassword`` returns the cascading dropdown itself (no ``Transform``).
"""

from __future__ import annotations

from . import _legacy_core as core
from . import cmk20, cmk21

TRANSFORM_22 = core.restrict(core.TransformToFrom, cmk20.TRANSFORM_TO_FROM, "Transform")


def IndividualOrStoredPassword(title=None, help=None, allow_empty=True, size=25):
    return core.password_from_store(core.CascadingDropdown, core.DropdownChoice, title, help, allow_empty, size)


def build():
    return cmk20.build(
        text_names=("TextInput", "TextUnicode"),
        transform=TRANSFORM_22,
        password=IndividualOrStoredPassword,
        proxy=cmk21.HTTPProxyReference,
        version="2.2.0p30",
        name="2.2",
    )
