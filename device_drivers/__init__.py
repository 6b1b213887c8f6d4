"""Kiosk devices: ticket layout -> ESC/POS bytes, transports by URL, status, simulator.

The kiosk needs only this::

    from device_drivers import open_printer, TicketPrint, DeviceError

    printer = open_printer("serial:///dev/ttyUSB0?baudrate=38400&profile=TM-T20II")
    printer.add_status_listener(lambda old, new: client.report_printer(new.as_dict()))
    try:
        printer.print_ticket(ticket, request_id=issue_reply.request_id)
    except DeviceError as exc:
        show_number_on_screen(ticket, reason=exc.code)

See docs/printing.md.
"""

from .errors import (
    CoverOpen,
    DeviceError,
    DeviceUnavailable,
    DuplicateRequest,
    InvalidDeviceURL,
    LayoutError,
    PaperOut,
    PrinterDisconnected,
    PrinterOffline,
    PrintFailed,
    WriteTimeout,
)
from .layout import ticket_bytes
from .printer import Printer, PrintJournal, PrintResult, open_printer
from .profiles import PrinterProfile, load_profile
from .scanner import BarcodeScanner, open_scanner
from .status import PaperLevel, PrinterState, PrinterStatus, StatusMonitor
from .ticket import TicketPrint
from .translations import SUPPORTED_LANGUAGES, labels_for
from .urls import DeviceConfig, parse_device_url

__all__ = [
    "SUPPORTED_LANGUAGES",
    "BarcodeScanner",
    "CoverOpen",
    "DeviceConfig",
    "DeviceError",
    "DeviceUnavailable",
    "DuplicateRequest",
    "InvalidDeviceURL",
    "LayoutError",
    "PaperLevel",
    "PaperOut",
    "PrintFailed",
    "PrintJournal",
    "PrintResult",
    "Printer",
    "PrinterDisconnected",
    "PrinterOffline",
    "PrinterProfile",
    "PrinterState",
    "PrinterStatus",
    "StatusMonitor",
    "TicketPrint",
    "WriteTimeout",
    "labels_for",
    "load_profile",
    "open_printer",
    "open_scanner",
    "parse_device_url",
    "ticket_bytes",
]
