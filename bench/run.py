#!/usr/bin/env python3
"""``make bench``: measure cmk_ilert against the local iLert stand-in; see bench/README.md.

Prints one table (each figure, its goal, met or not) and details, and writes
them to docs/performance.md (full runs; ``--quick`` only with ``--write``).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import List, Optional, Sequence

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench import figures, machine, outage, report  # noqa: E402
from bench import inventory as inventory_figure  # noqa: E402
from bench.contexts import KEY  # noqa: E402
from bench.sites import Package  # noqa: E402
from bench.standin import StandInProcess  # noqa: E402

DOCS = REPO / "docs" / "performance.md"


class Plan:
    def __init__(self, quick: bool, pairs: Optional[int]) -> None:
        self.quick = quick
        self.pairs = pairs or (4 if quick else 20)
        self.bulk_sizes: List[int] = [50, 100] if quick else [300, 1000]
        self.storm_n = 200 if quick else 1000
        self.storm_limit = 50
        self.storm_window = 1.0
        self.rss_runs = 2 if quick else 5
        self.rss_bulk_n = 100 if quick else 1000
        self.import_runs = 2 if quick else 5
        self.contact_rounds = 3 if quick else 12
        # outage: minutes (scaled: 1 min = storm_window), flapping, failing once, failing on
        self.outage = (4.0, 4, 6, 4) if quick else (10.0, 8, 16, 8)


def progress(start: float, text: str) -> None:
    sys.stderr.write("[%6.1f s] %s\n" % (time.monotonic() - start, text))
    sys.stderr.flush()


def measure(plan: Plan, release: str, source_root: Path, start: float) -> report.Results:
    with tempfile.TemporaryDirectory(prefix="cmk_ilert-bench-") as tmp:
        progress(start, "building the MKP from %s, installing it into temporary Checkmk %s sites" % (
            source_root, release))
        package = Package(Path(tmp), release, source_root)
        with StandInProcess(KEY, rate_limit=0) as standin:
            progress(start, "1. single notification vs floor: %d pairs" % plan.pairs)
            single = figures.measure_single(package, standin, plan.pairs)
            bulks = []
            for n in plan.bulk_sizes:
                progress(start, "2. bulk of %d" % n)
                bulks.append(figures.measure_bulk(package, standin, n, single.median_ours))
            progress(start, "4. peak RSS (%d runs each, bulk of %d)" % (plan.rss_runs, plan.rss_bulk_n))
            memory = figures.measure_memory(package, standin, plan.rss_runs, plan.rss_bulk_n)
            progress(start, "5. import time (%d runs each)" % plan.import_runs)
            imports = figures.measure_imports(package, standin, plan.import_runs)
            progress(start, "6. one event for three contacts: %d rounds" % plan.contact_rounds)
            duplicates = figures.measure_duplicates(package, standin, plan.contact_rounds)
            progress(start, "8. inventory facts on vs off: %d pairs each" % plan.pairs)
            inventory = inventory_figure.measure(package, standin, plan.pairs)
        progress(start, "3. storm drain: %d events at %d per %g s" % (plan.storm_n, plan.storm_limit,
                                                                      plan.storm_window))
        storm = figures.measure_storm(package, plan.storm_n, plan.storm_limit, plan.storm_window)
        progress(start, "7. outage of %g min with flapping services, coalesce on and off" % plan.outage[0])
        down = outage.measure_outage(package, *plan.outage, window=plan.storm_window)
    source = "" if source_root == REPO else str(source_root)
    return report.Results(single, bulks, storm, memory, imports, duplicates, down, plan.quick, source,
                          inventory=inventory)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/run.py", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke run: fewer pairs, smaller N (~30 s)")
    parser.add_argument("--pairs", type=int, help="alternating pairs for figure 1 (default 20, quick 4)")
    parser.add_argument("--release", default="2.4", help="simulated Checkmk release (default 2.4)")
    parser.add_argument("--write", dest="write", action="store_true", default=None,
                        help="write docs/performance.md (default for full runs of this repository)")
    parser.add_argument("--no-write", dest="write", action="store_false", help="only print")
    parser.add_argument("--source-root", type=Path, default=REPO,
                        help="source tree to build the MKP from, e.g. a patched copy (default: %(default)s)")
    parser.add_argument("--docs", type=Path, default=DOCS, help="default: %(default)s")
    args = parser.parse_args(argv)
    plan = Plan(args.quick, args.pairs)
    if plan.pairs < 1:
        parser.error("--pairs must be at least 1")
    start = time.monotonic()
    load_before = machine.load()
    results = measure(plan, args.release, args.source_root.resolve(), start)
    results.duration = time.monotonic() - start
    info = machine.describe()
    info["load"] = "%s before, %s after" % (load_before, machine.load())
    print()
    print(report.machine_lines(info, results))
    print()
    print(report.main_table(results))
    print()
    print(report.details(results))
    write = (not args.quick and not results.source) if args.write is None else args.write
    if write:
        report.write_docs(args.docs, info, results)
        print("\nwritten to %s" % args.docs)
    print("\nbench: %.0f s" % results.duration)
    return 0


if __name__ == "__main__":
    sys.exit(main())
