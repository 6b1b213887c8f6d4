"""The one interface every way of telling a visitor implements, and the two that come
with Walkin: GOV.UK Notify (SMS and e-mail) and Web Push. Another (a council's own SMS
provider) is named in the centre's file and built by ``configured.py``.

A gateway's ``sends(channel, language)`` says whether it can send that channel's
messages in that language (the status page offers a channel only then). Its ``send``
is blocking (the libraries are): the ``Notifier`` calls it in a worker thread, never
on the server's event loop. It returns the gateway's own id for the message (or None)
and raises ``SendFailed`` when the message did not go, with ``retry`` true when trying
again later may help (the service down, a timeout, 429) and false when it will not (a
bad number, a bad key, a subscription that has gone).
A failure's ``reason`` is recorded in the database: it never holds the address, the
API key or the message's text.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

#: the channels the status page offers
SMS, EMAIL, PUSH = "sms", "email", "push"


@dataclass(frozen=True)
class Outgoing:
    """One message to one visitor. ``address``: a mobile number (E.164, "+447700900982"),
    an e-mail address or a Web Push subscription (its JSON); ``text``: what it says, in
    the visitor's ``language`` (an ISO 639 code: "en", "pl", "ar"); ``title``: a push
    notification's title (the ticket's number); ``template_id``: a Notify template to
    use instead of the gateway's own for the language; ``reference``: our own id for it
    (the message row's), echoed by Notify."""

    channel: str
    address: str
    text: str
    title: str = ""
    template_id: str | None = None
    reference: str | None = None
    language: str = "en"
    extra: dict[str, Any] = field(default_factory=dict)


class SendFailed(Exception):
    """The message did not go: ``reason`` (for the record) and whether to try again."""

    def __init__(self, reason: str, *, retry: bool) -> None:
        super().__init__(reason)
        self.reason = reason[:300]
        self.retry = retry


class Gateway(Protocol):
    """A way of telling visitors; see the module's docstring. ``sends`` is asked on
    the server's event loop (as the status page is drawn), so it answers from what the
    gateway already knows, never over the network; ``send`` runs in a worker thread."""

    def sends(self, channel: str, language: str) -> bool:
        """Whether it can send ``channel``'s messages (``"sms"``, ``"email"``,
        ``"push"``) to a visitor of ``language``. Cheap, and never raises."""
        ...

    def send(self, message: Outgoing) -> str | None:
        """Deliver ``message`` (blocking): the gateway's own id for it, or None;
        ``SendFailed`` when it did not go."""
        ...


class DeliveryReports(Protocol):
    """A gateway that can say what became of a message it took (optional)."""

    def delivery(self, reference: str) -> Delivered | None:
        """The message's fate once known, None while it is still on its way; raises
        ``SendFailed`` when the gateway cannot be asked now."""
        ...


@dataclass(frozen=True)
class Delivered:
    """What became of a message: ``delivered``, or not (``reason``: the gateway's word)."""

    delivered: bool
    reason: str = ""


#: GOV.UK Notify's statuses of a text or e-mail that will not change again
#: (docs.notifications.service.gov.uk, "Get message status")
NOTIFY_DELIVERED = frozenset({"delivered"})
NOTIFY_NOT_DELIVERED = frozenset(
    {"permanent-failure", "temporary-failure", "technical-failure", "validation-failed"}
)


#: HTTP statuses after which trying again later may help
RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})


