#!/usr/bin/env python3
"""Issue 20: per-key state after many distinct keys, and the worst inventory lookup.

Standalone (not part of ``make bench``), run from the repository::

    .venv/bin/python bench/keystate.py --keys 100000

**State and ``status``.** A state directory is filled with what delivery leaves behind for N
distinct alert keys, each alerted and resolved once (source type ``api``): the key index entry
(closed by the delivered RESOLVE), the last alert URL, the group lock, the ``closed`` marker and
the two delivered markers, in the formats of ``keyindex.py``, ``alertlinks.py`` and
``outbox.py``; the keys' modification times are spread evenly over 30 days (a simulated month of
churning hosts). Then the real command line runs against it: ``status`` (median of 5) before and
after one ``flush``, and ``status`` on an empty outbox as the baseline of the same run. Reported:
files and bytes before and after, and each ``status`` time as a ratio to the baseline.

**Inventory lookups.** ``inventory.lookup`` (in process, the notification's code path) on a
normal inventory (Checkmk 2.1+'s structured tree with 3,000 packages, ~700 kB) and on crafted
files of 7 MiB that are slow to scan: nested lists of 1 MiB strings made of escapes, nested
lists of 1 MiB number runs, a dict of 64 KiB keys, an unterminated string. Reported: the worst of
20 lookups per file (after one warm-up, file in the page cache), and its ratio to the normal
file's worst.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Dict, List, Tuple

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO))

MONTH = 30 * 24 * 3600.0


def _digest(*parts: str) -> str:
    return hashlib.sha256(b"".join(p.encode("utf-8") + b"\0" for p in parts)).hexdigest()


def fill(state: Path, keys: int, now: float) -> None:
    for name in ("queue", "sent", "dead", "tmp", "locks", "rate", "index", "journal", "links", "sync"):
        (state / name).mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(state, 0o700)
    endpoint = _digest("endpoint", "api", "https://api.ilert.com", "il1api-BENCH-KEY-0000")[:16]
    for n in range(keys):
        host = "ctr-%06d" % n
        key = "cmk/prod/%s/cpu load~%s" % (host, _digest(host)[:10])
        name = hashlib.sha256(key.encode("utf-8")).hexdigest()[:24] + ".json"
        group = _digest("group", endpoint, key)[:16]
        files: Dict[Path, bytes] = {
            state / "index" / name: json.dumps({"alert_key": key, "site": "prod", "host": host,
                                                "service": "CPU load", "closed": True}, sort_keys=True).encode(),
            state / "links" / name: json.dumps({"alert_key": key, "alert_url": "https://acme.ilert.com/alert/%d" % n,
                                                "at": now}).encode(),
            state / "locks" / (group + ".lock"): b"",
            state / "sent" / (group + ".closed"): b"",
            state / "sent" / _digest("a", key)[:32]: b"",
            state / "sent" / _digest("r", key)[:32]: b"",
        }
        when = now - MONTH * (keys - n) / keys
        for path, payload in files.items():
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            os.write(fd, payload)
            os.close(fd)
            os.utime(path, (when, when))


def usage(state: Path) -> Tuple[int, int]:
    files = size = 0
    for folder, _, names in os.walk(state):
        for name in names:
            files += 1
            size += os.lstat(os.path.join(folder, name)).st_blocks * 512
    return files, size


def cli(state: Path, *args: str) -> float:
    env = dict(os.environ, CMK_ILERT_STATE_DIR=str(state), PYTHONPATH=str(REPO / "src"), LANG="C.UTF-8")
    env.pop("OMD_ROOT", None)
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "cmk_ilert", *args], env=env, capture_output=True, text=True)
    elapsed = time.monotonic() - started
    if done.returncode not in (0, 1):
        raise SystemExit("%s failed (%d): %s" % (args[0], done.returncode, done.stdout + done.stderr))
    return elapsed


def median_status(state: Path, reps: int = 5) -> float:
    return statistics.median(cli(state, "status") for _ in range(reps))


def state_figures(keys: int) -> None:
    with tempfile.TemporaryDirectory(prefix="cmk_ilert-keystate-") as tmp:
        empty, full = Path(tmp) / "empty", Path(tmp) / "full"
        fill(empty, 0, time.time())
        now = time.time()
        started = time.monotonic()
        fill(full, keys, now)
        print("filled %d keys in %.0fs" % (keys, time.monotonic() - started))
        baseline = median_status(empty)
        files0, bytes0 = usage(full)
        before = median_status(full)
        flushes, flush, last = 0, 0.0, files0
        while flushes < 30:  # each flush prunes for at most 10 s; a backlog goes on in the next
            flush += cli(full, "flush")
            flushes += 1
            files1, bytes1 = usage(full)
            if files1 == last:
                break
            last = files1
        after = median_status(full)
        print("state after %d distinct keys over a simulated month:" % keys)
        print("  before flush: %d files, %.1f MB; after flush: %d files, %.1f MB (%.1f%% of the files)" % (
            files0, bytes0 / 1e6, files1, bytes1 / 1e6, 100.0 * files1 / max(files0, 1)))
        print("  %d flushes until nothing more was pruned: %.1fs in all" % (flushes, flush))
        print("  status on an empty outbox (baseline): %.3fs" % baseline)
        print("  status with %d keys, before flush: %.3fs = %.2f x baseline" % (keys, before, before / baseline))
        print("  status with %d keys, after flush:  %.3fs = %.2f x baseline" % (keys, after, after / baseline))


def _nested_escapes(total: int = 7 << 20, piece: int = (1 << 20) - 100) -> str:
    out, depth = '{"hardware": {"x": ', 0
    while len(out) + piece + 10 < total:
        out += "['" + "\\a" * (piece // 2) + "', "
        depth += 1
    return out + "1" + "]" * depth + "}}"


def _nested_numbers(total: int = 7 << 20, piece: int = (1 << 20) - 100) -> str:
    out, depth = '{"hardware": {"x": ', 0
    while len(out) + piece + 10 < total:
        out += "[" + "1," * (piece // 2)
        depth += 1
    return out + "1" + "]" * depth + "}}"


def _long_keys(total: int = 7 << 20, size: int = 65000) -> str:
    parts = ["'%08d%s': 1" % (n, "x" * (size - 8)) for n in range(total // (size + 5))]
    return "{" + ", ".join(parts) + "}"


def _unterminated(total: int = 7 << 20) -> str:
    return '{"hardware": {"system": {"serial": "' + "\\a" * (total // 2 - 40) + "}}}"


def inventory_figures(reps: int = 20) -> None:
    from cmk_ilert import inventory
    from tests.inventory.trees import structured

    files: List[Tuple[str, Callable[[], str]]] = [
        ("normal (3,000 packages)", lambda: repr(structured(3000))),
        ("crafted: nested 1 MiB escape strings", _nested_escapes),
        ("crafted: nested 1 MiB number runs", _nested_numbers),
        ("crafted: 64 KiB keys", _long_keys),
        ("crafted: unterminated escape string", _unterminated),
    ]
    worst: Dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="cmk_ilert-inventory-") as tmp:
        folder = Path(tmp) / "var" / "check_mk" / "inventory"
        folder.mkdir(parents=True)
        for n, (label, make) in enumerate(files):
            text = make()
            for r in range(reps + 1):
                host = "h%d-%d" % (n, r)  # its own path: the lookup's memo never answers
                (folder / host).write_text(text, encoding="utf-8")
            times = []
            for r in range(reps + 1):
                started = time.perf_counter()
                inventory.lookup(tmp, "h%d-%d" % (n, r))
                times.append(time.perf_counter() - started)
            worst[label] = max(times[1:])
            print("  %-40s %5.1f MiB  median %.1f ms, worst %.1f ms" % (
                label, len(text) / 1048576.0, statistics.median(times[1:]) * 1000, worst[label] * 1000))
    normal = worst[files[0][0]]
    crafted = max(v for k, v in worst.items() if k != files[0][0])
    print("worst crafted lookup %.1f ms = %.1f x the normal file's worst (%.1f ms); budget %.0f ms" % (
        crafted * 1000, crafted / normal, normal * 1000, inventory.DEFAULT_BUDGET * 1000))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keys", type=int, default=100000, help="distinct alert keys (default 100000)")
    parser.add_argument("--skip-state", action="store_true", help="only the inventory figures")
    args = parser.parse_args()
    print("inventory lookups (worst of 20 each):")
    inventory_figures()
    if not args.skip_state:
        state_figures(args.keys)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
