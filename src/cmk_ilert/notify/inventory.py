"""HW/SW inventory facts for an alert (``inventory_facts``): what the box is.

Three steps, one job each:

* ``read_tree(text, deadline)`` - a bounded scanner that pulls only the few
  inventory nodes we need out of a stored tree, without importing ``cmk.*``
  and without ``eval``: the rest of the text (software package tables of
  several hundred kB) is skipped by regular expressions at C speed;
* ``facts(tree)`` - pure: tree -> ordered, bounded pairs (manufacturer, model,
  serial, OS name and version, CPU model and cores, RAM);
* ``apply(event, facts)`` - pure: the facts go into ``customDetails``
  (key ``inventory``) and one short line at the end of ``details``.

``lookup(omd_root, host)`` does the I/O under a hard wall-clock budget (a few
tens of ms) and never raises: no inventory, an unreadable, huge or malformed
one, a missing or hanging Livestatus socket -> no facts.

Where Checkmk keeps the tree (docs/inventory.md has the sources):

* 2.0: ``var/check_mk/inventory/<host>``, a Python literal of nested dicts
  (attributes are scalar members, tables are lists of dicts);
* 2.1 - 2.4: the same file, a Python literal of the structured tree
  ``{"Attributes": {"Pairs": {...}}, "Table": {...}, "Nodes": {name: tree}}``
  (werk 12389);
* newer: ``var/check_mk/inventory/<host>.json``, the structured tree as JSON
  (the Python-literal file is still read as a fallback there);
* Livestatus ``GET hosts`` column ``mk_inventory``: the content of the
  ``<host>`` file (used when no file is found).
"""

from __future__ import annotations

import json
import os
import re
import stat
import time
from typing import Any, Callable, Dict, List, Mapping, NamedTuple, Optional, Tuple, Union

from ..base.text import bound, one_line
from ..ilert.event import Event
from .mapping import MAX_DETAILS


def _budget_from(environ: Mapping[str, str], default: float) -> float:
    """``CMK_ILERT_INVENTORY_BUDGET`` (seconds, above 0, at most 1): only for tests and benchmarks
    on a loaded machine, where 40 ms of wall clock can pass before the process runs at all."""
    try:
        value = float(environ.get("CMK_ILERT_INVENTORY_BUDGET", ""))
    except ValueError:
        return default
    return value if 0 < value <= 1.0 else default


#: Wall-clock budget of one lookup (file or socket, scan, facts).
DEFAULT_BUDGET = _budget_from(os.environ, 0.04)
#: Wall-clock budget of all lookups of one notification run (a bulk): later alerts get no facts.
RUN_BUDGET = 2.0
#: Larger inventory files are not read at all.
MAX_TEXT = 8 * 1024 * 1024
#: Deeper nesting is malformed for an inventory tree.
MAX_DEPTH = 48
MAX_VALUE = 200
MAX_LINE = 400
INVENTORY_DIR = os.path.join("var", "check_mk", "inventory")
LIVE_SOCKET = os.path.join("tmp", "run", "live")

Fact = Tuple[str, Union[str, int]]
Facts = Tuple[Fact, ...]


class _Malformed(Exception):
    """The text is not an inventory tree we can read."""


class _TimeUp(Exception):
    """The lookup's budget is used up."""


class _Complete(Exception):
    """Every wanted node has been read."""


# --- pure: tree -> facts -> event -----------------------------------------------------


def facts(tree: Any) -> Facts:
    """Bounded facts of an inventory tree in any of Checkmk's formats (or ``()``)."""
    if not isinstance(tree, dict):
        return ()
    if isinstance(tree.get("raw_tree"), dict):
        tree = tree["raw_tree"]
    system = _pairs(tree, "hardware", "system")
    cpu = _pairs(tree, "hardware", "cpu")
    memory = _pairs(tree, "hardware", "memory")
    os_ = _pairs(tree, "software", "os")
    found: List[Fact] = []

    def text(key: str, *values: Any) -> None:
        for value in values:
            if isinstance(value, (str, int, float)) and not isinstance(value, bool):
                cleaned = bound(one_line(str(value)), MAX_VALUE)
                if cleaned:
                    found.append((key, cleaned))
                    return

    text("manufacturer", system.get("manufacturer"), system.get("vendor"))
    text("model", system.get("product"), system.get("model"), system.get("model_name"))
    text("serial", system.get("serial"), system.get("serial_number"))
    text("os", os_.get("name"), os_.get("type"))
    text("os_version", os_.get("version"))
    text("cpu_model", cpu.get("model"))
    cores = _count(cpu.get("cores"))
    if cores is None:
        cpus, per_cpu = _count(cpu.get("cpus")), _count(cpu.get("cores_per_cpu"))
        cores = cpus * per_cpu if cpus is not None and per_cpu is not None else None
    if cores is not None:
        found.append(("cpu_cores", cores))
    ram = _count(memory.get("total_ram_usable"))
    if ram is not None:
        found.append(("ram_bytes", ram))
        found.append(("ram", human_bytes(ram)))
    return tuple(found)


