"""``[notifications]`` in the centre's file, and the notifier it makes: every mistake
reported by its key, the secrets never repeated, the environment winning over the file;
a gateway named by ``sms_gateway``/``email_gateway`` made from its own table, or the
start stopped saying why."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from py_vapid import Vapid02

from queue_server.config import ConfigError, parse_config
from queue_server.net.serving import StartupError, _notifier
from queue_server.notify.configured import API_KEY_ENV, VAPID_KEY_ENV
from queue_server.notify.gateways import EMAIL, PUSH, SMS, NotifyGateway, Outgoing
from queue_server.notify.notifier import notifier_for
from tests.queue_server.notify.standins import API_KEY

EXAMPLE = (Path(__file__).resolve().parents[3] / "examples" / "centre.toml").read_text()
TEMPLATE = "f33517ff-2a88-4f6e-b855-c550268ce08a"


def with_notifications(text: str) -> str:
    return EXAMPLE + "\n[notifications]\n" + text


@pytest.fixture(autouse=True)
def no_keys_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(API_KEY_ENV, raising=False)
    monkeypatch.delenv(VAPID_KEY_ENV, raising=False)


def test_off_unless_opened(store) -> None:  # type: ignore[no-untyped-def]
    config = parse_config(EXAMPLE)
    assert config.notifications.open is False
    assert notifier_for(config.notifications, store, "riverside") is None


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("people_ahead = -1", "notifications.people_ahead"),
        ('people_ahead = "3"', "notifications.people_ahead"),
        ("minutes_before = 500", "notifications.minutes_before"),
        ('sms_templates = { cy = "' + TEMPLATE + '" }', 'must include "en"'),
        ('sms_templates = { en = "not-a-template" }', "notifications.sms_templates.en"),
        ('sms_templates = { xx_YY_zz = "' + TEMPLATE + '" }', "notifications.sms_templates"),
        ('vapid_subject = "queue@example.gov.uk"', "mailto:"),
        ("attempts = 0", "notifications.attempts"),
        ("retry_seconds = 0", "notifications.retry_seconds"),
        ("tries = 3", "notifications.tries"),
        ('sms_gateway = "council_sms"', "notifications.sms_gateway: must name the function"),
        ('email_gateway = "council sms:make"', "notifications.email_gateway: must name"),
        (
            'sms_gateway_config = { sender = "RIVERSIDE" }',
            "sms_gateway_config is the table sms_gateway is made with",
        ),
        (
            f'sms_gateway = "{__name__}:EmailOnly"\nsms_templates = {{ en = "{TEMPLATE}" }}',
            "sms_templates are GOV.UK Notify's",
        ),
        ('email_gateway = "a.b:c"\nemail_gateway_config = "x"', "email_gateway_config: must be"),
    ],
)
def test_mistakes_are_named_by_key(text: str, problem: str) -> None:
    with pytest.raises(ConfigError) as error:
        parse_config(with_notifications(text))
    assert problem in str(error.value)


def test_the_key_is_a_secret(store) -> None:  # type: ignore[no-untyped-def]
    config = parse_config(
        with_notifications(
            f'open = true\nnotify_api_key = "{API_KEY}"\nsms_templates = {{ en = "{TEMPLATE}" }}'
        )
    )
    assert API_KEY not in repr(config) and API_KEY not in str(config.notifications)
    notifier = notifier_for(config.notifications, store, "riverside")
    assert notifier is not None
    assert notifier.offers(SMS) and not notifier.offers(EMAIL) and not notifier.offers(PUSH)
    assert isinstance(notifier.gateways[SMS], NotifyGateway)


def test_the_environment_wins_and_a_bad_key_stops_the_start_by_name(
    store,  # type: ignore[no-untyped-def]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = parse_config(
        with_notifications(
            f'open = true\nnotify_api_key = "wrong"\nsms_templates = {{ en = "{TEMPLATE}" }}'
        )
    )
    with pytest.raises(StartupError, match="notify_api_key") as bad:
        _notifier(config.notifications, store, "riverside")
    assert "wrong" not in str(bad.value)
    monkeypatch.setenv(API_KEY_ENV, API_KEY)
    vapid = Vapid02()
    vapid.generate_keys()
    monkeypatch.setenv(VAPID_KEY_ENV, vapid.private_pem().decode())
    notifier = _notifier(config.notifications, store, "riverside")
    assert notifier.offers(SMS) and notifier.offers(PUSH)
    assert notifier.push_public_key and len(notifier.push_public_key) == 87
    monkeypatch.setenv(VAPID_KEY_ENV, "not a key")
    with pytest.raises(StartupError, match="vapid_private_key") as bad:
        _notifier(config.notifications, store, "riverside")
    assert "not a key" not in str(bad.value)


class EmailOnly:
    """A gateway of e-mail only, made from its table (kept, to see it is a copy)."""

    def __init__(self, settings: dict[str, Any]) -> None:
        self.settings = settings
        settings["touched"] = True  # the configuration's own table is not changed

    def sends(self, channel: str, language: str) -> bool:
        return channel == EMAIL

    def send(self, message: Outgoing) -> str | None:
        return None


def refuses_its_table(settings: dict[str, Any]) -> EmailOnly:
    raise ValueError(f"relay must be a host name, got {settings.get('relay')!r}")


def makes_something_else(settings: dict[str, Any]) -> dict[str, str]:
    return {"send": "not a method"}


NOT_A_FACTORY = "a string"


def test_a_gateway_named_in_the_file_is_made_from_its_own_table(store) -> None:  # type: ignore[no-untyped-def]
    config = parse_config(
        with_notifications(
            f'open = true\nnotify_api_key = "{API_KEY}"\nsms_templates = {{ en = "{TEMPLATE}" }}\n'
            f'email_gateway = "{__name__}:EmailOnly"\n'
            '[notifications.email_gateway_config]\nrelay = "smtp.example.gov.uk"\n'
        )
    )
    notifier = notifier_for(config.notifications, store, "riverside")
    assert notifier is not None
    email = notifier.gateways[EMAIL]
    assert isinstance(email, EmailOnly)
    assert email.settings == {"relay": "smtp.example.gov.uk", "touched": True}
    assert config.notifications.email_gateway_config == {"relay": "smtp.example.gov.uk"}
    assert isinstance(notifier.gateways[SMS], NotifyGateway)  # texts still through Notify
    assert notifier.offers(EMAIL, "ur") and notifier.offers(SMS) and not notifier.offers(PUSH)


@pytest.mark.parametrize(
    ("factory", "said"),
    [
        (
            "council_sms_not_installed.walkin:gateway",
            'cannot import "council_sms_not_installed.walkin" (ModuleNotFoundError: '
            "No module named 'council_sms_not_installed'): install the package",
        ),
        (f"{__name__}:no_such_factory", f'"{__name__}" has no "no_such_factory": name the'),
        (f"{__name__}:NOT_A_FACTORY", "is a str, not a function or class"),
        (
            f"{__name__}:refuses_its_table",
            "could not make a gateway from [notifications.sms_gateway_config] (ValueError: "
            "relay must be a host name, got 'smtp'): correct that table",
        ),
        (f"{__name__}:makes_something_else", "made a dict, which is not a gateway: it has no "),
        (f"{__name__}:EmailOnly", 'says it cannot send "sms" messages in English'),
    ],
)
def test_a_gateway_that_cannot_be_made_stops_the_start_saying_why(
    store,  # type: ignore[no-untyped-def]
    factory: str,
    said: str,
) -> None:
    config = parse_config(
        with_notifications(
            f'open = true\nsms_gateway = "{factory}"\n'
            '[notifications.sms_gateway_config]\nrelay = "smtp"\n'
        )
    )
    with pytest.raises(StartupError) as stopped:
        _notifier(config.notifications, store, "riverside")
    assert str(stopped.value).startswith("notifications.sms_gateway: ")
    assert said in str(stopped.value)
