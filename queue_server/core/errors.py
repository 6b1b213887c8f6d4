"""One error tree for the whole queue server, each error with a stable ``code``.

::

    WalkinError                      code            whose fault
    ├── InvalidRequest               invalid_request the client: the message is malformed
    │   └── UnknownMessageType       unknown_type
    ├── NotAuthenticated             not_authenticated
    ├── Forbidden                    forbidden       the client's role may not do this
    ├── NotFound                     not_found       no such ticket / counter / service / booking
    │   └── OtherCentre              other_centre    the ticket is another centre's
    ├── Conflict                     conflict        legal message, but not now
    │   ├── IllegalTransition        illegal_transition
    │   ├── CounterBusy              counter_busy
    │   ├── NothingToCall            nothing_to_call
    │   ├── CentreClosed             centre_closed
    │   ├── NotRemote                not_remote      "I'm here" for a ticket not joined remotely
    │   ├── TicketEnded              ticket_ended    "I'm here" for a ticket no longer queued
    │   └── CheckInRefused           check_in_too_early / check_in_too_late /
    │                                check_in_wrong_day / already_checked_in
    ├── Unavailable                  unavailable     ours: the store could not commit; retry
    │   └── NotActive                                not the centre's active server (any more)
    └── OperatorError                operator_error  the operator's: a file, an argument, the
        ├── ConfigError (config.py)                  database or the machine to put right; never
        ├── BookingsError (bookings.py)              on the wire, shown by ``walkin`` as one line
        ├── StartupError (net/serving.py)            with ``exit_status`` 2 (bad arguments or
        ├── CentreInUse (store/writer_lock.py)       files) or 1 (refused, unreachable)
        └── DatabaseDamaged (store/integrity.py)

Codes are part of the wire protocol (docs/protocol.md); never change one, only add.
Messages are plain English for a person at a counter or a kiosk, saying what was
wrong and what to do.
"""

from __future__ import annotations

from typing import Any


class WalkinError(Exception):
    """Base of every error the core or server raises on purpose."""

    code = "error"
    #: the ``walkin`` command's exit status when this error ends it
    exit_status = 1

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details: dict[str, Any] = details

    def __str__(self) -> str:
        return self.message


class InvalidRequest(WalkinError):
    code = "invalid_request"


class UnknownMessageType(InvalidRequest):
    code = "unknown_type"


class NotAuthenticated(WalkinError):
    code = "not_authenticated"


class Forbidden(WalkinError):
    code = "forbidden"


class NotFound(WalkinError):
    code = "not_found"


class OtherCentre(NotFound):
    """The ticket named is one of another centre (a database shared by several):
    ``details["centre"]`` is that centre's id."""

    code = "other_centre"


class Conflict(WalkinError):
    code = "conflict"


class IllegalTransition(Conflict):
    """An action that the transition table does not allow from the current state."""

    code = "illegal_transition"


class CounterBusy(Conflict):
    code = "counter_busy"


class NothingToCall(Conflict):
    code = "nothing_to_call"


class CentreClosed(Conflict):
    code = "centre_closed"


class NotRemote(Conflict):
    """ "I'm here" for a ticket that was not joined from a phone: it is in the queue
    already (``ConfirmHere``)."""

    code = "not_remote"


class TicketEnded(Conflict):
    """ "I'm here" for a ticket no longer in the queue: called, served, ended or passed
    over and given up (``ConfirmHere``); ``details["state"]`` says which."""

    code = "ticket_ended"


class CheckInRefused(Conflict):
    """Check-in outside the window; ``code`` is set per instance."""

    def __init__(self, code: str, message: str, **details: Any) -> None:
        super().__init__(message, **details)
        self.code = code


class JoinRefused(Conflict):
    """Joining the queue from a phone is not possible now; ``code`` is set per
    instance: ``remote_closed`` (not offered, or not now), ``remote_service`` (not for
    this service), ``remote_too_late`` (too near closing), ``remote_full`` (as many
    remote tickets waiting as the centre allows)."""

    def __init__(self, code: str, message: str, **details: Any) -> None:
        super().__init__(message, **details)
        self.code = code


class Unavailable(WalkinError):
    code = "unavailable"


class NotActive(Unavailable):
    """This server is not (any more) its centre's active server: another took over
    (``Store.take_lease``); nothing was written. The server stops; clients go to the
    active one."""


class OperatorError(WalkinError):
    """For the person running ``walkin``: what is wrong and what to do, one plain line
    (or one per problem). ``exit_status`` is 2 for bad arguments or files, else 1."""

    code = "operator_error"

    def __init__(self, message: str, exit_status: int | None = None, **details: Any) -> None:
        super().__init__(message, **details)
        if exit_status is not None:
            self.exit_status = exit_status
