"""Where the outbox lives.

On a site: ``$OMD_ROOT/var/cmk_ilert`` (below ``var/`` so it survives package
updates and is part of site backups). Outside a site (dry runs on a laptop,
tests): ``$CMK_ILERT_STATE_DIR`` if set, else ``$XDG_STATE_HOME/cmk_ilert``,
else ``~/.local/state/cmk_ilert``.
"""

from __future__ import annotations

import os
from typing import Mapping


def state_dir(environ: Mapping[str, str]) -> str:
    explicit = environ.get("CMK_ILERT_STATE_DIR")
    if explicit:
        return explicit
    omd_root = environ.get("OMD_ROOT")
    if omd_root:
        return os.path.join(omd_root, "var", "cmk_ilert")
    base = environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return os.path.join(base, "cmk_ilert")
