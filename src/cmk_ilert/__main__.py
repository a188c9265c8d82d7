"""``python3 -m cmk_ilert``: see ``cli.py``."""

import sys

from .cli import main

sys.exit(main())
