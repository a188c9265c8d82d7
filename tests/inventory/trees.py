"""Inventory trees as Checkmk stores them, per release (sources: docs/inventory.md).

* 2.0: ``var/check_mk/inventory/<host>`` = ``repr()`` of nested dicts; attributes are the
  scalar members of a node, tables are lists of dicts (``StructuredDataNode._deserialize_legacy``
  reads this shape back, cmk/utils/structured_data.py of 2.1/2.2);
* 2.1 - 2.4: the same file = ``repr()`` of ``{"Attributes": {"Pairs": ...}, "Table": {"KeyColumns",
  "Rows", "Retentions"}, "Nodes": {...}}`` (``StructuredDataNode.serialize``, werk 12389);
* newer: ``<host>.json`` = ``json.dumps`` of that tree; the gzipped copy wraps it as
  ``{"meta": {...}, "raw_tree": ...}`` (cmk/inventory/..., ``_save_raw_tree(_gz)``).
"""

from __future__ import annotations

import json
from typing import Any, Dict, List

SYSTEM = {"manufacturer": "Dell Inc.", "product": "PowerEdge R640", "serial": "ABC1234", "family": "PowerEdge"}
CPU = {"model": "Intel(R) Xeon(R) Gold 6130 CPU @ 2.10GHz", "cores": 16, "threads": 32, "cpus": 1,
       "max_speed": 2100000000.0, "arch": "x86_64"}
MEMORY = {"total_ram_usable": 67108864000, "total_swap": 1023406080}
OS = {"name": "Ubuntu 22.04.3 LTS", "version": "22.04", "vendor": "Ubuntu", "type": "Linux", "arch": "x86_64"}

EXPECTED = (
    ("manufacturer", "Dell Inc."), ("model", "PowerEdge R640"), ("serial", "ABC1234"),
    ("os", "Ubuntu 22.04.3 LTS"), ("os_version", "22.04"),
    ("cpu_model", "Intel(R) Xeon(R) Gold 6130 CPU @ 2.10GHz"), ("cpu_cores", 16),
    ("ram_bytes", 67108864000), ("ram", "62.5 GiB"),
)


def package(i: int) -> Dict[str, Any]:
    """A software package row; summaries with quotes, brackets and backslashes on purpose."""
    return {"name": "pkg-%d" % i, "version": "1.%d.3-2ubuntu1" % i, "arch": "amd64", "package_type": "deb",
            "summary": "tool %d: handles 'quotes', \"double\", {braces} [brackets] (parens) and \\ back" % i,
            "package_version": "1.%d" % i, "size": i * 1024}


def legacy(packages: int = 50) -> Dict[str, Any]:
    return {
        "hardware": {"cpu": dict(CPU), "memory": dict(MEMORY, arrays=[{"devices": [{"size": 1 << 34}]}]),
                     "system": dict(SYSTEM)},
        "networking": {"interfaces": [{"index": i, "description": "eth%d" % i} for i in range(4)]},
        "software": {"os": dict(OS), "packages": [package(i) for i in range(packages)]},
    }


def _node(pairs: Dict[str, Any] = None, rows: List[Dict[str, Any]] = None,  # type: ignore[assignment]
          nodes: Dict[str, Any] = None, retentions: bool = False) -> Dict[str, Any]:  # type: ignore[assignment]
    attributes: Dict[str, Any] = {"Pairs": dict(pairs)} if pairs else {}
    if pairs and retentions:
        attributes["Retentions"] = {k: (1700000000, 3600, 7200) for k in pairs}
    table: Dict[str, Any] = {}
    if rows:
        table = {"KeyColumns": ["name"], "Rows": rows}
        if retentions:
            table["Retentions"] = {(r["name"],): {"version": (1700000000, 3600, 7200)} for r in rows[:3]}
    return {"Attributes": attributes, "Table": table, "Nodes": nodes or {}}


def structured(packages: int = 50, retentions: bool = False, order: str = "hardware-first") -> Dict[str, Any]:
    hardware = _node(nodes={"cpu": _node(CPU, retentions=retentions),
                            "memory": _node(MEMORY, nodes={"arrays": _node(nodes={"0": _node({"x": 1})})}),
                            "system": _node(SYSTEM, retentions=retentions)})
    software = _node(nodes={"packages": _node(rows=[package(i) for i in range(packages)], retentions=retentions),
                            "os": _node(OS)})
    networking = _node(nodes={"interfaces": _node(rows=[{"name": "eth%d" % i, "index": i} for i in range(4)])})
    nodes = {"hardware": hardware, "networking": networking, "software": software}
    if order != "hardware-first":
        nodes = dict(reversed(list(nodes.items())))
    return _node(nodes=nodes)


def json_text(tree: Dict[str, Any]) -> str:
    return json.dumps(tree) + "\n"


def gz_wrapped(tree: Dict[str, Any]) -> str:
    return json.dumps({"meta": {"version": "1", "do_archive": True}, "raw_tree": tree})
