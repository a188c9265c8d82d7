"""The HW/SW inventory columns: the bytes of a file, as Livestatus serves them.

Livestatus never parses the inventory: ``mk_inventory`` is "the file content of the Check_MK
HW/SW Inventory", ``mk_inventory_gz`` "the gzipped file content", ``mk_inventory_last`` the
file's mtime (0 = no inventory). What changes between releases is which file and what is in it.

Which file (Livestatus, ``Checkmk/checkmk``):

* 2.0 / 2.1 (``livestatus/src/TableHosts.cc``, ``HostFileColumn`` with the inventory path and
  suffix ``""`` / ``".gz"``) and the 2.2+ ``BlobColumn``/``BlobFileReader`` form
  (``packages/livestatus/src/TableHosts.cc``): ``var/check_mk/inventory/<host>`` and
  ``<host>.gz``.
* The current development line (``packages/livestatus/src/TableHosts.cc`` @ 07a2c02c,
  ``try_json`` "TODO CMK-23408"): ``<host>.json`` / ``<host>.json.gz`` when that file exists,
  else the old names. Which release first ships this could not be pinned down from the stored
  sources (not 2.0-2.2); a client must accept both.

What is in it (the writer, ``cmk/utils/structured_data.py`` / ``cmk/inventory``):

* 2.0: ``StructuredDataTree.save_to``: ``repr`` of the legacy nested tree
  (``{"hardware": {"cpu": {...}}, "software": {"packages": [...]}}``), a Python literal; the
  ``.gz`` holds the same text gzipped.
* 2.1+ (werk #12389, "HW/SW Inventory: Change raw tree structure", 2.1.0b1):
  ``{"Attributes": {"Pairs": {...}}, "Table": {"KeyColumns": [...], "Rows": [...]},
  "Nodes": {name: <same shape>}}``, still a Python literal (``TreeStore.save``, commit
  00a18ede); old files are migrated when read, so a site may still hold legacy files.
* JSON line: ``{"meta": {"version": "1", ...}, "raw_tree": <the 2.1+ shape>}`` as JSON in
  ``<host>.json`` (``InventoryStore.save_inventory_tree``; its tests assert ``heute.json`` and
  ``heute.json.gz`` exist and the extension-less files do not).

The stand-in serves whatever file the test put there, byte for byte: a host's fixture may name
``mk_inventory_file`` / ``mk_inventory_gz_file`` directly, else the stand-in looks in its
``inventory_dir`` like Livestatus (``prefer_json`` models the newest lookup). A missing or
unreadable file serves an empty blob and ``mk_inventory_last`` 0. Encoding in the answer: see
``render.py`` (JSON: latin-1 text, one character per byte).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def inventory_file(
    host: dict[str, Any], inventory_dir: Path | None, gz: bool, prefer_json: bool
) -> Path | None:
    """The file Livestatus would read for ``mk_inventory`` (``gz``: ``mk_inventory_gz``)."""
    named = host.get("mk_inventory_gz_file" if gz else "mk_inventory_file")
    if named:
        return Path(named)
    if inventory_dir is None:
        return None
    suffix = ".gz" if gz else ""
    if prefer_json:
        candidate = inventory_dir / f"{host['name']}.json{suffix}"
        if candidate.exists():
            return candidate
    return inventory_dir / f"{host['name']}{suffix}"


def read_blob(path: Path | None) -> bytes:
    if path is None:
        return b""
    try:
        return path.read_bytes()
    except OSError:
        return b""


def mtime(path: Path | None) -> int:
    if path is None:
        return 0
    try:
        return int(path.stat().st_mtime)
    except OSError:
        return 0
