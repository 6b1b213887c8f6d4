"""The staffing advice written out: text for a manager, JSON (``walkin staffing
--format json`` and the dashboard's ``staffing_advice`` reply), CSV rows.

::

    advice_text(advice) -> str
    advice_dict(advice) -> dict          JSON-ready
    advice_rows(advice) -> list[dict]    one per number of advisers (CSV_COLUMNS)
"""

from __future__ import annotations

from typing import Any

from queue_server.reporting.reports import FACE_TO_FACE_COST_GBP
from queue_server.simulation.staffing_advice import (
    StaffingAdvice,
    StaffingOption,
    share_of,
)


def _clock(hour: int) -> str:
    return f"{hour:02d}:00"


def option_dict(option: StaffingOption) -> dict[str, Any]:
    return {
        "advisers": option.advisers,
        "counters": [
            {"name": c.name, "primary": sorted(c.primary), "secondary": sorted(c.secondary)}
            for c in option.counters
        ],
        "visitors_per_day": round(option.visitors_per_day, 1),
        "appointments_within_standard_share": option.appointments_within_standard_share,
        "appointments_standard_counted": option.appointments_counted,
        "walk_ins_within_target_share": option.walk_ins_within_target_share,
        "walk_ins_target_counted": option.walk_ins_counted,
        "walk_in_wait_p50_seconds": option.walk_in_wait_p50_seconds,
        "walk_in_wait_p90_seconds": option.walk_in_wait_p90_seconds,
        "walk_ins_past_twice_target": option.walk_ins_past_twice_target,
        "utilisation": option.utilisation,
        "served": option.served,
        "staffed_hours": option.staffed_hours,
        "cost_per_visit_gbp": option.cost_per_visit_gbp,
        "meets_targets": option.meets_targets,
        "by_hour": {
            _clock(h): {
                "walk_ins_within_target_share": share_of(f.walk_ins_met, f.walk_ins_counted),
                "walk_ins_target_counted": f.walk_ins_counted,
                "appointments_within_standard_share": share_of(
                    f.appointments_met, f.appointments_counted
                ),
                "appointments_standard_counted": f.appointments_counted,
            }
            for h, f in option.by_hour.items()
        },
    }


def advice_dict(advice: StaffingAdvice) -> dict[str, Any]:
    """The advice as JSON-ready data (the shape ``--format json`` writes and the
    dashboard's ``staffing_advice`` reply carries)."""
    return {
        "centre": advice.centre,
        "centre_name": advice.centre_name,
        "weekday": advice.weekday,
        "day": advice.day.isoformat(),
        "profile": advice.profile,
        "routing": advice.routing,
        "days": advice.days,
        "seed": advice.seed,
        "targets": {
            "appointments_within_standard_share": advice.targets.appointments_share,
            "walk_ins_within_target_share": advice.targets.walk_ins_share,
        },
        "adviser_cost_per_hour_gbp": advice.adviser_cost_per_hour,
        "face_to_face_cost_gbp": float(FACE_TO_FACE_COST_GBP),
        "recommended_advisers": advice.recommended,
        "hours": [
            {
                "hour": _clock(h.hour),
                "arrivals": round(h.arrivals, 2),
                "erlangs": round(h.erlangs, 3),
                "erlang_pooled": h.pooled,
                "erlang_separate": h.separate,
                "erlang_by_service": dict(h.by_service),
                "simulated": advice.simulated_by_hour.get(h.hour),
            }
            for h in advice.hours
        ],
        "options": [option_dict(o) for o in advice.options],
        "configured": option_dict(advice.configured) if advice.configured else None,
        "rota": option_dict(advice.rota) if advice.rota else None,
        "notes": list(advice.notes),
    }


def _pct(share: float | None) -> str:
    return "-" if share is None else f"{share * 100:.1f}%"


def _mins(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds / 60:.1f} min"


