"""Figure 6: what ``inventory_facts`` costs per notification (issue 12).

The same single notification (installed script, ``api`` source type) with the checkbox on and
off, in alternating pairs (on first in even pairs, off first in odd ones) after one unmeasured
warm-up pair, in two situations:

* the host has a realistic inventory: Checkmk 2.1+'s structured tree as a Python literal with
  3,000 software packages (~650 kB, ``tests/inventory/trees.py``), in
  ``var/check_mk/inventory/<host>`` -- the file a site really reads;
* the host has no inventory at all (no file, no Livestatus socket): the cost of a miss.

Every event has its own host, and that host's file is written before the pair (not timed), so
the page cache holds it as it would on a site where the inventory ran recently. The figure
checks that "on" events carried ``customDetails.inventory`` and "off" events did not.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any, Dict, List

from tests.inventory.trees import structured

from .contexts import Contexts, notify_env
from .sites import Package, Site, check, timed
from .standin import StandInProcess

PACKAGES = 3000


@dataclass
class InventoryPairs:
    label: str
    size: int  # bytes of the host's inventory file, 0 = none
    on: List[float] = field(default_factory=list)
    off: List[float] = field(default_factory=list)

    @property
    def ratios(self) -> List[float]:
        return [a / b for a, b in zip(self.on, self.off)]

    @property
    def median_ratio(self) -> float:
        return statistics.median(self.ratios)

    @property
    def median_extra_ms(self) -> float:
        return statistics.median((a - b) * 1000.0 for a, b in zip(self.on, self.off))

    @property
    def median_on(self) -> float:
        return statistics.median(self.on)

    @property
    def median_off(self) -> float:
        return statistics.median(self.off)


def measure(package: Package, standin: StandInProcess, pairs: int) -> List[InventoryPairs]:
    from .figures import compile_site

    text = repr(structured(packages=PACKAGES, retentions=True))
    out = []
    for label, content in (("realistic inventory (structured tree, %d packages)" % PACKAGES, text),
                           ("no inventory for the host", "")):
        site = package.new_site("inventory")
        compile_site(site)
        out.append(_pairs(site, standin, pairs, label, content))
    return out


def _pairs(site: Site, standin: StandInProcess, pairs: int, label: str, content: str) -> InventoryPairs:
    ctxs = Contexts(standin.url, rate_limit=0)
    folder = site.root / "var" / "check_mk" / "inventory"
    folder.mkdir(parents=True, exist_ok=True)
    result = InventoryPairs(label, len(content.encode("utf-8")))
    since = standin.log_size()
    expected: Dict[str, bool] = {}
    for n in range(pairs + 1):
        runs = []
        for checkbox in (("True", "") if n % 2 == 0 else ("", "True")):
            ctx = ctxs.one()
            ctx["PARAMETER_INVENTORY_FACTS"] = checkbox
            if content:
                (folder / ctx["HOSTNAME"]).write_text(content, encoding="utf-8")
            expected[ctx["HOSTNAME"]] = bool(checkbox) and bool(content)
            run = check(timed(site.notify_argv(), site.env(notify_env(ctx))), "inventory figure")
            runs.append((bool(checkbox), run.seconds))
        if n == 0:
            continue  # warm-up pair
        for on, seconds in runs:
            (result.on if on else result.off).append(seconds)
    _verify(standin, since, expected)
    return result


def _verify(standin: StandInProcess, since: int, expected: Dict[str, bool]) -> None:
    seen: Dict[str, bool] = {}
    for entry in standin.events(since):
        body: Any = entry.get("body")
        if isinstance(body, dict) and isinstance(body.get("customDetails"), dict):
            details = body["customDetails"]
            seen[str(details.get("host"))] = "inventory" in details
    if seen != expected:
        wrong = sorted(h for h in expected if seen.get(h) != expected[h])
        raise RuntimeError("inventory figure: facts missing or unexpected for %d events (%s)" % (
            len(wrong), ", ".join(wrong[:5])))
