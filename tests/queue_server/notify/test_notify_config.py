"""``[notifications]`` in the centre's file, and the notifier it makes: every mistake
reported by its key, the secrets never repeated, the environment winning over the file."""

from __future__ import annotations

from pathlib import Path

import pytest
from py_vapid import Vapid02

from queue_server.config import ConfigError, parse_config
from queue_server.net.serving import StartupError, _notifier
from queue_server.notify.gateways import EMAIL, PUSH, SMS, NotifyGateway
from queue_server.notify.notifier import API_KEY_ENV, VAPID_KEY_ENV, notifier_for
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
