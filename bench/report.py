"""The table (one row per figure, with its goal), the details, and docs/performance.md.

``docs/performance.md`` has two generated blocks between HTML comment markers:
the latest results (replaced by every full run) and a history table (one row
appended per run, so figures can be compared across runs and machines).
Everything outside the markers — the "Levers" section in particular — is
written by hand and kept as it is.
"""

from __future__ import annotations

import re
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

from .figures import Bulk, Duplicates, Imports, Memory, SinglePairs, Storm
from .inventory import InventoryPairs
from .outage import Outage

# Goals of issues #6 and #13 on the 2-core reference machine.
GOAL_SINGLE_RATIO = 1.10  # issue #13 (was 1.25 in issue #6)
GOAL_CONTACTS_RATIO = 0.55  # three calls for one event vs the built-in's three posts
GOAL_DUPLICATE_RATIO = 0.30  # a duplicate or ignored call vs one built-in post
GOAL_BULK_N = 1000
GOAL_BULK_SPEEDUP = 20.0
GOAL_STORM_N = 1000
GOAL_STORM_RATIO = 1.1
GOAL_RSS_RATIO = 1.2

RESULTS_BEGIN, RESULTS_END = "<!-- bench:results:begin -->", "<!-- bench:results:end -->"
HISTORY_BEGIN, HISTORY_END = "<!-- bench:history:begin -->", "<!-- bench:history:end -->"
HISTORY_HEADER = (
    "| date (UTC) | revision | run | CPU | cores | Python | requests | single vs floor | bulk 1,000 speedup "
    "| storm vs minimum | RSS vs floor | duration | 3 contacts vs 3 posts | duplicate vs post "
    "| outage requests, coalesce on/off | outage pages avoided |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
)


@dataclass
class Results:
    single: SinglePairs
    bulks: List[Bulk]
    storm: Storm
    memory: Memory
    imports: Imports
    duplicates: Duplicates
    outage: Outage
    quick: bool
    source: str = ""  # a source tree other than the repository (a patched copy), if any
    duration: float = 0.0
    inventory: List[InventoryPairs] = field(default_factory=list)  # figure 8 (issue 12)


@dataclass
class Row:
    figure: str
    measurement: str
    ours: str
    reference: str
    ratio: str
    goal: str = "—"
    met: Optional[bool] = None

    def cells(self) -> List[str]:
        met = "—" if self.met is None else ("yes" if self.met else "**NO**")
        return [self.figure, self.measurement, self.ours, self.reference, self.ratio, self.goal, met]


def ms(seconds: float) -> str:
    return "%.1f ms" % (seconds * 1000.0)


def secs(seconds: float) -> str:
    return "%.2f s" % seconds


def mib(kb: float) -> str:
    return "%.1f MiB" % (kb / 1024.0)


def count(n: int) -> str:
    return "{:,}".format(n)


