"""Issue 20, defect 5: ``inventory_facts`` never costs an event.

A crafted inventory file (7 MiB of nested lists whose strings are made of escapes, slow to
scan) cost 0.5-0.9 s per host before the fix: the scanner read the clock every 64 steps and a
step could scan 1 MiB twice, and the lookups ran before anything was queued, so a bulk of 70
such hosts ran into the 55 s watchdog with nothing sent or queued. Now each lookup keeps its
budget, all lookups of a run share one, and the events are on disk before any lookup runs.
"""

from __future__ import annotations

import os

from tests.hostile.conftest import T0, no_crash, posted, run
from tests.support.contexts import api_params, service
from tests.support.site import bulk_stdin

HOSTS = 60


def crafted(total: int = 7 << 20, piece: int = (1 << 20) - 100) -> str:
    """Nested lists, each holding a 1 MiB string of escapes before the next list."""
    out = '{"hardware": {"x": '
    depth = 0
    while len(out) + piece + 10 < total:
        out += "['" + "\\a" * (piece // 2) + "', "
        depth += 1
    return out + "1" + "]" * depth + "}}"


def test_a_bulk_of_hosts_with_crafted_inventories_loses_nothing_and_ends_in_time(site, standin):
    standin.configure(rate_limit=0)
    folder = site.root / "var" / "check_mk" / "inventory"
    folder.mkdir(parents=True)
    first = folder / "h000"
    first.write_text(crafted(), encoding="utf-8")
    for i in range(1, HOSTS):
        os.link(first, folder / ("h%03d" % i))  # one file on disk, a path (and a lookup) per host
    rule = api_params(standin.url, inventory_facts="True", rate_limit="0")
    contexts = [service("PROBLEM", rule, HOSTNAME="h%03d" % i, MICROTIME=str(T0 + i)) for i in range(HOSTS)]
    result = run(site, raw_stdin=bulk_stdin({}, contexts), timeout=60)
    no_crash(result)
    sent = len(posted(standin))
    queued = len(site.queue())
    assert sent + queued == HOSTS and not site.dead(), (sent, queued, result.output[-800:])
    assert result.elapsed < 15.0, "a bulk of %d notifications took %.1fs (Checkmk kills at 60 s)" % (
        HOSTS, result.elapsed)
    assert "stopped after" not in result.output


