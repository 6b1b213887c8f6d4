"""Opting in to be told when it is nearly your turn, on the ticket's status page
(issue 14 item 2; ``queue_server/notify``; docs/notifications.md).

While a ticket waits, and when the centre's ``[notifications]`` is open, its page
``/t/<id>`` shows a section under the ticket: a plain form (no script needed) for a
mobile number (and an e-mail address, when the centre sends e-mails), with a plain
privacy notice: what the number is for, that GOV.UK Notify sends it (when Notify is
the gateway, ``Notifier.through_notify``), and that it is deleted at the end of the day.
With Web Push set up, "Notify me on this phone" (a button ``static/notify.js`` shows
where the browser can do it) subscribes the phone.

Every form posts to the page's own address (no ``action``: the ticket's id is never
written into the page), told apart by its hidden ``do``:

- ``do=notify``: ``mobile`` and/or ``email``; a bad one gives the form again (400)
  with GOV.UK's error summary, what was typed kept; a good one is stored and answered
  with ``303`` back to the page, which then says where it will send;
- ``do=notify-stop``: no more messages for this ticket (303);
- ``do=push``: ``subscription``, the JSON of a ``PushSubscription`` (the script's).

Refused, each with a page that says why: over ``opt_ins_per_address_per_hour`` posts
from one address (429), another site's post (403), a ticket no longer waiting (409),
a number already following another ticket still waiting here today (409: one at a
time per number per centre, so one phone cannot be used to flood the queue or
another's phone with messages).
"""

from __future__ import annotations

import ipaddress
import json
import re
from html import escape
from http import HTTPStatus
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from queue_server.core.errors import Unavailable
from queue_server.core.model import QUEUED_STATES, Ticket
from queue_server.net.client_address import client_address
from queue_server.net.forms import BadForm, form_fields, posted_action
from queue_server.net.ratelimit import RateLimited, RequestLimiter
from queue_server.notify.gateways import EMAIL, PUSH, SMS
from queue_server.notify.notifier import OptInRefused
from queue_server.notify_words import WORDS, ahead_words
from queue_server.status_words import page_words, status_translator
from queue_server.web import html_page
from queue_server.web.feedback_page import FeedbackPages

if TYPE_CHECKING:
    from websockets.asyncio.server import ServerConnection
    from websockets.http11 import Request, Response

    from queue_server.net.server import QueueServer
    from queue_server.notify.notifier import Notifier

ACTIONS = frozenset({"notify", "notify-stop", "push"})
#: a push subscription's JSON is a few hundred bytes; more is not one
MAX_SUBSCRIPTION_CHARS = 4000
MAX_EMAIL_CHARS = 254
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
#: a UK mobile after spaces, dashes, dots and brackets are taken out
_NUMBER = re.compile(r"(?<![\w*])([0-9*][0-9*]+(?: [0-9*]+)+)")
_UK_MOBILE = re.compile(r"^(?:\+44|0044|44|0)(7\d{9})$")


def words(language: str | None) -> dict[str, str]:
    """The section's words in ``language`` (the status catalogues; English without)."""
    t = status_translator(language)
    return {key: t(text) for key, text in WORDS.items()}


def ltr(html: str) -> str:
    """``html`` (escaped) with each phone number in it ("07700 900 982", "07*** ***982")
    kept left to right: on a right-to-left page its groups of digits would otherwise
    be shown in reverse order ("982 900 07700")."""
    return _NUMBER.sub(r'<span dir="ltr">\1</span>', html)


def normalise_mobile(text: str) -> str | None:
    """A UK mobile number as ``+447…`` (what Notify takes), or None if it is not one."""
    digits = re.sub(r"[\s\-().]", "", text)
    match = _UK_MOBILE.fullmatch(digits)
    return f"+44{match[1]}" if match else None


def masked(channel: str, address: str) -> str:
    """An address as the page shows it back: enough to recognise, not to read off a
    screen (``07*** ***982``; ``n***@example.com``)."""
    if channel == SMS:
        return f"07*** ***{address[-3:]}"
    name, _, domain = address.partition("@")
    return f"{name[:1]}***@{domain}"