def _pairs(tree: Mapping[str, Any], *path: str) -> Dict[str, Any]:
    """Scalar attributes of the node at ``path`` (structured or legacy tree)."""
    node: Any = tree
    for name in path:  # 2.1+: Nodes -> name -> ...; Attributes -> Pairs
        node = node.get("Nodes", {}).get(name) if isinstance(node, dict) and isinstance(node.get("Nodes"), dict) \
            else None
    if isinstance(node, dict):
        attributes = node.get("Attributes")
        pairs = attributes.get("Pairs") if isinstance(attributes, dict) else None
        if isinstance(pairs, dict):
            return pairs
    node = tree
    for name in path:  # 2.0: nested dicts, attributes are the scalar members
        node = node.get(name) if isinstance(node, dict) else None
    if isinstance(node, dict):
        return {k: v for k, v in node.items() if not isinstance(v, (dict, list, tuple))}
    return {}


def _count(value: Any) -> Optional[int]:
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and 0 < value < 1 << 62:
        return value
    return None


def human_bytes(value: int) -> str:
    size = float(value)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return ("%d %s" % (size, unit)) if unit == "B" else ("%.1f %s" % (size, unit))
        size /= 1024
    return "%d B" % value  # pragma: no cover - the loop always returns


def summary_line(found: Facts) -> str:
    """One short line for ``details``."""
    values = dict(found)
    parts = []
    box = " ".join(str(values[k]) for k in ("manufacturer", "model") if k in values)
    if "serial" in values:
        box = (box + ", " if box else "") + "serial %s" % values["serial"]
    if box:
        parts.append(box)
    if "os" in values:
        version = str(values.get("os_version", ""))
        name = str(values["os"])
        parts.append(name + (" (%s)" % version if version and version not in name else ""))
    elif "os_version" in values:
        parts.append("OS %s" % values["os_version"])
    cpu = str(values.get("cpu_model", ""))
    if "cpu_cores" in values:
        cpu = (cpu + ", " if cpu else "") + "%s cores" % values["cpu_cores"]
    if cpu:
        parts.append(cpu)
    if "ram" in values:
        parts.append("%s RAM" % values["ram"])
    return bound("Inventory: " + "; ".join(parts), MAX_LINE) if parts else ""


def apply(event: Event, found: Facts) -> Event:
    """The event with the facts in ``customDetails`` and a line in ``details``."""
    if not found:
        return event
    line = summary_line(found)
    details = event.details
    if line:
        room = MAX_DETAILS - len(line) - 2
        details = (bound(details, room) + "\n\n" + line) if details else line
    custom = tuple((k, v) for k, v in event.custom_details if k != "inventory") + (("inventory", dict(found)),)
    return event._replace(details=details, custom_details=custom)


# --- I/O: file or Livestatus, under a hard budget ----------------------------------------


def lookup(omd_root: str, host: str, budget: float = DEFAULT_BUDGET,
           clock: Callable[[], float] = time.monotonic) -> Facts:
    """Facts of ``host`` from the site at ``omd_root``; ``()`` on any problem. Never raises.
    The scanner's expressions are compiled once per process before the budget starts (a
    fixed cost of a few ms, not a cost of the file)."""
    _patterns()
    deadline = clock() + budget
    try:
        if not omd_root or not _safe_host(host):
            return ()
        text, version = _read_files(os.path.join(omd_root, INVENTORY_DIR), host, deadline, clock)
        if version is not None and version in _MEMO:
            return _MEMO[version]  # a bulk names the same host many times
        if text is None:
            text = _read_livestatus(os.path.join(omd_root, LIVE_SOCKET), host, deadline, clock)
        if not text or clock() >= deadline:
            return ()
        tree = read_tree(text, deadline, clock)
        if clock() >= deadline:
            return ()
        found = facts(tree)
        if version is not None:
            if len(_MEMO) >= 256:
                _MEMO.clear()
            _MEMO[version] = found
        return found
    except Exception:  # noqa: BLE001 - an alert without facts beats no alert
        return ()


def enrich(event: Event, omd_root: str, host: str, budget: float = DEFAULT_BUDGET) -> Event:
    """``apply(event, lookup(...))``: the one call the notification run makes."""
    return apply(event, lookup(omd_root, host, budget))


