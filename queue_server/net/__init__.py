"""The queue server on the network: websockets in, the core's decisions out.

One request reads as a straight line through these modules:

- :mod:`.wire` — frames in and out: JSON decoding, error replies, HTTP responses, the
  Origin check.
- :mod:`.protocol` — every message as a pydantic model (the Python client builds and
  reads the same models).
- :mod:`.auth` — who is speaking (device tokens, staff passwords) and the roles;
  :mod:`.ratelimit` limits password sign-ins; :mod:`.staff_sessions` keeps staff
  sessions alive, idle or ended.
- :mod:`.to_commands` — a request becomes a core command; :mod:`.server` decides,
  commits through the store, replies and broadcasts.
- :mod:`.visitors` — ticket status pages' live pushes; :mod:`.figures` — the manager's
  dashboard and report requests (figures from :mod:`queue_server.reporting`).
- :mod:`.serving` — ``walkin serve``: start, load bookings, run until stopped.

Nothing here imports the command line (``queue_server.cli``), which calls down into it.
"""
