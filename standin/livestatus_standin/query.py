"""Parsing a Livestatus request and evaluating its filters.

Protocol (handbook ``Checkmk/checkmk-docs`` ``src/onprem/en/livestatus.asciidoc`` and
``livestatus_references.asciidoc``; client side ``Checkmk/checkmk``
``livestatus/api/python/livestatus.py``): a request is ``GET <table>`` followed by header lines
and ends with an empty line or the client's end of writing. Headers modelled: ``Columns``,
``Filter`` (several = AND), ``Or: n`` / ``And: n`` / ``Negate:``, ``OutputFormat`` (``json``,
``python``, ``python3``, ``csv`` default, ``CSV``), ``Separators``, ``ColumnHeaders``,
``ResponseHeader: fixed16|off``, ``KeepAlive: on``, ``Limit``. ``Localtime``, ``AuthUser``,
``Timelimit`` and ``Cache`` are accepted and ignored (the stand-in has no users or clocks to
correct). Anything else is 400, ``Stats``/``Wait*`` included: not modelled.

Filter operators (references, "Operators for filters"): ``=`` equality, ``~`` regex
(case-sensitive, "can appear anywhere"), ``=~`` case-insensitive equality, ``~~`` case-
insensitive regex, ``< > <= >=``; each negated by a leading ``!``. On list columns: ``=``
with an empty value tests for the empty list, ``>=`` contains, ``<`` does not contain, ``<=``
/ ``>`` the same case-insensitively, ``~``/``~~`` a regex matching any element.

``dialect="icinga2"``: icinga2's answers where they differ (``dialect.py``): ASCII-only case
folding, 452 for an unknown column, operator or number, unknown headers ignored, an invalid
regular expression matching nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .dialect import BAD_REQUEST, CHECKMK, ICINGA2, fold
from .tables import COMMAND_COLUMNS, HOST_COLUMNS, SERVICE_COLUMNS, TABLES, ColumnType

Predicate = Callable[[Callable[[str], Any]], bool]
_IGNORED = ("localtime", "authuser", "timelimit", "cache")
_FORMATS = ("json", "python", "python3", "csv", "CSV")
_FILTER = re.compile(r"^(\S+)\s+(!?(?:=~|~~|<=|>=|=|~|<|>))(?:\s(.*))?$")


class LivestatusError(Exception):
    """An answer with a status other than 200 (code as in the ResponseHeader table)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class Query:
    table: str
    columns: list[str] | None = None
    predicates: list[Predicate] = field(default_factory=list)
    output_format: str = "csv"
    separators: tuple[str, str, str, str] = ("\n", ";", ",", "|")
    column_headers: bool | None = None
    fixed16: bool = False
    keepalive: bool = False
    limit: int | None = None

    def matches(self, get: Callable[[str], Any]) -> bool:
        return all(p(get) for p in self.predicates)


def column_types(table: str) -> dict[str, ColumnType]:
    if table == "hosts":
        return {name: kind for name, (kind, _) in HOST_COLUMNS.items()}
    if table == "services":
        return {name: kind for name, (kind, _) in SERVICE_COLUMNS.items()}
    return dict(COMMAND_COLUMNS)


_NOTHING = re.compile(r"(?!)")


def _regex(text: str, ignore_case: bool, dialect: str) -> re.Pattern[str]:
    flags = re.IGNORECASE if ignore_case else 0
    try:
        return re.compile(text, flags | (re.ASCII if dialect == ICINGA2 else 0))
    except re.error as exc:
        if dialect == ICINGA2:
            return _NOTHING  # icinga2 answers 200 and no rows
        raise LivestatusError(400, f"invalid regular expression '{text}': {exc}") from None


def _scalar(kind: ColumnType, op: str, value: str, dialect: str) -> Callable[[Any], bool]:
    if kind == "int":
        try:
            number = int(value.strip() if dialect == ICINGA2 else value.strip() or "0")
        except ValueError:
            if dialect == ICINGA2:
                raise LivestatusError(452, f"Error: Can't convert '{value}' to a floating point number.") from None
            raise LivestatusError(400, f"expected an integer, not '{value}'") from None
        ops: dict[str, Callable[[Any], bool]] = {
            "=": lambda v: v == number,
            "<": lambda v: v < number,
            ">": lambda v: v > number,
            "<=": lambda v: v <= number,
            ">=": lambda v: v >= number,
        }
        if op not in ops:
            raise LivestatusError(400, f"operator {op} is not modelled for int columns")
        return ops[op]
    if op in ("~", "~~"):
        pattern = _regex(value, op == "~~", dialect)
        return lambda v: pattern.search(str(v)) is not None
    folded = fold(dialect, value)
    return {
        "=": lambda v: v == value,
        "=~": lambda v: fold(dialect, str(v)) == folded,
        "<": lambda v: v < value,
        ">": lambda v: v > value,
        "<=": lambda v: v <= value,
        ">=": lambda v: v >= value,
    }[op]


def _text(element: Any) -> str:
    if isinstance(element, list):
        return "|".join(str(e) for e in element)
    return str(element)


