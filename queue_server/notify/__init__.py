"""Telling a visitor when it is nearly their turn (issue 14 item 2; docs/notifications.md).

One interface, ``Gateway`` (``gateways.py``): ``sends(channel, language)`` says whether
it can send that, ``send(message)`` delivers one ``Outgoing`` message or raises
``SendFailed`` (``retry`` says whether trying again may help). Two gateways come with
Walkin: ``NotifyGateway`` (SMS and e-mail through GOV.UK Notify, with its official
client ``notifications-python-client``) and ``WebPushGateway`` (Web Push with VAPID,
``pywebpush``); another (a council's own SMS provider) implements ``sends`` and
``send`` and is named in the centre's file, ``[notifications] sms_gateway =
"package.module:factory"``, which ``configured.py`` imports and calls with its own
table when the server starts.

``Notifier`` (``notifier.py``) decides when (``[notifications]`` in the centre's file:
N people ahead, M minutes before the estimate, when called and at each recall), and
sends off the request path: the server hands it the events it commits, and a worker
task sends, retries with backoff, and records each message and its status in the
database (``store/notifications.py``). It never raises into the server.
"""
