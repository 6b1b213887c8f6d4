"""``serving.reload_rota`` (SIGHUP, ``systemctl reload``; the signal itself in
``tests/queue_server/test_cli.py``): the centre's file read again gives the running
server its new rota, which the wait estimate reads from the centre and which a reload
of the centre after a failed commit keeps; a file of another centre changes nothing."""

from __future__ import annotations

from datetime import time, timedelta
from pathlib import Path
from typing import Any

from queue_server.core.model import CounterRota
from queue_server.net.serving import reload_rota

ROOT = Path(__file__).resolve().parents[3]
ROTA = '\n[[rota]]\ncounter = "Counter 1"\nshifts = ["08:55-17:00"]\n' + (
    'breaks = [{ start = "10:30", minutes = 15 }]\n'
)


async def test_a_reloaded_rota_is_the_centres(live: Any, tmp_path: Path) -> None:
    path = tmp_path / "centre.toml"
    text = (ROOT / "examples" / "centre.toml").read_text()
    path.write_text(text.replace('\nid = "demo"\n', f'\nid = "{live.setup.centre_id}"\n') + ROTA)
    assert live.server.centre.setup.rota == ()
    assert await reload_rota(live.server, str(path))
    planned = (
        CounterRota(
            "Counter 1", ((time(8, 55), time(17)),), ((time(10, 30), timedelta(minutes=15)),)
        ),
    )
    assert live.server.setup.rota == planned
    assert live.server.centre.setup.rota == planned  # what the estimate reads
    await live.server._reload_after_failure()
    assert live.server.centre.setup.rota == planned

    other = tmp_path / "other.toml"
    other.write_text(text.replace('\nid = "demo"\n', '\nid = "elsewhere"\n'))
    assert not await reload_rota(live.server, str(other))
    assert live.server.centre.setup.rota == planned
