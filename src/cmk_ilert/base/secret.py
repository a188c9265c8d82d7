"""A value that must never be printed: API keys, proxy credentials."""

from __future__ import annotations

from typing import Sequence


class Secret:
    """Wraps a secret string. ``str()``/``repr()`` show only a short hint.

    A plain class (not a dataclass) so that no generated ``__repr__`` or
    ``__eq__`` helper can leak the value by accident.
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    @property
    def hint(self) -> str:
        """At most the last four characters, as the contract allows."""
        return hint(self._value)

    def __repr__(self) -> str:
        return "Secret(%s)" % self.hint

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __bool__(self) -> bool:
        return bool(self._value)


def hint(value: str) -> str:
    if len(value) >= 12:
        return "..." + value[-4:]
    return "***"


#: A cut value may end with the start of a secret; this many characters or more are removed.
MIN_FRAGMENT = 4


def strip_cut_secret(value: str, secrets: Sequence[str]) -> str:
    """``value`` without a trailing start of any secret (at least MIN_FRAGMENT characters).

    Context values are cut on the way in, before the rule's secrets are known; a secret
    straddling the cut leaves its first characters at the end of the value, where no
    search for the whole secret finds them."""
    for secret in secrets:
        for size in range(min(len(secret) - 1, len(value)), MIN_FRAGMENT - 1, -1):
            if value.endswith(secret[:size]):
                value = value[:-size]
                break
    return value


def shares_fragment(text: str, secrets: Sequence[str], size: int = 8) -> bool:
    """Whether ``text`` holds any ``size``-character run of a secret (an echo of part of it)."""
    for secret in secrets:
        if len(secret) < size:
            if secret and secret in text:
                return True
            continue
        for start in range(len(secret) - size + 1):
            if secret[start:start + size] in text:
                return True
    return False
