"""``python -m livestatus_standin --socket PATH --fixtures FILE``: serve until SIGTERM/SIGINT.

Prints one JSON line ``{"socket": PATH}`` once listening. Recorded commands can be read over
the same socket: ``GET standin_commands`` (columns time name args effect raw).
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType

from .control import LivestatusStandIn


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m livestatus_standin",
        description="Local stand-in for Checkmk's Livestatus (Unix socket).",
    )
    parser.add_argument("--socket", required=True, help="socket path, e.g. $OMD_ROOT/tmp/run/live")
    parser.add_argument("--fixtures", help="JSON file {hosts: [...], services: [...]}")
    parser.add_argument("--inventory-dir", help="where mk_inventory files are read from")
    parser.add_argument(
        "--no-json-inventory",
        action="store_true",
        help="read only <host>/<host>.gz (releases before the .json inventory files)",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    standin = LivestatusStandIn(
        args.socket,
        fixtures=args.fixtures,
        inventory_dir=args.inventory_dir,
        prefer_json=not args.no_json_inventory,
    ).start()
    try:
        sys.stdout.write(json.dumps({"socket": str(standin.path)}) + "\n")
        sys.stdout.flush()
        while not stop.wait(0.5):
            pass
    finally:
        standin.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
