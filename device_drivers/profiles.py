"""Which printer we are talking to: paper width, columns, native QR or not.

Capabilities come from python-escpos's profile database (``profile=TM-T20II``). We add
the few printers councils own that it lacks, and a paper width for the generic profile,
whose width python-escpos leaves "Unknown".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from escpos.capabilities import CAPABILITIES, get_profile

from .errors import InvalidDeviceURL

_GRAPHICS_ONLY = {
    # The Star TSP100III family has no text or barcode engine: everything is a raster.
    "TSP100III": {"vendor": "Star Micronics", "pixels": 576, "columns": 48},
    "TSP100IV": {"vendor": "Star Micronics", "pixels": 576, "columns": 48},
}
# Generic printers: 80 mm paper has 72 mm printable; 512 dots fits the 180 dpi TM-T88
# as well as 576-dot 203 dpi printers, so an unknown 80 mm printer never clips.
_GENERIC_WIDTH = {80: (512, 42), 58: (384, 32)}
# Makers whose printers centre raster images (GS v 0) with ESC a, as they centre text.
# Epson's ESC/POS does; cheap clones (Zjiang POS-58, Everycom) print them at the left
# margin whatever ESC a says, and the TSP100III has no alignment at all. For any other
# printer the layout pads each image on the left instead (see ``centres_images``).
_CENTRING_VENDORS = {"Epson"}
# Printers that keep download graphics (GS ( L / GS 8 L functions 80-85: define, list the
# keys, print by key) for device_drivers.phrases. python-escpos's capability data has no
# key for them (its "graphics" means GS ( L at all, and it is set for the generic profile
# and for the older TM-T88II and III too), so this is our list: Epson's TM-T20 ESC/POS
# quick reference names download graphics key codes; the TM-T88V is taken to have them
# too, unchecked here. Every use is still checked with the printer (the key list is asked
# for before each ticket), so a wrong entry costs a wait and bytes, never a phrase.
_DOWNLOAD_GRAPHICS = {"TM-T20II", "TM-T20II-42col", "TM-T88V"}


@dataclass(frozen=True)
class PrinterProfile:
    """What the layout needs to know about a printer."""

    name: str
    escpos_name: str  # what python-escpos's printer classes take as ``profile=``
    escpos_profile: Any  # escpos.capabilities.BaseProfile; untyped upstream
    width_px: int
    columns: int
    native_qr: bool
    graphics_only: bool = False
    can_cut: bool = True
    #: the printer centres raster images with ``ESC a``; if False the layout pads them
    centres_images: bool = False
    #: the printer keeps download graphics: fixed phrases are sent once and printed by
    #: key (``device_drivers.phrases``); the generic profile never claims it
    download_graphics: bool = False


def profile_names() -> list[str]:
    """Every profile name ``profile=`` accepts."""
    return sorted(set(CAPABILITIES["profiles"]) | set(_GRAPHICS_ONLY))


def load_profile(name: str | None = None, paper: int | None = None) -> PrinterProfile:
    """Profile by python-escpos name (``None`` = generic) for ``paper`` mm (80 or 58).

    ``paper`` overrides the profile's width, for a 58 mm roll in an 80 mm-capable printer.
    Raises :class:`InvalidDeviceURL` for an unknown name.
    """
    if name in _GRAPHICS_ONLY:
        extra = _GRAPHICS_ONLY[name]
        width, columns = int(extra["pixels"]), int(extra["columns"])
        if paper is not None:
            width, columns = _GENERIC_WIDTH[paper]
        return PrinterProfile(
            name=name,
            escpos_name="default",
            escpos_profile=get_profile("default"),
            width_px=width,
            columns=columns,
            native_qr=False,
            graphics_only=True,
        )
    escpos_name = name or "default"
    if escpos_name not in CAPABILITIES["profiles"]:
        raise InvalidDeviceURL(
            f"unknown printer profile {name!r}; try one of: {', '.join(profile_names())}"
        )
    escpos_profile = get_profile(escpos_name)
    data = escpos_profile.profile_data
    pixels = data.get("media", {}).get("width", {}).get("pixels")
    if paper is not None or not isinstance(pixels, int):
        width, columns = _GENERIC_WIDTH[paper or 80]
    else:
        width, columns = pixels, escpos_profile.get_columns("a")
    features = data.get("features", {})
    return PrinterProfile(
        name=escpos_name,
        escpos_name=escpos_name,
        escpos_profile=escpos_profile,
        width_px=width,
        columns=columns,
        native_qr=bool(features.get("qrCode")),
        can_cut=bool(features.get("paperFullCut") or features.get("paperPartCut")),
        centres_images=data.get("vendor") in _CENTRING_VENDORS,
        download_graphics=escpos_name in _DOWNLOAD_GRAPHICS and bool(features.get("graphics")),
    )
