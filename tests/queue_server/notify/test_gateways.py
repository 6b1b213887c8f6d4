"""The two gateways against stand-ins on loopback, through the real libraries: the
exact requests GOV.UK Notify's client makes (path, JSON body, a JWT signed with the
key's secret naming the service), and pywebpush's encrypted posts (VAPID's
Authorization, TTL, aes128gcm), one decrypted with the subscription's own key."""

from __future__ import annotations

import time

import jwt
import pytest
from py_vapid import Vapid02

from queue_server.notify.gateways import (
    EMAIL,
    PUSH,
    SMS,
    NotifyGateway,
    Outgoing,
    SendFailed,
    WebPushGateway,
)
from tests.queue_server.notify.standins import (
    API_KEY,
    SECRET,
    SERVICE_ID,
    Subscription,
    notify_standin,
    push_standin,
    unb64,
)

TEMPLATE = "f33517ff-2a88-4f6e-b855-c550268ce08a"


def check_notify_token(authorization: str) -> dict[str, object]:
    """Notify's auth: ``Bearer <JWT>``, HS256 with the key's secret, ``iss`` the
    service id, ``iat`` now."""
    scheme, _, token = authorization.partition(" ")
    assert scheme == "Bearer"
    assert jwt.get_unverified_header(token)["alg"] == "HS256"
    claims = jwt.decode(token, SECRET, algorithms=["HS256"])
    assert claims["iss"] == SERVICE_ID
    assert abs(claims["iat"] - time.time()) < 30
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(token, "another-secret-of-the-same-length-000", algorithms=["HS256"])
    return claims


def test_an_sms_is_the_request_notify_documents() -> None:
    with notify_standin() as notify:
        gateway = NotifyGateway(API_KEY, notify.url)
        reference = gateway.send(
            Outgoing(
                SMS, "+447700900982", "H003: 3 people ahead of you.", "H003", TEMPLATE, "walkin-7"
            )
        )
        (got,) = notify.received
    assert got.path == "/v2/notifications/sms"
    assert got.headers["content-type"] == "application/json"
    assert got.json() == {
        "phone_number": "+447700900982",
        "template_id": TEMPLATE,
        "personalisation": {"message": "H003: 3 people ahead of you."},
        "reference": "walkin-7",
    }
    check_notify_token(got.headers["authorization"])
    assert reference and len(reference) == 36  # Notify's id for the message


def test_an_email_too() -> None:
    with notify_standin() as notify:
        NotifyGateway(API_KEY, notify.url).send(
            Outgoing(EMAIL, "sam@example.com", "H003: Please go to Counter 4 now.", "", TEMPLATE)
        )
        (got,) = notify.received
    assert got.path == "/v2/notifications/email"
    body = got.json()
    assert body["email_address"] == "sam@example.com"
    assert body["personalisation"] == {"message": "H003: Please go to Counter 4 now."}
    check_notify_token(got.headers["authorization"])


@pytest.mark.parametrize(
    ("status", "retry"), [(500, True), (503, True), (429, True), (400, False), (403, False)]
)
def test_notify_refusals_say_whether_to_try_again(status: int, retry: bool) -> None:
    with notify_standin() as notify:
        notify.fail_next = [status]
        with pytest.raises(SendFailed) as failed:
            NotifyGateway(API_KEY, notify.url).send(
                Outgoing(SMS, "+447700900982", "text", "", TEMPLATE)
            )
    assert failed.value.retry is retry
    assert str(status) in failed.value.reason
    assert "7700" not in failed.value.reason  # the number is never in the record


def test_notify_unreachable_is_worth_a_retry() -> None:
    with notify_standin() as notify:
        url = notify.url
    with pytest.raises(SendFailed) as failed:  # the stand-in has stopped: refused
        NotifyGateway(API_KEY, url, timeout=2).send(
            Outgoing(SMS, "+447700900982", "t", "", TEMPLATE)
        )
    assert failed.value.retry


def test_a_bad_key_is_named_not_repeated() -> None:
    with pytest.raises(ValueError, match="notify_api_key") as bad:
        NotifyGateway("short", "http://127.0.0.1:9")
    assert "short" not in str(bad.value)


def test_a_push_is_encrypted_to_the_subscription_and_signed_with_vapid() -> None:
    vapid = Vapid02()
    vapid.generate_keys()
    gateway = WebPushGateway(vapid.private_pem().decode(), "mailto:queue@example.gov.uk")
    with push_standin() as service:
        phone = Subscription.new(f"{service.url}/push/abc123")
        import json

        location = gateway.send(
            Outgoing(PUSH, json.dumps(phone.info()), "H003: Please go to Counter 4 now.", "H003")
        )
        (got,) = service.received
    assert got.path == "/push/abc123"
    assert location and location.startswith("/push/abc123/messages/")
    assert got.headers["content-encoding"] == "aes128gcm"
    assert int(got.headers["ttl"]) == 15 * 60
    assert got.headers["urgency"] == "high"
    # RFC 8292: "vapid t=<JWT>, k=<the server's public key>", the JWT signed with it
    scheme, _, params = got.headers["authorization"].partition(" ")
    assert scheme == "vapid"
    fields = dict(part.strip().split("=", 1) for part in params.split(","))
    assert fields["k"] == gateway.public_key
    from cryptography.hazmat.primitives.asymmetric import ec

    public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64(fields["k"]))
    claims = jwt.decode(fields["t"], public, algorithms=["ES256"], audience=service.url)
    assert claims["sub"] == "mailto:queue@example.gov.uk"
    assert claims["exp"] > time.time()
    # only the phone can read it
    assert phone.decrypt(got.body) == {
        "title": "H003",
        "body": "H003: Please go to Counter 4 now.",
    }
    assert b"Counter" not in got.body


@pytest.mark.parametrize(
    ("status", "retry"), [(410, False), (404, False), (500, True), (429, True)]
)
def test_push_refusals(status: int, retry: bool) -> None:
    vapid = Vapid02()
    vapid.generate_keys()
    gateway = WebPushGateway(vapid.private_pem().decode(), "mailto:queue@example.gov.uk")
    import json

    with push_standin() as service:
        service.fail_next = [status]
        phone = Subscription.new(f"{service.url}/push/x")
        with pytest.raises(SendFailed) as failed:
            gateway.send(Outgoing(PUSH, json.dumps(phone.info()), "t", "H003"))
    assert failed.value.retry is retry


def test_a_bad_vapid_key_is_named_not_repeated() -> None:
    with pytest.raises(ValueError, match="vapid_private_key") as bad:
        WebPushGateway("not-a-key", "mailto:a@example.gov.uk")
    assert "not-a-key" not in str(bad.value)