def _safe_host(host: str) -> bool:
    return bool(host) and len(host) <= 255 and "/" not in host and "\x00" not in host and not host.startswith(".")


#: Facts per inventory file version (path, inode, size, mtime) within this process.
_MEMO: Dict[Tuple[str, int, int, int], Facts] = {}


def _read_files(folder: str, host: str, deadline: float = float("inf"), clock: Callable[[], float] = time.monotonic,
                ) -> Tuple[Optional[str], Optional[Tuple[str, int, int, int]]]:
    """Text and version of ``<host>.json`` (newest releases), else of ``<host>`` (2.0 - 2.4).

    ``(None, None)`` if neither exists; ``("", None)`` if one exists but is unusable
    (or its reading took the whole budget: the clock is read after every chunk).
    """

    for name in (host + ".json", host):
        path = os.path.join(folder, name)
        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        except OSError:
            continue
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_TEXT:
                return "", None  # present but unusable: do not ask Livestatus for the same file
            version = (path, info.st_ino, info.st_size, info.st_mtime_ns)
            if version in _MEMO:
                return None, version
            chunks = []
            size = 0
            while size <= MAX_TEXT:
                chunk = os.read(fd, 1 << 20)
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
                if clock() >= deadline:
                    return "", None
            if size > MAX_TEXT:
                return "", None
            return b"".join(chunks).decode("utf-8", "replace"), version
        finally:
            os.close(fd)
    return None, None


def _read_livestatus(path: str, host: str, deadline: float, clock: Callable[[], float]) -> Optional[str]:
    """Column ``mk_inventory`` of the host (the content of its inventory file), or None."""
    if any(c in host for c in "\n\r"):
        return None
    from ..checkmk import livestatus  # lazy: the socket module only when no file was found

    try:
        rows = livestatus.query(path, ["GET hosts", "Columns: mk_inventory", "Filter: name = %s" % host],
                                deadline, clock)
    except livestatus.LivestatusError:
        return None
    if not (rows and rows[0] and isinstance(rows[0][0], str) and rows[0][0]):
        return None
    blob = rows[0][0]
    if len(blob) > MAX_TEXT:
        return None
    try:  # the core renders blobs as latin-1 text of the file's bytes
        return blob.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return blob


# --- the scanner -----------------------------------------------------------------------------

#: A key of the wanted-tree whose value is a dict of scalar attributes.
_LEAF: Dict[str, Any] = {}
_PAIRS = {"Attributes": {"Pairs": _LEAF}}
_STRUCTURED = {"Nodes": {
    "hardware": {"Nodes": {"cpu": _PAIRS, "memory": _PAIRS, "system": _PAIRS}},
    "software": {"Nodes": {"os": _PAIRS}},
}}
#: Wanted nodes with attributes: system, cpu, memory, os.
_LEAVES = 4
#: What to pull out of a tree: 2.0 nested dicts, 2.1+ structured tree, and the newer
#: ``{"meta": ..., "raw_tree": ...}`` wrapper of the gzipped copy.
WANTED: Dict[str, Any] = {
    "hardware": {"cpu": _LEAF, "memory": _LEAF, "system": _LEAF},
    "software": {"os": _LEAF},
    "Nodes": _STRUCTURED["Nodes"],
    "raw_tree": _STRUCTURED,
}

_SEP = r"[\s,:]*"
_SCALAR = r"-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?|True|False|None|true|false|null"
# Unrolled loops (runs of plain characters, then a string, then a run ...): every
# character belongs to exactly one construct, so a failing match backtracks linearly.
_RUN = r"""[^\[\](){}'"]*"""
_QUOTED = r"""(?:'[^'\\\n]*(?:\\.[^'\\\n]*)*'|"[^"\\\n]*(?:\\.[^"\\\n]*)*")"""
_FLAT_INNER = r"%s(?:%s%s)*" % (_RUN, _QUOTED, _RUN)
_STRING = r"[uU]?" + _QUOTED
#: The inside of a string literal (what a window of a long one holds).
_SQUOTE_BODY = r"[^'\\\n]*(?:\\.[^'\\\n]*)*"
_DQUOTE_BODY = r'[^"\\\n]*(?:\\.[^"\\\n]*)*'
# ``(?=(X))\1`` is an atomic group (Python 3.8 has no possessive quantifiers): once X
# matched, a failure after it does not backtrack into X.
#: A container without nested containers: skipped in one C-level match.
_FLAT = r"[\[({](?=(%s))\1[\])}]" % _FLAT_INNER
#: A list of flat dicts (a table's rows): skipped in one match.
_ROWS = r"\[\s*(?=((?:\{%s\}\s*,\s*)*))\1(?:\{%s\}\s*)?\]" % (_FLAT_INNER, _FLAT_INNER)
#: The same in pieces, for a table longer than one window: rows, then the last row and ``]``.
_ROWS_PART = r"(?=((?:\{%s\}\s*,\s*)*))\1" % _FLAT_INNER
_ROWS_TAIL = r"(?:\{%s\}\s*)?\]" % _FLAT_INNER


