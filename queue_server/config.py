"""A centre's configuration: one TOML file, checked, then turned into a ``CentreSetup``.

::

    load_config(path) -> CentreConfig        reads the file, then parse_config
    parse_config(text, source) -> CentreConfig
    CentreConfig.to_setup() -> core.model.CentreSetup
    ConfigError(OperatorError)                  every problem found, each naming its key

The pydantic models here mirror the file's tables one for one (docs/configuration.md
lists every key). They keep what only the edges need, such as the ticket status URL,
kiosk icons and translated service names; ``to_setup`` hands the core just its part.

A file is checked in two rounds. First its shape: types, ranges, formats and unknown
keys (every model forbids extra keys, so a misspelt key is an error, not a silent
default). Then, once the shape is right, consistency across tables: unique codes,
prefixes and counter names, counter skills that name real services, and every service
served by some counter. Each problem is reported as ``<source>: <key path>: <message>``.

Things that are legal but probably unintended are not errors but ``CentreConfig.warnings``
(a language the app has no translations for, say), for the caller to print.
"""

from __future__ import annotations

import difflib
import ipaddress
import json
import re
import tomllib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, time, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from queue_server.core.errors import OperatorError
from queue_server.core.model import (
    AssistanceCategory,
    CentreSetup,
    Counter,
    CounterRota,
    FeedbackSettings,
    KioskSettings,
    LateCheckIn,
    OpeningHours,
    Policy,
    RemoteJoining,
    Service,
)
from queue_server.core.routing import ROUTING_POLICIES

#: Languages the app ships translations for, by ISO 639 code, with each one's own name
#: (what the kiosk's language picker shows). Any other 2-3 letter code is accepted with
#: a warning: the kiosk will show English text for it until a translation is added.
KNOWN_LANGUAGES: dict[str, str] = {
    "en": "English",
    "cy": "Cymraeg",
    "pl": "Polski",
    "ro": "Română",
    "ur": "اردو",
    "ar": "العربية",
}

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


# ------------------------------------------------------------------ errors


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a file: where (a key path or a line) and what."""

    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}" if self.where else self.message


class ConfigError(OperatorError):
    """The configuration could not be read or is not valid.

    ``str(error)`` is one line per problem, ``<source>: <where>: <message>``, ready
    to show an administrator; ``problems`` holds them for a program.
    """

    def __init__(self, source: str, problems: Sequence[Problem]) -> None:
        self.source = source
        self.problems = tuple(problems)
        super().__init__("\n".join(f"{source}: {problem}" for problem in self.problems), 2)


class _Inconsistent(Exception):
    """Raised from the root model's validator; not a ValueError, so pydantic lets it
    through and its key paths are not flattened into the root's."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(map(str, problems)))
        self.problems = problems


# ---------------------------------------------------------- value formats

_CLOCK = re.compile(r"([0-9]{1,2}):([0-9]{2})")


def parse_hhmm(text: str) -> time:
    """``"09:30"`` (or ``"9:30"``) -> ``time(9, 30)``; ValueError for anything else."""
    match = _CLOCK.fullmatch(text.strip())
    if not match or int(match[1]) > 23 or int(match[2]) > 59:
        raise ValueError(f'"{text}" is not a time of day as HH:MM (00:00 to 23:59)')
    return time(int(match[1]), int(match[2]))


def _hhmm_range(text: str) -> tuple[time, time]:
    parts = re.split(r"\s*[-–]\s*", text.strip())
    if len(parts) != 2:
        raise ValueError("must be a range of times like 09:00-17:00")
    start, end = parse_hhmm(parts[0]), parse_hhmm(parts[1])
    if not start < end:
        raise ValueError("must start before it ends")
    return start, end


def _time_range(text: str) -> str:
    _hhmm_range(text)
    return text


def _slug(text: str) -> str:
    if not re.fullmatch(r"[a-z0-9]+(?:[-_][a-z0-9]+)*", text) or len(text) > 40:
        raise ValueError(
            "must be lower-case letters and digits, words joined by - or _, at most 40 long"
        )
    return text


def _prefix(text: str) -> str:
    if not re.fullmatch(r"[A-Z]", text):
        raise ValueError("must be one capital letter")
    return text


def _language(text: str) -> str:
    if not re.fullmatch(r"[a-z]{2,3}", text):
        raise ValueError("must be a 2 or 3 letter ISO 639 language code like en or cy")
    return text


def _text(text: str) -> str:
    if not text.strip():
        raise ValueError("must not be empty")
    return text.strip()


def _web_url(text: str) -> str:
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("must be a web address starting https://")
    return text


def _status_template(text: str) -> str:
    _web_url(text)
    fields = set(re.findall(r"\{([^{}]*)\}", text))
    if fields != {"ticket_id"}:
        raise ValueError("must contain {ticket_id} and no other {placeholder}")
    return text


