"""The centre as the kiosk sees it, read from the server's snapshot.

The snapshot (docs/protocol.md) gives services with code, English name, prefix,
target and online address, whether the centre is open and when it next opens, and
the help a visitor may ask for (``assistance``, docs/assistance.md). The
kiosk also uses, when the server sends them, a service's ``icon`` and translated
``names`` and the centre's ``kiosk`` settings (``[kiosk]`` in the centre's TOML);
without them it falls back to an icon by service code, the English name (or the
kiosk catalogue's translation of it) and :data:`DEFAULT_SETTINGS`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .i18n import N_


@dataclass(frozen=True)
class KioskSettings:
    """``[kiosk]`` in the centre's configuration (queue_server.config.KioskConfig)."""

    idle_reset_seconds: float = 60.0
    channel_shift: bool = True
    show_wait_estimate: bool = True


DEFAULT_SETTINGS = KioskSettings()

#: icons for the usual council services, when the server does not name one
ICON_BY_CODE = {
    "housing": "home",
    "council_tax": "pound",
    "parking": "car",
    "planning": "building",
    "licensing": "clipboard",
    "waste": "recycle",
    "electoral": "ballot",
    "general": "info",
}


#: the usual council services' English names, translated in the kiosk's catalogues and
#: shown when the centre's configuration has no name in the visitor's language
COMMON_SERVICE_NAMES = (
    N_("Housing and benefits"),
    N_("Council tax"),
    N_("Parking permits"),
    N_("Planning and building control"),
    N_("Environmental health and licensing"),
    N_("Waste and street scene"),
    N_("Electoral registration"),
    N_("General enquiries"),
)


@dataclass(frozen=True)
class ServiceView:
    code: str
    name: str
    prefix: str
    online_url: str | None = None
    icon: str = "info"
    #: the name in other languages, by code (English is ``name``)
    names: dict[str, str] = field(default_factory=dict)
    waiting: int = 0

    def name_in(self, language: str) -> str | None:
        """The centre's own name in ``language``, or None if it gives none."""
        if language == "en":
            return self.name
        return self.names.get(language)


@dataclass(frozen=True)
class AssistanceView:
    """One kind of help the centre offers (its ``[[assistance]]``): the code the
    server takes in ``issue_ticket``, the English name and its translations."""

    code: str
    name: str
    names: dict[str, str] = field(default_factory=dict)

    def name_in(self, language: str) -> str | None:
        """The centre's own name in ``language``, or None if it gives none."""
        if language == "en":
            return self.name
        return self.names.get(language)


@dataclass(frozen=True)
class CentreView:
    name: str
    timezone: ZoneInfo
    open: bool
    next_opening: datetime | None
    languages: tuple[str, ...]
    services: tuple[ServiceView, ...]
    settings: KioskSettings = DEFAULT_SETTINGS
    #: the help a visitor may ask for; none: the kiosk does not ask
    assistance: tuple[AssistanceView, ...] = ()

    def service(self, code: str) -> ServiceView | None:
        return next((s for s in self.services if s.code == code), None)

    def local(self, when: datetime) -> datetime:
        return when.astimezone(self.timezone)

    def with_queue(self, waiting: dict[str, int]) -> CentreView:
        """A copy with the waiting counts of a ``queue`` push."""
        services = tuple(
            replace(s, waiting=int(waiting.get(s.code, s.waiting))) for s in self.services
        )
        return replace(self, services=services)


def _when(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def _zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "Europe/London")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("Europe/London")


def centre_from_snapshot(snapshot: dict[str, Any]) -> CentreView:
    """Read a ``snapshot`` message (or the ``snapshot`` field of a reply)."""
    centre = snapshot.get("centre") or {}
    waiting = (snapshot.get("queue") or {}).get("waiting") or {}
    services = tuple(
        ServiceView(
            code=s["code"],
            name=s.get("name") or s["code"],
            prefix=s.get("prefix", ""),
            online_url=s.get("online_url"),
            icon=s.get("icon") or ICON_BY_CODE.get(s["code"], "info"),
            names=dict(s.get("names") or {}),
            waiting=int(waiting.get(s["code"], 0)),
        )
        for s in centre.get("services", [])
    )
    kiosk = centre.get("kiosk") or {}
    settings = KioskSettings(
        idle_reset_seconds=float(
            kiosk.get("idle_reset_seconds", DEFAULT_SETTINGS.idle_reset_seconds)
        ),
        channel_shift=bool(kiosk.get("channel_shift", DEFAULT_SETTINGS.channel_shift)),
        show_wait_estimate=bool(
            kiosk.get("show_wait_estimate", DEFAULT_SETTINGS.show_wait_estimate)
        ),
    )
    return CentreView(
        name=centre.get("name", ""),
        timezone=_zone(centre.get("timezone")),
        open=bool(centre.get("open", False)),
        next_opening=_when(centre.get("next_opening")),
        languages=tuple(centre.get("languages") or ("en",)),
        services=services,
        settings=settings,
        assistance=tuple(
            AssistanceView(
                code=a["code"], name=a.get("name") or a["code"], names=dict(a.get("names") or {})
            )
            for a in centre.get("assistance") or ()
            if isinstance(a, dict) and a.get("code")
        ),
    )
