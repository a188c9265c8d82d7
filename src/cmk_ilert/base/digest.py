"""SHA-256 for names and identities, without loading OpenSSL when the interpreter has its own.

``hashlib`` loads OpenSSL's ``_hashlib`` on import (~2-3 ms); a call that only finds
its event delivered already (another contact's call) or ignores it needs nothing else
from it. CPython's built-in ``_sha2`` (3.12+) or ``_sha256`` (3.8-3.11) give the same
digests; ``hashlib`` is the fallback where neither exists. The digests name events and
files, they protect nothing, so which implementation computes them does not matter.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    from hashlib import _Hash as Hash


def _implementation() -> Callable[..., Hash]:
    for name in ("_sha2", "_sha256"):
        try:
            found = getattr(__import__(name), "sha256", None)
        except ImportError:
            continue
        if found is not None:
            return found  # type: ignore[no-any-return]
    import hashlib  # lazy: OpenSSL's _hashlib only where the built-in _sha2/_sha256 is missing

    return hashlib.sha256


sha256 = _implementation()
