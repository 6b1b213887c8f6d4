"""Joining the queue from a phone (issue 14 item 1): ``/join/<centre id>``, the QR code
on the poster at the door and the link on the council's web page.

Plain server-rendered forms in the GOV.UK pattern, no script at all, one question a
page: the language (when the centre has more than one), the service, then, as at the
kiosk, the service's online page offered first (channel shift: the centre's ``[kiosk]
channel_shift`` on and the service with an ``online_url``), then the page with the
button that joins. Joining is a ``POST`` (``net/forms.py``): a link preview or a prefetch of
any page here never takes a ticket. The ticket is the kiosk's (``IssueTicket`` with
``channel="remote"``, the centre's ``[remote]`` rules applied by the core), and the
visitor lands on its status page ``/t/<id>``; there, while the centre asks for it, an
"I'm here" button (``POST /here/<id>``) lets it be called.

The offer's choice is recorded as a kiosk's is (the ``channel_choice`` table, device
``remote:<phone>``), so the reports' channel-shift figures count phones too: "online"
when the visitor follows the link (``GET online``: recorded, then a 303 to the
service's configured ``online_url``, never to an address from the request), at most
once a phone, service and day; "ticket" when a join from the offer makes a ticket,
once a ticket (the join's idempotency covers reloads and the back button). A link
fetched without the phone's cookie (a preview, a browser refusing cookies) or as a
prefetch still leads to the page but records nothing.

Abuse, without asking for anything personal: the form carries a token equal to a
cookie set on the form's page (``SameSite=Strict``: another site cannot make a
visitor's browser join), each form a fresh idempotency key (a double tap or a retried
post is one ticket), and joins are limited per address and per phone (its cookie) per
hour (``[remote] joins_per_address_per_hour``, ``joins_per_device_per_hour``), on top of
the core's cap on remote tickets waiting at once. docs/joining.md has the rest.

In the visitor's language (issue 14 item 4): the language is the first question, and
each step after it carries it (``lang`` in the links and the forms); the words are the
``join`` catalogue domain's (``queue_server.join_words``), the page's ``lang`` and
``dir`` set from it (right to left for Urdu and Arabic). The language page itself is
for a visitor who may read no English: its heading is the question in every language
the centre offers, and each language's link is its own name with, in that language,
what it leads to.

Asking for help (issue 14 item 5; docs/assistance.md): the page with the button that
joins asks "Do you need any help?" with a checkbox for each of the centre's
``[[assistance]]`` categories (``help_<code>``, one field each: the form reader keeps
one value per name), optional; the codes ticked go into the ticket (``assistance``).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
from html import escape
from http import HTTPStatus
from http.cookies import CookieError, SimpleCookie
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, quote, urlsplit

from queue_server.core import commands as cmd
from queue_server.core.errors import NotActive, TicketEnded, Unavailable, WalkinError
from queue_server.core.model import AssistanceCategory, Channel, Service, TicketState
from queue_server.join_words import (
    OTHER_REFUSAL,
    REFUSALS,
    WORDS,
    Translator,
    assistance_name,
    join_translator,
    place_kept,
    service_name,
    stops_before_closing,
    waiting_now,
)
from queue_server.net.client_address import client_address
from queue_server.net.forms import BadForm, form_fields
from queue_server.net.ratelimit import RateLimited, RequestLimiter
from queue_server.net.to_commands import TICKET_ID, new_ticket_id
from queue_server.web import html_page

if TYPE_CHECKING:
    from websockets.asyncio.server import ServerConnection
    from websockets.http11 import Request, Response

    from queue_server.net.server import QueueServer

log = logging.getLogger(__name__)

PREFIX = "/join/"
COOKIE = "walkin_join"
HOUR = 3600.0
#: each language's own name (the config's list; repeated here so the web layer does
#: not import the config module)
LANGUAGE_NAMES = {
    "en": "English",
    "cy": "Cymraeg",
    "pl": "Polski",
    "ro": "Română",
    "ur": "اردو",
    "ar": "العربية",
}


def install(server: QueueServer) -> None:
    pages = JoinPages(server)
    server.http_prefix_routes[PREFIX] = pages.serve


class JoinPages:
    def __init__(self, server: QueueServer) -> None:
        self.server = server
        remote = server.setup.remote
        # joins that made a ticket, per address and per phone (its cookie), per hour
        self.by_address = RequestLimiter(remote.joins_per_address_per_hour, HOUR)
        self.by_device = RequestLimiter(remote.joins_per_device_per_hour, HOUR)
        # "online" choices recorded per address per hour: a fresh cookie is a new phone,
        # so without this a script could write choices without end
        self.online_by_address = RequestLimiter(remote.joins_per_address_per_hour, HOUR)
        # a phone's choice is checked, then written: one at a time
        self._choosing = asyncio.Lock()

    # ------------------------------------------------------------ routing

    async def serve(self, connection: ServerConnection, request: Request) -> Response:
        path = urlsplit(request.path).path
        rest = path[len(PREFIX) :].split("/")
        setup = self.server.setup
        query = {k: v[0] for k, v in parse_qs(urlsplit(request.path).query).items()}
        lang = query.get("lang", "")
        if lang not in setup.languages:
            lang = ""
        # every step carries the language chosen first (``lang``); before it, English
        t = join_translator(lang or "en")
        if not rest or rest[0] != setup.centre_id or len(rest) > 2:
            return self._page(request, t, _message(t, "not_found_title", "not_found"), 404)
        step = rest[1] if len(rest) == 2 else ""
        if not setup.remote.open:
            return self._page(request, t, _message(t, "closed_title", "closed"))
        if step == "" and request.method != "POST":
            if not lang and len(setup.languages) > 1:
                return self._page(request, t, self._languages(t))
            return self._page(request, t, self._services(t))
        if step == "confirm" and request.method != "POST":
            return self._confirm(request, t, query.get("service", ""), query.get("offer"))
        if step == "online" and request.method != "POST":
            return await self._online(connection, request, t, query.get("service", ""))
        if step == "ticket" and request.method == "POST":
            return await self._join(connection, request)
        return self._page(request, t, _message(t, "not_found_title", "not_found"), 404)

    # ------------------------------------------------------------ pages

    def _languages(self, t: Translator) -> str:
        """The first question, for a visitor who may read no English: the heading in
        every language offered, each link the language's own name and, in it, where
        it leads."""
        setup = self.server.setup
        heading = '<span class="sep" aria-hidden="true"> · </span>'.join(
            f"<span {_lang_attributes(code)}>"
            f"{escape(join_translator(code)(WORDS['language_question']))}</span>"
            for code in setup.languages
        )
        links = "\n".join(
            f'<li><a class="choice" {_lang_attributes(code)} href="?lang={quote(code)}">'
            f'<span class="name">{escape(LANGUAGE_NAMES.get(code, code))}</span>'
            f'<span class="sub">'
            f"{escape(join_translator(code)(WORDS['join_at'], centre=setup.name))}</span></a></li>"
            for code in setup.languages
        )
        return f"""<h1 class="every-language">{heading}</h1>
