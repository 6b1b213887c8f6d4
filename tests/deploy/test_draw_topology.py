"""docs/running-for-a-council.png is drawn by deploy/draw_topology.py: the script runs
and draws a picture of the committed one's size."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[2]


def test_the_topology_picture_is_drawn_by_its_script(tmp_path: Path) -> None:
    out = tmp_path / "topology.png"
    drawn = subprocess.run(
        [sys.executable, str(ROOT / "deploy" / "draw_topology.py"), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert drawn.returncode == 0, drawn.stderr
    with Image.open(out) as new, Image.open(ROOT / "docs" / "running-for-a-council.png") as old:
        assert new.size == old.size
