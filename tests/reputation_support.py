"""A scripted HTTP server on 127.0.0.1 for the reputation feed tests.

Each path has a queue of canned responses; a path's last response repeats
once its queue is down to one. Every request is recorded with its method,
path, query, headers and body.
"""

from __future__ import annotations

import dataclasses
import json
import threading
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclasses.dataclass
class Canned:
    status: int
    body: bytes
    headers: dict[str, str] = dataclasses.field(default_factory=dict)


def json_response(status: int, payload, **headers: str) -> Canned:
    return Canned(status, json.dumps(payload).encode(), {"Content-Type": "application/json", **headers})


def text_response(status: int, text: str, **headers: str) -> Canned:
    return Canned(status, text.encode(), {"Content-Type": "text/plain", **headers})


@dataclasses.dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes


class ScriptedServer:
    def __init__(self) -> None:
        self.routes: dict[str, list[Canned]] = defaultdict(list)
        self.requests: list[Request] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def handle_any(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                server.requests.append(Request(self.command, parts.path, parse_qs(parts.query), dict(self.headers), body))
                queue = server.routes.get(parts.path)
                if not queue:
                    canned = Canned(404, b"not found")
                elif len(queue) > 1:
                    canned = queue.pop(0)
                else:
                    canned = queue[0]
                self.send_response(canned.status)
                for name, value in canned.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(canned.body)))
                self.end_headers()
                self.wfile.write(canned.body)

            do_GET = handle_any
            do_POST = handle_any

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return "http://127.0.0.1:%d" % self.httpd.server_address[1]

    def add(self, path: str, *responses: Canned) -> None:
        self.routes[path].extend(responses)

    def paths(self) -> list[str]:
        return [request.path for request in self.requests]

    def __enter__(self) -> ScriptedServer:
        self.thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
