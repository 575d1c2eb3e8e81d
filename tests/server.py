"""A real HTTP server on 127.0.0.1 that serves recorded responses, with the faults harvesters must survive."""
from __future__ import annotations

import gzip
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlencode, urlsplit


@dataclass
class Answer:
    """One recorded answer: status, headers, body, and optional slowness."""

    body: bytes = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering
    drip: float = 0.0  # seconds between 1-byte chunks of the body (a slow-drip server)


@dataclass
class Route:
    """Answers for one path, used in order; the last one repeats. ETag-aware when `etag` is set."""

    answers: list[Answer]
    etag: str | None = None
    last_modified: str | None = None
    hits: int = 0


class RecordedServer:
    """Serve routes keyed by path (or path?query); everything else is 404."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.rewrites: dict[bytes, bytes] = {}
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()

    @property
    def base(self) -> str:
        """http://127.0.0.1:PORT"""
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def url(self, path: str) -> str:
        """The absolute URL of a path on this server."""
        return self.base + path

    def add(self, path: str, body: bytes | str = b"", *, status: int = 200, content_type: str = "text/html; charset=utf-8",
            headers: dict[str, str] | None = None, etag: str | None = None, last_modified: str | None = None,
            delay: float = 0.0, drip: float = 0.0) -> Route:
        """Serve one answer at `path` (repeatedly)."""
        data = body.encode("utf-8") if isinstance(body, str) else body
        all_headers = {"Content-Type": content_type, **(headers or {})}
        route = Route([Answer(data, status, all_headers, delay, drip)], etag=etag, last_modified=last_modified)
        self.routes[_key(path)] = route
        return route

    def sequence(self, path: str, answers: list[Answer]) -> Route:
        """Serve these answers in order at `path`; the last repeats."""
        route = Route(answers)
        self.routes[_key(path)] = route
        return route

    def hits(self, path: str) -> int:
        """How many requests `path` received."""
        route = self.routes.get(_key(path))
        return route.hits if route else 0

    def close(self) -> None:
        """Stop serving."""
        self._httpd.shutdown()
        self._httpd.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:  # quiet
                pass

            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                server.requests.append((self.path, dict(self.headers)))
                parts = urlsplit(self.path)
                route = server.routes.get(_key(self.path)) or server.routes.get(parts.path)
                if route is None:
                    self._send(Answer(b"not found", 404, {"Content-Type": "text/plain"}))
                    return
                route.hits += 1
                answer = route.answers[min(route.hits - 1, len(route.answers) - 1)]
                if answer.delay:
                    time.sleep(answer.delay)
                if route.etag and self.headers.get("If-None-Match") == route.etag:
                    self._send(Answer(b"", 304, {"ETag": route.etag}))
                    return
                if route.last_modified and self.headers.get("If-Modified-Since") == route.last_modified:
                    self._send(Answer(b"", 304, {"Last-Modified": route.last_modified}))
                    return
                headers = dict(answer.headers)
                if route.etag:
                    headers["ETag"] = route.etag
                if route.last_modified:
                    headers["Last-Modified"] = route.last_modified
                body = answer.body
                for old, new in server.rewrites.items():
                    body = body.replace(old, new)
                self._send(Answer(body, answer.status, headers, drip=answer.drip))

            def _send(self, answer: Answer) -> None:
                try:
                    self.send_response(answer.status)
                    for key, value in answer.headers.items():
                        self.send_header(key, value)
                    if "Content-Length" not in answer.headers and answer.status != 304:
                        self.send_header("Content-Length", str(len(answer.body)))
                    self.end_headers()
                    if answer.status == 304:
                        return
                    if answer.drip:
                        for index in range(len(answer.body)):
                            self.wfile.write(answer.body[index : index + 1])
                            self.wfile.flush()
                            time.sleep(answer.drip)
                    else:
                        self.wfile.write(answer.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        return Handler


def _key(path: str) -> str:
    """A route key with the query's parameters in a fixed order."""
    parts = urlsplit(path)
    if not parts.query:
        return parts.path
    return parts.path + "?" + urlencode(sorted(parse_qsl(parts.query, keep_blank_values=True)))


def gzip_bytes(data: bytes) -> bytes:
    """gzip-compress, for Content-Encoding tests."""
    return gzip.compress(data)


Factory = Callable[[], RecordedServer]
