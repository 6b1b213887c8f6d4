"""Telling a visitor when it is nearly their turn (issue 14 item 2; docs/notifications.md).

One interface, ``Gateway`` (``gateways.py``): ``send(message)`` delivers one
``Outgoing`` message or raises ``SendFailed`` (``retry`` says whether trying again may
help). Two gateways come with Walkin: ``NotifyGateway`` (SMS and e-mail through GOV.UK
Notify, with its official client ``notifications-python-client``) and
``WebPushGateway`` (Web Push with VAPID, ``pywebpush``); another gateway plugs in by
implementing ``send`` and being given to the ``Notifier`` under its channel's name.

``Notifier`` (``notifier.py``) decides when (``[notifications]`` in the centre's file:
N people ahead, M minutes before the estimate, when called and at each recall), and
sends off the request path: the server hands it the events it commits, and a worker
task sends, retries with backoff, and records each message and its status in the
database (``store/notifications.py``). It never raises into the server.
"""
