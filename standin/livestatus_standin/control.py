"""``LivestatusStandIn``: run the Livestatus stand-in in this process and drive it."""

from __future__ import annotations

import contextlib
import copy
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

from .dialect import DIALECTS
from .model import HOST_DEFAULTS, SERVICE_DEFAULTS, FixtureError, Site
from .server import Control, LivestatusServer, check_path, parse_fault


class LivestatusStandIn:
    """A Livestatus double on a Unix socket (the tests use ``$OMD_ROOT/tmp/run/live``).

    ``fixtures``: ``{"hosts": [...], "services": [...]}`` or a JSON file. ``inventory_dir``:
    where ``mk_inventory`` files are looked up like Livestatus does
    (``$OMD_ROOT/var/check_mk/inventory``); ``prefer_json`` models the newest lookup
    (``<host>.json`` first); ``dialect`` ``checkmk`` or ``icinga2``: what a command on a
    non-existent object gets, and how queries are answered (server.py, dialect.py). State
    (hosts, commands) survives ``stop()``/``start()``."""

    def __init__(
        self,
        path: str | Path,
        fixtures: Mapping[str, Any] | str | Path | None = None,
        inventory_dir: str | Path | None = None,
        prefer_json: bool = True,
        dialect: str = "checkmk",
    ) -> None:
        self.path = Path(path)
        check_path(self.path)
        self._control = Control(
            Site(fixtures),
            None if inventory_dir is None else Path(inventory_dir),
            prefer_json,
        )
        if dialect not in DIALECTS:
            raise ValueError(f"unknown Livestatus dialect {dialect!r}")
        self._control.dialect = dialect
        self._server: LivestatusServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._server is not None

    def start(self) -> LivestatusStandIn:
        if self._server is not None:
            return self
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()  # a stale socket from an earlier run
        self._control.stopping.clear()
        server = LivestatusServer(str(self.path), self._control)
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.02},
            name=f"livestatus-standin-{self.path.name}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self, remove_socket: bool = True) -> None:
        """Stop serving. ``remove_socket=False`` leaves the socket file behind: clients
        then get "connection refused" instead of "no such file"."""
        server, thread = self._server, self._thread
        if server is None:
            return
        self._server = self._thread = None
        self._control.stopping.set()
        server.shutdown()
        server.close_connections()
        server.server_close()
        if remove_socket:
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> LivestatusStandIn:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- misbehaviour ------------------------------------------------------------------
    def inject(self, *specs: str) -> None:
        """One-shot faults for the next queries, in order: ``slow:S``, ``close``,
        ``garbage``, ``truncate``, ``hang``."""
        parsed = [parse_fault(spec) for spec in specs]
        with self._control.lock:
            self._control.faults.extend(parsed)

    def always(self, spec: str | None) -> None:
        """A fault for every query without a one-shot fault (None: behave again)."""
        parsed = None if spec is None else parse_fault(spec)
        with self._control.lock:
            self._control.default_fault = parsed

    def drop_commands(self, count: int) -> None:
        """The next ``count`` commands are recorded (``effect`` "dropped") but change nothing:
        a core that never applies a command it took."""
        with self._control.lock:
            self._control.drop = count

    # -- data --------------------------------------------------------------------------
    def load(self, fixtures: Mapping[str, Any] | str | Path) -> None:
        self._control.site.load(fixtures)

    def update_host(self, name: str, **values: Any) -> None:
        """Change a host's columns (e.g. ``state=0`` when it recovers)."""
        self._update(self._control.site.hosts.get(name), HOST_DEFAULTS, values, name)

    def update_service(self, host: str, description: str, **values: Any) -> None:
        row = self._control.site.services.get((host, description))
        self._update(row, SERVICE_DEFAULTS, values, f"{host};{description}")

    def _update(
        self, row: Any, defaults: dict[str, Any], values: dict[str, Any], label: str
    ) -> None:
        if row is None:
            raise KeyError(label)
        unknown = sorted(set(values) - set(defaults) - {"mk_inventory_file", "mk_inventory_gz_file"})
        if unknown:
            raise FixtureError(f"column(s) not modelled: {', '.join(unknown)}")
        with self._control.site.lock:
            row.values.update(values)

    def host(self, name: str) -> dict[str, Any] | None:
        """A host's columns plus its comments (``comment_entries`` with entry types)."""
        return self._control.site.host_view(name)

    def service(self, host: str, description: str) -> dict[str, Any] | None:
        return self._control.site.service_view(host, description)

    # -- records -----------------------------------------------------------------------
    def commands(self) -> list[dict[str, Any]]:
        """Every command line received: time, timestamp, name, args, effect, raw."""
        with self._control.lock:
            return copy.deepcopy(self._control.commands)

    def wait_commands(self, count: int, timeout: float = 5.0) -> list[dict[str, Any]]:
        """Wait until at least ``count`` commands were received (Livestatus takes commands
        asynchronously: a client that sent one and closed may query before it is applied)."""
        deadline = time.monotonic() + timeout
        with self._control.changed:
            while len(self._control.commands) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"{len(self._control.commands)} of {count} commands")
                self._control.changed.wait(left)
            return copy.deepcopy(self._control.commands)

    def queries(self) -> list[dict[str, Any]]:
        """Every GET request received: time, lines, fault applied."""
        with self._control.lock:
            return copy.deepcopy(self._control.queries)

    def reset(self) -> None:
        """Forget commands, queries and faults (the fixture data stays)."""
        with self._control.lock:
            self._control.commands.clear()
            self._control.queries.clear()
            self._control.faults.clear()
            self._control.default_fault = None