<ul class="choices">
{links}
</ul>"""

    def _offered(self) -> list[Service]:
        remote = self.server.setup.remote
        return [s for s in self.server.centre.services.values() if remote.offers(s.code)]

    def _services(self, t: Translator, error: str = "") -> str:
        setup = self.server.setup
        lang = t.code
        options = "\n".join(
            f'<div class="radio"><input type="radio" id="s-{escape(s.code)}" name="service" '
            f'value="{escape(s.code)}"><label for="s-{escape(s.code)}">'
            f"{escape(_name(s, lang))}</label></div>"
            for s in self._offered()
        )
        problem = (
            f'<div class="error-summary" role="alert"><h2>{escape(t(WORDS["problem"]))}</h2>'
            f'<p><a href="#s-{escape(self._offered()[0].code)}">{escape(error)}</a></p></div>'
            if error and self._offered()
            else ""
        )
        stop = int(setup.remote.stop_before_closing.total_seconds() // 60)
        return f"""{problem}<form method="get" action="{PREFIX}{escape(setup.centre_id)}/confirm">
<input type="hidden" name="lang" value="{escape(lang)}">
<fieldset>
<legend><h1>{escape(t(WORDS["question"]))}</h1></legend>
<p class="hint">{escape(t(WORDS["intro"], centre=setup.name))}</p>
{options}
</fieldset>
<button type="submit">{escape(t(WORDS["continue"]))}</button>
</form>
<p class="hint">{escape(stops_before_closing(t, stop))}</p>"""

    def offers_online(self, service: Service) -> bool:
        """The kiosk's rule: the service's web page is offered before a ticket when the
        centre's ``[kiosk] channel_shift`` is on and the service has an ``online_url``."""
        return self.server.setup.kiosk.channel_shift and bool(service.online_url)

    def _confirm(self, request: Request, t: Translator, code: str, offer: str | None) -> Response:
        """The page that joins; first, for a service with a web page (``offers_online``)
        and unless ``offer=seen`` (its button), the offer of that page."""
        setup = self.server.setup
        lang = t.code
        service = self.server.centre.services.get(code)
        if service is None or not setup.remote.offers(code):
            body = self._services(t, t(WORDS["choose_service"]))
            return self._page(request, t, body, 400 if code else 200)
        if offer not in (None, "seen"):
            # not a link or form of ours
            return self._page(request, t, self._wrong_form(t), HTTPStatus.BAD_REQUEST)
        device, fresh = _device_of(request)
        offered = self.offers_online(service)
        if offered and offer is None:
            return _with_cookie(self._page(request, t, self._offer(t, service)), device, fresh)
        waiting = self.server.centre.waiting_by_service().get(code, (0, None))[0]
        here_note = (
            f"<p>{_with_button(t, 'here_note')} "
            f"{escape(place_kept(t, int(setup.remote.grace.total_seconds() // 60)))}</p>"
            if setup.remote.confirm
            else ""
        )
        back = f"{PREFIX}{escape(setup.centre_id)}?lang={quote(lang)}"
        body = f"""<a class="back" href="{back}">{escape(t(WORDS["back"]))}</a>
<h1>{escape(_name(service, lang))}</h1>
<p>{escape(waiting_now(t, waiting))}</p>
{here_note}
<form method="post" action="{PREFIX}{escape(setup.centre_id)}/ticket">
{self._help_question(t)}
<input type="hidden" name="service" value="{escape(code)}">
<input type="hidden" name="lang" value="{escape(lang)}">
<input type="hidden" name="key" value="{secrets.token_urlsafe(16)}">
<input type="hidden" name="token" value="{escape(device)}">
{'<input type="hidden" name="offered" value="yes">' if offered else ""}
<button type="submit">{escape(t(WORDS["join"]))}</button>
</form>"""
        return _with_cookie(self._page(request, t, body), device, fresh)

    def _offer(self, t: Translator, service: Service) -> str:
        """The channel-shift offer: the service's web page (through ``online``, which
        records the choice), or on to the page that joins (``offer=seen``)."""
        centre_id, lang = escape(self.server.setup.centre_id), t.code
        name = _name(service, lang)
        online = f"{PREFIX}{centre_id}/online?lang={quote(lang)}&service={quote(service.code)}"
        return f"""<a class="back" href="{PREFIX}{centre_id}?lang={quote(lang)}">{
            escape(t(WORDS["back"]))
        }</a>
<h1>{escape(t(WORDS["online_title"]))}</h1>
<div class="online">
<p>{escape(t(WORDS["online_text"], service=name))}</p>
<p><a href="{escape(online)}"><strong>{
            escape(t(WORDS["online_link"], service=name))
        }</strong></a></p>
</div>
<p>{escape(t(WORDS["online_queue"]))}</p>
<form method="get" action="{PREFIX}{centre_id}/confirm">
<input type="hidden" name="lang" value="{escape(lang)}">
<input type="hidden" name="service" value="{escape(service.code)}">
<input type="hidden" name="offer" value="seen">
<button type="submit">{escape(t(WORDS["join_anyway"]))}</button>
</form>"""

    async def _online(
        self, connection: ServerConnection, request: Request, t: Translator, code: str
    ) -> Response:
        """The offer's link: the choice "online" recorded (once a phone, service and
        day; not for a request without the phone's cookie, a prefetch, or an address
        over its limit), then a 303 to the service's own configured page."""
        setup = self.server.setup
        service = self.server.centre.services.get(code)
        if service is None or not setup.remote.offers(code) or not service.online_url:
            body = self._services(t, t(WORDS["choose_service"]))
            return self._page(request, t, body, HTTPStatus.BAD_REQUEST)
        purpose = request.headers.get("Sec-Purpose", "") or request.headers.get("Purpose", "")
        if "prefetch" in purpose.lower():
            # a browser guessing at the next page: declined (it then asks again, for real)
            return self._page(request, t, "", HTTPStatus.SERVICE_UNAVAILABLE)
        device, fresh = _device_of(request)
        if not fresh and self.offers_online(service):
            address = client_address(connection, self.server.trusted_proxies, request)
            try:
                self.online_by_address.check(address)
            except RateLimited:
                log.info("channel choice not recorded: over the limit for %s", address)
            else:
                if await self._record_choice(_phone(device), code, "online", t.code):
                    self.online_by_address.count(address)
        response = page(self.server, request, "", HTTPStatus.SEE_OTHER)
        response.headers["Location"] = service.online_url
        response.headers["Referrer-Policy"] = "no-referrer"
        return response

    async def _record_choice(self, phone: str, service: str, choice: str, language: str) -> bool:
        """Record a phone's channel-shift choice (``Store.record_phone_channel_choice``);
        whether a row was written. The visitor's way on never waits on a failure: a
        database that does not answer, or a server no longer active, is logged."""
        centre = self.server.centre
        now = self.server.clock()
        since = centre.start_of_day(centre.local_day(now))
        async with self._choosing:
            try:
                return await asyncio.to_thread(
                    self.server.store.record_phone_channel_choice,
                    self.server.setup.centre_id,
                    phone,
                    service,
                    choice,
                    language,
                    now,
                    since,
                )
            except (NotActive, Unavailable) as exc:
                log.warning("channel choice not recorded: %s", exc)
                return False

    def _help_question(self, t: Translator) -> str:
        """ "Do you need any help?": a checkbox per ``[[assistance]]`` category, none
        required; "" when the centre offers none."""
        categories = self.server.setup.assistance
        if not categories:
            return ""
        boxes = "\n".join(
            f'<div class="checkbox"><input type="checkbox" id="h-{escape(c.code)}" '
            f'name="help_{escape(c.code)}" value="yes"><label for="h-{escape(c.code)}">'
            f"{escape(_help_name(c, t.code))}</label></div>"
            for c in categories
        )
        return f"""<fieldset class="help" aria-describedby="help-hint">
<legend><h2>{escape(t(WORDS["help_legend"]))}</h2></legend>
<p class="hint" id="help-hint">{escape(t(WORDS["help_hint"]))}</p>
{boxes}
</fieldset>"""

    async def _join(self, connection: ServerConnection, request: Request) -> Response:
        setup = self.server.setup
        try:
            fields = form_fields(request) or {}
        except BadForm:
            fields = {}
        device, fresh = _device_of(request)
        token = fields.get("token", "")
        service, lang, key, offered = (
            fields.get(k, "") for k in ("service", "lang", "key", "offered")
        )
        t = join_translator(lang if lang in setup.languages else "en")
        again = f"{PREFIX}{escape(setup.centre_id)}?lang={quote(t.code)}"
        start_again = f'<p><a href="{again}">{escape(t(WORDS["start_again"]))}</a></p>'
        if fresh or not token or not secrets.compare_digest(token, device):
            body = _message(t, "expired_title", "expired") + start_again
            return self._page(request, t, body, 403)
        if (
            not key
            or len(key) > 64
            or lang not in setup.languages
            or service not in self.server.centre.services
            or offered not in ("", "yes")
        ):
            # not the form we gave (its key is 22 characters, its language one offered,
            # its service one of the centre's, "offered" yes or absent)
            return self._page(request, t, self._wrong_form(t), HTTPStatus.BAD_REQUEST)
        help_asked = _help_asked(fields, setup.assistance)
        if help_asked is None:
            # a category gone since the form was given (the centre's file changed), or
            # a form not ours: said, and nothing taken
            body = _message(t, "wrong_title", "help_gone") + start_again
            return self._page(request, t, body, HTTPStatus.BAD_REQUEST)
        address = client_address(connection, self.server.trusted_proxies, request)
        phone = _phone(device)
        existing = self.server.centre.ticket_by_key(f"join:{phone}:{key}") or next(
            # this phone already waits for this service (the back button, a second tap
            # on a fresh form): the same ticket, not another
            (
                waiting
                for waiting in self.server.centre.queue_index.remote().values()
                if waiting.service == service
                and (waiting.idempotency_key or "").startswith(f"join:{phone}:")
            ),
            None,
        )
        if existing is not None:
            return self._see_other(request, existing.id)
        try:
            self.by_address.check(address)
            self.by_device.check(phone)
        except RateLimited:
            body = _message(t, "too_many_title", "too_many")
            return self._page(request, t, body, HTTPStatus.TOO_MANY_REQUESTS)
        command = cmd.IssueTicket(
            actor=f"remote:{phone}",
            service=service,
            ticket_id=new_ticket_id(),
            idempotency_key=f"join:{phone}:{key}",
            language=lang,
            channel=Channel.REMOTE,
            assistance=help_asked,
        )
        try:
            decision, _ = await self.server.execute_and_estimate(command, estimate=True)
        except (NotActive, Unavailable):
            body = _message(t, "unavailable_title", "unavailable")
            return self._page(request, t, body, HTTPStatus.SERVICE_UNAVAILABLE)
        except WalkinError as refused:
            why = t(REFUSALS.get(refused.code, OTHER_REFUSAL))
            body = f"<h1>{escape(t(WORDS['refused_title']))}</h1>\n<p>{escape(why)}</p>"
            return self._page(request, t, body, HTTPStatus.CONFLICT)
        assert decision.ticket is not None
        if decision.events:
            self.by_address.count(address)
            self.by_device.count(phone)
            if offered == "yes" and self.offers_online(self.server.centre.services[service]):
                # offered the web page, and joined anyway: once, with the new ticket
                await self._record_choice(phone, service, "ticket", lang)
        return self._see_other(request, decision.ticket.id)

    def _wrong_form(self, t: Translator) -> str:
        """ "Something went wrong": a form or link that is not ours, nothing taken."""
        again = f"{PREFIX}{escape(self.server.setup.centre_id)}?lang={quote(t.code)}"
        start_again = f'<p><a href="{again}">{escape(t(WORDS["start_again"]))}</a></p>'
        return _message(t, "wrong_title", "wrong_form") + start_again

    def _see_other(self, request: Request, ticket_id: str) -> Response:
        response = page(self.server, request, "", HTTPStatus.SEE_OTHER)
        response.headers["Location"] = f"/t/{ticket_id}"
        return response

    def _page(self, request: Request, t: Translator, main: str, status: int = 200) -> Response:
        return page(self.server, request, main, status, t)


