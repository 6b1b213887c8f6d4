"""Fixed phrases kept in the printer as download graphics, printed by a two-byte key.

On a ticket in a script the printer cannot draw (Urdu, Arabic), most of the bytes are the
pictures of phrases that are the same on every ticket: "Your number", the service, "Scan
to follow your place", the footer. Epson's ``GS ( L`` functions 83 (define download
graphics, raster) and 85 (print one by key, 11 bytes) let the kiosk send each picture
once and then name it; only the rows that change (people ahead, the wait) are sent each
time. Download graphics live in the printer's RAM: a power cycle loses them. NV graphics
(functions 67/69) would survive it, but NV memory wears (Epson recommends fewer than ten
writes a day) and a kiosk whose translations or services change would rewrite it; RAM
costs one download per power-on instead.

The printer's state is never assumed (see :class:`PhraseMemory`): before each ticket the
kiosk sends ``ESC @`` and asks for the key list (function 80); what it defines it checks
by asking again before relying on it; keys it did not define in this session are cleared
(function 81) rather than trusted; a printer that does not answer gets the ticket as
images, as before. Keys are derived from a hash of the picture itself, so a changed
translation (or font) is a new key and never prints a stale phrase. ``ESC @`` goes before
the question, never between a definition and its use, so a printer that took ``ESC @``
to clear its download graphics too would answer with an empty list and get the phrases
again: correct, just not smaller.

Pure: bytes in, bytes out; :class:`~device_drivers.printer.Printer` does the talking.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from PIL import Image

GS_L = b"\x1d(L"
INIT = b"\x1b@"
#: ``GS ( L`` function 80: transmit the key codes of the defined download graphics
KEY_LIST_QUERY = GS_L + b"\x04\x00\x30\x50KC"
#: function 81: delete every download graphic
CLEAR_ALL = GS_L + b"\x05\x00\x30\x51CLR"
#: the handshake of a key list in several blocks: ACK asks for the next one
ACK = b"\x06"
_KEY_LIST_HEADER = b"\x37\x73"
_FIRST_KEY, _KEYS = 32, 95  # key code bytes run from 32 to 126
_MAX_DOTS_WIDE, _MAX_DOTS_TALL = 8192, 2304


@dataclass(frozen=True, eq=False)
class StoredRow:
    """One drawn row of a fixed phrase, as it is printed today and as it can be stored.

    ``picture`` is every dot the row leaves on paper (1-bit, black = ink), exactly as
    ``as_images`` prints it; printed by key it needs ``above`` before the key (the gap a
    raster is sent with) and ``below`` after it (the gap a raster or an ``ESC *`` line
    feed leaves), so the paper looks the same dot for dot either way.
    """

    picture: Image.Image
    as_images: bytes
    above: bytes
    below: bytes
    digest: bytes = field(init=False)

    def __post_init__(self) -> None:
        width, height = self.picture.size
        if not (1 <= width <= _MAX_DOTS_WIDE and 1 <= height <= _MAX_DOTS_TALL):
            raise ValueError(f"a stored graphic is 1-8192 x 1-2304 dots, not {width} x {height}")
        picture = self.picture if self.picture.mode == "1" else self.picture.convert("1")
        summary = hashlib.sha256(f"{width}x{height}:".encode() + picture.tobytes())
        object.__setattr__(self, "digest", summary.digest())


@dataclass(frozen=True)
class TicketJob:
    """A ticket's print job with its fixed phrases' rows left open: ``parts`` are bytes
    and :class:`StoredRow` rows in order, after ``ESC @``."""

    parts: tuple[bytes | StoredRow, ...]

    @property
    def rows(self) -> list[StoredRow]:
        """The fixed rows, each picture once (a phrase may appear twice: "reprint")."""
        unique: dict[bytes, StoredRow] = {}
        for part in self.parts:
            if isinstance(part, StoredRow):
                unique.setdefault(part.digest, part)
        return list(unique.values())

    def as_images(self) -> bytes:
        """The whole job with every row sent as its picture: the ticket as printed
        before download graphics, from ``ESC @`` to the cut."""
        return INIT + b"".join(p.as_images if isinstance(p, StoredRow) else p for p in self.parts)

    def by_key(self, keys: Mapping[bytes, bytes]) -> bytes:
        """The job after ``ESC @`` (which the key list question already sent), each row
        whose digest ``keys`` maps to a key printed by that key, the others as images."""
        out = []
        for part in self.parts:
            if not isinstance(part, StoredRow):
                out.append(part)
            elif part.digest in keys:
                out.append(part.above + print_command(keys[part.digest]) + part.below)
            else:
                out.append(part.as_images)
        return b"".join(out)


def define_command(key: bytes, picture: Image.Image) -> bytes:
    """``GS ( L`` (or ``GS 8 L`` past 65,535 bytes) function 83: ``picture`` (1-bit,
    black = ink) as monochrome raster download graphics under ``key``."""
    _check_key(key)
    width, height = picture.size
    # Raster bits are 1 for a dot; PIL's mode "1" stores white as 1, so invert, on a
    # white canvas of whole bytes (PIL pads rows with 0 bits, which would invert to ink).
    canvas = Image.new("1", (-(-width // 8) * 8, height), 1)
    canvas.paste(picture.convert("1"), (0, 0))
    data = bytes(b ^ 0xFF for b in canvas.tobytes())
    body = (
        b"\x30\x53\x30"
        + key
        + b"\x01"
        + width.to_bytes(2, "little")
        + height.to_bytes(2, "little")
        + b"\x31"
        + data
    )
    if len(body) <= 0xFFFF:
        return GS_L + len(body).to_bytes(2, "little") + body
    return b"\x1d8L" + len(body).to_bytes(4, "little") + body


def print_command(key: bytes) -> bytes:
    """``GS ( L`` function 85: print the download graphic ``key`` at 1 x 1 (11 bytes)."""
    _check_key(key)
    return GS_L + b"\x06\x00\x30\x55" + key + b"\x01\x01"


def _check_key(key: bytes) -> None:
    if len(key) != 2 or not all(_FIRST_KEY <= k < _FIRST_KEY + _KEYS for k in key):
        raise ValueError(f"a key code is two bytes from 32 to 126, not {key!r}")


def key_for(digest: bytes, taken: Iterable[bytes] = ()) -> bytes:
    """The key for a picture: from its digest, the next free one past any in ``taken``
    (keys already standing for other pictures), so two pictures never share one."""
    busy = set(taken)
    if len(busy) >= _KEYS * _KEYS:
        raise ValueError("every download graphics key is taken")
    index = int.from_bytes(digest[:8], "big") % (_KEYS * _KEYS)
    while True:
        key = bytes((_FIRST_KEY + index // _KEYS, _FIRST_KEY + index % _KEYS))
        if key not in busy:
            return key
        index = (index + 1) % (_KEYS * _KEYS)


class KeyListError(ValueError):
    """The printer's answer to function 80 is not a key list."""


def parse_key_list_block(block: bytes) -> tuple[set[bytes], bool]:
    """One block of function 80's answer, ``37h 73h`` status keys ``NUL`` -> (the keys,
    whether more blocks follow). Raises :class:`KeyListError` for anything else."""
    if len(block) < 4 or block[:2] != _KEY_LIST_HEADER or block[-1] != 0:
        raise KeyListError(f"not a key list block: {block[:16].hex(' ')}")
    status, keys = block[2], block[3:-1]
    if status not in (0x40, 0x41) or len(keys) % 2:
        raise KeyListError(f"malformed key list block: {block[:16].hex(' ')}")
    found = {keys[i : i + 2] for i in range(0, len(keys), 2)}
    for key in found:
        try:
            _check_key(key)
        except ValueError as exc:
            raise KeyListError(str(exc)) from None
    return found, status == 0x41


@dataclass
class Plan:
    """What to send before a ticket: ``setup`` (``CLR`` and definitions, possibly empty)
    and the keys to print by once the printer has confirmed them (:meth:`PhraseMemory.
    confirm`): ``trusted`` are held already, ``defining`` are in ``setup``."""

    setup: bytes
    trusted: dict[bytes, bytes]  # digest -> key
    defining: dict[bytes, bytes]  # digest -> key
    cleared: bool


class PhraseMemory:
    """The kiosk's knowledge of one printer's download graphics, kept honest.

    A key is used only if this session defined it with that picture and every key list
    since has had it. Keys the printer holds that this session did not define (another
    program's, or this kiosk's before a restart, possibly other pictures under the same
    key) are never trusted: the first plan that meets them clears the memory (function
    81) and defines what the ticket needs. A definition the printer did not keep (no
    room) leaves its rows as images; when that happens the memory is cleared and only
    the current ticket's phrases defined, once; a phrase that does not fit even then is
    not offered again in this session (it goes as images).
    """

    def __init__(self) -> None:
        self.defined: dict[bytes, bytes] = {}  # key -> digest, confirmed by the printer
        self.refused: set[bytes] = set()  # digests the printer had no room for

    def plan(self, rows: list[StoredRow], held: set[bytes], *, clear: bool = False) -> Plan:
        """The set-up for a ticket with ``rows``, the printer holding ``held`` keys."""
        self.defined = {k: d for k, d in self.defined.items() if k in held}
        clear = clear or any(key not in self.defined for key in held)
        if clear:
            self.defined = {}
        by_digest = {digest: key for key, digest in self.defined.items()}
        trusted: dict[bytes, bytes] = {}
        defining: dict[bytes, bytes] = {}
        setup = [CLEAR_ALL] if clear else []
        for row in rows:
            if row.digest in self.refused:
                continue
            if row.digest in by_digest:
                trusted[row.digest] = by_digest[row.digest]
                continue
            key = key_for(row.digest, [*self.defined, *defining.values()])
            defining[row.digest] = key
            setup.append(define_command(key, row.picture))
        return Plan(b"".join(setup), trusted, defining, clear)

    def confirm(
        self, plan: Plan, held: set[bytes], *, refuse: bool = True
    ) -> tuple[dict[bytes, bytes], bool]:
        """After ``plan.setup`` was sent and the printer listed ``held``: the keys to
        print by (digest -> key), and whether every definition was kept. With
        ``refuse``, a definition a cleared memory did not keep is not offered again."""
        usable = {d: k for d, k in plan.trusted.items() if k in held}
        for digest, key in plan.defining.items():
            if key in held:
                self.defined[key] = digest
                usable[digest] = key
            elif refuse and plan.cleared:  # no room even in an emptied memory
                self.refused.add(digest)
        self.defined = {k: d for k, d in self.defined.items() if k in held}
        return usable, len(usable) == len(plan.trusted) + len(plan.defining)