class _Patterns(NamedTuple):
    sep: "re.Pattern[str]"
    scalar: "re.Pattern[str]"
    string: "re.Pattern[str]"
    flat: "re.Pattern[str]"
    rows: "re.Pattern[str]"
    squote_body: "re.Pattern[str]"
    dquote_body: "re.Pattern[str]"
    rows_part: "re.Pattern[str]"
    rows_tail: "re.Pattern[str]"


_COMPILED: List[_Patterns] = []


def _patterns() -> _Patterns:
    """Compiled on the first scan: a notification for a host without inventory never pays."""
    if not _COMPILED:
        _COMPILED.append(_Patterns(*(re.compile(p) for p in (_SEP, _SCALAR, _STRING, _FLAT, _ROWS, _SQUOTE_BODY,
                                                              _DQUOTE_BODY, _ROWS_PART, _ROWS_TAIL))))
    return _COMPILED[0]


_CLOSERS = "]})"
#: Most characters one regular-expression match may look at: the clock is read after
#: every step, and a step scans at most two such windows (a few ms even for text
#: crafted to be slow to scan, such as strings made of escapes).
_CHUNK = 128 << 10
_SCALARS = {"True": True, "False": False, "None": None, "true": True, "false": False, "null": None}


def read_tree(text: str, deadline: float = float("inf"), clock: Callable[[], float] = time.monotonic) -> Any:
    """The wanted part of an inventory tree (a small dict), or None if unreadable.

    Raises nothing but returns None for malformed text; ``_TimeUp`` is turned
    into None as well, so the caller only checks the clock once more.
    """
    if len(text) > MAX_TEXT:
        return None
    scanner = _Scanner(text, deadline, clock)
    tree: Dict[str, Any] = {}
    try:
        pos = scanner.sep(0)
        if pos >= len(text) or text[pos] != "{":
            return None
        scanner.wanted(pos, WANTED, 0, tree)
    except _Complete:
        pass  # every wanted node was found: the rest (package tables ...) is never scanned
    except (_Malformed, _TimeUp, IndexError, ValueError, RecursionError, MemoryError):
        return None
    return tree


