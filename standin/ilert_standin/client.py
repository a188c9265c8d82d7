"""``StandInClient``: drive a stand-in in another process over its admin API (stdlib only)."""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request
from typing import Any

from .faults import FaultSpec


class StandInError(RuntimeError):
    """The admin API answered an error."""


class StandInClient:
    def __init__(
        self, url: str, timeout: float = 10.0, ssl_context: ssl.SSLContext | None = None
    ) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        self._ssl = ssl_context

    def _call(self, method: str, resource: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode("utf-8")
        request = urllib.request.Request(
            f"{self.url}/_standin/{resource}",
            data=data,
            method=method,
            headers={"Content-Type": "application/json"} if data is not None else {},
        )
        try:
            with urllib.request.urlopen(
                request, timeout=self.timeout, context=self._ssl
            ) as resp:
                return json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode("utf-8", "replace")
            raise StandInError(
                f"{method} /_standin/{resource}: {exc.code} {detail}"
            ) from None

    def health(self) -> bool:
        return bool(self._call("GET", "health").get("ok"))

    def next_window_in(self) -> float:
        return float(self._call("GET", "health")["next_window_in"])

    def log(self, since: int = 0) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._call("GET", f"log?since={int(since)}")
        return result

    def alerts(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._call("GET", "alerts")
        return result

    def pings(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._call("GET", "pings")
        return result

    def faults(self) -> list[dict[str, str | None]]:
        result: list[dict[str, str | None]] = self._call("GET", "faults")
        return result

    def config(self) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", "config")
        return result

    def inject(
        self, *faults: FaultSpec, path_prefix: str | None = None, key: str | None = None
    ) -> None:
        self._call(
            "POST",
            "faults",
            {"faults": list(faults), "path_prefix": path_prefix, "key": key},
        )

    def configure(self, **changes: Any) -> None:
        for name in (
            "keys",
            "unauthorized_keys",
            "heartbeat_keys",
            "user_api_keys",
            "user_api_keys_no_read",
        ):
            if name in changes:
                changes[name] = list(changes[name])
        self._call("POST", "config", changes)

    def reset(self) -> None:
        self._call("POST", "reset", {})

    def accept_alert(self, alert_id: int, user: str) -> dict[str, Any]:
        """A responder named ``user`` accepts the alert in iLert's app."""
        result: dict[str, Any] = self._call(
            "POST", f"alerts/{int(alert_id)}/accept", {"user": user}
        )
        return result

    def resolve_alert(self, alert_id: int, user: str) -> dict[str, Any]:
        result: dict[str, Any] = self._call(
            "POST", f"alerts/{int(alert_id)}/resolve", {"user": user}
        )
        return result

    def comment_alert(self, alert_id: int, user: str, content: str) -> dict[str, Any]:
        result: dict[str, Any] = self._call(
            "POST",
            f"alerts/{int(alert_id)}/comments",
            {"user": user, "content": content},
        )
        return result

    def reassign_alert(self, alert_id: int, user: str, to: str) -> dict[str, Any]:
        result: dict[str, Any] = self._call(
            "POST", f"alerts/{int(alert_id)}/reassign", {"user": user, "to": to}
        )
        return result

    def escalate_alert(self, alert_id: int, to: str, level: int) -> dict[str, Any]:
        result: dict[str, Any] = self._call(
            "POST", f"alerts/{int(alert_id)}/escalate", {"to": to, "level": level}
        )
        return result

    def stats(self) -> dict[str, int]:
        result: dict[str, int] = self._call("GET", "stats")
        return result

    def sources(self) -> dict[str, dict[str, Any]]:
        result: dict[str, dict[str, Any]] = self._call("GET", "sources")
        return result

    def users(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._call("GET", "users")
        return result
