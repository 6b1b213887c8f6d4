"""Stand-ins on loopback for the services the notifier talks to, started by the tests:
GOV.UK Notify's HTTP API (the two calls Walkin makes) and a Web Push service. Each is
a real HTTP server in a thread of its own (``http.server``), so the real client
libraries (``notifications-python-client``, ``pywebpush``, both on ``requests``)
make their real requests to it; each request is kept as received, and the stand-in
answers as the real service does, or with the failures a test asks for."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

#: a Notify API key as Notify issues them: a name, the service id, the secret
SERVICE_ID = "26785a09-ab16-4eb0-8407-a37497a57506"
SECRET = "3d844edf-8d35-48ac-975b-e847b4f122b0"
API_KEY = f"walkin_test-{SERVICE_ID}-{SECRET}"


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]  # names in lower case
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class StandIn:
    """What a stand-in received, and what it should answer next: ``fail_next`` holds
    statuses to answer (in order) before answering normally again."""

    url: str = ""
    received: list[Received] = field(default_factory=list)
    fail_next: list[int] = field(default_factory=list)
    #: what Notify says of a message asked after (``GET /v2/notifications/<id>``)
    delivery: str = "delivered"
    #: the paths asked after with GET
    asked: list[str] = field(default_factory=list)
    arrived: threading.Condition = field(default_factory=threading.Condition)

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        """Until ``count`` requests have arrived (AssertionError after ``timeout``)."""
        with self.arrived:
            if not self.arrived.wait_for(lambda: len(self.received) >= count, timeout):
                raise AssertionError(f"{len(self.received)} requests, not {count}")
            return list(self.received)


def _handler(standin: StandIn, answer: Any) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            got = Received("POST", self.path, {k.lower(): v for k, v in self.headers.items()}, body)
            with standin.arrived:
                standin.received.append(got)
                status = standin.fail_next.pop(0) if standin.fail_next else None
                standin.arrived.notify_all()
            if status is not None:
                reply: tuple[int, dict[str, str], bytes] = (
                    status,
                    {"Content-Type": "application/json"},
                    json.dumps(
                        {"status_code": status, "errors": [{"error": "Fail", "message": "down"}]}
                    ).encode(),
                )
            else:
                reply = answer(got)
            code, headers, payload = reply
            self.send_response(code)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            with standin.arrived:
                standin.asked.append(self.path)
            notification_id = self.path.rsplit("/", 1)[-1]
            body = json.dumps(
                {"id": notification_id, "status": standin.delivery, "type": "sms"}
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@contextmanager
def _serving(standin: StandIn, answer: Any) -> Iterator[StandIn]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(standin, answer))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    standin.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield standin
    finally:
        server.shutdown()
        server.server_close()


def _notify_answer(got: Received) -> tuple[int, dict[str, str], bytes]:
    """Notify's 201 for a message sent (its documented response's fields)."""
    sent = got.json()
    reply = {
        "id": str(uuid.uuid4()),
        "reference": sent.get("reference"),
        "content": {"body": sent.get("personalisation", {}).get("message", "")},
        "uri": "https://api.notifications.service.gov.uk/v2/notifications/x",
        "template": {"id": sent.get("template_id"), "version": 1, "uri": "x"},
    }
    if got.path.endswith("/sms"):
        reply["content"]["from_number"] = "GOVUK"
    return 201, {"Content-Type": "application/json"}, json.dumps(reply).encode()


def _push_answer(got: Received) -> tuple[int, dict[str, str], bytes]:
    return 201, {"Location": f"{got.path}/messages/{uuid.uuid4().hex}"}, b""


@contextmanager
def notify_standin() -> Iterator[StandIn]:
    """GOV.UK Notify's API on loopback: ``POST /v2/notifications/sms`` and ``/email``."""
    with _serving(StandIn(), _notify_answer) as standin:
        yield standin


@contextmanager
def push_standin() -> Iterator[StandIn]:
    """A Web Push service on loopback: any ``POST`` is a push message (201)."""
    with _serving(StandIn(), _push_answer) as standin:
        yield standin


# ---------------------------------------------------------------- a browser's side


@dataclass
class Subscription:
    """What a browser holds for a push subscription: its key pair and auth secret (to
    decrypt what arrives), and the JSON it gives the page's server."""

    endpoint: str
    private_key: Any
    auth: bytes

    @classmethod
    def new(cls, endpoint: str) -> Subscription:
        import os

        from cryptography.hazmat.primitives.asymmetric import ec

        return cls(endpoint, ec.generate_private_key(ec.SECP256R1()), os.urandom(16))

    def info(self) -> dict[str, Any]:
        from cryptography.hazmat.primitives import serialization

        public = self.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return {"endpoint": self.endpoint, "keys": {"p256dh": b64(public), "auth": b64(self.auth)}}

    def decrypt(self, body: bytes) -> Any:
        """The payload of one push message (RFC 8291, aes128gcm), as JSON."""
        return json.loads(self.plaintext(body))

    def plaintext(self, body: bytes) -> bytes:
        """The payload of one push message (RFC 8291, aes128gcm), as the phone's push
        service hands it to the page's service worker."""
        import http_ece

        plain: bytes = http_ece.decrypt(
            body, private_key=self.private_key, auth_secret=self.auth, version="aes128gcm"
        )
        return plain


def b64(raw: bytes) -> str:
    import base64

    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    import base64

    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
