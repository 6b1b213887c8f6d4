"""Routing policies against FIFO on the shipped day profiles: the comparison table and
the frontier plot of docs/routing.md.

Run (from the repository root)::

    .venv/bin/python bench/bench_routing.py                 # table + frontier, ~7 min
    .venv/bin/python bench/bench_routing.py --no-frontier   # the table only
    .venv/bin/python bench/bench_routing.py --days 40 --seed 0 \\
        --profiles examples/profiles/busy-monday.toml \\
        --plans examples/staffing/four-advisers.toml examples/staffing/six-advisers.toml \\
        --policies fifo rules standards --frontier docs/routing-frontier.png

For each profile and staffing plan it generates ``--days`` open days once (as
``walkin simulate --profile P --days N --date D --seed S`` does: the same days, each
from its own random stream) and replays them through the real core under each routing
policy, so every policy meets exactly the same visitors. Per policy it prints, pooled
over the days:

- ``appts``: appointments called within the 10-minute standard (met / counted);
- ``p90``: the 90th percentile of every walk-in's wait (to the first call) over all the
  days, and its ratio to FIFO's on the same days (``x fifo``); ``day ratio``: the mean
  over days of each day's walk-in p90 divided by FIFO's that day, and on how many days
  it was worse than FIFO's;
- ``within``: walk-ins called within their service's target; ``past 2x``: walk-ins
  who waited (or walked out after) more than twice their target; ``walked``: walk-outs;
  ``max``: the longest walk-in wait;
- ``busy``: advisers' utilisation over the day (busy time over staffed time), and in
  the day's busiest hour, each the mean over the days;
- ``cpu ms/day``: CPU time of the replays per day (process time, not wall clock).

``--frontier PNG`` also moves the ``"standards"`` policy's knobs
(``appointment_plan_margin_minutes``, ``appointment_plan_caution``) on each of
``--frontier-profiles`` (the ordinary weekday and the busy Monday) with each plan,
and draws appointment share against walk-in p90 (Pillow, no plotting library), FIFO
and the previous rules marked: docs/routing.md shows it. ``--json FILE`` writes every
row; ``--plot-from FILE`` draws the frontier again from such rows.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from queue_server.core.model import CentreSetup, Origin  # noqa: E402
from queue_server.launch import load_config  # noqa: E402
from queue_server.reporting.reports import nearest_rank  # noqa: E402
from queue_server.simulation.day import open_intervals  # noqa: E402
from queue_server.simulation.day_profile import (  # noqa: E402
    check_services,
    day_seed,
    generate_day,
    load_profile,
)
from queue_server.simulation.replay import Replay, replay_day  # noqa: E402
from queue_server.simulation.staffing_plan import check_plan, load_plan  # noqa: E402


@dataclass
class Result:
    """One policy (and knobs) over one set of days."""

    label: str
    days: list[dict[str, Any]]
    waits: list[float]
    cpu_seconds: float

    @property
    def met(self) -> int:
        return sum(d["met"] for d in self.days)

    @property
    def counted(self) -> int:
        return sum(d["counted"] for d in self.days)

    @property
    def appointment_share(self) -> float | None:
        return self.met / self.counted if self.counted else None

    @property
    def p90(self) -> float | None:
        return nearest_rank(sorted(self.waits), 90)

    def total(self, key: str) -> int:
        return sum(d[key] for d in self.days)

    def row(self, fifo: Result | None) -> dict[str, Any]:
        within = [d["within"] for d in self.days if d["within"] is not None]
        out: dict[str, Any] = {
            "policy": self.label,
            "appointments_met": self.met,
            "appointments_counted": self.counted,
            "appointment_share": self.appointment_share,
            "walk_in_p90_seconds": self.p90,
            "walk_in_max_seconds": max(self.waits, default=None),
            "walk_ins_within_target_share": sum(within) / len(within) if within else None,
            "walk_ins_past_twice_target": self.total("past_twice"),
            "walked_out": self.total("walked_out"),
            "visitors": self.total("visitors"),
            "utilisation": mean(d["utilisation"] for d in self.days),
            "peak_hour_utilisation": mean(d["peak_hour_utilisation"] for d in self.days),
            "cpu_ms_per_day": 1000 * self.cpu_seconds / max(len(self.days), 1),
        }
        if fifo is not None and fifo.p90 and self.p90 is not None:
            ratios = [
                a["p90"] / b["p90"]
                for a, b in zip(self.days, fifo.days, strict=True)
                if a["p90"] is not None and b["p90"]
            ]
            out["p90_ratio_to_fifo"] = self.p90 / fifo.p90
            out["day_p90_ratio_mean"] = sum(ratios) / len(ratios) if ratios else None
            out["days_worse_than_fifo"] = sum(1 for r in ratios if r > 1)
            out["days_compared"] = len(ratios)
        return out


def day_figures(replay: Replay) -> tuple[dict[str, Any], list[float]]:
    report = replay.report()
    extra = replay.extra_figures(report)
    waits = [
        (t.first_called_at - t.arrival_at).total_seconds()
        for t in replay.centre.tickets.values()
        if t.origin == Origin.WALK_IN and t.day == replay.day and t.first_called_at is not None
    ]
    return (
        {
            "day": replay.day.isoformat(),
            "met": report.overall.appointments_standard_met,
            "counted": report.overall.appointments_standard_counted,
            "p90": extra["walk_in_wait_p90_seconds"],
            "within": extra["walk_ins_within_target_share"],
            "past_twice": extra["walk_ins_past_twice_target"],
            "walked_out": extra["abandoned"],
            "visitors": extra["visitors"],
            "utilisation": extra["utilisation"],
            "peak_hour_utilisation": max(extra["utilisation_by_hour"].values(), default=None),
        },
        waits,
    )


#: the two weekday profiles the estimate benches replay by default
WEEKDAYS = ("examples/profiles/busy-monday.toml", "examples/profiles/ordinary-weekday.toml")


def centre_and_profiles(
    parser: argparse.ArgumentParser, profiles: Sequence[str] = WEEKDAYS
) -> None:
    """The options every bench of generated days has: ``--config`` (the centre) and
    ``--profiles`` (the day profiles to generate days from, ``profiles`` by default)."""
    parser.add_argument("--config", default="examples/centre.toml")
    parser.add_argument("--profiles", nargs="+", default=list(profiles))


def estimated_and_called(replay: Any) -> Iterator[tuple[Any, Any, float]]:
    """Each visit of a replayed day (``replay_day``) given an estimate at issue and
    then called: (the visit, its ticket, its wait to the first call in minutes)."""
    for visit in replay.visits:
        if visit.ticket_id is None or visit.estimate_minutes is None:
            continue
        ticket = replay.centre.tickets[visit.ticket_id]
        if ticket.first_called_at is None:
            continue
        yield visit, ticket, (ticket.first_called_at - ticket.issued_at) / timedelta(minutes=1)


def generated_days(
    setup: CentreSetup, profile_path: str, start: date, count: int, seed: int
) -> list[tuple[date, list[Any]]]:
    """``count`` open days from ``start`` with their arrivals, as ``walkin simulate
    --profile --days`` generates them."""
    profile = load_profile(profile_path)
    check_services(profile, setup.services, source=profile_path)
    days: list[tuple[date, list[Any]]] = []
    day = start
    while len(days) < count and day - start < timedelta(days=14 * count):
        if open_intervals(setup, day):
            days.append((day, generate_day(profile, setup.services, day, day_seed(seed, day))))
        day += timedelta(days=1)
    return days


def replay_all(
    setup: CentreSetup,
    days: list[tuple[date, list[Any]]],
    plan: Any,
    seed: int,
    label: str,
    **policy: Any,
) -> Result:
    setup = replace(setup, policy=replace(setup.policy, **policy))
    figures: list[dict[str, Any]] = []
    waits: list[float] = []
    started = time.process_time()
    for day, arrivals in days:
        replay = replay_day(setup, day, arrivals, seed=seed, staffing=plan)
        one, day_waits = day_figures(replay)
        figures.append(one)
        waits.extend(day_waits)
    return Result(label, figures, waits, time.process_time() - started)


def mean(values: Any) -> float | None:
    kept = [v for v in values if v is not None]
    return sum(kept) / len(kept) if kept else None


def minutes(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds / 60:.1f}"


def share(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f} %"


def table(title: str, rows: list[dict[str, Any]]) -> str:
    lines = [
        f"### {title}",
        "",
        "| policy | appts within 10 min | walk-in p90 (min) | x fifo | day ratio (worse days) "
        "| within target | past 2x target | walked out | max wait (min) | busy (peak hour) "
        "| cpu ms/day |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        ratio = (
            f"{r['p90_ratio_to_fifo']:.3f}"
            if "p90_ratio_to_fifo" in r
            else ("1" if r["policy"] == "fifo" else "-")
        )
        day_ratio = (
            f"{r['day_p90_ratio_mean']:.3f} ({r['days_worse_than_fifo']}/{r['days_compared']})"
            if r.get("day_p90_ratio_mean") is not None
            else "-"
        )
        lines.append(
            f"| {r['policy']} | {share(r['appointment_share'])} "
            f"({r['appointments_met']}/{r['appointments_counted']}) "
            f"| {minutes(r['walk_in_p90_seconds'])} | {ratio} | {day_ratio} "
            f"| {share(r['walk_ins_within_target_share'])} | {r['walk_ins_past_twice_target']} "
            f"| {r['walked_out']} of {r['visitors']} | {minutes(r['walk_in_max_seconds'])} "
            f"| {share(r['utilisation'])} ({share(r['peak_hour_utilisation'])}) "
            f"| {r['cpu_ms_per_day']:.0f} |"
        )
    return "\n".join(lines)


def draw_frontier(path: Path, panels: list[tuple[str, list[dict[str, Any]]]]) -> None:
    """Appointment share (y) against walk-in p90 (x), one panel per staffing plan."""
    from PIL import Image, ImageDraw, ImageFont

    columns = min(len(panels), 2)
    rows = -(-len(panels) // columns)
    width, height = 560 * columns, 480 * rows + 30
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=13)
    colours = {"fifo": (200, 30, 30), "rules": (230, 140, 0), "standards": (30, 90, 200)}
    for index, (title, points) in enumerate(panels):
        column, row = index % columns, index // columns
        left, right = 560 * column + 70, 560 * column + 540
        top, bottom = 480 * row + 40, 480 * row + 420
        xs = [p["walk_in_p90_seconds"] / 60 for p in points if p["walk_in_p90_seconds"]]
        # the scale fits the standards points; a baseline far below sits on the bottom
        # edge, labelled with its share
        ys = [
            100 * p["appointment_share"]
            for p in points
            if p["appointment_share"] and p["policy"].startswith("standards")
        ] or [100 * p["appointment_share"] for p in points if p["appointment_share"]]
        fifo = next((p for p in points if p["policy"] == "fifo"), None)
        goal = (
            0.8 * fifo["walk_in_p90_seconds"] / 60 if fifo and fifo["walk_in_p90_seconds"] else None
        )
        x0, x1 = min([*xs, goal or xs[0]]) - 0.5, max(xs) + 0.5
        y0, y1 = min(min(ys) - 1, 97.0), 100.5

        def at(
            x: float,
            y: float,
            box: tuple[float, float, float, float] = (left, top, right, bottom),
            span: tuple[float, float, float, float] = (x0, x1, y0, y1),
        ) -> tuple[float, float]:
            return (
                box[0] + (x - span[0]) / (span[1] - span[0]) * (box[2] - box[0]),
                box[3] - (y - span[2]) / (span[3] - span[2]) * (box[3] - box[1]),
            )

        draw.rectangle((left, top, right, bottom), outline="black")
        draw.text((left, top - 28), title, fill="black", font=font)
        for step in range(6):
            x = x0 + (x1 - x0) * step / 5
            y = y0 + (y1 - y0) * step / 5
            px, _ = at(x, y0)
            _, py = at(x0, y)
            draw.line((px, bottom, px, bottom + 5), fill="black")
            draw.text((px - 10, bottom + 8), f"{x:.1f}", fill="black", font=font)
            draw.line((left - 5, py, left, py), fill="black")
            draw.text((left - 45, py - 6), f"{y:.1f}%", fill="black", font=font)
        # the 98 % target line
        if y0 < 98 < y1:
            _, py = at(x0, 98)
            draw.line((left, py, right, py), fill=(120, 120, 120), width=1)
            draw.text((right - 80, py - 14), "98 % target", fill=(90, 90, 90), font=font)
        stacked = 0  # labels of points off the scale, stacked up the bottom edge
        # the walk-in target: 0.8 times FIFO's p90
        if goal is not None:
            gx, _ = at(goal, y0)
            for y in range(int(top), int(bottom), 8):
                draw.line((gx, y, gx, y + 4), fill=(120, 120, 120))
            draw.text((gx + 4, bottom - 20), "0.8 x fifo", fill=(90, 90, 90), font=font)
        for p in points:
            if not p["walk_in_p90_seconds"] or p["appointment_share"] is None:
                continue
            kind = p["policy"].split()[0]
            shown = max(100 * p["appointment_share"], y0)
            cx, cy = at(p["walk_in_p90_seconds"] / 60, shown)
            radius = 6 if kind != "standards" or p.get("default") else 4
            draw.ellipse(
                (cx - radius, cy - radius, cx + radius, cy + radius),
                fill=colours.get(kind),
                outline="black" if p.get("default") else None,
                width=2,
            )
            if kind != "standards" or p.get("default"):
                label = p["policy"] + (" (default)" if p.get("default") else "")
                rise = 16
                if shown > 100 * p["appointment_share"]:
                    label += f": {100 * p['appointment_share']:.1f} %, off the scale"
                    rise += 16 * stacked
                    stacked += 1
                left_of = cx + 8 + draw.textlength(label, font=font) > right
                tx = cx - 8 - draw.textlength(label, font=font) if left_of else cx + 8
                draw.text((tx, cy - rise), label, fill="black", font=font)
        draw.text(
            (left + 120, bottom + 26),
            "walk-in p90 wait, minutes (all walk-ins of the days)",
            fill="black",
            font=font,
        )
        draw.text((left, top + 4), " appointments called within 10 min", fill="black", font=font)
    legend = "red: fifo   orange: rules   blue: standards (margin 0-8 min x caution 1-3)"
    draw.text((70, height - 22), legend, fill="black", font=font)
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--config", default="examples/centre.toml")
    parser.add_argument(
        "--profiles",
        nargs="+",
        default=[
            "examples/profiles/busy-monday.toml",
            "examples/profiles/ordinary-weekday.toml",
            "examples/profiles/quiet-saturday.toml",
        ],
    )
    parser.add_argument(
        "--plans",
        nargs="+",
        default=["examples/staffing/four-advisers.toml", "examples/staffing/six-advisers.toml"],
    )
    parser.add_argument("--policies", nargs="+", default=["fifo", "rules", "standards"])
    parser.add_argument("--date", type=date.fromisoformat, default=date(2026, 11, 30))
    parser.add_argument("--days", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--frontier", type=Path, default=ROOT / "docs" / "routing-frontier.png")
    parser.add_argument(
        "--frontier-profiles",
        nargs="+",
        default=["examples/profiles/ordinary-weekday.toml", "examples/profiles/busy-monday.toml"],
    )
    parser.add_argument("--no-frontier", action="store_true")
    parser.add_argument("--json", type=Path)
    parser.add_argument(
        "--plot-from",
        type=Path,
        help="draw the frontier from the rows of an earlier --json, without replaying",
    )
    args = parser.parse_args()
    if args.plot_from:
        replot(args.plot_from, args.frontier)
        return

    setup = load_config(args.config).to_setup()
    everything: list[dict[str, Any]] = []
    panels: list[tuple[str, list[dict[str, Any]]]] = []
    for profile in args.profiles:
        for plan_path in args.plans:
            plan = load_plan(plan_path)
            check_plan(plan, setup)
            days = generated_days(setup, profile, args.date, args.days, args.seed)
            results: dict[str, Result] = {}
            for policy in args.policies:
                results[policy] = replay_all(setup, days, plan, args.seed, policy, routing=policy)
            fifo = results.get("fifo")
            rows = [r.row(None if name == "fifo" else fifo) for name, r in results.items()]
            title = (
                f"{Path(profile).stem}, {Path(plan_path).stem}:"
                f" {len(days)} open days from {days[0][0]}"
            )
            print(table(title, rows), "\n", flush=True)
            for row in rows:
                everything.append({"profile": profile, "plan": plan_path, **row})
            if profile in args.frontier_profiles and not args.no_frontier:
                points = list(rows)
                for margin in (0, 2, 4, 6, 8):
                    for caution in (1.0, 1.5, 2.0, 3.0):
                        label = f"standards m{margin} c{caution:g}"
                        result = replay_all(
                            setup,
                            days,
                            plan,
                            args.seed,
                            label,
                            routing="standards",
                            appointment_plan_margin=timedelta(minutes=margin),
                            appointment_plan_caution=caution,
                        )
                        point = result.row(fifo)
                        point["default"] = (margin, caution) == (4, 3.0)
                        points.append(point)
                        everything.append({"profile": profile, "plan": plan_path, **point})
                        print(
                            f"  frontier {label}: appts {share(point['appointment_share'])} "
                            f"p90 {minutes(point['walk_in_p90_seconds'])} min "
                            f"(x fifo {point.get('p90_ratio_to_fifo', 0):.3f}), "
                            f"past 2x {point['walk_ins_past_twice_target']}",
                            flush=True,
                        )
                panels.append((f"{Path(profile).stem}, {Path(plan_path).stem}", points))
    if panels:
        draw_frontier(args.frontier, panels)
        print(f"frontier: {args.frontier}")
    if args.json:
        args.json.write_text(json.dumps(everything, indent=1, default=str))


def replot(rows_path: Path, png: Path) -> None:
    """The frontier drawn again from ``--json`` rows: the panels are the profile and
    plan pairs that have frontier points (``standards m… c…``)."""
    rows = json.loads(rows_path.read_text())
    pairs = list(dict.fromkeys((r["profile"], r["plan"]) for r in rows if " m" in r["policy"]))
    panels = [
        (
            f"{Path(profile).stem}, {Path(plan).stem}",
            [r for r in rows if (r["profile"], r["plan"]) == (profile, plan)],
        )
        for profile, plan in pairs
    ]
    draw_frontier(png, panels)
    print(f"frontier: {png}")


if __name__ == "__main__":
    main()