def advice_text(advice: StaffingAdvice) -> str:
    """A manager's summary: the recommendation, Erlang C by hour, the simulated table."""
    t = advice.targets
    lines = [
        f"{advice.centre_name}: staffing for a {advice.weekday.capitalize()} "
        f"(hours as on {advice.day:%d %B %Y}), profile {advice.profile!r}, routing "
        f"{advice.routing}, {advice.days} simulated days (seed {advice.seed})",
        f"targets: appointments called within the standard >= {_pct(t.appointments_share)}, "
        f"walk-ins within their target >= {_pct(t.walk_ins_share)}",
        "",
    ]
    if advice.recommended is not None:
        lines.append(f"Recommended: {advice.recommended} advisers all day.")
        chosen = next(o for o in advice.options if o.advisers == advice.recommended)
        for c in chosen.counters:
            extra = f"; also {', '.join(sorted(c.secondary))}" if c.secondary else ""
            lines.append(f"  {c.name}: {', '.join(sorted(c.primary)) or '-'}{extra}")
    else:
        lines.append("No number of advisers tried met the targets.")
    lines += [
        "",
        "Advisers needed by hour: Erlang C with every adviser serving everyone (pooled) or",
        "a team per service (each service alone); simulated: the fewest whose visitors",
        "joining in that hour met the targets",
        f"{'  hour   arrivals      load':<33}  {'pooled':>8}  {'each service alone':>18}"
        f"  {'simulated':>9}",
    ]
    for h in advice.hours:
        sim = advice.simulated_by_hour.get(h.hour)
        lines.append(
            f"  {_clock(h.hour)}  {h.arrivals:5.1f} visitors  {h.erlangs:4.2f} Erl"
            f"  {h.pooled:>8}  {h.separate:>18}  {('-' if sim is None else sim):>9}"
        )
    lines += [
        "",
        "advisers  appts in std  walk-in p90  walk-ins in target  utilisation  cost/visit",
    ]
    rows = [(str(o.advisers), o) for o in advice.options]
    if advice.configured is not None:
        rows.append((f"own {advice.configured.advisers}", advice.configured))
    if advice.rota is not None:
        rows.append((f"rota {advice.rota.advisers}", advice.rota))
    for label, o in rows:
        cost = "-" if o.cost_per_visit_gbp is None else f"£{o.cost_per_visit_gbp:.2f}"
        mark = "  <- meets targets" if o.meets_targets else ""
        lines.append(
            f"{label:>8}  {_pct(o.appointments_within_standard_share):>12}  "
            f"{_mins(o.walk_in_wait_p90_seconds):>11}  {_pct(o.walk_ins_within_target_share):>18}"
            f"  {_pct(o.utilisation):>11}  {cost:>10}{mark}"
        )
    lines.append(
        "(own N: the configuration's counters and skills, on the same days)"
        if advice.configured is not None
        else ""
    )
    if advice.rota is not None:
        lines.append(
            "(rota N: those counters as the centre's [[rota]] staffs them, with its breaks)"
        )
    lines.append(
        f"(cost/visit: advisers' time at £{advice.adviser_cost_per_hour:.2f} an hour per visitor "
        f"served; the councils' face-to-face figure, all costs, is £{FACE_TO_FACE_COST_GBP})"
    )
    lines += [f"note: {n}" for n in advice.notes]
    return "\n".join(lines) + "\n"


#: the columns of ``--format csv``: one row per number of advisers
CSV_COLUMNS = (
    "weekday",
    "advisers",
    "appointments_within_standard_share",
    "walk_in_wait_p50_seconds",
    "walk_in_wait_p90_seconds",
    "walk_ins_within_target_share",
    "walk_ins_past_twice_target",
    "utilisation",
    "cost_per_visit_gbp",
    "meets_targets",
    "recommended",
)


def advice_rows(advice: StaffingAdvice) -> list[dict[str, Any]]:
    return [
        {
            "weekday": advice.weekday,
            "advisers": o.advisers,
            "appointments_within_standard_share": o.appointments_within_standard_share,
            "walk_in_wait_p50_seconds": o.walk_in_wait_p50_seconds,
            "walk_in_wait_p90_seconds": o.walk_in_wait_p90_seconds,
            "walk_ins_within_target_share": o.walk_ins_within_target_share,
            "walk_ins_past_twice_target": o.walk_ins_past_twice_target,
            "utilisation": o.utilisation,
            "cost_per_visit_gbp": o.cost_per_visit_gbp,
            "meets_targets": int(o.meets_targets),
            "recommended": int(o.advisers == advice.recommended),
        }
        for o in advice.options
    ]