def rows(r: Results) -> List[Row]:
    s = r.single
    out = [Row(
        "1", "single notification, median of %d alternating pairs" % len(s.ours),
        ms(s.median_ours), "floor script %s" % ms(s.median_floor),
        "%.2f× (pairs %.2f–%.2f)" % (s.median_ratio, min(s.ratios), max(s.ratios)),
        "≤ %.2f×" % GOAL_SINGLE_RATIO, s.median_ratio <= GOAL_SINGLE_RATIO,
    )]
    for b in r.bulks:
        goal = b.n == GOAL_BULK_N
        out.append(Row(
            "2", "bulk of %s events in one call" % count(b.n),
            "%s (%.1f ms/event)" % (secs(b.seconds), b.per_event_ms),
            "%s single calls ≈ %s" % (count(b.n), secs(b.estimated_singles)),
            "%.1f× faster" % b.speedup,
            "≥ %g× faster" % GOAL_BULK_SPEEDUP if goal else "—",
            b.speedup >= GOAL_BULK_SPEEDUP if goal else None,
        ))
    st = r.storm
    judged = st.n == GOAL_STORM_N  # fixed start-up costs weigh more in a shorter storm
    out.append(Row(
        "3", "storm drain: %s events, limit %d per %g s window" % (count(st.n), st.limit, st.window),
        secs(st.seconds), "theoretical minimum %s" % secs(st.minimum), "%.3f×" % st.ratio,
        "≤ %.2f×" % GOAL_STORM_RATIO if judged else "—", st.ratio <= GOAL_STORM_RATIO if judged else None,
    ))
    m = r.memory
    out.append(Row(
        "4", "peak RSS, single call, median of %d" % len(m.single_kb), mib(m.single_median),
        "floor script %s" % mib(m.floor_median), "%.2f×" % m.single_ratio,
        "≤ %.2f×" % GOAL_RSS_RATIO, m.single_ratio <= GOAL_RSS_RATIO,
    ))
    out.append(Row(
        "4", "peak RSS, bulk of %s events" % count(m.bulk_n), mib(m.bulk_kb),
        "floor script %s" % mib(m.floor_median), "%.2f×" % m.bulk_ratio,
    ))
    imp = r.imports
    ours_pkg = imp.ours.cumulative("cmk_ilert")
    out.append(Row(
        "5", "import time, single call: cmk_ilert.* vs requests (cumulative, median of %d)" % imp.ours.runs,
        "cmk_ilert %.1f ms" % ours_pkg,
        "requests %.1f ms (floor: %.1f ms)" % (imp.ours.cumulative("requests"), imp.floor.cumulative("requests")),
        "—",
    ))
    out.append(Row(
        "5", "import time, single call: all imports incl. interpreter startup",
        "%.1f ms" % imp.ours.total_ms, "floor script %.1f ms" % imp.floor.total_ms,
        "%.2f×" % (imp.ours.total_ms / imp.floor.total_ms),
    ))
    d = r.duplicates
    floor_set = statistics.median([sum(f) for f in d.floor])
    ours_set = statistics.median([sum(o) for o in d.ours])
    out.append(Row(
        "6", "one event for three contacts: our three calls, median of %d rounds" % len(d.ours), ms(ours_set),
        "floor script, three posts %s" % ms(floor_set),
        "%.2f× (rounds %.2f–%.2f)" % (d.set_ratio, min(d.set_ratios), max(d.set_ratios)),
        "≤ %.2f×" % GOAL_CONTACTS_RATIO, d.set_ratio <= GOAL_CONTACTS_RATIO,
    ))
    out.append(Row(
        "6", "a duplicate call (second and third contact)", ms(d.duplicate), "one floor post %s" % ms(d.floor_post),
        "%.2f×" % d.duplicate_ratio, "≤ %.2f×" % GOAL_DUPLICATE_RATIO, d.duplicate_ratio <= GOAL_DUPLICATE_RATIO,
    ))
    out.append(Row(
        "6", "an ignored call (FLAPPINGSTART, comment_events off)", ms(statistics.median(d.ignored)),
        "one floor post %s" % ms(d.floor_post), "%.2f×" % d.ignored_ratio, "≤ %.2f×" % GOAL_DUPLICATE_RATIO,
        d.ignored_ratio <= GOAL_DUPLICATE_RATIO,
    ))
    o = r.outage
    what = "outage of %g min (1 min = %g s), %d flapping, %d failing once, %d failing on" % (
        o.minutes, o.window, o.flapping, o.one_off, o.down)
    out.append(Row(
        "7", what + ": requests iLert received", "coalesce on: %d" % o.on.requests,
        "coalesce off: %d" % o.off.requests, "%.2f×" % o.requests_ratio,
    ))
    out.append(Row(
        "7", "the same outage: pages (alerts opened in iLert)", "coalesce on: %d" % o.on.pages,
        "coalesce off: %d" % o.off.pages, "%d avoided" % o.pages_avoided,
    ))
    for inv in r.inventory:
        out.append(Row(
            "8", "inventory_facts on, %s; median of %d alternating pairs" % (inv.label, len(inv.on)),
            "%s (%+.1f ms per notification)" % (ms(inv.median_on), inv.median_extra_ms),
            "checkbox off %s" % ms(inv.median_off),
            "%.2f× (pairs %.2f–%.2f)" % (inv.median_ratio, min(inv.ratios), max(inv.ratios)),
        ))
    return out


