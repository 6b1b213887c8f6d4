"""Who a connection is, and what each role may do.

Devices (kiosks, boards) present a token made by ``walkin enroll``; staff present a
username and password made by ``walkin staff add`` (argon2id). Roles:

- ``kiosk``: issue tickets, check in, ask for estimates, report its devices' status
- ``board``: only listens
- ``counter``: the counter actions, at the counter where this adviser is signed in
- ``manager``: everything a counter can do, at any counter, plus live changes
- ``visitor``: a ticket's status page; only listens, to its own ticket
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from queue_server.core.errors import NotAuthenticated
from queue_server.store import Store

#: the roles (the module docstring says what each may do)
KIOSK, BOARD, COUNTER, MANAGER = "kiosk", "board", "counter", "manager"
#: a ticket's status page (``queue_server.net.visitors``): hears about its own ticket only
VISITOR = "visitor"

_hasher = PasswordHasher()
# Verifying against this keeps a wrong username as slow as a wrong password, so
# timing does not reveal which usernames exist. Made on first use: hashing costs
# half a second, which every command importing this module would otherwise pay.
_DUMMY_HASH: str | None = None


def _dummy_hash() -> str:
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = _hasher.hash("not a real password")
    return _DUMMY_HASH


MIN_PASSWORD = 10


@dataclass(frozen=True)
class Identity:
    role: str  # kiosk | board | counter | manager | visitor
    name: str  # device name, staff username, or (visitor) the ticket id
    #: staff on a web page: the session's token hash and when it ends regardless
    session: str | None = None
    session_expires_at: datetime | None = None
    #: devices: the SHA-256 of the token they said hello with, so that a connection
    #: made with a token since rotated is told apart from one made with the new token
    credential: str | None = None

    @property
    def actor(self) -> str:
        kind = "staff" if self.role in ("counter", "manager") else self.role
        return f"{kind}:{self.name}"


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise ValueError(f"A password needs at least {MIN_PASSWORD} characters.")
    return _hasher.hash(password)


def authenticate(
    store: Store,
    centre_id: str,
    *,
    token: str | None = None,
    username: str | None = None,
    password: str | None = None,
) -> Identity:
    """The identity behind the credentials, or ``NotAuthenticated``. Blocking (argon2):
    call it from a worker thread."""
    if token:
        device = store.device_for_token(token)
        if device is None or device.centre != centre_id:
            raise NotAuthenticated(
                "That device token is not valid here. Enroll the device again with 'walkin enroll'."
            )
        return Identity(role=device.role, name=device.name, credential=device.token_hash)
    if username and password:
        staff = store.staff(centre_id, username)
        try:
            _hasher.verify(staff.password_hash if staff else _dummy_hash(), password)
        except (VerificationError, InvalidHashError):
            staff = None
        if staff is None:
            raise NotAuthenticated("Wrong username or password.")
        if staff.id is not None and _hasher.check_needs_rehash(staff.password_hash):
            store.update_password_hash(staff.id, _hasher.hash(password))
        return Identity(role=staff.role, name=staff.username)
    raise NotAuthenticated(
        "Say who you are first: send a hello with a device token, or a username and password."
    )
