"""External commands: ``COMMAND [<epoch>] NAME;arg;arg...`` -- recorded, some applied.

Livestatus answers nothing to a command (handbook ``livestatus.asciidoc``, "Setting commands";
Checkmk's Python client sends ``"COMMAND " + command + "\\n"`` and an empty line). "Commands
with a missing time stamp will be discarded, without issuing an error message". Argument lists
are the Nagios ones the references table links to:

* ``ACKNOWLEDGE_HOST_PROBLEM;<host>;<sticky>;<notify>;<persistent>;<author>;<comment>``
* ``ACKNOWLEDGE_SVC_PROBLEM;<host>;<service>;<sticky>;<notify>;<persistent>;<author>;<comment>``
* ``ADD_HOST_COMMENT;<host>;<persistent>;<author>;<comment>``
* ``ADD_SVC_COMMENT;<host>;<service>;<persistent>;<author>;<comment>``
* ``REMOVE_HOST_ACKNOWLEDGEMENT;<host>``, ``REMOVE_SVC_ACKNOWLEDGEMENT;<host>;<service>``

Effects on the fixture data: an acknowledgement sets ``acknowledged`` 1,
``acknowledgement_type`` 2 when sticky is 2 else 1, and adds a comment (entry type 4) with
author and comment; acknowledging a host that is UP or a service that is OK changes nothing
(the core refuses to acknowledge a non-problem); removing it resets both and drops the
acknowledgement comments; ``ADD_*_COMMENT`` adds a comment (entry type 1). The last field
(the comment) may contain ``;``. Unknown objects, wrong argument counts and other commands
are recorded with the reason and change nothing. Each record: ``time`` (when received),
``timestamp`` (the ``[epoch]``), ``name``, ``args``, ``effect``, ``raw``.
"""

from __future__ import annotations

import re
import time
from typing import Any

from .model import Row, Site

_COMMAND = re.compile(r"^COMMAND\s+(?:\[(\d+)\]\s*)?([A-Z_0-9]+)(?:;(.*))?$")
#: name -> (number of fields, index of the host, index of the service or None)
_ARITY = {
    "ACKNOWLEDGE_HOST_PROBLEM": 6,
    "ACKNOWLEDGE_SVC_PROBLEM": 7,
    "ADD_HOST_COMMENT": 4,
    "ADD_SVC_COMMENT": 5,
    "REMOVE_HOST_ACKNOWLEDGEMENT": 1,
    "REMOVE_SVC_ACKNOWLEDGEMENT": 2,
}


def parse_command(line: str) -> dict[str, Any]:
    match = _COMMAND.match(line.strip())
    record: dict[str, Any] = {
        "time": time.time(),
        "timestamp": None,
        "name": "",
        "args": [],
        "effect": "",
        "raw": line.rstrip("\n"),
    }
    if match is None:
        record["effect"] = "error: not a command line"
        return record
    stamp, name, rest = match.groups()
    record["timestamp"] = None if stamp is None else int(stamp)
    record["name"] = name
    arity = _ARITY.get(name)
    text = rest or ""
    record["args"] = text.split(";", arity - 1) if arity else (text.split(";") if text else [])
    return record


def _target(site: Site, name: str, args: list[str]) -> tuple[Row | None, str]:
    if "_SVC_" in name:
        row = site.services.get((args[0], args[1]))
        return row, "" if row else f"error: unknown service {args[0]};{args[1]}"
    row = site.hosts.get(args[0])
    return row, "" if row else f"error: unknown host {args[0]}"


def apply_command(site: Site, record: dict[str, Any]) -> None:
    """Apply a parsed command to ``site``; set ``record["effect"]``."""
    name, args = record["name"], record["args"]
    if record["effect"]:
        return
    if record["timestamp"] is None:
        record["effect"] = "discarded: no [timestamp]"
        return
    arity = _ARITY.get(name)
    if arity is None:
        record["effect"] = "recorded only"
        return
    if len(args) != arity:
        record["effect"] = f"error: {name} takes {arity} arguments, got {len(args)}"
        return
    with site.lock:
        row, error = _target(site, name, args)
        if row is None:
            record["effect"] = error
            return
        service = "_SVC_" in name
        rest = args[2:] if service else args[1:]
        if name.startswith("ACKNOWLEDGE_"):
            sticky, _notify, persistent, author, comment = rest
            if row.values["state"] == 0:
                record["effect"] = "ignored: no problem to acknowledge"
                return
            row.values["acknowledged"] = 1
            row.values["acknowledgement_type"] = 2 if sticky == "2" else 1
            site.add_comment(row, author, comment, 4, persistent == "1")
            record["effect"] = "acknowledged"
        elif name.startswith("ADD_"):
            persistent, author, comment = rest
            site.add_comment(row, author, comment, 1, persistent == "1")
            record["effect"] = "comment added"
        else:
            row.values["acknowledged"] = 0
            row.values["acknowledgement_type"] = 0
            row.comments[:] = [c for c in row.comments if c.entry_type != 4]
            record["effect"] = "acknowledgement removed"
