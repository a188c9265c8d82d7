"""The site the stand-in pretends to monitor: hosts, services, comments, recorded commands.

Columns and their types follow Checkmk's Livestatus (``Checkmk/checkmk``
``packages/livestatus/src/TableHosts.cc`` @ 07a2c02c, ``TableServices.cc``; the handbook's
``livestatus_references.asciidoc``): int columns are numbers, ``comments_with_info`` is "a list
of all comments ... with id, author and comment" ``[[id, author, comment], ...]``,
``comments`` the list of comment ids, ``comments_with_extra_info`` "a list of all comments ... with
id, author, comment, entry type and entry time" ``[[id, author, comment, type, time], ...]``
(entry type 1 a user comment, 4 an acknowledgement, as Nagios numbers them),
``mk_inventory``/``mk_inventory_gz`` blobs (file contents, see ``cmk_ilert/notify/inventory.py``).
A service row also answers ``host_<column>`` for every host column, as Livestatus joins the host
into the services table.

Fixture data is a dict (or a JSON file) ``{"hosts": [...], "services": [...]}``; every row
needs its key (``name``; ``host_name`` + ``description``), every other column has a default.
A column the stand-in does not model is a fixture error: a double offers no more than it has.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HOST_DEFAULTS: dict[str, Any] = {
    "name": "",
    "alias": None,  # defaults to the name
    "address": "127.0.0.1",
    "state": 0,  # 0 UP, 1 DOWN, 2 UNREACHABLE
    "state_type": 1,  # 0 soft, 1 hard
    # epoch of the last state change (TableHosts.cc/TableServices.cc "last_state_change"; icinga2
    # lib/livestatus/hoststable.cpp, servicestable.cpp have it too): 0 = never changed
    "last_state_change": 0,
    "has_been_checked": 1,
    "plugin_output": "",
    "acknowledged": 0,
    "acknowledgement_type": 0,  # 0 none, 1 normal, 2 sticky
    "scheduled_downtime_depth": 0,
    "notifications_enabled": 1,
    "custom_variable_names": [],
    "custom_variable_values": [],
}
SERVICE_DEFAULTS: dict[str, Any] = {
    "host_name": "",
    "description": "",
    "display_name": None,  # defaults to the description
    "state": 0,  # 0 OK, 1 WARN, 2 CRIT, 3 UNKNOWN
    "state_type": 1,
    "last_state_change": 0,
    "has_been_checked": 1,
    "plugin_output": "",
    "acknowledged": 0,
    "acknowledgement_type": 0,
    "scheduled_downtime_depth": 0,
    "notifications_enabled": 1,
}
#: computed columns (not settable from fixtures)
HOST_COMPUTED = (
    "comments",
    "comments_with_info",
    "mk_inventory",
    "mk_inventory_gz",
    "mk_inventory_last",
)
SERVICE_COMPUTED = ("comments", "comments_with_info")
INVENTORY_FIXTURE_FIELDS = ("mk_inventory_file", "mk_inventory_gz_file")


class FixtureError(ValueError):
    """Fixture data the stand-in cannot model."""


@dataclass
class Comment:
    id: int
    author: str
    text: str
    entry_type: int  # 1 user comment, 4 acknowledgement (Nagios numbering)
    persistent: bool
    entry_time: float


@dataclass
class Row:
    values: dict[str, Any]
    comments: list[Comment] = field(default_factory=list)


def _checked_row(raw: Mapping[str, Any], defaults: dict[str, Any], kind: str) -> dict[str, Any]:
    extra = INVENTORY_FIXTURE_FIELDS if kind == "host" else ()
    unknown = sorted(set(raw) - set(defaults) - set(extra))
    if unknown:
        raise FixtureError(f"{kind} column(s) not modelled: {', '.join(unknown)}")
    values = dict(defaults)
    for name, value in raw.items():
        default = defaults.get(name)
        if isinstance(default, int) and (isinstance(value, bool) or not isinstance(value, int)):
            raise FixtureError(f"{kind} column {name} must be an integer")
        textual = isinstance(default, str) or name in ("alias", "display_name") or (
            name in INVENTORY_FIXTURE_FIELDS
        )
        if textual and not isinstance(value, str):
            raise FixtureError(f"{kind} column {name} must be a string")
        if isinstance(default, list) and not isinstance(value, list):
            raise FixtureError(f"{kind} column {name} must be a list")
        values[name] = value
    return values


class Site:
    """Hosts and services behind one lock; commands change them (see ``commands.py``)."""

    def __init__(self, fixtures: Mapping[str, Any] | str | Path | None = None) -> None:
        self.lock = threading.RLock()
        self.hosts: dict[str, Row] = {}
        self.services: dict[tuple[str, str], Row] = {}
        self._next_comment = 1
        self.load(fixtures or {})

    def load(self, fixtures: Mapping[str, Any] | str | Path) -> None:
        if isinstance(fixtures, (str, Path)):
            fixtures = json.loads(Path(fixtures).read_text(encoding="utf-8"))
        assert isinstance(fixtures, Mapping)
        unknown = sorted(set(fixtures) - {"hosts", "services"})
        if unknown:
            raise FixtureError(f"unknown fixture section(s): {', '.join(unknown)}")
        hosts: dict[str, Row] = {}
        for raw in fixtures.get("hosts", []):
            values = _checked_row(raw, HOST_DEFAULTS, "host")
            if not values["name"]:
                raise FixtureError("every host needs a name")
            if values["alias"] is None:
                values["alias"] = values["name"]
            hosts[values["name"]] = Row(values)
        services: dict[tuple[str, str], Row] = {}
        for raw in fixtures.get("services", []):
            values = _checked_row(raw, SERVICE_DEFAULTS, "service")
            key = (values["host_name"], values["description"])
            if key[0] not in hosts or not key[1]:
                raise FixtureError(f"service {key!r}: needs a known host_name and a description")
            if values["display_name"] is None:
                values["display_name"] = values["description"]
            services[key] = Row(values)
        with self.lock:
            self.hosts, self.services = hosts, services

    # -- comments ----------------------------------------------------------------------
    def add_comment(
        self, row: Row, author: str, text: str, entry_type: int, persistent: bool
    ) -> Comment:
        with self.lock:
            comment = Comment(
                self._next_comment, author, text, entry_type, persistent, time.time()
            )
            self._next_comment += 1
            row.comments.append(comment)
            return comment

    # -- views for tests ---------------------------------------------------------------
    def host_view(self, name: str) -> dict[str, Any] | None:
        with self.lock:
            row = self.hosts.get(name)
            return None if row is None else _view(row)

    def service_view(self, host: str, description: str) -> dict[str, Any] | None:
        with self.lock:
            row = self.services.get((host, description))
            return None if row is None else _view(row)


def _view(row: Row) -> dict[str, Any]:
    return {
        **row.values,
        "comments_with_info": [[c.id, c.author, c.text] for c in row.comments],
        "comment_entries": [
            {
                "id": c.id,
                "author": c.author,
                "comment": c.text,
                "entry_type": c.entry_type,
                "persistent": c.persistent,
            }
            for c in row.comments
        ],
    }