class _Scanner:
    __slots__ = ("text", "deadline", "clock", "steps", "p", "leaves")

    def __init__(self, text: str, deadline: float, clock: Callable[[], float]) -> None:
        self.p = _patterns()
        self.leaves = 0
        self.text = text
        self.deadline = deadline
        self.clock = clock
        self.steps = 0

    def tick(self) -> None:
        self.steps += 1
        if self.clock() >= self.deadline:
            raise _TimeUp()

    def rows_end(self, pos: int) -> int:
        """The end of a list of flat dicts (a table's rows) at ``pos``, or 0: rows are
        consumed window by window, the clock read between windows."""
        text = self.text
        match = self.p.rows.match(text, pos, pos + _CHUNK)
        if match:
            return match.end()
        start = pos = _skip_blank(text, pos + 1)
        while True:
            end = self.p.rows_part.match(text, pos, pos + _CHUNK).end()  # type: ignore[union-attr]
            if end == pos:
                break
            pos = end
            self.tick()
        if pos == start:
            return 0
        match = self.p.rows_tail.match(text, pos, pos + _CHUNK)
        return match.end() if match else 0

    def string_end(self, pos: int) -> int:
        """The end of the string literal at ``pos``, looked at in windows of _CHUNK
        characters with the clock read between them."""
        text = self.text
        match = self.p.string.match(text, pos, pos + _CHUNK)
        if match:
            return match.end()
        start = pos + 1 if text[pos] in "uU" else pos
        quote = text[start] if start < len(text) else ""
        if quote not in ("'", '"'):
            raise _Malformed()
        body = self.p.squote_body if quote == "'" else self.p.dquote_body
        pos = start + 1
        while True:
            end = min(len(text), pos + _CHUNK)
            pos = body.match(text, pos, end).end()  # type: ignore[union-attr]  # it matches the empty string
            if pos < len(text) and text[pos] == quote:
                return pos + 1
            if end >= len(text) or not (pos == end or (pos == end - 1 and text[pos] == "\\")):
                raise _Malformed()  # the end of the text or a raw newline before the closing quote
            self.tick()  # the window ended (maybe on an escape cut in two): go on from there

    def sep(self, pos: int) -> int:
        match = self.p.sep.match(self.text, pos)
        return match.end() if match else pos

    def skip(self, pos: int, depth: int) -> int:
        """The end of the value starting at ``pos``."""
        self.tick()
        text = self.text
        char = text[pos]
        if char in "'\"":
            return self.string_end(pos)
        if char in "uU" and pos + 1 < len(text) and text[pos + 1] in "'\"":
            return self.string_end(pos)
        if char in "[({":
            # One C-level match skips a flat container, a few a table's rows; each may look
            # at most _CHUNK characters, so a single match never eats the whole budget.
            if char == "[":
                done = self.rows_end(pos)
                if done:
                    return done
            match = self.p.flat.match(text, pos, pos + _CHUNK)
            if match:
                return match.end()
            if depth >= MAX_DEPTH:
                raise _Malformed()
            pos += 1
            while True:
                pos = self.sep(pos)
                if text[pos] in _CLOSERS:
                    return pos + 1
                pos = self.skip(pos, depth + 1)
        match = self.p.scalar.match(text, pos)
        if not match:
            raise _Malformed()
        return match.end()

    def wanted(self, pos: int, want: Mapping[str, Any], depth: int, out: Dict[str, Any]) -> int:
        """Walk the dict at ``pos`` into ``out``, keeping only the keys ``want`` names.

        Children are attached before they are walked, so when the last wanted node is
        found (``_Complete``) the caller's tree already holds everything.
        """
        text = self.text
        if depth >= MAX_DEPTH:
            raise _Malformed()
        pos += 1
        while True:
            self.tick()
            pos = self.sep(pos)
            if text[pos] in _CLOSERS:
                return pos + 1
            key, pos = self.key(pos, depth)
            pos = self.sep(pos)
            sub = want.get(key) if isinstance(key, str) else None
            if sub is None or text[pos] != "{":
                pos = self.skip(pos, depth + 1)
            elif sub is _LEAF:
                out[key], pos = self.attributes(pos, depth + 1)
                self.leaves += 1
                if self.leaves >= _LEAVES:
                    raise _Complete()
            else:
                child: Dict[str, Any] = {}
                out[key] = child
                pos = self.wanted(pos, sub, depth + 1, child)

    def attributes(self, pos: int, depth: int) -> Tuple[Dict[str, Any], int]:
        """The scalar members of the dict at ``pos`` (other members are skipped)."""
        text = self.text
        out: Dict[str, Any] = {}
        pos += 1
        while True:
            self.tick()
            pos = self.sep(pos)
            if text[pos] in _CLOSERS:
                return out, pos + 1
            key, pos = self.key(pos, depth)
            pos = self.sep(pos)
            if text[pos] in "[({":
                pos = self.skip(pos, depth + 1)
                continue
            value, pos = self.scalar(pos)
            if isinstance(key, str) and len(out) < 200:
                out[key] = value
        return out, pos  # pragma: no cover

    def key(self, pos: int, depth: int) -> Tuple[Any, int]:
        """A dict key: a scalar, or a tuple (table retentions) that is skipped."""
        if self.text[pos] in "[({":
            return None, self.skip(pos, depth + 1)
        return self.scalar(pos)

    def scalar(self, pos: int) -> Tuple[Any, int]:
        """A string, number, bool or None at ``pos``."""
        text = self.text
        if text[pos] in "'\"" or (text[pos] in "uU" and text[pos + 1:pos + 2] in ("'", '"')):
            end = self.string_end(pos)
            return _decode_string(text[pos:end]) if end - pos <= 65536 else "", end
        match = self.p.scalar.match(text, pos, pos + _CHUNK)
        if not match or match.end() == pos + _CHUNK:
            raise _Malformed()
        token = match.group(0)
        if token in _SCALARS:
            return _SCALARS[token], match.end()
        if any(c in token for c in ".eE"):
            return float(token), match.end()
        return int(token), match.end()


def _skip_blank(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t\r\n":
        pos += 1
    return pos


def _decode_string(token: str) -> str:
    if len(token) > 65536:
        return ""  # far beyond what a fact may hold; not worth decoding
    if token[0] == '"':
        try:
            value = json.loads(token)
        except ValueError:
            value = None
        if isinstance(value, str):
            return value
    import ast  # lazy: JSON strings (the newest format) never need it

    value = ast.literal_eval(token)  # one bounded string literal, never code
    if not isinstance(value, str):
        raise _Malformed()
    return value
