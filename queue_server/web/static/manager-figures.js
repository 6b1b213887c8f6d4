// A report's figures on the manager dashboard: how each is written, the tiles that show
// them (today's on the live view, a range's under History), and several days' figures
// added up into one. The figures themselves are `walkin report`'s
// (queue_server/reporting/reports.py): counts are summed and shares recomputed from them,
// means weighted by what they count, never worked out afresh here.
"use strict";

(function () {
  const { el, chip } = window.WalkinManager.page;

  // ------------------------------------------------------------------ formats
  // Every figure is shown as text; "no data" where the report has null (no denominator).

  const NO_DATA = "no data";

  function fmtCount(n) { return n === null || n === undefined ? NO_DATA : String(n); }

  function fmtShare(share) {
    if (share === null || share === undefined) return NO_DATA;
    return `${Math.round(share * 1000) / 10}%`;
  }

  function fmtSeconds(seconds) {
    if (seconds === null || seconds === undefined) return NO_DATA;
    const whole = Math.round(seconds);
    if (whole < 60) return `${whole} s`;
    if (whole < 3600) return `${Math.floor(whole / 60)} min${whole % 60 ? ` ${whole % 60} s` : ""}`;
    return `${Math.floor(whole / 3600)} h ${Math.floor((whole % 3600) / 60)} min`;
  }

  // A wait estimate's bias (estimated minus actual, seconds): how far and which way,
  // "2 min 10 s too optimistic" (told less than they waited) or "… too pessimistic".
  function fmtBias(seconds) {
    if (seconds === null || seconds === undefined) return NO_DATA;
    if (Math.round(seconds) === 0) return "none (0 s)";
    return `${fmtSeconds(Math.abs(seconds))} ${seconds < 0 ? "too optimistic" : "too pessimistic"}`;
  }

  function fmtMinutes(minutes) {
    if (minutes === null || minutes === undefined) return NO_DATA;
    if (minutes < 1) return "under 1 min";
    if (minutes < 120) return `${Math.floor(minutes)} min`;
    return `${Math.floor(minutes / 60)} h ${Math.floor(minutes % 60)} min`;
  }

  function fmtTarget(minutes) { return `${Math.round(minutes)} min`; }

  // ------------------------------------------------------------------ figures (tiles)

  // What a report's figures are shown as, in order. `of` names the count figures a share
  // is made of (shown "2 of 3" and used to add days up); `target` a council standard.
  function figureList(standardMinutes) {
    return [
      { key: "issued", label: "Tickets issued", kind: "count" },
      { key: "served", label: "Visitors served", kind: "count" },
      { key: "no_shows", label: "No-shows", kind: "count" },
      { key: "abandonment_rate", label: "Abandonment (no-shows and cancelled)", kind: "share",
        of: ["abandoned", "issued"], target: { below: 0.05, text: "target below 5%" } },
      { key: "appointments_within_standard_share", label: `Appointments called within ${standardMinutes} minutes`,
        kind: "share", of: ["appointments_standard_met", "appointments_standard_counted"] },
      { key: "walk_ins_within_target_share", label: "Walk-ins called within target", kind: "share",
        of: ["walk_ins_target_met", "walk_ins_target_counted"] },
      { key: "wait_p50_seconds", label: "Wait, median (p50)", kind: "seconds", perDay: true },
      { key: "wait_p90_seconds", label: "Wait, 90th percentile (p90)", kind: "seconds", perDay: true },
      { key: "wait_max_seconds", label: "Longest wait", kind: "seconds" },
      { key: "first_contact_resolution_share", label: "First-contact resolution", kind: "share",
        of: ["resolved", "completed"], target: { above: 0.5, text: "target over 50%" } },
      { key: "avoidable_contact_share", label: "Avoidable contact", kind: "share", of: ["avoidable", "completed"] },
      { key: "mean_service_seconds", label: "Mean service time", kind: "seconds" },
      { key: "estimate_mae_seconds", label: "Wait estimates at issue: mean absolute error", kind: "seconds",
        count: ["estimates_measured", "tickets measured"] },
      { key: "estimate_bias_seconds", label: "Wait estimates at issue: bias", kind: "bias",
        count: ["estimates_measured", "tickets measured"] },
      { key: "channel_shift_share", label: "Chose to go online at the kiosk", kind: "share",
        of: ["channel_shift_online", "channel_shift_offered"] },
    ];
  }

  function standardMinutesOf(report) {
    const seconds = report && report.standards && report.standards.appointment_standard_seconds;
    return seconds ? Math.round(seconds / 60) : 10;
  }

  function targetBadge(spec, value) {
    if (!spec.target || value === null || value === undefined) return null;
    const met = spec.target.below !== undefined ? value < spec.target.below : value > spec.target.above;
    return chip(met ? "ok" : "bad", met ? `Meets ${spec.target.text}` : `Misses ${spec.target.text}`);
  }

  function drawFigures(list, figures, { multiDay = false } = {}) {
    const items = figureList(standardMinutesOf(figures.report)).map((spec) => {
      const value = figures.overall[spec.key];
      const shown = spec.kind === "share" ? fmtShare(value)
        : spec.kind === "seconds" ? fmtSeconds(value)
          : spec.kind === "bias" ? fmtBias(value) : fmtCount(value);
      const item = el("div", { class: "figure", "data-figure": spec.key });
      const detail = [];
      if (spec.of && value !== null && value !== undefined) {
        detail.push(el("span", { class: "detail", text: `${figures.overall[spec.of[0]]} of ${figures.overall[spec.of[1]]}` }));
      }
      if (spec.count && value !== null && value !== undefined) {
        detail.push(el("span", { class: "detail", text: `${figures.overall[spec.count[0]]} ${spec.count[1]}` }));
      }
      if (spec.perDay && multiDay) {
        detail.push(el("span", { class: "detail", text: "percentiles do not add up over days: see Waits by day" }));
      }
      const badge = targetBadge(spec, value);
      item.append(
        el("dt", { text: spec.label }),
        el("dd", {}, el("span", { class: `value${value === null || value === undefined ? " none" : ""}`, text: spec.perDay && multiDay ? "by day" : shown }), ...detail, badge),
      );
      return item;
    });
    list.replaceChildren(...items);
  }

  // ------------------------------------------------------------------ adding days up

  // Several days' figures as one: counts add up, shares are recomputed from their
  // counts, the mean service time is weighted by the visits it counts; percentiles do
  // not add up and are left null. One day's figures are returned as they are.
  const COUNT_KEYS = [
    "issued", "issued_walk_in", "issued_appointment", "served", "completed", "no_shows", "cancelled",
    "still_open", "transferred", "abandoned", "waits_counted", "appointments_standard_counted",
    "appointments_standard_met", "walk_ins_target_counted", "walk_ins_target_met", "walk_ins_target_unknown",
    "service_times_counted", "resolved", "avoidable", "appointments_booked", "appointments_checked_in",
    "appointments_late", "appointments_missed", "appointments_awaited", "appointments_cancelled",
    "channel_shift_offered", "channel_shift_online",
    "estimates_given", "estimates_measured", "estimates_not_called", "estimates_without_minutes",
    "estimate_updates_measured",
  ];
  // means over several days: each day's weighted by the tickets (or estimates) it measured
  const WEIGHTED_MEANS = {
    estimate_mae_seconds: "estimates_measured",
    estimate_bias_seconds: "estimates_measured",
    estimate_updates_mae_seconds: "estimate_updates_measured",
    estimate_updates_bias_seconds: "estimate_updates_measured",
  };
  const SHARES = {
    abandonment_rate: ["abandoned", "issued"],
    appointments_within_standard_share: ["appointments_standard_met", "appointments_standard_counted"],
    walk_ins_within_target_share: ["walk_ins_target_met", "walk_ins_target_counted"],
    first_contact_resolution_share: ["resolved", "completed"],
    avoidable_contact_share: ["avoidable", "completed"],
    channel_shift_share: ["channel_shift_online", "channel_shift_offered"],
  };

  function combine(list) {
    const present = list.filter(Boolean);
    if (present.length === 1) return present[0];
    const total = { by_hour: {} };
    for (const key of COUNT_KEYS) total[key] = present.reduce((sum, f) => sum + (f[key] || 0), 0);
    for (const [key, [top, bottom]] of Object.entries(SHARES)) {
      total[key] = total[bottom] ? Math.round((total[top] / total[bottom]) * 10000) / 10000 : null;
    }
    const maxes = present.map((f) => f.wait_max_seconds).filter((v) => v !== null && v !== undefined);
    total.wait_max_seconds = maxes.length ? Math.max(...maxes) : null;
    total.wait_p50_seconds = null;
    total.wait_p90_seconds = null;
    const serviceSeconds = present.reduce((sum, f) => sum + (f.mean_service_seconds || 0) * (f.service_times_counted || 0), 0);
    total.mean_service_seconds = total.service_times_counted ? Math.round((serviceSeconds / total.service_times_counted) * 10) / 10 : null;
    for (const [key, weight] of Object.entries(WEIGHTED_MEANS)) {
      const sum = present.reduce((acc, f) => acc + (f[key] || 0) * (f[weight] || 0), 0);
      total[key] = total[weight] ? Math.round((sum / total[weight]) * 10) / 10 : null;
    }
    total.face_to_face_cost_gbp = present.reduce((sum, f) => sum + (f.face_to_face_cost_gbp || 0), 0);
    for (const f of present) {
      for (const [hour, n] of Object.entries(f.by_hour || {})) total.by_hour[hour] = (total.by_hour[hour] || 0) + n;
    }
    return total;
  }

  function emptyFigures() {
    const none = combine([{}, {}]);
    none.wait_max_seconds = null;
    return none;
  }

  window.WalkinManager.figures = {
    fmtShare, fmtSeconds, fmtBias, fmtMinutes, fmtTarget, standardMinutesOf, drawFigures, combine, emptyFigures,
  };
})();
