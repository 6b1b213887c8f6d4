"""The rooms of the code and which may import which: nothing imports upward.

The table below is the rule (docs/architecture.md draws it); every import in the
packages, at module level or inside a function, is read with ``ast`` and must stay
inside it. ``queue_server.cli`` is the top: nothing imports it."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("queue_server", "kiosk", "display_board", "device_drivers", "speech", "catalogues")
#: rooms shared by everything above the core: plain helpers with no I/O of their own
SHARED = {
    "qs.config",
    "qs.bookings",
    "qs.jsonable",
    "qs.views",
    "qs.status_words",
    "qs.feedback_words",
    "qs.join_words",
    "qs.notify_words",
}

#: room -> the rooms it may import (besides itself)
MAY_IMPORT: dict[str, set[str]] = {
    "qs.core": set(),
    "qs.jsonable": set(),
    # telling systemd READY=1 / WATCHDOG=1 (deploy/systemd): servers, kiosks and boards
    "qs.sdnotify": set(),
    # walkin serve --cpus: the server's CPUs, and its report process's
    "qs.affinity": set(),
    "qs.config": {"qs.core"},
    "qs.bookings": {"qs.core", "qs.config"},
    # an iCalendar file's bookings, read as the CSV's are
    "qs.bookings_ics": {"qs.core", "qs.bookings"},
    # walkin bookings import: a file's bookings sent to the bookings API over HTTP
    "qs.bookings_import": {"qs.core", "qs.bookings", "qs.bookings_ics"},
    "qs.status_words": {"catalogues"},
    # the joining pages' words (issue 14 item 4)
    "qs.join_words": {"catalogues"},
    # the status page's offer to be told when it is nearly your turn (issue 14 item 2)
    "qs.notify_words": {"catalogues"},
    # the feedback question's words (the status page's catalogue) and its five answers
    "qs.feedback_words": {"catalogues", "qs.core", "qs.status_words"},
    "qs.views": {"qs.core", "qs.jsonable", "qs.status_words", "catalogues"},
    "qs.store": {"qs.core", "qs.jsonable"},
    # a subcommand's main: parse, run, one line for an error
    "qs.command_line": {"qs.core"},
    "qs.reporting": {"qs.core", "qs.store", "qs.launch", "qs.command_line", "qs.affinity"} | SHARED,
    # the simulator prints the day's figures with the report's own code
    "qs.simulation": {"qs.core", "qs.store", "qs.launch", "qs.reporting", "qs.command_line"}
    | SHARED,
    "qs.wire": {"qs.core"},  # net/protocol.py and net/redact.py, shared with the client
    # telling visitors when it is nearly their turn: Notify, Web Push (issue 14 item 2)
    "qs.notify": {"qs.core", "qs.store"} | SHARED,
    "qs.net": {
        "qs.core",
        "qs.store",
        "qs.reporting",
        "qs.web",
        "qs.wire",
        "qs.sdnotify",
        "qs.notify",
        "speech",
    }
    | SHARED,  # fmt: skip
    # qs.wire: net/redact.py screens the feedback comments a page takes
    "qs.web": {"qs.core", "qs.store", "qs.net", "qs.wire", "qs.notify", "speech"} | SHARED,
    "qs.client": {"qs.core", "qs.wire"},
    "qs.launch": {"qs.core", "qs.store", "qs.config"},
    "qs.demo": {
        "qs.core",
        "qs.store",
        "qs.net",
        "qs.launch",
        "qs.client",
        "qs.simulation",
        "device_drivers",
    }
    | SHARED,  # fmt: skip
    "qs.cli": {
        "qs.affinity",
        "qs.core",
        "qs.store",
        "qs.net",
        "qs.launch",
        "qs.client",
        "qs.reporting",
        "qs.simulation",
        "qs.demo",
        "qs.bookings_import",
        "kiosk",
        "display_board",
        "device_drivers",
    }
    | SHARED,  # fmt: skip
    "catalogues": set(),
    "speech": {"catalogues"},
    "device_drivers": {"catalogues"},
    "kiosk": {"qs.client", "qs.core", "qs.sdnotify", "device_drivers", "speech", "catalogues"},
    "display_board": {"qs.client", "qs.sdnotify", "speech", "catalogues"},
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def room(module: str) -> str:
    parts = module.split(".")
    if parts[0] != "queue_server":
        return parts[0]
    if parts[1:3] in (["net", "protocol"], ["net", "redact"]):
        return "qs.wire"  # both ends of the wire: its format, and what may be logged of it
    return "qs." + (parts[1] if len(parts) > 1 else "")


def imports() -> dict[str, set[str]]:
    """Every module of ours -> the modules of ours it imports."""
    found: dict[str, set[str]] = defaultdict(set)
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            me = module_name(path)
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    targets = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom):
                    base = node.module or ""
                    if node.level:
                        package_parts = me.split(".")[: None if path.name == "__init__.py" else -1]
                        package_parts = package_parts[: len(package_parts) - node.level + 1]
                        base = ".".join([*package_parts, *([base] if base else [])])
                    # "from queue_server import views" imports the module views
                    targets = [f"{base}.{alias.name}" for alias in node.names] or [base]
                else:
                    continue
                found[me].update(t for t in targets if t.split(".")[0] in PACKAGES)
    return found


def test_nothing_imports_upward() -> None:
    wrong = []
    for module, targets in sorted(imports().items()):
        mine = room(module)
        allowed = MAY_IMPORT[mine] | {mine}
        for target in sorted(targets):
            theirs = room(target)
            if theirs == "qs." or theirs in allowed:
                continue
            wrong.append(f"{module} imports {target} ({mine} may not use {theirs})")
    assert wrong == []


def test_every_room_is_in_the_table() -> None:
    rooms = {room(m) for m in imports()} - {"qs."}
    assert rooms <= set(MAY_IMPORT), sorted(rooms - set(MAY_IMPORT))


def test_nothing_imports_the_command_line() -> None:
    users = [
        m
        for m, targets in imports().items()
        if any(t == "queue_server.cli" or t.startswith("queue_server.cli.") for t in targets)
    ]
    assert users == []


# net/staffing.py works out the dashboard's staffing advice with the simulator
MAY_IMPORT["qs.net"] |= {"qs.simulation"}
