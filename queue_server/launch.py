"""What a ``walkin`` command opens before it does anything: the centre's TOML file, the
database, the examples. Every failure is an :class:`OperatorError` saying what to put
right; the command line (``cli.py``), the demo and ``walkin report`` share these.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from queue_server.core.errors import OperatorError


def open_store(url: str, store: Any = None) -> Any:
    """The database at ``url`` (a SQLite path or a SQLAlchemy URL), migrated to the
    current schema; ``store``: that database already opened (a ``Store`` of ``url``
    not yet migrated), to migrate and return rather than open it again."""
    from queue_server.core.errors import WalkinError
    from queue_server.store import Store

    try:
        store = store if store is not None else Store(url)
        store.migrate()
    except WalkinError as exc:
        raise OperatorError(exc.message, 2) from None
    except Exception as exc:
        raise OperatorError(f"Cannot open the database {shown_url(url)}: {reason(exc)}") from None
    return store


def shown_url(url: str) -> str:
    """The database URL as it may be shown on a terminal or in a log: no password (the
    store's rule; imported only when a message needs it, so start-up stays light)."""
    from queue_server.store.writer_lock import shown

    return shown(url)


def reason(exc: BaseException) -> str:
    """The first line of what the database driver said, for a one-line message."""
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def load_config(path: str) -> Any:
    """The centre's TOML file, checked; a ``ConfigError`` (exit status 2) names every
    problem. Imported only when called: ``walkin --help`` never pays for pydantic."""
    from queue_server.config import load_config as load

    return load(path)


def example_path(name: str) -> Path:
    """A file in the repository's examples/ folder (the demo centre)."""
    return Path(__file__).resolve().parent.parent / "examples" / name
