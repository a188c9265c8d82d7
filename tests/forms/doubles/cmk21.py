"""Double of the Checkmk 2.1 GUI API (offers exactly ``tests/forms/facts/cmk21.py``).

Differences to 2.0: ``TextInput`` exists (``TextUnicode`` is its alias), ``HTTPProxyReference``
takes ``allowed_schemes``. ``Transform`` still takes ``back``/``forth`` and nothing else: an
unknown keyword such as ``to_valuespec`` is a ``TypeError`` in 2.1 too.
"""

from __future__ import annotations

from . import _legacy_core as core
from . import cmk20

PROXY_SCHEMES = frozenset(("http", "https", "socks4", "socks4a", "socks5", "socks5h"))


def HTTPProxyReference(allowed_schemes=PROXY_SCHEMES):
    return core.http_proxy_reference(core.CascadingDropdown, core.FixedValue, core.DropdownChoice)


def build():
    return cmk20.build(
        text_names=("TextInput", "TextUnicode"),
        proxy=HTTPProxyReference,
        version="2.1.0p40",
        name="2.1",
    )