def _page_origin(text: str) -> str:
    """ "https://queue-a.example.gov.uk:8765/" -> "https://queue-a.example.gov.uk:8765":
    where a browser reaches one of the centre's servers (scheme, host, port only)."""
    parts = urlsplit(text.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be a web address like https://queue-a.example.gov.uk:8765")
    try:
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        raise ValueError("has a bad port number") from None
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
        raise ValueError("must be only the server's address (no path, query or user)")
    return f"{parts.scheme}://{parts.netloc.lower()}"


def _proxy_network(text: str) -> str:
    """``[servers] trusted_proxies``: one reverse proxy's address, or a network of them,
    written as ``ipaddress`` reads it ("10.0.0.5", "10.0.0.0/24", "fd00::/64")."""
    try:
        network = ipaddress.ip_network(text.strip())
    except ValueError:
        try:
            loose = ipaddress.ip_network(text.strip(), strict=False)
        except ValueError:
            raise ValueError(
                "is not an IP address or network: write a reverse proxy's address "
                '("10.0.0.5", "2001:db8::5") or a network of them ("10.0.0.0/24")'
            ) from None
        raise ValueError(
            f'has bits set after its /{loose.prefixlen}: write the network as "{loose}"'
        ) from None
    if network.prefixlen == 0:
        raise ValueError(
            "trusts every address, so any visitor could choose the address their joins "
            "and sign-ins are counted by: list only your reverse proxies"
        )
    return str(network)


def _day(value: object) -> object:
    # TOML has dates of its own (2025-12-25); a quoted "2025-12-25" is accepted too.
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    if type(value) is not date:
        raise ValueError("must be a date like 2025-12-25")
    return value


def _time_zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError("is not a known IANA time zone (e.g. Europe/London)") from None
    return name


Slug = Annotated[str, AfterValidator(_slug)]
Text = Annotated[str, AfterValidator(_text)]
Language = Annotated[str, AfterValidator(_language)]
WebUrl = Annotated[str, AfterValidator(_web_url)]
TimeRange = Annotated[str, AfterValidator(_time_range)]
Day = Annotated[date, BeforeValidator(_day)]
Minutes = Annotated[int, Field(ge=0, le=24 * 60)]
PositiveMinutes = Annotated[int, Field(gt=0, le=24 * 60)]


# ------------------------------------------------------------------ tables


class _Table(BaseModel):
    # strict: TOML already has types, so "20" for 20 is a mistake worth reporting
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class CentreInfo(_Table):
    """``[centre]``: who the centre is and where its clock is."""

    #: the centre's slug, stored as the ``centre`` column in a shared database
    id: Slug
    name: Text
    #: IANA name, e.g. "Europe/London"; says which day it is and whether it is open
    time_zone: Annotated[str, AfterValidator(_time_zone)]
    #: offered at the kiosk, in this order; must include "en"
    languages: list[Language] = ["en"]

    @field_validator("languages")
    @classmethod
    def _languages(cls, languages: list[str]) -> list[str]:
        if len(set(languages)) != len(languages):
            raise ValueError("lists a language more than once")
        if "en" not in languages:
            raise ValueError('must include "en": service names fall back to English')
        return languages


class UrlsConfig(_Table):
    """``[urls]``: addresses printed or shown to visitors."""

    #: the public ticket status page, e.g. "https://queue.example.gov.uk/t/{ticket_id}"
    ticket_status: Annotated[str, AfterValidator(_status_template)] | None = None

    def ticket_status_url(self, ticket_id: str) -> str | None:
        """The status page address for one ticket, or None when there is no page."""
        if self.ticket_status is None:
            return None
        return self.ticket_status.replace("{ticket_id}", quote(ticket_id, safe=""))


class ServersConfig(_Table):
    """``[servers]``: the centre's queue servers, the active one and its standbys
    (docs/operations.md, "A standby server")."""

    #: each server's address as the pages (board, counter, dashboard, ticket status)
    #: reach it, e.g. ["https://queue-a.example.gov.uk", "https://queue-b.example.gov.uk"]:
    #: a page whose server stops answering asks these which is active and moves there
    pages: list[Annotated[str, AfterValidator(_page_origin)]] = []
    #: the reverse proxies in front of the servers (addresses or networks): from these
    #: alone ``X-Forwarded-For`` is believed, so that the limits per address count each
    #: visitor, not the proxy (``queue_server.net.client_address``)
    trusted_proxies: list[Annotated[str, AfterValidator(_proxy_network)]] = []


class KioskConfig(_Table):
    """``[kiosk]``: how the kiosk behaves."""

    #: back to the welcome screen after this long without a touch
    idle_reset_seconds: Annotated[int, Field(ge=10, le=600)] = 60
    #: before printing a ticket, offer the service's online_url (as a QR code) instead
    channel_shift: bool = True
    #: show the estimated wait on the ticket and on the screen
    show_wait_estimate: bool = True


class FeedbackConfig(_Table):
    """``[feedback]``: asking visitors how it went, on their ticket's status page once
    the visit is completed (``core/feedback.py``; docs/ticket-status.md)."""

    #: ask at all
    open: bool = True
    #: how long after the visit's end the question stays open (1 hour to 7 days)
    window_hours: Annotated[int, Field(ge=1, le=7 * 24)] = 24
    #: a comment's text is erased this many days after it was given (its answer stays)
    comment_retention_days: Annotated[int, Field(ge=1, le=3 * 366)] = 180

    def to_settings(self) -> FeedbackSettings:
        return FeedbackSettings(
            open=self.open,
            window=timedelta(hours=self.window_hours),
            comment_retention=timedelta(days=self.comment_retention_days),
        )


class RemoteConfig(_Table):
    """``[remote]``: joining the queue from a phone (``/join/<centre id>``;
    docs/joining.md)."""

    #: offered at all (off unless the centre turns it on)
    open: bool = False
    #: the service codes one may join remotely; empty: every service
    services: list[Slug] = []
    #: joining stops this long before the centre closes
    stop_before_closing_minutes: Annotated[int, Field(ge=0, le=8 * 60)] = 30
    #: at most this many remote tickets waiting at once
    max_waiting: Annotated[int, Field(ge=1, le=10_000)] = 20
    #: a remote ticket is called only once its visitor says "I'm here"
    confirm: bool = True
    #: passed over at its turn while not here: kept this long, then a no-show
    grace_minutes: Annotated[int, Field(ge=1, le=4 * 60)] = 15
    #: joins allowed from one address, and from one phone (its cookie), per hour
    joins_per_address_per_hour: Annotated[int, Field(ge=1, le=10_000)] = 20
    joins_per_device_per_hour: Annotated[int, Field(ge=1, le=100)] = 3

    def to_remote(self) -> RemoteJoining:
        return RemoteJoining(
            open=self.open,
            services=frozenset(self.services),
            stop_before_closing=timedelta(minutes=self.stop_before_closing_minutes),
            max_waiting=self.max_waiting,
            confirm=self.confirm,
            grace=timedelta(minutes=self.grace_minutes),
            joins_per_address_per_hour=self.joins_per_address_per_hour,
            joins_per_device_per_hour=self.joins_per_device_per_hour,
        )


#: a GOV.UK Notify template's id
TemplateId = Annotated[str, Field(pattern=r"^[0-9a-fA-F-]{36}$")]


def _factory_path(text: str) -> str:
    """ "package.module:factory" (the factory may be a class, or "module:Class.make")."""
    name = r"[A-Za-z_][A-Za-z0-9_]*"
    if not re.fullmatch(rf"{name}(\.{name})*:{name}(\.{name})*", text):
        raise ValueError(
            'must name the function or class that makes the gateway, as "package.module:factory"'
        )
    return text


GatewayFactory = Annotated[str, AfterValidator(_factory_path)]


class NotificationsConfig(_Table):
    """``[notifications]``: telling visitors who asked when it is nearly their turn, by
    SMS or e-mail through GOV.UK Notify (or a gateway of the council's own) or by Web
    Push (``queue_server/notify``; docs/notifications.md). Off unless ``open``."""

    #: offered on the ticket status page at all
    open: bool = False
    #: told once when this many people or fewer are ahead (0: not on people ahead)
    people_ahead: Annotated[int, Field(ge=0, le=100)] = 3
    #: told once when the estimate is this many minutes or less (0: not on the estimate)
    minutes_before: Annotated[int, Field(ge=0, le=240)] = 0
    #: told when called, and again at each recall
    when_called: bool = True
    #: once the visit is completed, sent the feedback question with the link to the
    #: ticket's page (only while ``[feedback]`` is open)
    feedback_link: bool = False
    #: GOV.UK Notify's API key; better in the environment (``WALKIN_NOTIFY_API_KEY``)
    notify_api_key: SecretStr | None = None
    #: GOV.UK Notify's address (a test's stand-in, or Notify's own by default)
    notify_base_url: str = "https://api.notifications.service.gov.uk"
    #: Notify's SMS template id per language; "en" is needed for SMS to be offered.
    #: Each template has one personalisation field, ``message``
    sms_templates: dict[Language, TemplateId] = {}
    #: the same for e-mail
    email_templates: dict[Language, TemplateId] = {}
    #: texts through another gateway than Notify: the function (or class) that makes
    #: it, "package.module:factory", called with ``sms_gateway_config`` when the server
    #: starts (docs/notifications.md, "Writing a gateway")
    sms_gateway: GatewayFactory | None = None
    sms_gateway_config: dict[str, Any] | None = None
    #: the same for e-mail
    email_gateway: GatewayFactory | None = None
    email_gateway_config: dict[str, Any] | None = None
    #: Web Push's VAPID private key (PEM or raw base64url); better in the environment
    #: (``WALKIN_VAPID_PRIVATE_KEY``); with it, "Notify me on this phone" is offered
    vapid_private_key: SecretStr | None = None
    #: who runs the pushes, as push services ask: "mailto:..." or "https://..."
    vapid_subject: str = "mailto:queue@example.gov.uk"
    #: tries of one message before it is recorded as failed
    attempts: Annotated[int, Field(ge=1, le=10)] = 4
    #: the wait before the second try, doubled before each one after
    retry_seconds: Annotated[float, Field(gt=0, le=600)] = 5.0
    #: opt-ins allowed from one network address per hour
    opt_ins_per_address_per_hour: Annotated[int, Field(ge=1, le=10_000)] = 20

    @field_validator("sms_templates", "email_templates")
    @classmethod
    def _english_first(cls, templates: dict[str, str]) -> dict[str, str]:
        if templates and "en" not in templates:
            raise ValueError('must include "en": a language without a template gets English')
        return templates

    @field_validator("vapid_subject")
    @classmethod
    def _subject(cls, subject: str) -> str:
        if not subject.startswith(("mailto:", "https://")):
            raise ValueError('must start "mailto:" or "https://" (RFC 8292)')
        return subject

    @model_validator(mode="after")
    def _one_gateway_a_channel(self) -> NotificationsConfig:
        for channel in ("sms", "email"):
            gateway = f"{channel}_gateway"
            if getattr(self, f"{gateway}_config") is not None and getattr(self, gateway) is None:
                raise ValueError(
                    f"{gateway}_config is the table {gateway} is made with, and {gateway} "
                    f"is not set: set it, or remove the table"
                )
            if getattr(self, gateway) is not None and getattr(self, f"{channel}_templates"):
                raise ValueError(
                    f"{channel}_templates are GOV.UK Notify's, and {gateway} sends "
                    f"{'texts' if channel == 'sms' else 'e-mails'} instead of Notify: "
                    f"remove {channel}_templates, or {gateway} to use Notify"
                )
        return self


class SecurityConfig(_Table):
    """``[security]``: staff sign-in on the web pages (docs/console.md)."""

    #: a staff page's session ends after this long without a message from it
    session_idle_minutes: Annotated[int, Field(ge=5, le=24 * 60)] = 60
    #: and this long after signing in, whatever the activity (a working day)
    session_max_hours: Annotated[int, Field(ge=1, le=24)] = 12
    #: failed passwords for one username from one address (ten times as many from
    #: anywhere), and failed sign-ins from one address, within
    #: ``sign_in_window_minutes``, before further attempts are refused
    #: (``queue_server.net.ratelimit``)
    sign_in_failures_per_account: Annotated[int, Field(ge=3, le=100)] = 5
    sign_in_failures_per_address: Annotated[int, Field(ge=3, le=1000)] = 20
    sign_in_window_minutes: Annotated[int, Field(ge=1, le=24 * 60)] = 5


class PolicyConfig(_Table):
    """``[policy]``: the rules the core applies (``core.model.Policy``)."""

    #: the routing policy's name, one of ``core.routing.ROUTING_POLICIES``:
    #: ``"standards"`` (the default), or the baselines ``"rules"`` and ``"fifo"``
    #: (docs/routing.md)
    routing: str = "standards"
    appointment_standard_minutes: PositiveMinutes = 10
    appointment_protect_slack_minutes: Minutes = 5
    checkin_early_minutes: Minutes = 30
    checkin_late_minutes: Minutes = 15
    #: what a visitor checking in after ``checkin_late_minutes`` gets
    #: (``core.model.LateCheckIn``)
    late_checkin: Literal["due_at_checkin", "walk_in"] = "due_at_checkin"
    late_checkin_limit_minutes: Minutes = 60
    max_recalls: Annotated[int, Field(ge=0, le=20)] = 3
    secondary_margin: Annotated[float, Field(ge=0, allow_inf_nan=False)] = 1.0
    recent_visits: Annotated[int, Field(ge=1, le=1000)] = 20
    max_wait_factor: Annotated[float, Field(ge=1, le=100, allow_inf_nan=False)] = 2.0
    appointment_plan_margin_minutes: Minutes = 4
    appointment_early_call_minutes: Minutes = 15
    appointment_plan_caution: Annotated[float, Field(ge=1, le=10, allow_inf_nan=False)] = 3.0

    @field_validator("routing")
    @classmethod
    def _known_routing(cls, name: str) -> str:
        if name not in ROUTING_POLICIES:
            names = [f'"{known}"' for known in ROUTING_POLICIES]
            known = ", ".join(names[:-1]) + " or " + names[-1]
            raise ValueError(f"must name a routing policy, {known}")
        return name

    @model_validator(mode="after")
    def _slack_within_standard(self) -> PolicyConfig:
        if self.appointment_protect_slack_minutes > self.appointment_standard_minutes:
            raise ValueError(
                "appointment_protect_slack_minutes must not exceed appointment_standard_minutes"
            )
        if self.late_checkin_limit_minutes < self.checkin_late_minutes:
            raise ValueError(
                "late_checkin_limit_minutes must not be less than checkin_late_minutes "
                "(check-in is on time up to checkin_late_minutes after the booked time)"
            )
        if self.appointment_plan_margin_minutes >= self.appointment_standard_minutes:
            raise ValueError(
                "appointment_plan_margin_minutes must be less than appointment_standard_minutes"
            )
        return self

    def to_policy(self) -> Policy:
        return Policy(
            routing=self.routing,
            appointment_standard=timedelta(minutes=self.appointment_standard_minutes),
            appointment_protect_slack=timedelta(minutes=self.appointment_protect_slack_minutes),
            checkin_early=timedelta(minutes=self.checkin_early_minutes),
            checkin_late=timedelta(minutes=self.checkin_late_minutes),
            late_checkin=LateCheckIn(self.late_checkin),
            late_checkin_limit=timedelta(minutes=self.late_checkin_limit_minutes),
            max_recalls=self.max_recalls,
            secondary_margin=self.secondary_margin,
            recent_visits=self.recent_visits,
            max_wait_factor=self.max_wait_factor,
            appointment_plan_margin=timedelta(minutes=self.appointment_plan_margin_minutes),
            appointment_early_call=timedelta(minutes=self.appointment_early_call_minutes),
            appointment_plan_caution=self.appointment_plan_caution,
        )


class HoursConfig(_Table):
    """``[hours]``: weekly opening in local time, plus whole days closed.

    Each weekday is a list of ``"HH:MM-HH:MM"`` ranges; a day left out is closed.
    """

    monday: list[TimeRange] = []
    tuesday: list[TimeRange] = []
    wednesday: list[TimeRange] = []
    thursday: list[TimeRange] = []
    friday: list[TimeRange] = []
    saturday: list[TimeRange] = []
    sunday: list[TimeRange] = []
    #: bank holidays and other closures
    closed_dates: list[Day] = []
    #: for demos and 24-hour test centres: open whatever the hours say
    always_open: bool = False

    @field_validator(*WEEKDAYS)
    @classmethod
    def _no_overlaps(cls, ranges: list[str]) -> list[str]:
        spans = sorted((_hhmm_range(text), text) for text in ranges)
        for (earlier, earlier_text), (later, later_text) in zip(spans, spans[1:], strict=False):
            if later[0] < earlier[1]:
                raise ValueError(f'"{earlier_text}" overlaps "{later_text}"')
        return ranges

    @model_validator(mode="after")
    def _open_sometime(self) -> HoursConfig:
        if not self.always_open and not any(getattr(self, day) for day in WEEKDAYS):
            raise ValueError(
                "the centre is never open: give hours for at least one weekday,"
                " or set always_open = true"
            )
        return self

    def to_opening_hours(self) -> OpeningHours:
        return OpeningHours(
            weekly=tuple(
                tuple(sorted(_hhmm_range(text) for text in getattr(self, day))) for day in WEEKDAYS
            ),
            closed_dates=frozenset(self.closed_dates),
            always_open=self.always_open,
        )


class ServiceConfig(_Table):
    """One ``[[services]]`` entry."""

    #: stable identifier used by counters, bookings, reports and the wire protocol
    code: Slug
    #: in English; translations go in ``names``
    name: Text
    #: the letter on tickets: H023
    prefix: Annotated[str, AfterValidator(_prefix)]
    target_wait_minutes: PositiveMinutes
    typical_duration_minutes: PositiveMinutes = 8
    #: where the same thing can be done online, offered at the kiosk (channel shift)
    online_url: WebUrl | None = None
    #: the kiosk's icon name for the service button
    icon: Slug | None = None
    #: the name in other languages, by language code; English is ``name``
    names: dict[str, Text] = {}

    @field_validator("names")
    @classmethod
    def _name_languages(cls, names: dict[str, str]) -> dict[str, str]:
        for code in names:
            if not re.fullmatch(r"[a-z]{2,3}", code):
                raise ValueError(f'"{code}" is not a 2 or 3 letter ISO 639 language code')
            if code == "en":
                # two English names would disagree: which one a page shows is a guess
                raise ValueError(
                    '"en" is not a translation: the English name is the service\'s name'
                )
        return names

    def to_service(self) -> Service:
        return Service(
            code=self.code,
            name=self.name,
            prefix=self.prefix,
            target_wait=timedelta(minutes=self.target_wait_minutes),
            typical_duration=timedelta(minutes=self.typical_duration_minutes),
            online_url=self.online_url,
            icon=self.icon,
            names=tuple(self.names.items()),
        )


class CounterConfig(_Table):
    """One ``[[counters]]`` entry: a desk and the services its staff are skilled for."""

    name: Text
    #: served first
    primary: list[Slug] = []
    #: served when no primary ticket is waiting, or one is far past its target
    secondary: list[Slug] = []
    #: what the desk has for visitors who need it (names of your choosing, as the
    #: ``[[assistance]]`` entries' ``needs`` say them: "step_free", "hearing_loop")
    features: list[Slug] = []
    #: languages its advisers speak besides English, for visitors who ask for an
    #: interpreter (an ``[[assistance]]`` entry with ``same_language``)
    languages: list[Language] = []

    def to_counter(self) -> Counter:
        return Counter(
            name=self.name,
            primary=frozenset(self.primary),
            secondary=frozenset(self.secondary),
            features=frozenset(self.features),
            languages=frozenset(self.languages),
        )


class AssistanceConfig(_Table):
    """One ``[[assistance]]`` entry: help a visitor may ask for at the kiosk or the join
    page, and what it does to their place and their counter (docs/assistance.md)."""

    code: Slug
    #: in English; translations go in ``names``
    name: Text
    names: dict[Language, Text] = {}
    #: a head start in the queue of their service, in minutes (0: none)
    priority_minutes: Annotated[int, Field(ge=0, le=240)] = 0
    #: what the counter must have (its ``features``)
    needs: list[Slug] = []
    #: an adviser who speaks the visitor's language (a counter's ``languages``)
    same_language: bool = False

    def to_category(self) -> AssistanceCategory:
        return AssistanceCategory(
            code=self.code,
            name=self.name,
            priority_minutes=self.priority_minutes,
            needs=frozenset(self.needs),
            same_language=self.same_language,
            names=tuple(self.names.items()),
        )


def _clock(text: str) -> str:
    parse_hhmm(text)
    return text


class RotaBreakConfig(_Table):
    """``breaks = [{ start = "12:00", minutes = 30 }]`` in a ``[[rota]]`` entry."""

    start: Annotated[str, AfterValidator(_clock)]
    minutes: Annotated[int, Field(ge=1, le=240)]


class RotaConfig(_Table):
    """One ``[[rota]]`` entry: a counter's planned day, the same every day the centre
    opens (docs/rota.md). The wait estimate then knows when its adviser goes on a break
    (after the visit in hand) or home, and when they are back; who is called is not
    changed by it. The same shifts and breaks as a staffing plan's ``[[advisers]]``."""

    #: a ``[[counters]]`` name
    counter: Text
    #: ``"HH:MM-HH:MM"`` each, like [hours]
    shifts: Annotated[list[TimeRange], Field(min_length=1)]
    breaks: list[RotaBreakConfig] = []

    def to_rota(self) -> CounterRota:
        return CounterRota(
            counter=self.counter,
            shifts=tuple(sorted(_hhmm_range(text) for text in self.shifts)),
            breaks=tuple(
                sorted((parse_hhmm(b.start), timedelta(minutes=b.minutes)) for b in self.breaks)
            ),
        )


class CentreConfig(_Table):
    """The whole file. Build one with ``parse_config`` or ``load_config``."""

    centre: CentreInfo
    urls: UrlsConfig = UrlsConfig()
    servers: ServersConfig = ServersConfig()
    kiosk: KioskConfig = KioskConfig()
    policy: PolicyConfig = PolicyConfig()
    security: SecurityConfig = SecurityConfig()
    remote: RemoteConfig = RemoteConfig()
    feedback: FeedbackConfig = FeedbackConfig()
    notifications: NotificationsConfig = NotificationsConfig()
    hours: HoursConfig
    services: Annotated[list[ServiceConfig], Field(min_length=1)]
    counters: Annotated[list[CounterConfig], Field(min_length=1)]
    assistance: list[AssistanceConfig] = []
    rota: list[RotaConfig] = []

    @model_validator(mode="after")
    def _consistent(self) -> CentreConfig:
        problems = _cross_check(self)
        if problems:
            raise _Inconsistent(problems)
        return self

    def to_setup(self) -> CentreSetup:
        """The core's view of this centre."""
        return CentreSetup(
            centre_id=self.centre.id,
            name=self.centre.name,
            tz=ZoneInfo(self.centre.time_zone),
            services=tuple(service.to_service() for service in self.services),
            counters=tuple(counter.to_counter() for counter in self.counters),
            hours=self.hours.to_opening_hours(),
            policy=self.policy.to_policy(),
            languages=tuple(self.centre.languages),
            kiosk=KioskSettings(**self.kiosk.model_dump()),
            remote=self.remote.to_remote(),
            assistance=tuple(a.to_category() for a in self.assistance),
            feedback=self.feedback.to_settings(),
            rota=tuple(entry.to_rota() for entry in self.rota),
        )

    def service_name(self, code: str, language: str) -> str:
        """A service's name in ``language``, falling back to English. KeyError if no such code."""
        service = next((s for s in self.services if s.code == code), None)
        if service is None:
            raise KeyError(code)
        return service.names.get(language, service.name)

    @property
    def warnings(self) -> list[str]:
        """Legal but probably unintended: worth printing when the server starts."""
        found = []
        offered = self.centre.languages
        for i, language in enumerate(offered):
            if language not in KNOWN_LANGUAGES:
                found.append(
                    f'centre.languages[{i}]: the app has no translations for "{language}";'
                    " the kiosk will show English text for it"
                )
        for i, service in enumerate(self.services):
            for language in service.names:
                if language not in offered:
                    found.append(
                        f'services[{i}].names.{language}: "{language}" is not in'
                        " centre.languages, so this name is never shown"
                    )
        for i, counter in enumerate(self.counters):
            if not counter.primary and not counter.secondary:
                found.append(
                    f'counters[{i}]: "{counter.name}" has no skills and can call no one'
                    " until a manager gives it some"
                )
        return found


def _cross_check(config: CentreConfig) -> list[Problem]:
    services, counters = config.services, config.counters
    problems = [
        Problem(f"services[{i}].code", f'"{services[i].code}" is already used by services[{j}]')
        for i, j in _repeats([s.code for s in services])
    ]
    problems += [
        Problem(
            f"services[{i}].prefix",
            f'"{services[i].prefix}" is already used by services[{j}] ({services[j].code});'
            " ticket numbers would clash",
        )
        for i, j in _repeats([s.prefix for s in services])
    ]
    problems += [
        Problem(f"counters[{i}].name", f'"{counters[i].name}" is already used by counters[{j}]')
        for i, j in _repeats([c.name for c in counters])
    ]

    codes = {s.code for s in services}
    problems += [
        Problem(
            f"assistance[{i}].code",
            f'"{config.assistance[i].code}" is already used by assistance[{j}]',
        )
        for i, j in _repeats([a.code for a in config.assistance])
    ]
    features = {f for c in counters for f in c.features}
    for i, category in enumerate(config.assistance):
        for k, need in enumerate(category.needs):
            if need not in features:
                problems.append(
                    Problem(
                        f"assistance[{i}].needs[{k}]",
                        f'no counter has "{need}" in its features{_suggest(need, features)}:'
                        " nobody who asks for this could be called",
                    )
                )
    for k, code in enumerate(config.remote.services):
        if code not in codes:
            problems.append(
                Problem(
                    f"remote.services[{k}]",
                    f'"{code}" is not a service code{_suggest(code, codes)}',
                )
            )
    for i, counter in enumerate(counters):
        for skill in ("primary", "secondary"):
            for k, code in enumerate(getattr(counter, skill)):
                if code not in codes:
                    problems.append(
                        Problem(
                            f"counters[{i}].{skill}[{k}]",
                            f'"{code}" is not a service code{_suggest(code, codes)}',
                        )
                    )
        for code in sorted(set(counter.primary) & set(counter.secondary)):
            problems.append(
                Problem(
                    f"counters[{i}].secondary",
                    f'"{code}" is also in primary; a skill is one or the other',
                )
            )

    problems += _rota_problems(config)

    covered = {code for c in counters for code in (*c.primary, *c.secondary)}
    for i, service in enumerate(services):
        if service.code not in covered:
            problems.append(
                Problem(
                    f"services[{i}]",
                    f'no counter is skilled for "{service.code}", so nobody could serve it;'
                    " add it to some counter's primary or secondary list",
                )
            )
    return problems


def _minutes_of(clock: time) -> int:
    return clock.hour * 60 + clock.minute


def _span(start: time, end_minutes: int) -> str:
    end = min(end_minutes, 24 * 60 - 1)
    return f"{start:%H:%M}-{end // 60:02d}:{end % 60:02d}"


def schedule_problems(
    where: str,
    shifts: Sequence[tuple[time, time]],
    breaks: Sequence[tuple[time, int]],
    whose: str = "the shifts",
) -> list[Problem]:
    """What is wrong with a day's ``shifts`` (start, end) and ``breaks`` (start,
    minutes), for a staffing plan's adviser or a ``[[rota]]`` entry at ``where``
    (``whose``: how the shifts are named in a message): no shift, one that ends before
    it starts, two that overlap; a break not 1-240 minutes long, not within one shift,
    or starting during another."""

    def shift_text(j: int) -> str:
        return f"{shifts[j][0]:%H:%M}-{shifts[j][1]:%H:%M}"

    def break_text(j: int) -> str:
        return f"{breaks[j][0]:%H:%M} for {breaks[j][1]} minutes"

    problems: list[Problem] = []
    if not shifts:
        problems.append(
            Problem(f"{where}.shifts", 'needs at least one shift, e.g. ["08:55-17:00"]')
        )
    order = sorted(range(len(shifts)), key=lambda j: shifts[j][0])
    for j, (start, end) in enumerate(shifts):
        if not start < end:
            problems.append(
                Problem(f"{where}.shifts[{j}]", f'"{shift_text(j)}" must start before it ends')
            )
    for j, k in zip(order, order[1:], strict=False):
        if shifts[k][0] < shifts[j][1]:
            first, second = sorted((j, k))
            problems.append(
                Problem(
                    f"{where}.shifts[{second}]",
                    f'"{shift_text(second)}" overlaps shifts[{first}] '
                    f'"{shift_text(first)}"; make one shift of them or move one',
                )
            )
    shown = ", ".join(f'"{shift_text(j)}"' for j in range(len(shifts))) or "none"
    for j, (begins, minutes) in enumerate(breaks):
        start, end = _minutes_of(begins), _minutes_of(begins) + minutes
        if not 0 < minutes <= 240:
            problems.append(
                Problem(f"{where}.breaks[{j}].minutes", "must be from 1 to 240 minutes")
            )
            continue
        inside = any(_minutes_of(a) <= start and end <= _minutes_of(b) for a, b in shifts)
        if not inside:
            problems.append(
                Problem(
                    f"{where}.breaks[{j}]",
                    f"{_span(begins, end)} is not within one of {whose} "
                    f"({shown}); move the break inside a shift or shorten it",
                )
            )
    by_start = sorted(range(len(breaks)), key=lambda j: breaks[j][0])
    for j, k in zip(by_start, by_start[1:], strict=False):
        if _minutes_of(breaks[k][0]) < _minutes_of(breaks[j][0]) + breaks[j][1]:
            first, second = sorted((j, k))
            problems.append(
                Problem(
                    f"{where}.breaks[{second}]",
                    f"starts during breaks[{first}] ({break_text(first)}); "
                    "move it after the other break ends",
                )
            )
    return problems


def _rota_problems(config: CentreConfig) -> list[Problem]:
    """Each ``[[rota]]`` entry names a counter, once; its shifts do not overlap and its
    breaks fall within them (a staffing plan's own checks)."""
    if not config.rota:
        return []
    names = [c.name for c in config.counters]
    problems = [
        Problem(f"rota[{i}].counter", f'"{config.rota[i].counter}" is already in rota[{j}]')
        for i, j in _repeats([entry.counter for entry in config.rota])
    ]
    for i, entry in enumerate(config.rota):
        if entry.counter not in names:
            problems.append(
                Problem(
                    f"rota[{i}].counter",
                    f'"{entry.counter}" is not a counter{_suggest(entry.counter, names)}',
                )
            )
        problems += schedule_problems(
            f"rota[{i}]",
            [_hhmm_range(text) for text in entry.shifts],
            [(parse_hhmm(b.start), b.minutes) for b in entry.breaks],
        )
    return problems


def _repeats(values: Sequence[str]) -> Iterator[tuple[int, int]]:
    """(index, index of its first occurrence) for each value that was seen before."""
    first: dict[str, int] = {}
    for i, value in enumerate(values):
        if value in first:
            yield i, first[value]
        else:
            first[value] = i


def _suggest(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f'; did you mean "{close[0]}"?' if close else ""


# ----------------------------------------------------------------- loading


def read_toml_text(path: str | Path) -> str:
    """A TOML file's text; ConfigError, naming the file, if it cannot be read as UTF-8
    (no such file, a directory, not allowed, not UTF-8 text: the line it fails on)."""
    source = str(path)
    try:
        data = Path(path).read_bytes()
        text = data.decode("utf-8")
    except FileNotFoundError:
        raise ConfigError(source, [Problem("", "no such file")]) from None
    except IsADirectoryError:
        raise ConfigError(source, [Problem("", "is a directory, not a TOML file")]) from None
    except PermissionError:
        raise ConfigError(source, [Problem("", "not allowed to read this file")]) from None
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise ConfigError(source, [Problem(f"line {line}", "the file is not UTF-8 text")]) from None
    return text


def load_config(path: str | Path) -> CentreConfig:
    """Read and check a centre's TOML file. Raises ConfigError, naming the file."""
    return parse_config(read_toml_text(path), source=str(path))


def load_again(path: str | Path, centre_id: str) -> CentreConfig:
    """The centre's file read again by a server already serving ``centre_id`` (SIGHUP:
    ``serving.reload_rota``; a standby taking over: ``cli._read_again``): as
    ``load_config``, and a ConfigError too if it now names another centre, since a
    server never changes centre. Either caller goes on with the file as it was."""
    config = load_config(path)
    if config.centre.id != centre_id:
        raise ConfigError(
            str(path),
            [Problem("centre.id", f"now names centre {config.centre.id!r}, not {centre_id!r}")],
        )
    return config


def parse_config(text: str, source: str = "<string>") -> CentreConfig:
    """Check a centre's configuration given as TOML text.

    ``source`` names the text in error messages. Raises ConfigError listing every
    problem found: a TOML syntax error (with its line and column), or each key that
    is missing, unknown, or has a bad value, or the cross-table inconsistencies.
    """
    return parse_toml_model(text, source, CentreConfig, _known_keys)


ModelT = TypeVar("ModelT", bound=BaseModel)


def parse_toml_model(
    text: str,
    source: str,
    model: type[ModelT],
    known_keys: Callable[[Sequence[str | int]], list[str]],
) -> ModelT:
    """TOML text checked against a pydantic ``model``: a ConfigError listing every
    problem (the syntax error with its line and column; each key missing, unknown — with
    a did-you-mean from ``known_keys(path of its table)`` — or of a bad value; or the
    model's ``_Inconsistent`` cross-checks). The centre's file and day profiles share it."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(source, [_syntax_problem(error)]) from None
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise ConfigError(source, [_problem(e, known_keys) for e in error.errors()]) from None
    except _Inconsistent as error:
        raise ConfigError(source, error.problems) from None


def _syntax_problem(error: tomllib.TOMLDecodeError) -> Problem:
    # Python 3.11's tomllib puts the position only in the message: "... (at line 3, column 7)"
    message = str(error)
    match = re.search(r"\s*\(at (line \d+, column \d+|end of document)\)$", message)
    where = match[1] if match else ""
    if match:
        message = message[: match.start()]
    return Problem(where, f"TOML syntax error: {message[:1].lower()}{message[1:]}")


def _problem(error: Any, known_keys: Callable[[Sequence[str | int]], list[str]]) -> Problem:
    """One pydantic error as a Problem with a key path and a plain message."""
    loc: tuple[str | int, ...] = error["loc"]
    kind: str = error["type"]
    if kind == "missing":
        message = "required key is missing"
    elif kind == "extra_forbidden":
        message = f"unknown key{_suggest(str(loc[-1]), known_keys(loc[:-1]))}"
    else:
        message = error["msg"].removeprefix("Value error, ").replace("Input should", "must")
        if kind in ("model_type", "dict_type"):
            message = "must be a table"
        message = message[:1].lower() + message[1:]
        value = error.get("input")
        if isinstance(value, str | int | float | date) and not isinstance(value, bool):
            message += f", got {json.dumps(value, ensure_ascii=False, default=str)}"
    return Problem(_key_path(loc), message)


def _key_path(loc: Sequence[str | int]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif re.fullmatch(r"[A-Za-z0-9_-]+", part):
            path += f".{part}" if path else part
        else:
            path += f"[{json.dumps(part, ensure_ascii=False)}]"
    return path


def _known_keys(loc: Sequence[str | int]) -> list[str]:
    """The keys the table at ``loc`` accepts, for a did-you-mean hint."""
    model: type[BaseModel] = CentreConfig
    for part in loc:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part)
        inner = _model_in(field.annotation) if field else None
        if inner is None:
            return []
        model = inner
    return list(model.model_fields)


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _model_in(arg)
        if found is not None:
            return found
    return None
