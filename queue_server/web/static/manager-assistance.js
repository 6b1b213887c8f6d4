// The help visitors asked for, on the manager dashboard's History (docs/assistance.md):
// for each kind of help, the tickets that asked for it, how many were called, their mean
// and p90 wait and the share seen in time, beside the same for all visitors, so a
// manager can see whether those who asked for help waited longer. The figures are the
// report's own (`assistance`, by category code, and `overall`: reporting/reports.py),
// never worked out afresh here; only "within target" adds two of its counts together,
// as `walkin report --format text` does.
"use strict";

(function () {
  const W = window.WalkinManager;
  const { state: page, el } = W.page;
  const { fmtShare, fmtSeconds } = W.figures;

  // a category's name as the centre's file gives it (in English), else its code
  function helpName(code) {
    const found = ((page.centre && page.centre.assistance) || []).find((a) => a.code === code);
    return found ? found.name : code;
  }

  // walk-ins within their target and appointments within the standard, together
  function withinTarget(f) {
    const judged = (f.walk_ins_target_counted || 0) + (f.appointments_standard_counted || 0);
    const met = (f.walk_ins_target_met || 0) + (f.appointments_standard_met || 0);
    return { share: judged ? met / judged : null, met, judged };
  }

  const minutesOf = (seconds) => (seconds === null || seconds === undefined ? null : Math.round((seconds / 60) * 100) / 100);

  // What the chart's summary says: each kind of help's mean wait against everyone's.
  function summary(codes, byCode, overall) {
    if (!codes.length) return "Nobody asked for help on these dates.";
    const all = overall.wait_mean_seconds;
    const parts = codes.map((code) => {
      const mean = byCode[code].wait_mean_seconds;
      if (mean === null || mean === undefined) return `${helpName(code)}: nobody called yet`;
      if (all === null || all === undefined) return `${helpName(code)}: ${fmtSeconds(mean)} on average`;
      const words = Math.round(mean) === Math.round(all) ? "the same as" : mean > all ? "longer than" : "shorter than";
      return `${helpName(code)}: ${fmtSeconds(mean)} on average, ${words} all visitors' ${fmtSeconds(all)}`;
    });
    return `Waits to the first call. ${parts.join("; ")}.`;
  }

  // The section's figures: a chart of the mean and p90 waits (each kind of help, then all
  // visitors) and a table of every figure. `report`: a range's figures (the `report`
  // reply's `range`); `ids`: a prefix for the elements' ids.
  function figures(report, ids = "assistance") {
    const C = window.WalkinCharts;
    const byCode = report.assistance || {};
    const overall = report.overall || {};
    const codes = Object.keys(byCode).sort((a, b) => helpName(a).localeCompare(helpName(b), "en"));
    const rows = [...codes.map((code) => ({ heading: helpName(code), code, figures: byCode[code] })),
      { heading: "All visitors", figures: overall, total: true }];
    const shown = [];
    shown.push(C.bars({
      id: `${ids}-chart`, title: "Waits of those who asked for help, beside all visitors (mean and p90)",
      summary: summary(codes, byCode, overall), horizontal: true, categoryHeading: "Help asked for",
      categories: codes.length ? rows.map((r) => r.heading) : ["All visitors"],
      series: [
        { name: "Mean wait", values: (codes.length ? rows : rows.slice(-1)).map((r) => minutesOf(r.figures.wait_mean_seconds)) },
        { name: "90th percentile (p90)", values: (codes.length ? rows : rows.slice(-1)).map((r) => minutesOf(r.figures.wait_p90_seconds)) },
      ],
      format: (minutes) => fmtSeconds(minutes * 60),
    }));
    const headings = ["Tickets", "Called", "Mean wait", "p90 wait", "Longest wait", "Within target"];
    const table = el("table", { class: "data help-table", id: `${ids}-table` },
      el("thead", {}, el("tr", {}, el("th", { scope: "col", text: "Help asked for" }),
        ...headings.map((h) => el("th", { scope: "col", class: "num", text: h })))),
      el("tbody", {}, ...rows.map(({ heading, code, figures: f, total }) => {
        const within = withinTarget(f);
        const cells = [
          String(f.issued || 0), String(f.waits_counted || 0), fmtSeconds(f.wait_mean_seconds),
          fmtSeconds(f.wait_p90_seconds), fmtSeconds(f.wait_max_seconds),
        ].map((text) => el("td", { class: "num", text }));
        // the share, and under it the counts it is made of
        cells.push(within.share === null ? el("td", { class: "num", text: fmtShare(null) })
          : el("td", { class: "num" }, fmtShare(within.share), el("span", { class: "detail", text: ` (${within.met} of ${within.judged})` })));
        return el("tr", { class: total ? "over" : null, "data-help": code || "all" },
          el("th", { scope: "row", text: heading }), ...cells);
      })));
    shown.push(el("figure", { id: `${ids}-figure`, class: "chart-figure" },
      el("figcaption", { class: "chart-caption", text: "Help asked for at the kiosk, on the join page or at the desk: each kind's visitors against all visitors" }),
      el("div", { class: "table-scroll" }, table),
      el("p", { class: "quiet", text: "A visitor who asked for two kinds of help is in both rows. Within target: walk-ins called within their service's target and appointments within the standard; one left uncalled past it is not. Over several days the p90 is exact to the histogram's bucket." })));
    return shown;
  }

  W.assistance = { figures, helpName };
})();
