"""A minimal iLert events API on 127.0.0.1 for the in-process contract tests.

It answers every POST with 202 and iLert's JSON (``responseCode``, ``alertUrl``), and
calls ``on_post`` the moment a request has arrived, before it answers: the tests put
that moment into the same ordered list as the system calls they observe.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Dict, List, Optional


class EventsServer:
    def __init__(self, on_post: Optional[Callable[[str, Dict[str, Any]], None]] = None) -> None:
        self.on_post = on_post
        self.posts: List[Dict[str, Any]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                length = min(int(self.headers.get("Content-Length") or 0), 1 << 20)
                body = json.loads(self.rfile.read(length) or b"{}")
                if server.on_post is not None:
                    server.on_post(self.path, body)
                server.posts.append(body)
                answer = json.dumps({"responseCode": "NEW_INCIDENT", "incidentKey": body.get("alertKey", ""),
                                     "alertUrl": "https://example.ilert.com/alert/1"}).encode()
                self.send_response(202)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: Any) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.url = "http://127.0.0.1:%d" % self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.02,), name="events-server",
                                        daemon=True)

    def __enter__(self) -> "EventsServer":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(5)
