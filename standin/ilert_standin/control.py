"""``StandIn``: run the stand-in in this process (a daemon thread) and drive it directly."""

from __future__ import annotations

import ssl
import threading
from collections.abc import Iterable, Mapping
from types import TracebackType
from typing import Any

from .faults import FaultSpec, parse_fault
from .server import App, StandInServer
from .state import Config, LogEntry, RetryAfterMode, State, checked_changes

_URL_HOSTS = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1"}


class StandIn:
    """A local iLert stand-in. ``start()`` (or ``with``) binds and serves; state survives
    ``stop()``/``start()``, which rebinds the same port (for outage tests)."""

    def __init__(
        self,
        keys: Iterable[str] = (),
        unauthorized_keys: Iterable[str] = (),
        heartbeat_keys: Iterable[str] = (),
        rate_limit: int = 50,
        rate_window: float = 60.0,
        retry_after_mode: RetryAfterMode = "always",
        host: str = "127.0.0.1",
        port: int = 0,
        certfile: str | None = None,
        keyfile: str | None = None,
        *,
        empty_202_body: bool = False,
        user_api_keys: Iterable[str] = (),
        user_api_keys_no_read: Iterable[str] = (),
        api_rate_limit: int = 120,
        source_ids: Mapping[str, int] | None = None,
        source_names: Mapping[str, str] | None = None,
        source_types: Mapping[str, str] | None = None,
        checkmk_site_marker: str = "none",
        verbose: bool = False,
    ) -> None:
        settings = checked_changes(
            {
                "keys": list(keys),
                "unauthorized_keys": list(unauthorized_keys),
                "heartbeat_keys": list(heartbeat_keys),
                "rate_limit": rate_limit,
                "rate_window": rate_window,
                "retry_after_mode": retry_after_mode,
                "empty_202_body": empty_202_body,
                "user_api_keys": list(user_api_keys),
                "user_api_keys_no_read": list(user_api_keys_no_read),
                "api_rate_limit": api_rate_limit,
                "source_ids": dict(source_ids or {}),
                "source_names": dict(source_names or {}),
                "source_types": dict(source_types or {}),
                "checkmk_site_marker": checkmk_site_marker,
            }
        )
        self._app = App(State(Config(**settings)), verbose=verbose)
        self.host = host
        self._port = port
        self._ssl: ssl.SSLContext | None = None
        if certfile is not None:
            self._ssl = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            self._ssl.load_cert_chain(certfile, keyfile)
        self._server: StandInServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------
    @property
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        if not self._port:
            raise RuntimeError("the stand-in has no port yet: start() it first")
        scheme = "https" if self._ssl is not None else "http"
        host = _URL_HOSTS.get(self.host, self.host)
        if ":" in host:
            host = f"[{host}]"
        return f"{scheme}://{host}:{self._port}"

    @property
    def running(self) -> bool:
        return self._server is not None

    def start(self) -> StandIn:
        if self._server is not None:
            return self
        server = StandInServer((self.host, self._port), self._app, self._ssl)
        self._port = int(server.server_address[1])
        self._app.base_url = self.url
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.02},
            name=f"ilert-standin-{self._port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is None:
            return
        self._server = self._thread = None
        server.shutdown()
        server.server_close()
        server.close_connections()
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> StandIn:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- inspection and control --------------------------------------------------------
    def log(self, since: int = 0) -> list[LogEntry]:
        return self._app.state.log(since)

    def alerts(self) -> list[dict[str, Any]]:
        return self._app.state.alerts(self._app.base_url)

    def pings(self) -> list[dict[str, Any]]:
        return self._app.state.pings()

    def faults(self) -> list[dict[str, str | None]]:
        return [fault.as_json() for fault in self._app.faults.pending()]

    def config(self) -> dict[str, Any]:
        return self._app.state.config.as_json()

    def next_window_in(self) -> float:
        """Seconds until the next rate-limit window starts (windows are aligned for all keys)."""
        state = self._app.state
        return state.until_next_window(state.clock())

    def inject(
        self, *faults: FaultSpec, path_prefix: str | None = None, key: str | None = None
    ) -> None:
        self._app.faults.add([parse_fault(spec, path_prefix, key) for spec in faults])

    def configure(self, **changes: Any) -> None:
        self._app.state.configure(changes)

    # -- what a responder does in iLert (admin actions) --------------------------------
    def accept_alert(self, alert_id: int, user: str) -> dict[str, Any]:
        """A responder named ``user`` accepts the alert in iLert's app."""
        state = self._app.state
        return state.responder_accept(alert_id, user).as_json(self._app.base_url)

    def resolve_alert(self, alert_id: int, user: str) -> dict[str, Any]:
        state = self._app.state
        return state.responder_resolve(alert_id, user).as_json(self._app.base_url)

    def comment_alert(self, alert_id: int, user: str, content: str) -> dict[str, Any]:
        state = self._app.state
        alert = state.responder_comment(alert_id, user, content)
        return alert.as_json(self._app.base_url)

    def reassign_alert(self, alert_id: int, user: str, to: str) -> dict[str, Any]:
        """``user`` assigns the alert to ``to``: PENDING again, nobody has accepted it."""
        state = self._app.state
        return state.responder_reassign(alert_id, user, to).as_json(self._app.base_url)

    def escalate_alert(self, alert_id: int, to: str, level: int) -> dict[str, Any]:
        state = self._app.state
        return state.escalate(alert_id, to, level).as_json(self._app.base_url)

    def add_log_entries(self, alert_id: int, count: int) -> dict[str, Any]:
        """``count`` notification log entries on the alert (a long log)."""
        state = self._app.state
        return state.add_log_entries(alert_id, count).as_json(self._app.base_url)

    def source_id(self, key: str) -> int:
        """The numeric alert source id of an integration key (``GET /api/alerts?sources=``)."""
        return self._app.state.source_id(key)

    def users(self) -> list[dict[str, Any]]:
        return self._app.state.users()

    def stats(self) -> dict[str, int]:
        """Wire counters: connections, nodelay_connections, responses, writes."""
        return self._app.stats.as_json()

    def reset(self) -> None:
        self._app.faults.clear()
        self._app.state.reset()
        self._app.stats.reset()