def markdown_table(header: List[str], body: List[List[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(cells) + " |" for cells in body]
    return "\n".join(lines)


def main_table(r: Results) -> str:
    header = ["#", "measurement", "ours", "reference", "ratio", "goal", "met"]
    return markdown_table(header, [row.cells() for row in rows(r)])


def details(r: Results) -> str:
    s, st, m, imp = r.single, r.storm, r.memory, r.imports
    parts: List[str] = []
    parts.append("**1. Pairs** (ours / floor, ms, ratio): " + ", ".join(
        "%.0f/%.0f %.2f" % (o * 1000, f * 1000, o / f) for o, f in zip(s.ours, s.floor)))
    parts.append("**3. Storm**: first event accepted %s after the start of the bulk call (interpreter start, "
                 "parsing, durable enqueue of %s events); the bulk call ran %s (exit code %d), then %d flush "
                 "call(s); the stand-in answered %d × 429." % (
                     secs(st.first_accept), count(st.n), secs(st.bulk_seconds), st.bulk_returncode,
                     st.flush_calls, st.throttled))
    parts.append("**4. Memory**: method floor (the wrapper around /bin/true) %s; bare `python -c pass` %s; "
                 "floor runs %s; ours %s." % (
                     mib(m.wrapper_kb), mib(m.python_kb), ", ".join(mib(k) for k in m.floor_kb),
                     ", ".join(mib(k) for k in m.single_kb)))
    floor_top = dict(imp.floor.top)
    names = [name for name, _ in imp.ours.top[:10]]
    names += [name for name, _ in imp.floor.top[:5] if name not in names]
    ours_top = dict(imp.ours.top)
    body = [[name, "%.1f" % ours_top[name] if name in ours_top else "—",
             "%.1f" % floor_top[name] if name in floor_top else "—"] for name in names]
    parts.append("**5. Top-level imports** of a single call, cumulative ms (median of %d runs; an import "
                 "counts where it first happens, so modules both load are charged to whoever loads them "
                 "first):\n\n" % imp.ours.runs
                 + markdown_table(["module", "ours", "floor"], body))
    for inv in r.inventory:
        parts.append("**8. Inventory facts**, %s (%s file): pairs on/off, ms: %s." % (
            inv.label, "%.0f kB" % (inv.size / 1000.0) if inv.size else "no",
            ", ".join("%.0f/%.0f" % (a * 1000, b * 1000) for a, b in zip(inv.on, inv.off))))
    only = imp.ours_only()
    parts.append("Modules only our call imports (own time, total %.1f ms): %s." % (
        sum(ms_ for _, ms_ in only), ", ".join("%s %.2f" % (n, v) for n, v in only[:10]) or "none"))
    d = r.duplicates
    parts.append("**6. Three contacts** (ours: first, second, third call / floor: three posts, ms): " + ", ".join(
        "%s / %s" % ("+".join("%.0f" % (t * 1000) for t in o), "+".join("%.0f" % (t * 1000) for t in f))
        for o, f in zip(d.ours, d.floor)) + "; ignored calls: " + ", ".join("%.0f" % (t * 1000) for t in d.ignored)
        + " ms.")
    o = r.outage
    body = [[name, str(getattr(o.on, attr)), str(getattr(o.off, attr))] for name, attr in (
        ("notification calls during the outage", "calls"), ("events queued when iLert came back", "queued"),
        ("requests iLert received", "requests"), ("pages (alerts opened)", "pages"),
        ("alerts open at the end", "open_at_end"), ("events superseded (runs)", "superseded"))]
    body[-1][1] += " (%d)" % o.on.superseded_runs
    body.append(["drain after the outage (flush calls)", "%s (%d)" % (secs(o.on.drain_seconds), o.on.flush_calls),
                 "%s (%d)" % (secs(o.off.drain_seconds), o.off.flush_calls)])
    parts.append("**7. Outage** (bench/outage.py): the same notifications through two sites, one rule with "
                 "`coalesce` on, one off, each with its own key; the flapping services had a problem delivered "
                 "and resolved before the outage; every notification is one call of the installed script while "
                 "the stand-in is down; then `flush --now` drains at %d per window.\n\n" % 50
                 + markdown_table(["", "coalesce on", "coalesce off"], body))
    return "\n\n".join(parts)


def machine_lines(machine: Dict[str, str], r: Results) -> str:
    kind = "quick smoke run (fewer pairs, smaller N; not comparable)" if r.quick else "full run"
    return "\n".join([
        "- date: %s" % machine["date"],
        "- CPU: %s, %s cores" % (machine["cpu"], machine["cores"]),
        "- Python: %s" % machine["python"],
        "- requests: %s" % machine["requests"],
        "- OS: %s" % machine["os"],
        "- load average (1 min): %s (other work on the machine skews the figures)" % machine.get("load", "?"),
        "- revision: %s" % (machine["revision"] if not r.source else "source tree %s" % r.source),
        "- run: %s, %.0f s" % (kind, r.duration),
    ])


def results_block(machine: Dict[str, str], r: Results) -> str:
    return "\n\n".join([
        RESULTS_BEGIN,
        "## Latest run\n\n" + machine_lines(machine, r),
        main_table(r),
        details(r),
        RESULTS_END,
    ])


def history_row(machine: Dict[str, str], r: Results) -> str:
    big = [b for b in r.bulks if b.n == GOAL_BULK_N]
    cells = [
        machine["date"].replace(" UTC", ""), machine["revision"] if not r.source else r.source,
        "quick" if r.quick else "full",
        machine["cpu"], machine["cores"], machine["python"].split(" ")[0], machine["requests"],
        "%.2f×" % r.single.median_ratio, "%.1f×" % big[0].speedup if big else "—",
        "%.3f×" % r.storm.ratio, "%.2f×" % r.memory.single_ratio, "%.0f s" % r.duration,
        "%.2f×" % r.duplicates.set_ratio, "%.2f×" % r.duplicates.duplicate_ratio,
        "%d/%d" % (r.outage.on.requests, r.outage.off.requests), str(r.outage.pages_avoided),
    ]
    return "| " + " | ".join(cells) + " |"


TEMPLATE = """# Performance

Measured by `make bench` (`bench/run.py`; how to run it and what each figure means:
`bench/README.md`) against the local iLert stand-in, on the machine named in each run.
The block below is rewritten by every full run; the history gets one row per run.

{results_begin}
{results_end}

## History

{history_begin}
{history_header}
{history_end}

## Levers

What each change bought, measured before/after with the benchmark (written by hand).
"""


def write_docs(path: Path, machine: Dict[str, str], r: Results) -> None:
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    if RESULTS_BEGIN not in text or HISTORY_BEGIN not in text:
        text = TEMPLATE.format(results_begin=RESULTS_BEGIN, results_end=RESULTS_END, history_begin=HISTORY_BEGIN,
                               history_header=HISTORY_HEADER, history_end=HISTORY_END) + (
            "\n" + text if text else "")
    block = results_block(machine, r)
    text = re.sub(re.escape(RESULTS_BEGIN) + ".*?" + re.escape(RESULTS_END), lambda _: block, text, flags=re.S)
    # a header with new columns replaces the old one (older rows keep their fewer cells)
    header = HISTORY_BEGIN + "\n" + HISTORY_HEADER + "\n"
    text = re.sub(re.escape(HISTORY_BEGIN) + r"\n\| date.*?\n\|[-|]*\|\n", lambda _: header, text, count=1, flags=re.S)
    row = history_row(machine, r)
    text = text.replace(HISTORY_END, row + "\n" + HISTORY_END, 1)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
