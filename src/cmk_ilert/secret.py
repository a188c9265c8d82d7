"""A value that must never be printed: API keys, proxy credentials."""

from __future__ import annotations


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
