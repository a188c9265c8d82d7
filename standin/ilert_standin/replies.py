"""HTTP replies as plain values, and iLert-style error bodies ``{status, code, message}``."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any


@dataclass
class Reply:
    status: int
    body: Any = None  # JSON value, raw bytes (sent as they are), or None for an empty body
    headers: list[tuple[str, str]] = field(default_factory=list)
    content_type: str = "application/json"

    def payload(self) -> bytes:
        if self.body is None:
            return b""
        if isinstance(self.body, bytes):
            return self.body
        return json.dumps(self.body, separators=(",", ":")).encode("utf-8")


def default_code(status: int) -> str:
    try:
        return HTTPStatus(status).phrase.upper().replace(" ", "_").replace("-", "_")
    except ValueError:
        return f"HTTP_{status}"


def error_body(
    status: int, code: str | None = None, message: str = ""
) -> dict[str, Any]:
    code = code or default_code(status)
    return {
        "status": status,
        "code": code,
        "message": message or code.lower().replace("_", " "),
    }


class ApiError(Exception):
    """Raised by endpoint logic; becomes an iLert-style error reply."""

    def __init__(self, status: int, code: str, message: str = "") -> None:
        super().__init__(message or code)
        self.status = status
        self.code = code
        self.message = message

    def reply(self) -> Reply:
        return Reply(self.status, error_body(self.status, self.code, self.message))