async def confirm_here(server: QueueServer, request: Request, ticket_id: str) -> Response:
    """A ``POST`` to a ticket's status page with ``do=here``: its visitor says "I'm
    here" (``ConfirmHere``); back to the page (303), or a page saying why not, in the
    ticket's language."""
    ticket = server.centre.tickets.get(ticket_id)
    t = join_translator(ticket.language if ticket is not None else None)
    try:
        await server.execute(cmd.ConfirmHere(actor="visitor", ticket_id=ticket_id))
    except (NotActive, Unavailable):
        body = _message(t, "retry_title", "retry")
        return page(server, request, body, HTTPStatus.SERVICE_UNAVAILABLE, t)
    except WalkinError as refused:
        ticket = server.centre.tickets.get(ticket_id)
        # said already, and called since (an old page's button): its page says so
        if not (isinstance(refused, TicketEnded) and ticket is not None and ticket.here):
            passed = ticket is not None and ticket.state == TicketState.NO_SHOW
            body = _message(t, "ended_title", "ended_passed" if passed else "ended")
            return page(server, request, body, HTTPStatus.CONFLICT, t)
    response = page(server, request, "", HTTPStatus.SEE_OTHER)
    response.headers["Location"] = f"/t/{ticket_id}"
    return response


def here_form(language: str | None) -> str:
    """The "I'm here" form of a remote ticket's status page, in the ticket's language
    (posted to the page's own address, ``do=here``: :func:`confirm_here`)."""
    t = join_translator(language)
    return f"""  <form class="here" method="post" action="">
    <input type="hidden" name="do" value="here">
    <p>{escape(t(WORDS["here_prompt"]))}</p>
    <button class="button" type="submit">{escape(t(WORDS["here_button"]))}</button>
  </form>
"""


