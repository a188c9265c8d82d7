"""Pure text helpers: ``$MACRO$`` templates and output clean-up for iLert.

Checkmk hands plugin output over with a literal backslash-n between the lines
of long output, may carry HTML and state markers ``(!)``/``(!!)``, and a Nagios
core leaves unresolved ``$SERVICE...$`` macros in host notifications. Everything here is a pure function of its input.
"""

from __future__ import annotations

import re
from typing import List, Mapping

_MACRO = re.compile(r"\$([A-Z][A-Z0-9_]*)\$")
_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9]*(?:\s[^<>]*)?/?>")
_BLANK_RUNS = re.compile(r"\n{3,}")
_GROUP = re.compile(r"\(([^()]*)\)")
_MARKERS = (("(!!)", "[CRIT]"), ("(!)", "[WARN]"), ("(?)", "[UNKN]"), ("(.)", "[OK]"))
ELLIPSIS = "\u2026"
#: Control characters except newline and tab, deleted by ``clean``.
_CONTROL = dict.fromkeys(c for c in range(32) if c not in (9, 10))
#: A template is configuration, not data: longer ones are cut before anything runs on them.
MAX_TEMPLATE = 8192
#: What a substituted value is cut to when the caller gives no tighter limit.
MAX_VALUE = 65536
_GAP = "\x00"  # stands for a macro that came out empty while a line is tidied
_SEPARATORS = frozenset(" \t-:|,;/" + _GAP)


def render(template: str, context: Mapping[str, str], value_limit: int = MAX_VALUE) -> str:
    """Replace ``$KEY$`` by the context value; unknown macros become ''.

    A template line whose macros all came out empty is dropped, and brackets or
    separators left empty by missing values vanish, so that a test notification
    without an address reads "Host: web01", not "Host: web01 (, )", and an empty
    output leaves no trailing " -". That tidying runs on the (bounded) template
    line *before* the values are put in, so its cost never depends on the values;
    each value is cut to ``value_limit`` first, so one huge output can neither
    crowd the other lines out of a bounded text nor slow anything down.
    """
    lines = []
    for line in decode_newlines(bound(template, MAX_TEMPLATE)).split("\n"):
        names = _MACRO.findall(line)
        if not names:
            lines.append(line)
            continue
        if not any(context.get(name, "").strip() for name in names):
            continue
        skeleton = _MACRO.sub(lambda m: m.group(0) if context.get(m.group(1), "").strip() else _GAP, line)
        if _GAP in skeleton:
            skeleton = _tidy(skeleton)
        lines.append(_MACRO.sub(lambda m: bound(context.get(m.group(1), ""), value_limit), skeleton))
    return "\n".join(lines)


def _tidy(line: str) -> str:
    """Remove the gaps (empty macros) of a template line with the brackets and
    separators they leave behind. Linear in the line's length: one pass over the
    bracket groups (no nesting in the pattern), one pass over separator runs."""
    line = _GROUP.sub(_tidy_group, line)
    out = []
    n = len(line)
    i = 0
    while i < n:
        if line[i] not in _SEPARATORS:
            j = i
            while j < n and line[j] not in _SEPARATORS:
                j += 1
            out.append(line[i:j])
            i = j
            continue
        j = i
        while j < n and line[j] in _SEPARATORS:
            j += 1
        run = line[i:j]
        if _GAP not in run:
            out.append(run)
        elif i > 0 and j < n:  # in the middle: keep what stood before the first gap
            before = run.split(_GAP, 1)[0]
            out.append(before if before.strip() else " ")
        elif i > 0 and j == n:
            pass  # at the end: the separator led to nothing
        i = j
    return "".join(out).replace(_GAP, "")


def _tidy_group(match: "re.Match[str]") -> str:
    parts = [p.replace(_GAP, "").strip() for p in match.group(1).split(",")]
    parts = [p for p in parts if p]
    if not parts:
        return _GAP  # the bracket vanishes with the space before it
    return "(" + ", ".join(parts) + ")"


def decode_newlines(text: str) -> str:
    """Checkmk's literal ``\\n`` (backslash + n) -> a real newline."""
    return text.replace("\\n", "\n") if "\\n" in text else text


def clean(text: str) -> str:
    """Readable plain text: newlines decoded, HTML tags and leftover macros removed,
    state markers spelled out, control characters dropped."""
    text = decode_newlines(text)
    if "$" in text:
        text = _MACRO.sub("", text)
    if "<" in text:
        text = _TAG.sub("", text)
    if "&" in text:
        import html  # lazy: rarely needed; keep it off the hot path

        text = html.unescape(text)
    if "(" in text:
        for marker, word in _MARKERS:
            text = text.replace(marker, word)
    return text.translate(_CONTROL)


def one_line(text: str) -> str:
    return " ".join(clean(text).split())


def paragraphs(text: str) -> str:
    lines = [" ".join(line.split()) for line in clean(text).split("\n")]
    return _BLANK_RUNS.sub("\n\n", "\n".join(lines)).strip()


def bound(text: str, limit: int) -> str:
    """At most ``limit`` characters, marking a cut with an ellipsis."""
    if len(text) <= limit:
        return text
    return text[: max(0, limit - 1)].rstrip() + ELLIPSIS


def is_unresolved_macro(value: str) -> bool:
    return bool(value) and _MACRO.fullmatch(value.strip()) is not None


def printable(text: str, limit: int = 200) -> str:
    """A value from outside (an alert key, a name iLert or Livestatus sent) fit for one log line:
    every character that is not printable (control characters such as ESC, C1 codes, bidi
    overrides, line breaks) becomes ``?``, nothing else changes, and at most ``limit``
    characters remain (an ellipsis marks a cut). Its cost depends on ``limit`` only."""
    head = text[: limit + 1]
    return bound("".join(c if c.isprintable() else "?" for c in head), limit)


#: Macros of value templates (routing key, services): Checkmk's upper-case names and label
#: keys as they stand in the context (``$HOSTLABEL_team$``, ``$HOSTLABEL_cmk/os_family$``).
_VALUE_MACRO = re.compile(r"\$([A-Za-z_][A-Za-z0-9_./:-]{0,254})\$")


def render_value(template: str, context: Mapping[str, str], value_limit: int) -> str:
    """Replace each ``$KEY$`` (label keys included) by its context value, in one pass.

    Unknown macros become ''. A value is cut to ``value_limit`` before it is put in and is
    never expanded again, so ``$`` or braces in a label stay literal text.
    """
    return _VALUE_MACRO.sub(lambda m: context.get(m.group(1), "")[:value_limit], bound(template, MAX_TEMPLATE))


def value_macros(template: str) -> List[str]:
    """The macro names of a value template, in order."""
    return _VALUE_MACRO.findall(bound(template, MAX_TEMPLATE))


def local_time(epoch: float) -> str:
    """``epoch`` as ISO 8601 local time with its UTC offset, to the second
    (``2026-12-06T05:01:00+01:00``): what log lines and "until" times show."""
    import datetime  # lazy: only lines that name a time need it

    try:
        return datetime.datetime.fromtimestamp(epoch).astimezone().isoformat(timespec="seconds")
    except (OverflowError, OSError, ValueError):
        return "?"