def _listwise(op: str, value: str, dialect: str) -> Callable[[Any], bool]:
    folded = fold(dialect, value)
    if op == "=":
        if value:
            raise LivestatusError(400, "'=' on a list column only tests for the empty list")
        return lambda v: not v
    if op in ("~", "~~"):
        pattern = _regex(value, op == "~~", dialect)
        return lambda v: any(pattern.search(_text(e)) for e in v)
    tests: dict[str, Callable[[Any], bool]] = {
        ">=": lambda v: any(_text(e) == value for e in v),
        "<": lambda v: not any(_text(e) == value for e in v),
        "<=": lambda v: any(fold(dialect, _text(e)) == folded for e in v),
        ">": lambda v: not any(fold(dialect, _text(e)) == folded for e in v),
    }
    if op not in tests:
        raise LivestatusError(400, f"operator {op} is not modelled for list columns")
    return tests[op]


def _no_column(dialect: str, table: str, column: str) -> LivestatusError:
    if dialect == ICINGA2:
        return LivestatusError(452, f"Error: Column '{column}' does not exist in table '{table}'.")
    return LivestatusError(400, f"Table '{table}' has no column '{column}'")


def parse_filter(text: str, types: dict[str, ColumnType], dialect: str = CHECKMK, table: str = "") -> Predicate:
    match = _FILTER.match(text.strip())
    if match is None:
        column, _, op = text.strip().partition(" ")
        if dialect == ICINGA2 and op:
            if column not in types:
                raise _no_column(dialect, table, column)
            raise LivestatusError(452, f"Error: Unknown operator for column '{column}': {op.split()[0]}")
        raise LivestatusError(BAD_REQUEST[CHECKMK], f"invalid filter '{text}'")
    column, op, value = match.group(1), match.group(2), match.group(3) or ""
    if column not in types:
        raise _no_column(dialect, table, column)
    negate = op.startswith("!")
    op = op.lstrip("!")
    kind = types[column]
    if kind == "blob":
        raise LivestatusError(400, f"filtering on the blob column '{column}' is not modelled")
    test = _listwise(op, value, dialect) if kind == "list" else _scalar(kind, op, value, dialect)
    return lambda get: test(get(column)) != negate


def _count(value: str, header: str, stack: list[Predicate]) -> int:
    try:
        count = int(value)
    except ValueError:
        raise LivestatusError(400, f"{header}: expects a number") from None
    if not 0 <= count <= len(stack):
        raise LivestatusError(400, f"{header}: {count} filters, {len(stack)} on the stack")
    return count


def _combine(header: str, value: str, stack: list[Predicate]) -> None:
    if header == "negate":
        if not stack:
            raise LivestatusError(400, "Negate: no filter on the stack")
        inner = stack.pop()
        stack.append(lambda get: not inner(get))
        return
    count = _count(value, header.capitalize(), stack)
    parts = stack[len(stack) - count :]
    del stack[len(stack) - count :]
    combine = any if header == "or" else all
    stack.append(lambda get: combine(p(get) for p in parts))


def parse_request(lines: list[str], dialect: str = CHECKMK) -> Query:
    """A ``GET`` request (first line ``GET <table>``) as a ``Query``."""
    method, _, table = lines[0].strip().partition(" ")
    if method != "GET":
        raise LivestatusError(452, f"invalid request method '{method}'")
    table = table.strip()
    if table not in TABLES:
        raise LivestatusError(404, f"Invalid GET request, no such table '{table}'")
    query = Query(table)
    types = column_types(table)
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if not colon:
            raise LivestatusError(400, f"Columns: undefined request header '{line}'")
        header, value = name.strip().lower(), value.strip()
        if header == "columns":
            query.columns = value.split()
            bad = [c for c in query.columns if c not in types]
            if bad:
                raise _no_column(dialect, table, bad[0])
        elif header == "filter":
            query.predicates.append(parse_filter(value, types, dialect, table))
        elif header in ("or", "and", "negate"):
            _combine(header, value, query.predicates)
        elif header == "outputformat":
            if value not in _FORMATS:
                raise LivestatusError(400, f"invalid output format '{value}'")
            query.output_format = value
        elif header == "separators":
            try:
                codes = [chr(int(v)) for v in value.split()]
            except ValueError:
                raise LivestatusError(400, "Separators: expects four numbers") from None
            if len(codes) != 4:
                raise LivestatusError(400, "Separators: expects four numbers")
            query.separators = (codes[0], codes[1], codes[2], codes[3])
        elif header == "columnheaders":
            query.column_headers = value == "on"
        elif header == "responseheader":
            if value not in ("fixed16", "off"):
                raise LivestatusError(400, f"invalid response header '{value}'")
            query.fixed16 = value == "fixed16"
        elif header == "keepalive":
            query.keepalive = value == "on"
        elif header == "limit":
            if not value.isdigit():
                raise LivestatusError(400, "Limit: expects a number >= 0")
            query.limit = int(value)
        elif header not in _IGNORED and dialect != ICINGA2:
            raise LivestatusError(400, f"undefined request header '{name.strip()}'")
    return query