class NotifyGateway:
    """SMS and e-mail through GOV.UK Notify, with its official client. Each template
    has one personalisation field, ``message``, which carries the words (so one
    template per language serves every kind of message): ``sms_templates`` and
    ``email_templates`` map a language to its template's id, and a language without
    one gets English's ("en")."""

    def __init__(
        self,
        api_key: str,
        base_url: str,
        timeout: float = 15.0,
        *,
        sms_templates: Mapping[str, str] | None = None,
        email_templates: Mapping[str, str] | None = None,
    ) -> None:
        from notifications_python_client.notifications import NotificationsAPIClient

        self._templates = {SMS: dict(sms_templates or {}), EMAIL: dict(email_templates or {})}
        try:
            self._client = NotificationsAPIClient(api_key, base_url=base_url, timeout=timeout)
        except Exception:  # a malformed key: say so without repeating it
            raise ValueError(
                "notifications.notify_api_key is not a GOV.UK Notify API key "
                "(key name, service id and secret, joined by '-')"
            ) from None

    def sends(self, channel: str, language: str) -> bool:
        """A channel with templates sends every language (English's template carries
        the words of those without their own)."""
        return self.template(channel, language) is not None

    def template(self, channel: str, language: str) -> str | None:
        """The template for ``channel`` in ``language`` (else English's), or None."""
        templates = self._templates.get(channel) or {}
        return templates.get(language) or templates.get("en")

    def send(self, message: Outgoing) -> str | None:
        from notifications_python_client.errors import APIError

        template_id = message.template_id or self.template(message.channel, message.language)
        if template_id is None:
            raise SendFailed("no Notify template for this message", retry=False)
        personalisation = {"message": message.text}
        try:
            if message.channel == SMS:
                reply = self._client.send_sms_notification(
                    phone_number=message.address,
                    template_id=template_id,
                    personalisation=personalisation,
                    reference=message.reference,
                )
            elif message.channel == EMAIL:
                reply = self._client.send_email_notification(
                    email_address=message.address,
                    template_id=template_id,
                    personalisation=personalisation,
                    reference=message.reference,
                )
            else:
                raise SendFailed(f"Notify does not send {message.channel!r}", retry=False)
        except APIError as exc:
            # Notify's own words for the error (they name fields, never the number)
            raise SendFailed(
                f"Notify {exc.status_code}: {_notify_reason(exc)}",
                retry=exc.status_code in RETRY_STATUSES,
            ) from None
        except (OSError, ValueError) as exc:  # requests' connection errors are OSErrors
            raise SendFailed(f"Notify unreachable: {type(exc).__name__}", retry=True) from None
        return str(reply.get("id")) if isinstance(reply, dict) and reply.get("id") else None

    def delivery(self, reference: str) -> Delivered | None:
        """Notify's status of the message (``GET /v2/notifications/<id>``)."""
        from notifications_python_client.errors import APIError

        try:
            reply = self._client.get_notification_by_id(reference)
        except APIError as exc:
            raise SendFailed(
                f"Notify {exc.status_code}: {_notify_reason(exc)}", retry=True
            ) from None
        except (OSError, ValueError) as exc:
            raise SendFailed(f"Notify unreachable: {type(exc).__name__}", retry=True) from None
        status = str(reply.get("status", "")) if isinstance(reply, dict) else ""
        if status in NOTIFY_DELIVERED:
            return Delivered(True)
        if status in NOTIFY_NOT_DELIVERED:
            return Delivered(False, f"Notify: {status}")
        return None  # created, sending, pending: not yet


def _notify_reason(exc: Any) -> str:
    message = exc.message
    if isinstance(message, list):
        message = "; ".join(
            str(e.get("message", e)) if isinstance(e, dict) else str(e) for e in message
        )
    return str(message)[:200]


class WebPushGateway:
    """Web Push (RFC 8030) with VAPID (RFC 8292) through ``pywebpush``: the payload,
    ``{"title": ..., "body": ...}`` as JSON, encrypted (aes128gcm, RFC 8291) to the
    subscription's key and posted to its push service."""

    def __init__(self, private_key: str, subject: str, ttl_seconds: int = 15 * 60) -> None:
        self._vapid = vapid_from(private_key)
        self._subject = subject
        self._ttl = ttl_seconds

    def sends(self, channel: str, language: str) -> bool:
        """Pushes, in any language (the words come with the message)."""
        return channel == PUSH

    @property
    def public_key(self) -> str:
        """The application server key a page subscribes with (base64url, uncompressed
        point), as ``PushManager.subscribe`` takes it."""
        return public_key_of(self._vapid)

    def send(self, message: Outgoing) -> str | None:
        from urllib.parse import urlsplit

        from pywebpush import WebPushException, webpush

        try:
            subscription = json.loads(message.address)
            endpoint = urlsplit(subscription["endpoint"])
        except (ValueError, KeyError, TypeError):
            raise SendFailed("the push subscription is not readable", retry=False) from None
        claims: dict[str, str | int] = {
            "sub": self._subject,
            "aud": f"{endpoint.scheme}://{endpoint.netloc}",
        }
        try:
            response = webpush(
                subscription,
                data=json.dumps({"title": message.title, "body": message.text}),
                vapid_private_key=self._vapid,
                vapid_claims=claims,
                ttl=self._ttl,
                timeout=15,
                headers={"Urgency": "high"},
            )
        except WebPushException as exc:
            status = exc.response.status_code if exc.response is not None else 0
            # 404 and 410: the subscription has gone (the visitor turned it off)
            raise SendFailed(
                f"push service {status or 'error'}", retry=status in RETRY_STATUSES or not status
            ) from None
        except (OSError, ValueError) as exc:
            raise SendFailed(
                f"push service unreachable: {type(exc).__name__}", retry=True
            ) from None
        location = getattr(response, "headers", {}).get("Location")
        return str(location)[:128] if location else None


def vapid_from(private_key: str) -> Any:
    """A VAPID key from PEM text or the raw base64url private number; ValueError
    (saying which setting, never the key) if it is neither."""
    from py_vapid import Vapid02

    try:
        if "BEGIN" in private_key:
            return Vapid02.from_pem(private_key.encode())
        return Vapid02.from_string(private_key.strip())
    except Exception:
        raise ValueError(
            "notifications.vapid_private_key is not a VAPID private key (PEM, or the "
            "base64url private number)"
        ) from None


def public_key_of(vapid: Any) -> str:
    import base64

    from cryptography.hazmat.primitives import serialization

    raw = vapid.public_key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