class NotifyPages:
    """The opt-in section and its forms. ``limiter``: posts per address per hour."""

    def __init__(self, server: QueueServer, limiter: RequestLimiter | None = None) -> None:
        self.server = server
        self._limiter = limiter
        #: tests only: a push service stand-in on http://127.0.0.1
        self.allow_loopback_push = False

    @property
    def notifier(self) -> Notifier | None:
        return self.server.notifier

    @property
    def limiter(self) -> RequestLimiter:
        if self._limiter is None:
            notifier = self.notifier
            per_hour = notifier.rules.opt_ins_per_hour if notifier else 20
            self._limiter = RequestLimiter(per_hour, 3600.0)
        return self._limiter

    @staticmethod
    def posted(request: Request) -> bool:
        """Whether ``request`` is one of this section's forms (its hidden ``do``)."""
        return posted_action(request) in ACTIONS

    # ------------------------------------------------------------ the section

    def section(
        self,
        ticket: Ticket,
        errors: dict[str, str] | None = None,
        typed: dict[str, str] | None = None,
    ) -> str:
        """The section drawn under a waiting ticket ("" when there is nothing to offer)."""
        notifier = self.notifier
        if notifier is None or ticket.state not in QUEUED_STATES:
            return ""
        sms, email, push = (notifier.offers(c, ticket.language) for c in (SMS, EMAIL, PUSH))
        if not (sms or email or push):
            return ""
        e = escape
        w = words(ticket.language)
        chosen = {r.channel: r for r in notifier.requests_of(ticket.id)}
        parts = [
            '<section class="notify" aria-labelledby="notify-title">',
            f'  <h2 id="notify-title">{e(w["title"])}</h2>',
        ]
        if chosen:
            for channel, request in chosen.items():
                said = w[f"will_send_{channel}"].replace(
                    "{address}", masked(channel, request.address or "")
                )
                parts.append(f'  <p class="notify-on" data-channel="{channel}">{ltr(e(said))}</p>')
            parts.append(
                '  <form method="post" novalidate>\n'
                '    <input type="hidden" name="do" value="notify-stop">\n'
                f'    <button class="button secondary" type="submit">{e(w["stop"])}</button>\n'
                "  </form>"
            )
        if (sms or email) and not ({SMS, EMAIL} & chosen.keys()):
            parts.append(self._form(sms, email, errors or {}, typed or {}, ticket.language))
        if push and PUSH not in chosen:
            key = e(notifier.push_public_key or "")
            parts.append(
                f'  <div class="notify-push" hidden data-vapid="{key}"'
                f' data-failed="{e(w["push_failed"])}" data-on="{e(w["push_on"])}">\n'
                f'    <button id="push-button" class="button" type="button">'
                f"{e(w['push'])}</button>\n"
                f'    <p class="hint">{e(w["push_hint"])}</p>\n'
                '    <p id="push-status" class="notify-on" role="status"></p>\n'
                "  </div>\n"
                '  <script src="/static/notify.js" defer></script>'
            )
        parts.append("</section>\n")
        return "\n".join(parts)

    def _form(
        self,
        sms: bool,
        email: bool,
        errors: dict[str, str],
        typed: dict[str, str],
        language: str | None,
    ) -> str:
        e = escape
        w = words(language)
        rules = self.notifier.rules if self.notifier else None
        people, minutes = (rules.people_ahead, rules.minutes_before) if rules else (0, 0)
        ahead = ahead_words(status_translator(language), people, minutes)
        intro = w["intro"].replace("{ahead}", ahead)
        summary = ""
        if errors:
            items = "".join(
                f'<li><a href="#{name}">{ltr(e(text))}</a></li>' for name, text in errors.items()
            )
            summary = (
                '  <div class="error-summary" role="alert" tabindex="-1"'
                ' aria-labelledby="notify-error-title">\n'
                f'    <h2 id="notify-error-title">{e(w["error_title"])}</h2>\n'
                f"    <ul>{items}</ul>\n  </div>\n"
            )

        def field(name: str, label: str, kind: str, extra: str, hint: str = "") -> str:
            error = errors.get(name)
            described = " ".join(
                x
                for x in (
                    f"{name}-hint" if hint else "",
                    f"{name}-error" if error else "",
                    "notify-privacy",
                )
                if x
            )
            return (
                f'    <div class="form-group{" has-error" if error else ""}">\n'
                f'      <label class="comment-label" for="{name}">{e(label)}</label>\n'
                + (f'      <p class="hint" id="{name}-hint">{ltr(e(hint))}</p>\n' if hint else "")
                + (
                    f'      <p class="error-message" id="{name}-error">{ltr(e(error))}</p>\n'
                    if error
                    else ""
                )
                + f'      <input class="text-input" id="{name}" name="{name}" type="{kind}"'
                f' value="{e(typed.get(name, ""))}" aria-describedby="{described}"{extra}>\n'
                "    </div>\n"
            )

        # names GOV.UK Notify only when Notify is what sends them
        offered = [c for c, on in ((SMS, sms), (EMAIL, email)) if on]
        notify = self.notifier is not None and all(map(self.notifier.through_notify, offered))
        privacy = w[("privacy_email" if email else "privacy") + ("" if notify else "_own")]
        send = w["send_any" if email else "send"]
        fields = ""
        if sms:
            fields += field(
                "mobile",
                w["mobile"],
                "tel",
                ' autocomplete="tel" inputmode="tel" spellcheck="false"',
                w["mobile_hint"],
            )
        if email:
            fields += field(
                "email", w["email"], "email", ' autocomplete="email" spellcheck="false"'
            )
        return (
            f"{summary}"
            f"  <p>{e(intro)}</p>\n"
            '  <form method="post" novalidate>\n'
            '    <input type="hidden" name="do" value="notify">\n'
            f"{fields}"
            f'    <p class="privacy" id="notify-privacy">{e(privacy)}</p>\n'
            f'    <button class="button" type="submit">{e(send)}</button>\n'
            "  </form>"
        )

    # ------------------------------------------------------------ the posted forms

    async def answer(
        self, connection: ServerConnection, request: Request, ticket: Ticket
    ) -> Response:
        """The response to one of this section's forms posted to ``/t/<id>``."""
        try:
            self.limiter.hit(client_address(connection, self.server.trusted_proxies, request))
        except RateLimited as exc:
            response = self.message_page(
                request, "rate_limited", HTTPStatus.TOO_MANY_REQUESTS, ticket.language
            )
            response.headers["Retry-After"] = str(exc.details["retry_after_seconds"])
            return response
        if FeedbackPages.foreign(request):
            return self.message_page(request, "forbidden", HTTPStatus.FORBIDDEN, ticket.language)
        notifier = self.notifier
        if notifier is None:
            return self.message_page(
                request, "refused_channel", HTTPStatus.CONFLICT, ticket.language
            )
        try:
            fields = form_fields(request) or {}
        except BadForm:
            fields = {}
        action = fields.get("do")
        try:
            if action == "notify-stop":
                await notifier.stop(ticket.id)
                return self.back_to(ticket)
            if ticket.state not in QUEUED_STATES:
                raise OptInRefused("finished")
            if action == "push":
                subscription = _subscription(
                    fields.get("subscription", ""), self.allow_loopback_push
                )
                if subscription is None:
                    return self.message_page(
                        request, "refused_subscription", HTTPStatus.BAD_REQUEST, ticket.language
                    )
                await notifier.opt_in(
                    self.server.centre, ticket, PUSH, subscription, self.server.clock()
                )
                return self.back_to(ticket)
            return await self._contact(request, ticket, notifier, fields)
        except OptInRefused as refused:
            return self.message_page(
                request, f"refused_{refused.code}", HTTPStatus.CONFLICT, ticket.language
            )
        except Unavailable:
            return self.message_page(
                request, "unavailable", HTTPStatus.SERVICE_UNAVAILABLE, ticket.language
            )

    async def _contact(
        self, request: Request, ticket: Ticket, notifier: Notifier, fields: dict[str, str]
    ) -> Response:
        w = words(ticket.language)
        typed = {k: fields.get(k, "")[:300] for k in ("mobile", "email")}
        errors: dict[str, str] = {}
        chosen: list[tuple[str, str]] = []
        # what this ticket's visitor is offered (a gateway may not send every language)
        texts, emails = (notifier.offers(c, ticket.language) for c in (SMS, EMAIL))
        if not (texts or emails):
            raise OptInRefused("channel")
        if texts and typed["mobile"].strip():
            mobile = normalise_mobile(typed["mobile"])
            if mobile is None:
                errors["mobile"] = w["error_mobile"]
            else:
                chosen.append((SMS, mobile))
        if emails and typed["email"].strip():
            email = typed["email"].strip()
            if len(email) > MAX_EMAIL_CHARS or not _EMAIL.fullmatch(email):
                errors["email"] = w["error_email"]
            else:
                chosen.append((EMAIL, email.lower()))
        if not chosen and not errors:
            errors["mobile" if texts else "email"] = w["error_empty"] if texts else w["error_email"]
        if errors:
            return self.status_with(request, ticket, errors, typed)
        for channel, address in chosen:
            await notifier.opt_in(self.server.centre, ticket, channel, address, self.server.clock())
        return self.back_to(ticket)

    # ------------------------------------------------------------ responses

    def back_to(self, ticket: Ticket) -> Response:
        from queue_server.web import respond

        response = respond(HTTPStatus.SEE_OTHER, b"", "text/plain; charset=utf-8")
        response.headers["Location"] = f"/t/{ticket.id}"
        response.headers["Cache-Control"] = "no-store"
        return response

    def status_with(
        self, request: Request, ticket: Ticket, errors: dict[str, str], typed: dict[str, str]
    ) -> Response:
        """The ticket's page again with the form's errors (400)."""
        from queue_server import views
        from queue_server.web.ticket_page import status_page

        centre = self.server.centre
        status = views.ticket_status(centre, ticket, self.server.clock())
        html = status_page(status, centre.setup.tz, self.section(ticket, errors, typed))
        response = html_page(request, html.encode(), HTTPStatus.BAD_REQUEST)
        response.headers["X-Robots-Tag"] = "noindex, nofollow"
        return response

    def message_page(
        self, request: Request, key: str, status: HTTPStatus, language: str | None = None
    ) -> Response:
        """A short page saying why (``key``: its words), with a way back; in
        ``language`` (the ticket's)."""
        from queue_server.web.ticket_page import page

        w = words(language)
        fixed = page_words(language)
        title_key = {
            "rate_limited": "rate_limited_title",
            "forbidden": "forbidden_title",
            "unavailable": "unavailable_title",
        }.get(key, "refused_title")
        e = escape
        body = f"""<header class="top">
  <p class="centre">{e(self.server.setup.name)}</p>
</header>
<main class="card">
  <div class="progress">
    <h1 class="headline">{e(w[title_key])}</h1>
    <p class="detail">{e(w[key])}</p>
  </div>
  <p><a href="">{e(w["back"])}</a></p>
</main>"""
        html = page(
            e(f"{w[title_key]} – {self.server.setup.name}"),
            "notify",
            body,
            lang=fixed["lang"],
            direction=fixed["dir"],
        )
        response = html_page(request, html.encode(), status)
        response.headers["X-Robots-Tag"] = "noindex, nofollow"
        return response