def _message(t: Translator, title: str, text: str) -> str:
    return f"<h1>{escape(t(WORDS[title]))}</h1>\n<p>{escape(t(WORDS[text]))}</p>"


def _with_button(t: Translator, key: str) -> str:
    """A sentence naming the "I'm here" button, escaped, the button's name in bold."""
    button = f"<strong>{escape(t(WORDS['here_button']))}</strong>"
    return escape(t(WORDS[key])).replace("{button}", button)


def page(
    server: QueueServer,
    request: Request,
    main: str,
    status: int = 200,
    t: Translator | None = None,
) -> Response:
    """A whole page of the joining pages' style around ``main`` (already escaped), in
    ``t``'s language and writing direction (English without one)."""
    t = t or join_translator("en")
    name = escape(server.setup.name)
    direction = "rtl" if t.language.rtl else "ltr"
    html = f"""<!doctype html>
<html lang="{escape(t.code)}" dir="{direction}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<meta name="referrer" content="no-referrer">
<title>{escape(t(WORDS["title"]))} – {name}</title>
<link rel="stylesheet" href="/static/join.css">
<link rel="icon" href="/static/icon.svg" type="image/svg+xml">
</head>
<body>
<header class="top"><p class="centre">{name}</p></header>
<main>
{main}
</main>
</body>
</html>
"""
    response = html_page(request, html.encode(), HTTPStatus(status))
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _name(service: Service, lang: str) -> str:
    return service_name(service.name, dict(service.names), lang)


