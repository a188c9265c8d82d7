"""Fact files: what each Checkmk release offers the forms, each fact citing Checkmk's source.

``FACTS[release]`` for "2.0" ... "2.5" (each modelled by a double in ``tests/forms/doubles``,
pinned by ``test_doubles_match_facts.py``) and "master" (what the main branch shows for the next
release). Model: ``_model.py``; citations: ``_sources.py``.
"""

from __future__ import annotations

from typing import Dict

from . import cmk20, cmk21, cmk22, cmk23, cmk24, cmk25, master
from ._model import ReleaseFacts

FACTS: Dict[str, ReleaseFacts] = {
    module.FACTS.release: module.FACTS for module in (cmk20, cmk21, cmk22, cmk23, cmk24, cmk25, master)
}
RELEASES = ("2.0", "2.1", "2.2", "2.3", "2.4", "2.5")
