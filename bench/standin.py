"""The local iLert stand-in as a separate process, and what the benchmark reads from its log."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from types import TracebackType
from typing import Any, Dict, List, Optional, Type

REPO = Path(__file__).resolve().parent.parent
STANDIN_DIR = REPO / "standin"
if str(STANDIN_DIR) not in sys.path:
    sys.path.insert(0, str(STANDIN_DIR))

from ilert_standin import StandInClient  # noqa: E402

#: The paths of iLert's event endpoints (everything else in the log is admin traffic).
EVENT_PATHS = ("/api/events", "/api/v1/events/")


class StandInProcess:
    """``python -m ilert_standin`` in its own process; ``with`` starts and stops it."""

    def __init__(self, key: str, rate_limit: int = 0, rate_window: float = 60.0) -> None:
        self.key = key
        self.rate_limit = rate_limit
        self.rate_window = rate_window
        self.url = ""
        self._proc: Optional["subprocess.Popen[bytes]"] = None
        self.client: Optional[StandInClient] = None

    def __enter__(self) -> "StandInProcess":
        argv = [sys.executable, "-m", "ilert_standin", "--port", "0", "--key", self.key,
                "--rate-limit", str(self.rate_limit), "--rate-window", str(self.rate_window)]
        env = dict(os.environ, PYTHONPATH=str(STANDIN_DIR))
        self._proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
        assert self._proc.stdout is not None
        line = self._proc.stdout.readline()
        if not line:
            self._proc.wait(timeout=10)
            raise RuntimeError("the stand-in did not start (exit code %s)" % self._proc.returncode)
        self.url = str(json.loads(line)["url"])
        self.client = StandInClient(self.url, timeout=60.0)
        return self

    def __exit__(self, exc_type: Optional[Type[BaseException]], exc: Optional[BaseException],
                 tb: Optional[TracebackType]) -> None:
        if self._proc is not None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
            if self._proc.stdout is not None:
                self._proc.stdout.close()
            self._proc = None

    def events(self, since: int = 0) -> List[Dict[str, Any]]:
        """Log entries of the event endpoints from log index ``since`` on."""
        assert self.client is not None
        return [dict(e) for e in self.client.log(since) if str(e.get("path", "")).startswith(EVENT_PATHS)]

    def log_size(self) -> int:
        assert self.client is not None
        log = self.client.log()
        return int(log[-1]["index"]) + 1 if log else 0


def accepted(entries: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """The requests the stand-in accepted (2xx)."""
    return [e for e in entries if isinstance(e.get("status"), int) and 200 <= int(e["status"]) < 300]