def _help_name(category: AssistanceCategory, lang: str) -> str:
    return assistance_name(category.name, dict(category.names), lang)


def _help_asked(
    fields: dict[str, str], categories: tuple[AssistanceCategory, ...]
) -> tuple[str, ...] | None:
    """The codes ticked (``help_<code>=yes``), in the centre's order; None when a
    ``help_`` field names no category of the centre or carries another value."""
    offered = {c.code for c in categories}
    asked = {
        name[len("help_") :]: value for name, value in fields.items() if name.startswith("help_")
    }
    if any(code not in offered or value != "yes" for code, value in asked.items()):
        return None
    return tuple(c.code for c in categories if c.code in asked)


def _lang_attributes(code: str) -> str:
    """``lang`` and ``dir`` for a piece of a page in another language than the page's."""
    direction = "rtl" if join_translator(code).language.rtl else "ltr"
    return f'lang="{escape(code)}" dir="{direction}"'


def _phone(device: str) -> str:
    """A phone's name in tickets and records: its cookie, hashed."""
    return hashlib.sha256(device.encode()).hexdigest()[:16]


def _with_cookie(response: Response, device: str, fresh: bool) -> Response:
    """``response``, setting the phone's cookie if it is new."""
    if fresh:
        response.headers["Set-Cookie"] = (
            f"{COOKIE}={device}; Path=/; Max-Age=86400; HttpOnly; SameSite=Strict"
        )
    return response


def _device_of(request: Request) -> tuple[str, bool]:
    """The phone's cookie value, or a new one (True: new, to be set)."""
    cookie = SimpleCookie()
    try:
        cookie.load(request.headers.get("Cookie", ""))
    except CookieError:
        pass
    morsel = cookie.get(COOKIE)
    value = morsel.value if morsel is not None else ""
    if len(value) == 22 and TICKET_ID.fullmatch(value):
        return value, False
    return secrets.token_urlsafe(16), True
