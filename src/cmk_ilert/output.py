"""Everything the product prints goes through here.

``Printer`` knows every secret of the run and replaces it before a line is
written (the redaction guard), so neither a result line, an error message nor
an exception text can carry a key or a proxy password to ``notify.log``.
Lines are written as UTF-8 bytes: a host name with umlauts must not crash a
run whose stdout encoding is ASCII.
"""

from __future__ import annotations

import json
import sys
from typing import IO, Iterable, List, Optional
from urllib.parse import quote

from .secret import hint

PREFIX = "cmk_ilert: "


class Printer:
    def __init__(self, stream: Optional[IO[str]] = None, prefix: str = PREFIX) -> None:
        self._stream = stream
        self._prefix = prefix
        self._secrets: List[str] = []

    def add_secrets(self, secrets: Iterable[str]) -> None:
        for secret in secrets:
            if not secret:
                continue
            # The forms a secret takes inside a JSON document or a URL path, too.
            for variant in (secret, json.dumps(secret)[1:-1], quote(secret, safe="")):
                if variant not in self._secrets:
                    self._secrets.append(variant)
        self._secrets.sort(key=len, reverse=True)  # longest first: URLs before passwords

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, hint(secret))
        return text

    @property
    def secrets(self) -> List[str]:
        return list(self._secrets)

    def line(self, text: str) -> None:
        # splitlines() also breaks at \r, \v, \f, \x1c-\x1e, \x85, \u2028/9: one event, one line.
        self.write(self._prefix + " ".join(text.splitlines()))

    def raw(self, text: str) -> None:
        """Multi-line output (dry-run payloads, status tables), still redacted."""
        self.write(text)

    def write(self, text: str) -> None:
        data = (self.redact(text) + "\n").encode("utf-8", "replace")
        stream = self._stream or sys.stdout
        buffer = getattr(stream, "buffer", None)
        if buffer is not None:
            stream.flush()
            buffer.write(data)
            buffer.flush()
        else:
            stream.write(data.decode("utf-8"))
            stream.flush()
