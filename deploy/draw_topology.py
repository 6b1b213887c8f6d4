"""Draw docs/running-for-a-council.png: a council's Walkin deployment.

    .venv/bin/python deploy/draw_topology.py            # writes docs/running-for-a-council.png
    .venv/bin/python deploy/draw_topology.py --out x.png

One PostgreSQL primary with a synchronous standby; a centre whose two servers sit in
the centre itself (Riverside); two centres served from a pair of hosts in the data
centre, each host running one centre's active server and the other's standby
(Northgate, Eastfield); in each centre kiosks with printers, boards, counter consoles
and a manager's dashboard, each listing both of its centre's servers. The picture is
data below (boxes and lines), drawn with Pillow, so a change to the deployment is a
change here and a new run.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

ROOT = Path(__file__).resolve().parents[1]
WIDTH, HEIGHT = 1800, 1100

INK = (33, 37, 41)
GREY = (108, 117, 125)
DB = (214, 234, 248)  # PostgreSQL
ACTIVE = (212, 237, 218)  # an active server
STANDBY = (255, 243, 205)  # a standby server
DEVICE = (241, 243, 245)  # kiosks, boards, pages
AREA = (250, 250, 252)


@dataclass
class Box:
    name: str
    x: int
    y: int
    w: int
    h: int
    fill: tuple[int, int, int]
    lines: tuple[str, ...] = ()

    @property
    def top(self) -> tuple[int, int]:
        return (self.x + self.w // 2, self.y)

    @property
    def bottom(self) -> tuple[int, int]:
        return (self.x + self.w // 2, self.y + self.h)

    def at(self, fraction: float, side: str = "top") -> tuple[int, int]:
        """A point ``fraction`` of the way along the top or bottom edge."""
        x = self.x + int(self.w * fraction)
        return (x, self.y if side == "top" else self.y + self.h)


def font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def area(draw: ImageDraw.ImageDraw, x: int, y: int, w: int, h: int, title: str) -> None:
    draw.rounded_rectangle((x, y, x + w, y + h), 14, fill=AREA, outline=GREY, width=2)
    draw.text((x + 16, y + 10), title, fill=INK, font=font(22))


def box(draw: ImageDraw.ImageDraw, b: Box) -> None:
    draw.rounded_rectangle((b.x, b.y, b.x + b.w, b.y + b.h), 10, fill=b.fill, outline=INK, width=2)
    draw.text((b.x + 12, b.y + 8), b.name, fill=INK, font=font(18))
    for n, line in enumerate(b.lines):
        draw.text((b.x + 12, b.y + 34 + 20 * n), line, fill=INK, font=font(15))


def line(
    draw: ImageDraw.ImageDraw,
    a: tuple[int, int],
    b: tuple[int, int],
    *,
    dashed: bool = False,
    width: int = 3,
    colour: tuple[int, int, int] = INK,
) -> None:
    if not dashed:
        draw.line((a, b), fill=colour, width=width)
        return
    (x1, y1), (x2, y2) = a, b
    length = max(1.0, ((x2 - x1) ** 2 + (y2 - y1) ** 2) ** 0.5)
    dash, gap = 12, 9
    steps = int(length // (dash + gap)) + 1
    for i in range(steps):
        s = i * (dash + gap) / length
        e = min(1.0, (i * (dash + gap) + dash) / length)
        if s >= 1:
            break
        draw.line(
            ((x1 + (x2 - x1) * s, y1 + (y2 - y1) * s), (x1 + (x2 - x1) * e, y1 + (y2 - y1) * e)),
            fill=colour,
            width=width,
        )


def label(draw: ImageDraw.ImageDraw, xy: tuple[int, int], text: str, size: int = 15) -> None:
    draw.text(xy, text, fill=GREY, font=font(size))


def devices(draw: ImageDraw.ImageDraw, x: int, y: int, w: int) -> Box:
    """A centre's kiosks, boards, consoles and the manager's page: one row of boxes;
    returns a box spanning them (where their lines to the servers start)."""
    kinds = [
        ("Kiosks", ("touchscreen", "+ ticket printer")),
        ("Boards", ("TV: Kivy app", "or /board page")),
        ("Counters", ("browser:", "/counter")),
        ("Manager", ("browser:", "/manager")),
    ]
    gap = 12
    each = (w - gap * (len(kinds) - 1)) // len(kinds)
    for n, (name, lines) in enumerate(kinds):
        box(draw, Box(name, x + n * (each + gap), y, each, 86, DEVICE, lines))
    return Box("", x, y, w, 86, DEVICE)


def draw(out: Path) -> None:
    image = Image.new("RGB", (WIDTH, HEIGHT), "white")
    d = ImageDraw.Draw(image)
    d.text((30, 20), "Running Walkin for a council", fill=INK, font=font(30))
    label(
        d,
        (30, 60),
        "Every box that runs Walkin is a systemd unit (deploy/systemd); every client lists "
        "both of its centre's servers and uses whichever is active.",
        17,
    )

    # ------------------------------------------------------------ data centre
    area(d, 30, 100, 1740, 400, "Council data centre")
    primary = Box(
        "PostgreSQL primary  db1",
        90,
        160,
        380,
        96,
        DB,
        ("every centre's queue, one database", "synchronous_commit = on"),
    )
    standby_db = Box(
        "PostgreSQL standby  db2",
        90,
        370,
        380,
        96,
        DB,
        ("streaming replica, hot standby", "promoted (pg_ctl promote) if db1 dies"),
    )
    box(d, primary)
    box(d, standby_db)
    line(d, primary.bottom, standby_db.top, width=4)
    label(d, (290, 290), "synchronous streaming")
    label(d, (290, 310), "replication (WAL)")

    host_c = Box(
        "host walkin-c",
        700,
        170,
        340,
        100,
        ACTIVE,
        ("walkin-server@northgate  ACTIVE", "walkin-server@eastfield  standby"),
    )
    host_d = Box(
        "host walkin-d",
        1300,
        170,
        340,
        100,
        STANDBY,
        ("walkin-server@northgate  standby", "walkin-server@eastfield  ACTIVE"),
    )
    box(d, host_c)
    box(d, host_d)
    for n, text in enumerate(
        (
            "one host serves several",
            "centres: each runs one",
            "centre's active server",
            "and the other's standby",
        )
    ):
        label(d, (1565, 290 + 20 * n), text)
    # every server's database connection: a multi-host URL, to whichever is primary
    bus = 140
    line(d, (490, bus), (host_d.top[0], bus))
    for host in (host_c, host_d):
        line(d, (host.top[0], bus), host.top)
    line(d, (490, bus), (490, 200))
    line(d, (490, 200), (primary.x + primary.w, 200))
    label(d, (500, 116), "postgresql://db1,db2/walkin?target_session_attrs=read-write")

    # ------------------------------------------------------------ centres
    top = 540
    area(d, 30, top, 600, 510, "Riverside centre: its two servers on site")
    host_a = Box(
        "host walkin-a", 60, top + 60, 260, 76, ACTIVE, ("walkin-server@riverside  ACTIVE",)
    )
    host_b = Box(
        "host walkin-b", 340, top + 60, 260, 76, STANDBY, ("walkin-server@riverside  standby",)
    )
    box(d, host_a)
    box(d, host_b)
    riser = top - 24
    for host in (host_a, host_b):
        line(d, (host.top[0], riser), host.top)
    line(d, (50, riser), (host_b.top[0], riser))
    line(d, (50, riser), (50, 232))
    line(d, (50, 232), (primary.x, 232))
    label(d, (130, riser - 20), "the same multi-host URL")
    riverside = devices(d, 60, top + 330, 540)
    line(d, riverside.at(0.25), host_a.bottom)
    line(d, riverside.at(0.75), host_b.bottom, dashed=True)
    label(d, (70, top + 450), "SQLite instead of PostgreSQL: one host runs")
    label(d, (70, top + 470), "both (the file must be on a local disk)")

    for n, (name, x) in enumerate((("Northgate centre", 660), ("Eastfield centre", 1220))):
        area(d, x, top, 550, 510, f"{name}: servers in the data centre")
        group = devices(d, x + 20, top + 330, 510)
        active_host, other_host = (host_c, host_d) if n == 0 else (host_d, host_c)
        line(d, group.at(0.3), active_host.at(0.3 if n == 0 else 0.7, "bottom"))
        line(d, group.at(0.7), other_host.at(0.15 if n == 0 else 0.85, "bottom"), dashed=True)
        label(d, (x + 20, top + 450), "a kiosk issues from leased number blocks")
        label(d, (x + 20, top + 470), "while no server answers (--offline-journal)")

    label(
        d,
        (30, HEIGHT - 30),
        "Green: active server; yellow: standby; blue: PostgreSQL; grey: clients. Solid: "
        "the server a client uses; dashed: the other address it lists (a standby answers "
        "503 and it moves on). Drawn by deploy/draw_topology.py.",
        15,
    )
    image.save(out, optimize=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "running-for-a-council.png")
    args = parser.parse_args()
    draw(args.out)
    print(args.out)


if __name__ == "__main__":
    main()
