"""Make ``ilert_standin`` importable without installing it."""

from __future__ import annotations

import sys
from pathlib import Path

STANDIN_DIR = Path(__file__).resolve().parents[2] / "standin"
if str(STANDIN_DIR) not in sys.path:
    sys.path.insert(0, str(STANDIN_DIR))
