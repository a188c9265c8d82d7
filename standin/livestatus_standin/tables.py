"""The ``hosts`` and ``services`` tables: column names, types and how to read them from a row.

Types as Livestatus declares them (``GET columns`` / ``TableHosts.cc``): ``int`` (also times),
``string``, ``list`` and ``blob``. ``standin_commands`` is the stand-in's own table (not
Livestatus'): the recorded commands, so a stand-in in another process can be inspected over
the same socket (``GET standin_commands``, columns ``time name args effect raw``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from .inventory import inventory_file, mtime, read_blob
from .model import HOST_DEFAULTS, SERVICE_DEFAULTS, Row, Site

ColumnType = Literal["int", "string", "list", "blob"]


@dataclass(frozen=True)
class Context:
    site: Site
    inventory_dir: Path | None
    prefer_json: bool


Getter = Callable[[Context, Row], Any]


def _type_of(default: Any) -> ColumnType:
    if isinstance(default, int):
        return "int"
    if isinstance(default, list):
        return "list"
    return "string"


def _plain(name: str) -> Getter:
    return lambda ctx, row: row.values[name]


def _host_columns() -> dict[str, tuple[ColumnType, Getter]]:
    columns: dict[str, tuple[ColumnType, Getter]] = {
        name: (_type_of(default), _plain(name)) for name, default in HOST_DEFAULTS.items()
    }
    columns["alias"] = ("string", _plain("alias"))

    def blob(gz: bool) -> Getter:
        return lambda ctx, row: read_blob(
            inventory_file(row.values, ctx.inventory_dir, gz, ctx.prefer_json)
        )

    columns.update(
        {
            "comments": ("list", lambda ctx, row: [c.id for c in row.comments]),
            "comments_with_info": (
                "list",
                lambda ctx, row: [[c.id, c.author, c.text] for c in row.comments],
            ),
            # id, author, comment, entry type (1 comment, 4 acknowledgement), entry time
            "comments_with_extra_info": (
                "list",
                lambda ctx, row: [
                    [c.id, c.author, c.text, c.entry_type, int(c.entry_time)]
                    for c in row.comments
                ],
            ),
            "mk_inventory": ("blob", blob(False)),
            "mk_inventory_gz": ("blob", blob(True)),
            "mk_inventory_last": (
                "int",
                lambda ctx, row: mtime(
                    inventory_file(row.values, ctx.inventory_dir, False, ctx.prefer_json)
                ),
            ),
            "num_services": (
                "int",
                lambda ctx, row: sum(
                    1 for h, _ in ctx.site.services if h == row.values["name"]
                ),
            ),
            "services": (
                "list",
                lambda ctx, row: [
                    d for h, d in ctx.site.services if h == row.values["name"]
                ],
            ),
        }
    )
    return columns


HOST_COLUMNS = _host_columns()


def _service_columns() -> dict[str, tuple[ColumnType, Getter]]:
    columns: dict[str, tuple[ColumnType, Getter]] = {
        name: (_type_of(default), _plain(name)) for name, default in SERVICE_DEFAULTS.items()
    }
    columns["display_name"] = ("string", _plain("display_name"))
    columns["comments"] = HOST_COLUMNS["comments"]
    columns["comments_with_info"] = HOST_COLUMNS["comments_with_info"]
    columns["comments_with_extra_info"] = HOST_COLUMNS["comments_with_extra_info"]
    for name, (kind, getter) in HOST_COLUMNS.items():
        if f"host_{name}" in columns:
            continue

        def joined(ctx: Context, row: Row, getter: Getter = getter) -> Any:
            return getter(ctx, ctx.site.hosts[row.values["host_name"]])

        columns[f"host_{name}"] = (kind, joined)
    return columns


SERVICE_COLUMNS = _service_columns()
COMMAND_COLUMNS: dict[str, ColumnType] = {
    "time": "int",
    "name": "string",
    "args": "list",
    "effect": "string",
    "raw": "string",
}
TABLES = ("hosts", "services", "standin_commands")
