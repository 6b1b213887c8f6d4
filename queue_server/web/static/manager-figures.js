// A report's figures on the manager dashboard: how each is written, and the tiles that
// show them (today's on the live view, a range's under History). The figures themselves
// are `walkin report`'s (queue_server/reporting/reports.py and, over a range, ranges.py),
// never worked out afresh here.
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

  // a mean satisfaction score, 5 (very satisfied) to 1 (very dissatisfied)
  function fmtScore(score) {
    if (score === null || score === undefined) return NO_DATA;
    return `${score.toFixed(2)} of 5`;
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
  // is made of (shown "2 of 3"); `target` a council standard.
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
      { key: "wait_p50_seconds", label: "Wait, median (p50)", kind: "seconds" },
      { key: "wait_p90_seconds", label: "Wait, 90th percentile (p90)", kind: "seconds" },
      { key: "wait_max_seconds", label: "Longest wait", kind: "seconds" },
      { key: "first_contact_resolution_share", label: "First-contact resolution", kind: "share",
        of: ["resolved", "completed"], target: { above: 0.5, text: "target over 50%" } },
      { key: "avoidable_contact_share", label: "Avoidable contact", kind: "share", of: ["avoidable", "completed"] },
      // satisfaction, beside resolution: the visitors' answers on their ticket's page
      { key: "satisfaction_share", label: "Satisfied (very satisfied or satisfied)", kind: "share",
        of: ["feedback_satisfied", "feedback_answers"] },
      { key: "satisfaction_mean_score", label: "Satisfaction, mean score (5 very satisfied, 1 very dissatisfied)",
        kind: "score", count: ["feedback_answers", "answers"] },
      { key: "feedback_response_rate", label: "Feedback response rate (answers per completed visit)", kind: "share",
        of: ["feedback_answers", "completed"] },
      { key: "mean_service_seconds", label: "Mean service time", kind: "seconds" },
      { key: "estimate_mae_seconds", label: "Wait estimates at issue: mean absolute error", kind: "seconds",
        count: ["estimates_measured", "tickets measured"] },
      { key: "estimate_bias_seconds", label: "Wait estimates at issue: bias", kind: "bias",
        count: ["estimates_measured", "tickets measured"] },
      { key: "channel_shift_share", label: "Chose to go online (kiosk or phone)", kind: "share",
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

  // The tiles of `figures.overall` in `list`; `figures.report` (a day's report or a range's)
  // gives the standards.
  function drawFigures(list, figures) {
    const items = figureList(standardMinutesOf(figures.report)).map((spec) => {
      const value = figures.overall[spec.key];
      const shown = spec.kind === "share" ? fmtShare(value)
        : spec.kind === "seconds" ? fmtSeconds(value)
          : spec.kind === "bias" ? fmtBias(value)
            : spec.kind === "score" ? fmtScore(value) : fmtCount(value);
      const item = el("div", { class: "figure", "data-figure": spec.key });
      const detail = [];
      if (spec.of && value !== null && value !== undefined) {
        detail.push(el("span", { class: "detail", text: `${figures.overall[spec.of[0]]} of ${figures.overall[spec.of[1]]}` }));
      }
      if (spec.count && value !== null && value !== undefined) {
        detail.push(el("span", { class: "detail", text: `${figures.overall[spec.count[0]]} ${spec.count[1]}` }));
      }
      const badge = targetBadge(spec, value);
      item.append(
        el("dt", { text: spec.label }),
        el("dd", {}, el("span", { class: `value${value === null || value === undefined ? " none" : ""}`, text: shown }), ...detail, badge),
      );
      return item;
    });
    list.replaceChildren(...items);
  }

  window.WalkinManager.figures = {
    fmtShare, fmtSeconds, fmtBias, fmtScore, fmtMinutes, fmtTarget, standardMinutesOf, drawFigures,
  };
})();
