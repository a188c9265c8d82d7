"""What the figures were measured on, so runs can be compared."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict

REPO = Path(__file__).resolve().parent.parent


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", "r", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def requests_version() -> str:
    try:
        import requests

        return str(requests.__version__)
    except ImportError:
        return "not installed"


def git_revision() -> str:
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True,
                              text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO,
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return (head or "unknown") + ("+dirty" if dirty else "")


def load() -> str:
    """1-minute load average: other work on the machine skews every figure."""
    try:
        return "%.2f" % os.getloadavg()[0]
    except OSError:
        return "?"


def describe() -> Dict[str, str]:
    return {
        "date": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
        "cpu": cpu_model(),
        "cores": str(os.cpu_count() or "?"),
        "python": "%s (%s)" % (platform.python_version(), sys.executable),
        "requests": requests_version(),
        "os": platform.platform(),
        "revision": git_revision(),
    }
