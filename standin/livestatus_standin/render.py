"""Rendering rows in the requested ``OutputFormat``, and the ``fixed16`` response header.

``ResponseHeader: fixed16`` (handbook ``livestatus.asciidoc``, "Status codes"): bytes 1-3 the
status code, byte 4 a blank, bytes 5-15 the length of the answer right-aligned with blanks
(the handbook's example: ``400          33``), byte 16 a newline. Errors answer the message as
plain text, whatever the output format.

Blob columns (``mk_inventory``, ``mk_inventory_gz``): raw bytes in ``csv``/``CSV``; in
``json`` and ``python``/``python3`` a string with one character per byte (latin-1), as
Checkmk's own test library notes for the CMC ("encodes this column with latin-1 and sends it as
string ... after json.loads it needs to be encoded with latin-1 (again)"). ``python`` is
rendered like ``python3`` (no Python 2 ``u''`` prefixes).
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from .query import Query


def _text_value(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode("latin-1")
    if isinstance(value, list):
        return [_text_value(v) for v in value]
    return value


def _csv_field(value: Any, query: Query) -> bytes:
    _, _, list_sep, inner_sep = query.separators
    if isinstance(value, bytes):
        return value
    if isinstance(value, list):
        parts = [
            inner_sep.join(str(e) for e in item) if isinstance(item, list) else str(item)
            for item in value
        ]
        return list_sep.join(parts).encode("utf-8")
    return str(value).encode("utf-8")


def render(query: Query, header: list[str] | None, rows: list[list[Any]]) -> bytes:
    table = ([header] if header is not None else []) + rows
    if query.output_format == "json":
        lines = [json.dumps(_text_value(row), ensure_ascii=False) for row in table]
        return ("[" + ",\n".join(lines) + "]\n").encode("utf-8")
    if query.output_format in ("python", "python3"):
        lines = [repr(_text_value(row)) for row in table]
        return ("[" + ",\n".join(lines) + "]\n").encode("utf-8")
    if query.output_format == "CSV":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        for row in table:
            writer.writerow(
                [
                    ",".join(map(str, v)) if isinstance(v, list) else _text_value(v)
                    for v in row
                ]
            )
        return out.getvalue().encode("utf-8")
    row_sep, col_sep = query.separators[0].encode(), query.separators[1].encode()
    return b"".join(
        col_sep.join(_csv_field(v, query) for v in row) + row_sep for row in table
    )


def fixed16(code: int, body: bytes) -> bytes:
    return f"{code:03d} {len(body):>11}\n".encode("ascii")