def push_endpoint_allowed(endpoint: str, allow_loopback: bool = False) -> bool:
    """Whether the server may post to ``endpoint``: HTTPS to a named host, never an
    address literal or ``localhost`` (the server would otherwise post wherever a page
    said, inside the council's network too). ``allow_loopback``: a test's stand-in on
    ``http://127.0.0.1:<port>``."""
    parts = urlsplit(endpoint)
    host = parts.hostname or ""
    if allow_loopback and parts.scheme == "http" and host == "127.0.0.1":
        return True
    if parts.scheme != "https" or "." not in host or host.endswith(".localhost"):
        return False
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return True
    return False


def _subscription(text: str, allow_loopback: bool = False) -> str | None:
    """A push subscription's JSON, checked and re-written (``push_endpoint_allowed``;
    the two keys), or None if it is not one."""
    if not text or len(text) > MAX_SUBSCRIPTION_CHARS:
        return None
    try:
        data = json.loads(text)
        endpoint = data["endpoint"]
        keys = data["keys"]
        p256dh, auth = keys["p256dh"], keys["auth"]
    except (ValueError, KeyError, TypeError):
        return None
    if not all(isinstance(x, str) and x for x in (endpoint, p256dh, auth)):
        return None
    if not push_endpoint_allowed(endpoint, allow_loopback):
        return None
    if not re.fullmatch(r"[A-Za-z0-9_\-=]{20,200}", p256dh) or not re.fullmatch(
        r"[A-Za-z0-9_\-=]{8,100}", auth
    ):
        return None
    return json.dumps({"endpoint": endpoint, "keys": {"p256dh": p256dh, "auth": auth}})
