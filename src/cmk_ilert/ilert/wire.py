"""Event -> the HTTP request iLert expects, in one of two wire formats.

* ``api``: ``POST {api_url}/api/events`` with an iLert event built here; the
  integration key travels in the body (``integrationKey``).
* ``checkmk``: ``POST {api_url}/api/v1/events/checkmk-ext/{key}`` with the
  notification context, the format of Checkmk's native plugin, so an alert
  source of type Checkmk keeps working. Unlike the native plugin, every
  parameter except the few iLert reads (priority, summaries, URL prefix) is
  dropped, and so is any value that contains a secret.

A WireRequest does not carry the key: ``key_in`` says where it goes (the
body's ``integrationKey`` or the URL path), and ``final(key)`` puts it there
only when the request is sent. So an outbox entry can keep a password-store
id instead of the key, and nothing printed from a WireRequest can show it.
"""

from __future__ import annotations

from typing import Any, Dict, Mapping, NamedTuple, Sequence, Tuple
from urllib.parse import quote

from ..base.secret import hint, strip_cut_secret
from ..checkmk.context import NotificationContext
from ..checkmk.params import Settings
from .event import ALERT, RESOLVE, Event

MAX_CONTEXT_VALUE = 65536


KEY_IN_BODY, KEY_IN_PATH = "body", "path"


class WireRequest(NamedTuple):
    url: str  # without the key
    body: Dict[str, Any]  # without the key
    kind: str  # "api" | "checkmk"
    key_hint: str
    key_in: str  # "body" | "path"

    def describe(self) -> str:
        return "%s endpoint, key %s" % (self.kind, self.key_hint)

    def final(self, key: str) -> Tuple[str, Dict[str, Any]]:
        """URL and body as they are sent, key included."""
        return finalize(self.url, self.body, self.key_in, key)

    def headers(self) -> Dict[str, str]:
        """Headers besides the transport's own (User-Agent, JSON)."""
        return request_headers(self.kind)


def finalize(url: str, body: Dict[str, Any], key_in: str, key: str) -> Tuple[str, Dict[str, Any]]:
    if key_in == KEY_IN_PATH:
        return url + quote(key, safe=""), body
    if key_in == KEY_IN_BODY:
        return url, dict(body, integrationKey=key)
    return url, body  # an entry written before keys were kept apart: it holds the key already


def request_headers(kind: str) -> Dict[str, str]:
    """The native format also carries the header Checkmk's built-in method sends."""
    if kind == "checkmk":
        return {"Agent": "checkmk/extension/1.0"}
    return {}


def build(event: Event, ctx: NotificationContext, settings: Settings) -> WireRequest:
    if settings.source_type == "api":
        return api_request(event, settings)
    return checkmk_request(event, ctx, settings)


def api_request(event: Event, settings: Settings) -> WireRequest:
    key = settings.api_key.reveal()
    body: Dict[str, Any] = {
        "eventType": event.event_type,
        "alertKey": event.alert_key,
        "summary": event.summary,
    }
    if event.details:
        body["details"] = event.details
    if event.priority:
        body["priority"] = event.priority
    if event.links:
        body["links"] = [{"href": link.href, "text": link.text} for link in event.links]
    if event.comments:
        body["comments"] = [{"creator": c.creator, "content": c.content} for c in event.comments]
    if event.labels:
        body["labels"] = dict(event.labels)
    if event.custom_details:
        body["customDetails"] = dict(event.custom_details)
    if event.routing_key and event.event_type == ALERT:
        body["routingKey"] = event.routing_key
    if event.severity is not None and event.event_type == ALERT:
        body["severity"] = event.severity
    if event.services and event.event_type == ALERT:
        body["services"] = [{"alias": alias} for alias in event.services]
    return WireRequest(settings.api_url + "/api/events", body, "api", hint(key), KEY_IN_BODY)


# Parameters of Checkmk's built-in iLert method that iLert's checkmk-ext endpoint may read
# (priority, summaries, the URL prefix it builds links back to Checkmk from): forwarded as the
# rule holds them. Everything else stays home: the key and the proxy (secrets) and the
# parameters only this package has.
_FORWARDED_PARAMETERS = ("PARAMETER_ILERT_PRIORITY", "PARAMETER_ILERT_SUMMARY_HOST", "PARAMETER_ILERT_SUMMARY_SERVICE")
_FORWARDED_PREFIXES = ("PARAMETER_URL_PREFIX",)


def checkmk_request(event: Event, ctx: NotificationContext, settings: Settings) -> WireRequest:
    key = settings.api_key.reveal()
    secrets = settings.secrets()
    body = scrub_context(ctx.values, secrets)
    if event.event_type == ALERT and event.priority:
        body["PARAMETER_ILERT_PRIORITY"] = event.priority
    summary_key = "PARAMETER_ILERT_SUMMARY_SERVICE" if ctx.is_service else "PARAMETER_ILERT_SUMMARY_HOST"
    body[summary_key] = event.summary  # rendered here: works whether iLert expands macros or not
    if ctx.notification_type.upper() == "CUSTOM":
        # iLert's Checkmk source only processes PROBLEM, ACKNOWLEDGEMENT and RECOVERY: the
        # test alert of a CUSTOM notification (forward_custom is on) is a PROBLEM, and its
        # follow-up RESOLVE (object OK/UP, see mapping) a RECOVERY.
        body["NOTIFICATIONTYPE"] = "RECOVERY" if event.event_type == RESOLVE else "PROBLEM"
        body["CMK_ILERT_NOTIFICATIONTYPE"] = "CUSTOM"
    url = "%s/api/v1/events/checkmk-ext/" % settings.api_url
    return WireRequest(url, body, "checkmk", hint(key), KEY_IN_PATH)


def scrub_context(values: Mapping[str, str], secrets: Sequence[str]) -> Dict[str, Any]:
    """The context minus every parameter not on the allow-list and every value
    that contains a secret; very long values are cut. Everything else (host,
    service, site, states, problem ids, URLs: what iLert's own two-way sync
    for Checkmk needs) reaches iLert unchanged."""
    out: Dict[str, Any] = {}
    for name, value in values.items():
        if (name.startswith("PARAMETER") and name not in _FORWARDED_PARAMETERS
                and not name.startswith(_FORWARDED_PREFIXES)):
            continue
        if any(s in value for s in secrets):
            continue
        if len(value) >= MAX_CONTEXT_VALUE:  # cut here or on the way in: no start of a secret may stay
            value = strip_cut_secret(value[:MAX_CONTEXT_VALUE], secrets)
        out[name] = value
    return out
