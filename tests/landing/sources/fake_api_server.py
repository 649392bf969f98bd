"""A fake REST API for source tests: a real HTTP server on 127.0.0.1 (stdlib, in a thread).

The fake API (:class:`FakeApi`) serves one list of order records in every pagination style
tenantlake supports, filters by ``updated_since``, requires a Bearer token, and can be told to
answer the next requests of a path with 429/503 to exercise retries. It runs in a thread on a
random free port and is shut down by the fixture.
"""

from __future__ import annotations

import contextlib
import json
import threading
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


TOKEN = "s3cret-token-value"


def make_orders(n: int, start: int = 1, day: int = 1) -> list[dict[str, Any]]:
    """``n`` orders with ascending ``updated_at`` (a minute apart) and a nested customer."""
    out = []
    for i in range(start, start + n):
        out.append({
            "id": f"O{i:04d}",
            "customer": {"id": f"C{i % 7:03d}", "name": f"Customer {i % 7}"},
            "order_date": f"2024-05-{day:02d}",
            "amount": round(10 + i * 1.5, 2),
            "status": "open",
            "updated_at": f"2024-05-{day:02d}T{(i // 60) % 24:02d}:{i % 60:02d}:00Z",
        })
    return out


@dataclass
class FakeApi:
    """State of the fake API: records served, requests seen, failures to inject."""

    records: list[dict[str, Any]] = field(default_factory=list)
    token: str | None = TOKEN
    #: path -> list of (status, headers) answered (in order) before serving normally.
    failures: dict[str, list[tuple[int, dict[str, str]]]] = field(default_factory=dict)
    requests: list[tuple[str, dict[str, str], dict[str, str]]] = field(default_factory=list)
    base_url: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def fail_next(self, path: str, status: int, times: int = 1,
                  headers: dict[str, str] | None = None) -> None:
        self.failures.setdefault(path, []).extend([(status, headers or {})] * times)

    def hits(self, path: str) -> list[dict[str, str]]:
        """Query params of every request to ``path`` (failed ones included)."""
        return [q for p, q, _ in self.requests if p == path]

    def visible(self, query: dict[str, str]) -> list[dict[str, Any]]:
        since = query.get("updated_since")
        recs = sorted(self.records, key=lambda r: (r["updated_at"], r["id"]))
        return [r for r in recs if since is None or r["updated_at"] > since]


def _handler(api: FakeApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # keep pytest output clean
            pass

        def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:  # noqa: N802 - http.server API
            parsed = urllib.parse.urlsplit(self.path)
            path = parsed.path
            q = {k: v[-1] for k, v in urllib.parse.parse_qs(parsed.query).items()}
            with api.lock:
                api.requests.append((path, q, dict(self.headers)))
                pending = api.failures.get(path)
                failure = pending.pop(0) if pending else None
            if failure:
                return self._send(failure[0], {"error": "try later"}, failure[1])
            if api.token and self.headers.get("Authorization") != f"Bearer {api.token}":
                return self._send(401, {"error": "missing or bad token"})
            recs = api.visible(q)
            style = path.strip("/").split("/")[0]
            if style == "page":
                size = int(q.get("per_page", 10))
                page = int(q.get("page", 1))
                chunk = recs[(page - 1) * size: page * size]
                return self._send(200, {"data": {"items": chunk}, "meta": {"page": page}})
            if style == "offset":
                size, off = int(q.get("limit", 10)), int(q.get("offset", 0))
                return self._send(200, {"results": recs[off: off + size], "total": len(recs)})
            if style == "cursor":
                size, pos = int(q.get("limit", 10)), int(q.get("cursor", "0") or 0)
                chunk = recs[pos: pos + size]
                nxt = str(pos + size) if pos + size < len(recs) else None
                return self._send(200, {"items": chunk, "next_cursor": nxt})
            if style in ("next", "link", "evil"):
                size, pos = 4, int(q.get("after", 0))
                chunk = recs[pos: pos + size]
                more = pos + size < len(recs)
                rest = {k: v for k, v in q.items() if k != "after"}
                link = f"{path}?{urllib.parse.urlencode({**rest, 'after': pos + size})}"
                if style == "evil":
                    link = "http://evil.invalid:1/steal" + link
                if style == "link":
                    hdr = {"Link": f'<{api.base_url}{link}>; rel="next"'} if more else {}
                    return self._send(200, chunk, hdr)
                return self._send(200, {"results": chunk, "next": link if more else None})
            if style == "loop":  # a broken server that hands out the same cursor forever
                return self._send(200, {"items": recs[:2], "next_cursor": "same"})
            if style == "moved":  # same-origin redirect, then one to another origin
                target = ("/single/orders" if path == "/moved/orders"
                          else f"http://localhost:{self.server.server_address[1]}/single/orders")
                return self._send(302, {}, {"Location": target})
            if style == "single":
                return self._send(200, recs)
            return self._send(404, {"error": f"no route {path}"})

    return Handler


@contextlib.contextmanager
def serve(api: FakeApi) -> Iterator[FakeApi]:
    """Run ``api`` on 127.0.0.1:<free port> until the block ends (then shut down and join)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(api))
    server.daemon_threads = True
    api.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield api
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
