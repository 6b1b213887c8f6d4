"""The gateways ``[notifications]`` asks for: GOV.UK Notify and Web Push, which come
with Walkin, and any other named in the centre's file as ``"package.module:factory"``
(``sms_gateway``, ``email_gateway``; docs/notifications.md, "Writing a gateway").

::

    gateways_for(config) -> (channel -> Gateway, VAPID public key or None)
    plugged_gateway(key, spec, settings, channel) -> Gateway

A plugged-in gateway is made by calling its factory (a function, or the class itself)
with a copy of its own table (``[notifications.sms_gateway_config]``), once, when the
server starts. Every way that can go wrong is a ``GatewayNotBuilt`` (a ValueError, so
the server's start stops on it as on a bad key) naming the setting, what went wrong
and what to do: the module cannot be imported, it has no such factory, the factory is
not callable or fails, what it returns is not a gateway, or the gateway says it cannot
send its channel in English (which every centre offers).

The secrets come from the environment first (``WALKIN_NOTIFY_API_KEY``,
``WALKIN_VAPID_PRIVATE_KEY``), else the file; they are never logged or repeated.
"""

from __future__ import annotations

import copy
import importlib
import os
from collections.abc import Mapping
from typing import Any

from queue_server.notify.gateways import (
    EMAIL,
    PUSH,
    SMS,
    Gateway,
    NotifyGateway,
    WebPushGateway,
)

#: the environment variables that override the centre's file for the secrets
API_KEY_ENV = "WALKIN_NOTIFY_API_KEY"
VAPID_KEY_ENV = "WALKIN_VAPID_PRIVATE_KEY"


class GatewayNotBuilt(ValueError):
    """A gateway named in ``[notifications]`` could not be imported or made; the
    message names the setting, says what went wrong and what to do."""


def gateways_for(config: Any) -> tuple[dict[str, Gateway], str | None]:
    """The gateways of ``config`` (a ``NotificationsConfig``) by channel, and the VAPID
    public key pages subscribe with (None: no Web Push). SMS and e-mail go through the
    gateway ``sms_gateway``/``email_gateway`` names, else through GOV.UK Notify when
    there is a key and templates for them. ValueError (naming the setting, never a
    key) for a key that is not one; ``GatewayNotBuilt`` for a gateway that cannot be
    made."""
    gateways: dict[str, Gateway] = {}
    api_key = os.environ.get(API_KEY_ENV) or (
        config.notify_api_key.get_secret_value() if config.notify_api_key else None
    )
    notify: NotifyGateway | None = None
    for channel, templates in ((SMS, config.sms_templates), (EMAIL, config.email_templates)):
        key = f"{channel}_gateway"
        spec = getattr(config, key)
        if spec is not None:
            settings = getattr(config, f"{key}_config") or {}
            gateways[channel] = plugged_gateway(key, spec, settings, channel)
        elif api_key and templates:
            if notify is None:
                notify = NotifyGateway(
                    api_key,
                    config.notify_base_url,
                    sms_templates=config.sms_templates,
                    email_templates=config.email_templates,
                )
            gateways[channel] = notify
    vapid = os.environ.get(VAPID_KEY_ENV) or (
        config.vapid_private_key.get_secret_value() if config.vapid_private_key else None
    )
    public_key = None
    if vapid:
        push = WebPushGateway(vapid, config.vapid_subject)
        gateways[PUSH] = push
        public_key = push.public_key
    return gateways, public_key


def plugged_gateway(key: str, spec: str, settings: Mapping[str, Any], channel: str) -> Gateway:
    """The gateway ``spec`` ("package.module:factory", the ``key`` setting) makes from
    a copy of ``settings``, checked to be a gateway that sends ``channel`` in English.
    ``GatewayNotBuilt`` otherwise."""
    where = f"notifications.{key}"
    module_name, _, name = spec.partition(":")
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # not found, or the module itself fails as it is imported
        raise GatewayNotBuilt(
            f'{where}: cannot import "{module_name}" ({_said(exc)}): install the package '
            "that provides it in the server's Python environment, or correct the name"
        ) from None
    factory: Any = module
    for part in name.split("."):
        if not hasattr(factory, part):
            raise GatewayNotBuilt(
                f'{where}: "{module_name}" has no "{name}": name the function or class '
                'that makes the gateway, as "package.module:factory"'
            )
        factory = getattr(factory, part)
    if not callable(factory):
        raise GatewayNotBuilt(
            f'{where}: "{spec}" is a {type(factory).__name__}, not a function or class '
            "that makes a gateway"
        )
    try:
        gateway = factory(copy.deepcopy(dict(settings)))
    except Exception as exc:
        raise GatewayNotBuilt(
            f'{where}: "{spec}" could not make a gateway from [notifications.{key}_config] '
            f"({_said(exc)}): correct that table"
        ) from None
    missing = [m for m in ("sends", "send") if not callable(getattr(gateway, m, None))]
    if missing:
        methods = " and ".join(f"{m}()" for m in missing)
        raise GatewayNotBuilt(
            f'{where}: "{spec}" made a {type(gateway).__name__}, which is not a gateway: '
            f"it has no {methods} (docs/notifications.md, 'Writing a gateway')"
        )
    try:
        able = gateway.sends(channel, "en")
    except Exception as exc:
        raise GatewayNotBuilt(
            f'{where}: the gateway "{spec}" made failed when asked whether it sends '
            f'"{channel}" in English ({_said(exc)})'
        ) from None
    if not able:
        raise GatewayNotBuilt(
            f'{where}: the gateway "{spec}" made says it cannot send "{channel}" messages '
            "in English, which every centre offers: is it the gateway of another channel, "
            f"or is English missing from [notifications.{key}_config]?"
        )
    return gateway  # type: ignore[no-any-return]


def _said(exc: BaseException) -> str:
    """An exception in a few words for an operator: its type and message."""
    text = str(exc).strip().replace("\n", " ")
    return f"{type(exc).__name__}: {text}"[:300] if text else type(exc).__name__
