"""Real receivers on 127.0.0.1 for alert tests: an HTTP server that verifies Standard Webhooks
signatures with the independent ``standardwebhooks`` package, and an aiosmtpd SMTP server.

The HTTP receiver's behaviour is scripted per request (answer 503 for the first N, stall past the
client's timeout, refuse rows), and it records every accepted message with its ``webhook-id``, so
tests can count deliveries and duplicates per idempotency key.
"""

from __future__ import annotations

import base64
import json
import threading
from collections import Counter
from dataclasses import dataclass, field
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

SECRET_A = "whsec_" + base64.b64encode(b"tenantlake-test-secret-number-one").decode()
SECRET_B = "whsec_" + base64.b64encode(b"tenantlake-test-secret-number-two").decode()


@dataclass
class Script:
    """How the receiver answers: first ``fail_first`` requests with ``fail_status``; requests
    whose alert id is in ``reject_ids`` with 422; ``stall_first`` requests stall for
    ``stall_seconds`` (past the client's timeout) before answering."""

    fail_first: int = 0
    fail_status: int = 503
    stall_first: int = 0
    stall_seconds: float = 0.0
    reject_ids: set[str] = field(default_factory=set)
    #: batch REST calls: alert ids to list as rejected in a 200 response.
    reject_rows: dict[str, str] = field(default_factory=dict)
    #: called with the request number before answering (tests kill the sender from here).
    on_request: object = None


class Receiver:
    def __init__(self, secret: str | None = SECRET_A, script: Script | None = None):
        self.secret = secret
        self.script = script or Script()
        self.requests = 0
        self.accepted: list[dict] = []  # {"id":..., "body":..., "headers":...}
        self.bad_signatures = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def ids(self) -> Counter:
        with self._lock:
            return Counter(a["id"] for a in self.accepted)

    def start(self) -> "Receiver":
        self.thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self.server.shutdown()
        self.server.server_close()

    def _handler(self):
        rec = self

        class H(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_POST(self):
                n = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(n)
                with rec._lock:
                    rec.requests += 1
                    k = rec.requests
                s = rec.script
                if callable(s.on_request):
                    s.on_request(k)
                if k <= s.stall_first:
                    rec._stop.wait(s.stall_seconds)
                if k <= s.fail_first:
                    return self._answer(s.fail_status, b"busy")
                headers = {h.lower(): v for h, v in self.headers.items()}
                if rec.secret is not None:
                    try:
                        Webhook(rec.secret).verify(body, headers)
                    except WebhookVerificationError:
                        with rec._lock:
                            rec.bad_signatures += 1
                        return self._answer(401, b"bad signature")
                doc = json.loads(body)
                if isinstance(doc, dict) and "alerts" in doc:  # batch REST call
                    rejected = [{"alert_id": a["alert_id"], "reason": s.reject_rows[a["alert_id"]]}
                                for a in doc["alerts"] if a["alert_id"] in s.reject_rows]
                    with rec._lock:
                        for a in doc["alerts"]:
                            if a["alert_id"] not in s.reject_rows:
                                rec.accepted.append({"id": a["alert_id"], "body": a,
                                                     "headers": headers})
                    return self._answer(200, json.dumps({"rejected": rejected}).encode())
                alert_id = doc.get("alert_id") if isinstance(doc, dict) else None
                if alert_id in s.reject_ids:
                    return self._answer(422, b"unknown customer")
                with rec._lock:
                    rec.accepted.append({"id": alert_id or headers.get("webhook-id"),
                                         "body": doc, "headers": headers})
                return self._answer(200, b"ok")

            def _answer(self, status: int, body: bytes):
                try:
                    self.send_response(status)
                    self.send_header("content-length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass

        return H


class SmtpSink:
    """An aiosmtpd server on 127.0.0.1 keeping every message it receives."""

    def __init__(self):
        from aiosmtpd.controller import Controller

        self.messages: list = []
        sink = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                sink.messages.append(message_from_bytes(envelope.content))
                return "250 OK"

        import socket

        with socket.socket() as probe:  # a free port (the controller probes its own port)
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)

    def start(self) -> "SmtpSink":
        self.controller.start()
        return self

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.controller.stop()
