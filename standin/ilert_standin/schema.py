"""Request bodies the stand-in accepts, as pydantic v2 models.

``Event`` models iLert's generic event (``POST /api/events``) after iLert's OpenAPI ``Event``
schema. Design choices, all deliberate:

* **Unknown fields are rejected** (``extra="forbid"``, also inside nested objects). Real iLert
  probably ignores them, but a stand-in that ignores them would let a client typo such as
  ``alertkey`` or ``customDetail`` pass every test and fail silently in production.
* **Validation is strict**: no coercion of ``"3"`` to ``3`` or of ``true`` to a number, so the
  client's JSON types are checked, not just its values.
* ``apiKey`` is accepted as the older synonym of ``integrationKey`` (iLert's Go and Rust SDKs
  still send it). Sending both with different values is an error.
* ``summary`` is required and non-empty for every event type, as the OpenAPI schema says.

The models are built once at import time; validating one event costs a few microseconds.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)
from pydantic.alias_generators import to_camel

EventType = Literal["ALERT", "ACCEPT", "RESOLVE", "COMMENT"]
Priority = Literal["HIGH", "LOW"]


class SchemaError(ValueError):
    """A request body that does not match the schema; the message is client-facing."""


class _Strict(BaseModel):
    model_config = ConfigDict(
        extra="forbid", strict=True, frozen=True, alias_generator=to_camel
    )


class Image(_Strict):
    src: str = Field(min_length=1)
    href: str | None = None
    alt: str | None = None


class Link(_Strict):
    href: str = Field(min_length=1)
    text: str | None = None


class Comment(_Strict):
    creator: str | None = None
    content: str = Field(min_length=1)


class Service(_Strict):
    alias: str | None = None
    service_id: int | None = Field(default=None, alias="id")

    @model_validator(mode="after")
    def _one_reference(self) -> Service:
        if self.alias is None and self.service_id is None:
            raise ValueError("a service needs an alias or an id")
        return self


class Event(_Strict):
    """iLert's generic event."""

    integration_key: str = Field(min_length=1)
    event_type: EventType
    summary: str = Field(min_length=1)
    details: str | None = None
    alert_key: str | None = None
    priority: Priority | None = None
    severity: int | None = Field(default=None, ge=1, le=5)
    images: list[Image] | None = None
    links: list[Link] | None = None
    comments: list[Comment] | None = None
    labels: dict[str, str] | None = None
    custom_details: dict[str, Any] | None = None
    routing_key: str | None = None
    services: list[Service] | None = None

    @model_validator(mode="before")
    @classmethod
    def _api_key_synonym(cls, data: Any) -> Any:
        if isinstance(data, dict) and "apiKey" in data:
            data = dict(data)
            api_key = data.pop("apiKey")
            if "integrationKey" in data and data["integrationKey"] != api_key:
                raise ValueError("integrationKey and apiKey are both set and differ")
            data["integrationKey"] = api_key
        return data


def event_key(body: object) -> str | None:
    """The integration key of a decoded ``/api/events`` body, if it has a usable one."""
    if not isinstance(body, dict):
        return None
    key = body.get("integrationKey", body.get("apiKey"))
    return key if isinstance(key, str) and key else None


def _describe(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors(include_url=False)[:5]:
        loc = ".".join(str(part) for part in err["loc"]) or "body"
        parts.append(f"{loc}: {err['msg']}")
    if exc.error_count() > 5:
        parts.append(f"... {exc.error_count() - 5} more")
    return "; ".join(parts)


def parse_event(body: object) -> Event:
    """Validate a decoded JSON body as an iLert event; raise ``SchemaError``."""
    if not isinstance(body, dict):
        raise SchemaError("the request body must be a JSON object")
    try:
        return Event.model_validate(body)
    except ValidationError as exc:
        raise SchemaError(_describe(exc)) from None


def parse_checkmk_context(body: object) -> dict[str, str]:
    """Validate a ``checkmk-ext`` body: a flat JSON object of strings."""
    if not isinstance(body, dict):
        raise SchemaError("the request body must be a JSON object")
    bad = [key for key, value in body.items() if not isinstance(value, str)]
    if bad:
        raise SchemaError(f"values must be strings: {', '.join(sorted(bad)[:5])}")
    return body


_MACRO = re.compile(r"\$([A-Z][A-Z0-9_]*)\$")


def expand_macros(template: str, context: dict[str, str]) -> str:
    """Replace ``$NAME$`` by ``context[NAME]``; unknown macros stay as they are."""
    return _MACRO.sub(lambda m: context.get(m.group(1), m.group(0)), template)
