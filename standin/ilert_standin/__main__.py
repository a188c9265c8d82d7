"""``python -m ilert_standin``: run the stand-in until SIGTERM/SIGINT.

Once listening it prints exactly one JSON line, ``{"url": ..., "port": ...}``, to stdout.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType

from .control import StandIn
from .state import RETRY_AFTER_MODES


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m ilert_standin",
        description="Local stand-in for iLert's event APIs.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 = any free port")
    parser.add_argument(
        "--key", action="append", default=[], help="valid integration key"
    )
    parser.add_argument(
        "--unauthorized-key", action="append", default=[], help="key answered with 401"
    )
    parser.add_argument(
        "--heartbeat-key", action="append", default=[], help="heartbeat key"
    )
    parser.add_argument(
        "--rate-limit", type=int, default=50, help="per key and window; 0 = off"
    )
    parser.add_argument("--rate-window", type=float, default=60.0, help="seconds")
    parser.add_argument(
        "--retry-after-mode", choices=RETRY_AFTER_MODES, default="always"
    )
    parser.add_argument(
        "--empty-202-body",
        action="store_true",
        help="answer /api/events with an empty 202",
    )
    parser.add_argument(
        "--user-api-key",
        action="append",
        default=[],
        help="user API key (REST API, Bearer) that may read alerts",
    )
    parser.add_argument(
        "--user-api-key-no-read",
        action="append",
        default=[],
        help="user API key without read permission (403)",
    )
    parser.add_argument(
        "--api-rate-limit", type=int, default=120, help="per user API key and window"
    )
    parser.add_argument(
        "--source-id",
        action="append",
        default=[],
        metavar="KEY=ID",
        help="numeric alert source id of an integration key",
    )
    parser.add_argument(
        "--source-type",
        action="append",
        default=[],
        metavar="KEY=TYPE",
        help="integration type of a key, api or checkmk: found only by its own endpoint",
    )
    parser.add_argument("--certfile", help="PEM certificate (chain): serve HTTPS")
    parser.add_argument("--keyfile", help="PEM private key, if not in --certfile")
    parser.add_argument("--verbose", action="store_true", help="log requests to stderr")
    args = parser.parse_args(argv)
    if args.keyfile and not args.certfile:
        parser.error("--keyfile needs --certfile")
    ids = {}
    for item in args.source_id:
        key, _, number = item.rpartition("=")
        if not key or not number.isdigit():
            parser.error(f"--source-id needs KEY=ID, not {item!r}")
        ids[key] = int(number)
    args.source_ids = ids
    types = {}
    for item in args.source_type:
        key, _, kind = item.rpartition("=")
        if not key or kind not in ("api", "checkmk"):
            parser.error(f"--source-type needs KEY=api or KEY=checkmk, not {item!r}")
        types[key] = kind
    args.source_types = types
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    standin = StandIn(
        keys=args.key,
        unauthorized_keys=args.unauthorized_key,
        heartbeat_keys=args.heartbeat_key,
        source_types=args.source_types,
        rate_limit=args.rate_limit,
        rate_window=args.rate_window,
        retry_after_mode=args.retry_after_mode,
        host=args.host,
        port=args.port,
        certfile=args.certfile,
        keyfile=args.keyfile,
        empty_202_body=args.empty_202_body,
        user_api_keys=args.user_api_key,
        user_api_keys_no_read=args.user_api_key_no_read,
        api_rate_limit=args.api_rate_limit,
        source_ids=args.source_ids,
        verbose=args.verbose,
    ).start()
    try:
        sys.stdout.write(json.dumps({"url": standin.url, "port": standin.port}) + "\n")
        sys.stdout.flush()
        while not stop.wait(0.5):
            pass
    finally:
        standin.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
