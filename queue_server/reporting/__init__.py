"""Figures from the queue: a day's report (:mod:`.reports`), the manager dashboard's
live view (:mod:`.dashboard`) and the ``walkin report`` command (:mod:`.command`)."""
