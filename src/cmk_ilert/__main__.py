"""``python3 -m cmk_ilert``: see ``cli.py``."""

import sys

from .admin.cli import main

sys.exit(main())
