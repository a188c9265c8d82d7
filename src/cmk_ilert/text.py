"""Pure text helpers: ``$MACRO$`` templates and output clean-up for iLert.

Checkmk hands plugin output over with a literal backslash-n between the lines
of long output, may carry HTML and state markers ``(!)``/``(!!)``, and a Nagios
core leaves unresolved ``$SERVICE...$`` macros in host notifications
(peers.md §4 row 17). Everything here is a pure function of its input.
"""

from __future__ import annotations

import re
from typing import Mapping

_MACRO = re.compile(r"\$([A-Z][A-Z0-9_]*)\$")
_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9]*(?:\s[^<>]*)?/?>")
_BLANK_RUNS = re.compile(r"\n{3,}")
_EMPTY_BRACKETS = re.compile(r"\s*\(\s*(?:,\s*)*\)")
_LEADING_COMMAS = re.compile(r"\(\s*(?:,\s*)+")
_TRAILING_COMMAS = re.compile(r"(?:\s*,)+\s*\)")
_MARKERS = (("(!!)", "[CRIT]"), ("(!)", "[WARN]"), ("(?)", "[UNKN]"), ("(.)", "[OK]"))
ELLIPSIS = "\u2026"
#: Control characters except newline and tab, deleted by ``clean``.
_CONTROL = dict.fromkeys(c for c in range(32) if c not in (9, 10))


def render(template: str, context: Mapping[str, str], value_limit: int = 0) -> str:
    """Replace ``$KEY$`` by the context value; unknown macros become ''.

    A template line whose macros all came out empty is dropped, and empty
    brackets or separators left by missing values vanish, so that a test
    notification without an address reads "Host: web01", not "Host: web01 (, )".
    ``value_limit`` bounds each substituted value, so one huge output cannot
    crowd the other lines out of a bounded text.
    """
    lines = []
    for line in decode_newlines(template).split("\n"):
        names = _MACRO.findall(line)
        if names and not any(context.get(name, "").strip() for name in names):
            continue
        if value_limit:
            rendered = _MACRO.sub(lambda m: bound(context.get(m.group(1), ""), value_limit), line)
        else:
            rendered = _MACRO.sub(lambda m: context.get(m.group(1), ""), line)
        if names and "(" in rendered:
            rendered = _TRAILING_COMMAS.sub(")", _LEADING_COMMAS.sub("(", rendered))
            rendered = _EMPTY_BRACKETS.sub("", rendered)
        lines.append(rendered)
    return "\n".join(lines)


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
        import html  # rarely needed; keep it off the hot path

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
