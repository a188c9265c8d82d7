"""Everything the product prints goes through here.

``Printer`` knows every secret of the run and replaces it before a line is
written (the redaction guard), so neither a result line, an error message nor
an exception text can carry a key or a proxy password to ``notify.log``.
Redaction runs on the text as it was given, *before* line breaks are folded,
so a secret cannot escape by being split across lines. Lines are written as
UTF-8 bytes (a host name with umlauts must not crash a run whose stdout
encoding is ASCII), and a closed stdout or a broken pipe never raises: the
exit code still tells the delivery.
"""

from __future__ import annotations

import json
import os
import sys
from typing import IO, Callable, Iterable, List, Optional
from urllib.parse import quote

from .secret import hint

PREFIX = "cmk_ilert: "


def variants(secret: str) -> List[str]:
    """The forms a secret takes inside a JSON document or a URL path, too."""
    found = []
    for variant in (secret, json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1],
                    quote(secret, safe="")):
        if variant and variant not in found:
            found.append(variant)
    return found


class Redactor:
    """Replaces every known secret (in each of its forms) by its short hint."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets: List[str] = []
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        changed = False
        for secret in secrets:
            if not secret:
                continue
            for variant in variants(secret):
                if variant not in self._secrets:
                    self._secrets.append(variant)
                    changed = True
        if changed:
            self._secrets.sort(key=len, reverse=True)  # longest first: URLs before passwords

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, hint(secret))
        return text

    @property
    def secrets(self) -> List[str]:
        return list(self._secrets)


class Printer:
    def __init__(self, stream: Optional[IO[str]] = None, prefix: str = PREFIX) -> None:
        self._stream = stream
        self._prefix = prefix
        self._redactor = Redactor()
        #: False once the stream refused a write (closed stdout, broken pipe)
        self.ok = True

    def add_secrets(self, secrets: Iterable[str]) -> None:
        self._redactor.add(secrets)

    def redact(self, text: str) -> str:
        return self._redactor(text)

    @property
    def redactor(self) -> Callable[[str], str]:
        return self._redactor

    @property
    def secrets(self) -> List[str]:
        return self._redactor.secrets

    def line(self, text: str) -> None:
        # splitlines() also breaks at \r, \v, \f, \x1c-\x1e, \x85, \u2028/9: one event, one line.
        self._emit(self._prefix + " ".join(self.redact(text).splitlines()))

    def raw(self, text: str) -> None:
        """Multi-line output (dry-run payloads, status tables), still redacted."""
        self._emit(self.redact(text))

    def write(self, text: str) -> None:
        self._emit(self.redact(text))

    def _emit(self, text: str) -> None:
        if not self.ok:
            return
        data = (text + "\n").encode("utf-8", "replace")
        stream = self._stream or sys.stdout
        try:
            if stream is None:
                raise OSError("no stream")
            buffer = getattr(stream, "buffer", None)
            if buffer is not None:
                stream.flush()
                buffer.write(data)
                buffer.flush()
            else:
                stream.write(data.decode("utf-8"))
                stream.flush()
        except (OSError, ValueError):
            self.ok = False
            silence(stream)


def silence(stream: object) -> None:
    """After a failed write: point the stream's descriptor at /dev/null, so the
    interpreter's final flush of what is still buffered does not complain."""
    try:
        fd = stream.fileno()  # type: ignore[attr-defined]
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, fd)
        finally:
            os.close(devnull)
    except (AttributeError, OSError, ValueError):
        pass
