"""``walkin serve --tls-cert FILE --tls-key FILE``: the real command serves its pages
over HTTPS and its websocket over WSS, with a certificate made for the test (trustme);
a plain-HTTP client gets nothing."""

from __future__ import annotations

import asyncio
import json
import os
import re
import ssl
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import trustme
from websockets.asyncio.client import connect

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "a long enough password"


def walkin(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "queue_server.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[int, ssl.SSLContext]]:
    authority = trustme.CA()
    certificate = authority.issue_cert("127.0.0.1", "localhost")
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    certificate.private_key_and_cert_chain_pem.write_to_path(str(cert_file))
    certificate.private_key_pem.write_to_path(str(key_file))
    client_context = ssl.create_default_context()
    authority.configure_trust(client_context)
    # for a client that trusts the authority through SSL_CERT_FILE (walkin bookings import)
    authority.cert_pem.write_to_path(str(tmp_path / "authority.pem"))

    db = tmp_path / "walkin.db"
    config = str(ROOT / "examples" / "centre.toml")
    log = tmp_path / "serve.log"
    with log.open("wb") as out:  # the server keeps its own copy of the file
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "queue_server.cli",
                "serve",
                "--config",
                config,
                "--db",
                str(db),
                "--port",
                "0",  # the OS picks a free port; the server's log says which
                "--tls-cert",
                str(cert_file),
                "--tls-key",
                str(key_file),
            ],
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1", "WALKIN_LOG": "INFO"},
        )
    try:
        deadline = time.monotonic() + 30
        port = 0
        while True:
            try:
                if not port:
                    found = re.search(r"on wss://\S+?:(\d+)/ws", log.read_text(errors="replace"))
                    if not found:
                        raise OSError("not listening yet")
                    port = int(found[1])
                with urllib.request.urlopen(
                    f"https://127.0.0.1:{port}/healthz", context=client_context, timeout=2
                ):
                    break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    output = log.read_text(errors="replace")
                    raise AssertionError(f"walkin serve did not start: {output}") from None
                time.sleep(0.1)
        added = walkin(
            "staff",
            "add",
            "--db",
            str(db),
            "--username",
            "mina",
            "--role",
            "manager",
            "--password-stdin",
            stdin=PASSWORD + "\n",
        )
        assert added.returncode == 0, added.stderr
        yield port, client_context
    finally:
        server.terminate()
        server.wait(timeout=20)


def test_pages_are_served_over_https_and_not_over_plain_http(
    tls_server: tuple[int, ssl.SSLContext],
) -> None:
    port, context = tls_server
    for path in ("/counter", "/manager", "/board"):
        with urllib.request.urlopen(
            f"https://127.0.0.1:{port}{path}", context=context, timeout=10
        ) as page:
            assert page.status == 200
            assert b"<html" in page.read()
    with pytest.raises(OSError):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/counter", timeout=5)


def test_staff_sign_in_over_wss(tls_server: tuple[int, ssl.SSLContext]) -> None:
    port, context = tls_server

    async def sign_in() -> dict[str, Any]:
        async with connect(f"wss://127.0.0.1:{port}/ws", ssl=context) as ws:
            await ws.send(json.dumps({"type": "hello", "username": "mina", "password": PASSWORD}))
            welcome: dict[str, Any] = json.loads(await ws.recv())
            snapshot = json.loads(await ws.recv())
            assert snapshot["type"] == "snapshot"
            return welcome

    welcome = asyncio.run(sign_in())
    assert welcome["role"] == "manager" and welcome["session"].startswith("ws_")


def test_bookings_imported_over_https(
    tls_server: tuple[int, ssl.SSLContext], tmp_path: Path
) -> None:
    """The real ``walkin serve`` over HTTPS takes a booking from ``walkin bookings
    import`` that trusts its authority through SSL_CERT_FILE; one that does not is
    told the certificate is not trusted, in one line."""
    port, context = tls_server
    enrolled = walkin(
        "enroll", "--db", str(tmp_path / "walkin.db"), "--role", "integration", "--name", "Bookings"
    )
    assert enrolled.returncode == 0, enrolled.stderr
    token = json.loads(enrolled.stdout)["token"]
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
    bookings = tmp_path / "tomorrow.csv"
    bookings.write_text(f"ref,service,date,time\nBK-TLS1,housing,{tomorrow},10:30\n")
    args = ["bookings", "import", str(bookings), "--server", f"https://127.0.0.1:{port}"]
    untrusted = walkin(*args, "--token", token)
    assert untrusted.returncode == 1 and "CERTIFICATE_VERIFY_FAILED" in untrusted.stderr
    assert "Traceback" not in untrusted.stderr
    trusted = subprocess.run(
        [sys.executable, "-m", "queue_server.cli", *args, "--token", token],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env={**os.environ, "SSL_CERT_FILE": str(tmp_path / "authority.pem")},
    )
    assert trusted.returncode == 0, trusted.stderr
    assert json.loads(trusted.stdout)["booked"] == 1
    request = urllib.request.Request(
        f"https://127.0.0.1:{port}/api/bookings/bk-tls1",
        headers={"Authorization": f"Bearer {token}"},
    )
    with urllib.request.urlopen(request, context=context, timeout=10) as answer:
        booking = json.loads(answer.read())["booking"]
    assert booking["time"].startswith(f"{tomorrow}T10:30:00")
