// The manager dashboard's History: a range of past days (up to two years) chosen by date,
// their figures as tiles and SVG charts (charts.js), and the same figures as a CSV file.
// The figures are the server's `report` reply with `by`, `walkin report --from --to --by`'s
// own (queue_server/reporting/ranges.py): over the whole range, per service, per counter
// and per day, week or month (by the range's length), read from the days' roll-ups. Wait
// percentiles over a range are exact to the histogram's bucket. Under the satisfaction
// figures, what visitors said over the same range (manager-comments.js); then the waits
// of those who asked for help beside everyone's (manager-assistance.js).
"use strict";

(function () {
  const W = window.WalkinManager;
  const { state: page, $, el, say, errorText, serviceName, services, timeZone } = W.page;
  const { fmtShare, fmtSeconds, fmtBias, fmtScore, standardMinutesOf, drawFigures } = W.figures;
  //: the longest range one report covers (reporting/ranges.py MAX_RANGE_DAYS): two years
  const MAX_DAYS = 731;
  //: a range is shown day by day up to this many days, week by week up to a year, then
  //: month by month
  const DAILY_DAYS = 92;
  const WEEKLY_DAYS = 366;
  //: the words for each grouping: a group's name (table headings), in captions, all of them
  const PERIODS = {
    day: { heading: "Day", by: "by day", all: "All days" },
    week: { heading: "Week", by: "by week", all: "All weeks" },
    month: { heading: "Month", by: "by month", all: "All months" },
  };
  let asked = 0; // the latest request: a slower earlier reply never replaces it

  function isoDay(date) { return date.toISOString().slice(0, 10); }

  // "at kiosks 3 of 10, on phones 1 of 4": where the channel-shift offers were made
  function channelSplit(figures) {
    const phoneOffered = figures.channel_shift_phone_offered || 0;
    const phoneOnline = figures.channel_shift_phone_online || 0;
    const kioskOffered = figures.channel_shift_offered - phoneOffered;
    const kioskOnline = figures.channel_shift_online - phoneOnline;
    return `at kiosks ${kioskOnline} of ${kioskOffered}, on phones ${phoneOnline} of ${phoneOffered}`;
  }

  function addDays(day, days) {
    const date = new Date(`${day}T00:00:00Z`);
    date.setUTCDate(date.getUTCDate() + days);
    return isoDay(date);
  }

  function daysBetween(from, to) {
    return Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86400000) + 1;
  }

  // the centre's own date at an instant ("en-CA" writes dates as YYYY-MM-DD)
  function localDay(iso) {
    return new Intl.DateTimeFormat("en-CA", { timeZone: timeZone(), year: "numeric", month: "2-digit", day: "2-digit" }).format(new Date(iso));
  }

  function setDefaultDates(today) {
    if (!today) return;
    if (!$("history-to").value) $("history-to").value = today;
    if (!$("history-from").value) $("history-from").value = addDays(today, -6);
    $("history-to").max = today;
    $("history-from").max = today;
  }

  function chosenRange() {
    const from = $("history-from").value;
    const to = $("history-to").value;
    if (!from || !to) return { error: "Choose both dates, as day, month and year." };
    if (from > to) return { error: "The first date must not be after the last." };
    const days = daysBetween(from, to);
    if (days > MAX_DAYS) return { error: `Choose at most ${MAX_DAYS} days (two years); that range has ${days}.` };
    const by = days <= DAILY_DAYS ? "day" : days <= WEEKLY_DAYS ? "week" : "month";
    return { from, to, days, by };
  }

  async function showHistory(event) {
    if (event) event.preventDefault();
    say("history-done", "");
    say("history-error", "");
    const range = chosenRange();
    if (range.error) { say("history-error", range.error); return; }
    say("history-done", "Loading the figures…");
    const mine = ++asked;
    try {
      const reply = await page.conn.request("report", { from_day: range.from, to_day: range.to, by: range.by, format: "json" });
      if (mine !== asked) return;
      page.historyLoaded = true;
      drawHistory(reply.range, range);
      say("history-done", `Showing ${describeRange(range)}.`);
      // what visitors said, under the satisfaction figures (manager-comments.js)
      W.comments.show(range, $("history-satisfaction"));
    } catch (error) {
      if (mine !== asked) return;
      say("history-done", "");
      say("history-error", `The figures could not be loaded: ${errorText(error)}`);
    }
  }

  function describeRange(range) {
    const long = (day) => new Date(`${day}T12:00:00Z`).toLocaleDateString("en-GB", { weekday: "short", day: "numeric", month: "long", year: "numeric", timeZone: "UTC" });
    if (range.days === 1) return long(range.from);
    const grouped = range.by === "day" ? "" : `, ${PERIODS[range.by].by}`;
    return `${long(range.from)} to ${long(range.to)} (${range.days} days)${grouped}`;
  }

  // A group's key as people read it: "3 Jun" (a day), "w/c 3 Jun" (an ISO week, by the
  // Monday it begins on), "Jun 2024" (a month). Within one grouping's longest range no
  // two are the same (Mondays a year apart are never on the same date).
  function periodLabel(by, key) {
    const short = (date, options) => date.toLocaleDateString("en-GB", { ...options, timeZone: "UTC" });
    if (by === "week") {
      const [year, week] = key.split("-W").map(Number);
      const fourth = new Date(Date.UTC(year, 0, 4)); // always in week 1
      const monday = new Date(fourth.getTime() + ((week - 1) * 7 - ((fourth.getUTCDay() + 6) % 7)) * 86400000);
      return `w/c ${short(monday, { day: "numeric", month: "short" })}`;
    }
    if (by === "month") return short(new Date(`${key}-15T12:00:00Z`), { month: "short", year: "numeric" });
    return short(new Date(`${key}T12:00:00Z`), { day: "numeric", month: "short" });
  }

  // What the figures are made of, quietly: percentiles to the bucket, and how many days
  // came from the roll-ups and how many were built from their tickets now (today, say).
  function sourceNote(report) {
    const days = (n) => `${n} ${n === 1 ? "day" : "days"}`;
    const parts = [];
    if (report.percentiles) parts.push(`Wait percentiles are exact ${report.percentiles}.`);
    const read = [];
    if (report.days_rolled_up) read.push(`${days(report.days_rolled_up)} read from the daily roll-ups`);
    if (report.days_live) read.push(`${days(report.days_live)} built from ${report.days_live === 1 ? "its" : "their"} tickets just now`);
    if (read.length) parts.push(`${read.join(", ")}.`);
    return parts.join(" ");
  }

  async function downloadCsv() {
    say("history-done", "");
    say("history-error", "");
    const range = chosenRange();
    if (range.error) { say("history-error", range.error); return; }
    try {
      const reply = await page.conn.request("report", { from_day: range.from, to_day: range.to, by: range.by, format: "csv" });
      const blob = new Blob([reply.csv], { type: "text/csv;charset=utf-8" });
      const url = URL.createObjectURL(blob);
      const link = el("a", { href: url, download: reply.filename || `walkin-${range.from}-${range.to}-by-${range.by}.csv`, hidden: true });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60000);
      say("history-done", `Downloaded ${reply.filename || "the CSV file"} (${describeRange(range)}).`);
    } catch (error) {
      say("history-error", `The CSV file could not be made: ${errorText(error)}`);
    }
  }

  const minutesOf = (seconds) => (seconds === null || seconds === undefined ? null : Math.round((seconds / 60) * 100) / 100);
  const fmtChartMinutes = (minutes) => fmtSeconds(minutes * 60);
  // an axis tick: "50 min", or past the hour "1 h 40" ("100 min" is wider than the axis)
  const axisMinutes = (minutes) => (minutes < 60 ? `${minutes} min`
    : `${Math.floor(minutes / 60)} h${minutes % 60 ? ` ${Math.round(minutes % 60)}` : ""}`);
  const axisShare = (share) => `${Math.round(share * 1000) / 10}%`;

  // Draw `report` (the reply's `range`) for the range chosen (`chosen`: from, to, days, by).
  function drawHistory(report, chosen) {
    const C = window.WalkinCharts;
    const overall = report.overall;
    const period = PERIODS[report.by] || PERIODS.day;
    const groups = Object.entries(report.groups || {});
    const multi = groups.length > 1;
    $("history-results").hidden = false;
    $("history-heading").textContent = `Figures for ${describeRange(chosen)}`;
    say("history-source", sourceNote(report));
    drawFigures($("history-figures"), { overall, report });

    // scopes: services known to the centre first, then any others the report names
    const byService = report.services || {};
    const codes = [...new Set([...services().map((s) => s.code), ...Object.keys(byService)])];
    const byCounter = report.counters || {};
    const counterNames = Object.keys(byCounter).sort((a, b) => a.localeCompare(b, "en", { numeric: true }));
    const serviceLabels = codes.map(serviceName);
    // the figures by service leave out services nobody came for (rows of "no data")
    const used = codes.filter((c) => byService[c] && byService[c].issued);
    const usedLabels = used.map(serviceName);
    const nothing = (id, title) => el("figure", { id, class: "chart-figure" },
      el("figcaption", { class: "chart-caption", text: title }),
      el("p", { class: "quiet", text: "No tickets were issued on these dates." }));
    const perService = (options) => (used.length
      ? C.bars({ ...options, horizontal: true, categoryHeading: "Service", categories: usedLabels })
      : nothing(options.id, options.title));
    const of = (table, keys, key) => keys.map((k) => (table[k] ? table[k][key] ?? null : null));
    // one bar (or group of bars) a day, week or month, in time order
    const periodLabels = groups.map(([key]) => periodLabel(report.by, key));
    const perPeriod = (key) => groups.map(([, figures]) => figures[key] ?? null);
    const byPeriod = (options) => spaceLabels(C.bars({ ...options, categoryHeading: period.heading, categories: periodLabels }));
    const charts = [];
    const add = (section, figure) => charts.push({ section, figure });

    // volumes
    const byHour = overall.by_hour || {};
    const hours = Object.keys(byHour).map(Number);
    const firstHour = Math.min(8, ...hours);
    const lastHour = Math.max(17, ...hours);
    const hourKeys = [];
    for (let h = firstHour; h <= lastHour; h++) hourKeys.push(String(h).padStart(2, "0"));
    const busiest = hourKeys.reduce((best, h) => ((byHour[h] || 0) > (byHour[best] || 0) ? h : best), hourKeys[0]);
    add("Visitors", C.bars({
      id: "chart-by-hour", title: "Tickets issued by hour of the day", categoryHeading: "Hour",
      summary: overall.issued ? `The busiest hour was ${busiest}:00 with ${byHour[busiest] || 0} tickets.` : "No tickets were issued.",
      categories: hourKeys.map((h) => `${h}:00`), series: [{ name: "Tickets issued", values: hourKeys.map((h) => byHour[h] || 0) }],
      format: (v) => String(v), integer: true,
    }));
    add("Visitors", C.bars({
      id: "chart-by-service", title: "Tickets issued and visitors served by service", categoryHeading: "Service", horizontal: true,
      categories: serviceLabels, series: [
        { name: "Tickets issued", values: codes.map((c) => (byService[c] ? byService[c].issued : 0)) },
        { name: "Visitors served", values: codes.map((c) => (byService[c] ? byService[c].served : 0)) },
      ], format: (v) => String(v), integer: true,
    }));
    if (multi) {
      add("Visitors", byPeriod({
        id: `chart-by-${report.by}`, title: `Tickets issued ${period.by}`,
        series: [{ name: "Tickets issued", values: perPeriod("issued") }, { name: "Visitors served", values: perPeriod("served") }],
        format: (v) => String(v), integer: true,
      }));
    }

    // waits
    if (multi) {
      add("Waits and service levels", byPeriod({
        id: "chart-waits", title: `Waits ${period.by} (p50, p90 and longest)`,
        summary: report.percentiles ? `Percentiles are exact ${report.percentiles}.` : null,
        series: [
          { name: "Median (p50)", values: perPeriod("wait_p50_seconds").map(minutesOf) },
          { name: "90th percentile (p90)", values: perPeriod("wait_p90_seconds").map(minutesOf) },
          { name: "Longest", values: perPeriod("wait_max_seconds").map(minutesOf) },
        ], format: fmtChartMinutes, axisFormat: axisMinutes,
      }));
    } else {
      add("Waits and service levels", perService({
        id: "chart-waits", title: "Waits by service (p50, p90 and longest)", series: [
          { name: "Median (p50)", values: of(byService, used, "wait_p50_seconds").map(minutesOf) },
          { name: "90th percentile (p90)", values: of(byService, used, "wait_p90_seconds").map(minutesOf) },
          { name: "Longest", values: of(byService, used, "wait_max_seconds").map(minutesOf) },
        ], format: fmtChartMinutes,
      }));
    }

    // service levels
    const standard = standardMinutesOf(report);
    add("Waits and service levels", perService({
      id: "chart-service-levels", title: `Called in time by service: appointments within ${standard} minutes, walk-ins within target`,
      max: 1, series: [
        { name: `Appointments within ${standard} min`, values: of(byService, used, "appointments_within_standard_share") },
        { name: "Walk-ins within target", values: of(byService, used, "walk_ins_within_target_share") },
      ], format: fmtShare,
    }));
    if (multi) {
      add("Waits and service levels", byPeriod({
        id: `chart-service-levels-by-${report.by}`, title: `Called in time ${period.by}`, max: 1,
        series: [
          { name: `Appointments within ${standard} min`, values: perPeriod("appointments_within_standard_share") },
          { name: "Walk-ins within target", values: perPeriod("walk_ins_within_target_share") },
        ], format: fmtShare, axisFormat: axisShare,
      }));
    }

    // no-shows and abandonment
    const byScope = (options) => (multi
      ? byPeriod({ ...options, title: `${options.title} ${period.by}`, series: options.series(perPeriod) })
      : perService({ ...options, title: `${options.title} by service`, series: options.series((key) => of(byService, used, key)) }));
    add("No-shows and abandonment", byScope({
      id: "chart-no-shows", title: "No-shows and cancelled tickets",
      series: (values) => [{ name: "No-shows", values: values("no_shows") }, { name: "Cancelled", values: values("cancelled") }],
      format: (v) => String(v), integer: true,
    }));
    add("No-shows and abandonment", byScope({
      id: "chart-abandonment", title: "Abandonment (target below 5%)",
      series: (values) => [{ name: "Abandonment", values: values("abandonment_rate") }],
      target: { value: 0.05, label: "Target: below 5%" }, format: fmtShare, axisFormat: axisShare,
    }));

    // resolution
    add("Resolution", perService({
      id: "chart-resolution", title: "First-contact resolution (target over 50%) and avoidable contact by service",
      max: 1, series: [
        { name: "First-contact resolution", values: of(byService, used, "first_contact_resolution_share") },
        { name: "Avoidable contact", values: of(byService, used, "avoidable_contact_share") },
      ], target: { value: 0.5, label: "First-contact resolution target: over 50%" }, format: fmtShare,
    }));

    // satisfaction, beside first-contact resolution
    add("Satisfaction", byScope({
      id: "chart-satisfaction", title: "Satisfied visitors and first-contact resolution",
      summary: satisfactionSummary(overall),
      series: (values) => [
        { name: "Satisfied (of those who answered)", values: values("satisfaction_share") },
        { name: "First-contact resolution", values: values("first_contact_resolution_share") },
      ], format: fmtShare, axisFormat: axisShare, max: 1,
    }));
    add("Satisfaction", satisfactionTable([
      ...(multi ? groups.map(([, figures], i) => ({ heading: periodLabels[i], figures })) : []),
      ...used.map((code) => ({ heading: serviceName(code), figures: byService[code], kind: "service" })),
      ...counterNames.map((name) => ({ heading: name, figures: byCounter[name], kind: "counter" })),
      { heading: multi ? `${period.all}, all services` : "All services", figures: overall, total: true },
    ]));

    // the help visitors asked for, beside all visitors (manager-assistance.js): shown
    // when the centre offers help or anyone asked for it on these dates
    if (Object.keys(report.assistance || {}).length || (page.centre && (page.centre.assistance || []).length)) {
      for (const figure of W.assistance.figures(report, "history-help")) add("Help asked for", figure);
    }

    // channel shift
    const online = codes.filter((c) => (byService[c] && byService[c].channel_shift_offered) || services().some((s) => s.code === c && s.online_url));
    add("Channel shift", C.bars({
      id: "chart-channel-shift", title: "Channel shift: offered the web page at a kiosk or on a phone, and went online", categoryHeading: "Service",
      horizontal: true, categories: online.map(serviceName),
      summary: overall.channel_shift_offered
        ? `${overall.channel_shift_online} of ${overall.channel_shift_offered} visitors offered a service's web page chose to go online (${fmtShare(overall.channel_shift_share)}): ${channelSplit(overall)}.`
        : "No visitor was offered a web page at a kiosk or on a phone.",
      series: [
        { name: "Offered the web page", values: online.map((c) => (byService[c] ? byService[c].channel_shift_offered : 0)) },
        { name: "Went online", values: online.map((c) => (byService[c] ? byService[c].channel_shift_online : 0)) },
      ], format: (v) => String(v), integer: true,
    }));

    // wait estimates: how far the minutes given at issue were from the waits that followed
    if (multi) {
      add("Wait estimates", byPeriod({
        id: "chart-estimate-error", title: `Wait estimates at issue: mean absolute error ${period.by}`,
        summary: estimateSummary(overall),
        series: [{ name: "Mean absolute error", values: perPeriod("estimate_mae_seconds").map(minutesOf) }],
        format: fmtChartMinutes, axisFormat: axisMinutes,
      }));
    } else {
      add("Wait estimates", perService({
        id: "chart-estimate-error", title: "Wait estimates at issue: mean absolute error by service", summary: estimateSummary(overall),
        series: [{ name: "Mean absolute error", values: of(byService, used, "estimate_mae_seconds").map(minutesOf) }],
        format: fmtChartMinutes,
      }));
    }
    add("Wait estimates", accuracyTable([
      ...(multi ? groups.map(([, figures], i) => ({ heading: periodLabels[i], figures })) : []),
      ...used.map((code) => ({ heading: serviceName(code), figures: byService[code] })),
      { heading: multi ? `${period.all}, all services` : "All services", figures: overall, total: true },
    ]));

    // counters
    if (counterNames.length) {
      add("Counters", C.bars({
        id: "chart-counters", title: "Mean service time by counter", categoryHeading: "Counter", horizontal: true, categories: counterNames,
        summary: counterNames.map((n) => `${n}: ${byCounter[n].completed} completed`).join("; ") + ".",
        series: [{ name: "Mean service time", values: counterNames.map((n) => minutesOf(byCounter[n].mean_service_seconds)) }],
        format: fmtChartMinutes,
      }));
    } else {
      const none = el("p", { class: "quiet", text: "counters" in report ? "No visits were completed at any counter." : "This server's report has no figures by counter." });
      charts.push({ section: "Counters", figure: el("div", {}, el("p", { class: "chart-caption", text: "Service times by counter" }), none) });
    }

    // sections with headings, in the order first named
    const sections = new Map();
    for (const { section, figure } of charts) {
      if (!sections.has(section)) {
        const id = `history-${section.toLowerCase().replace(/[^a-z]+/g, "-")}`;
        sections.set(section, el("section", { id, class: "card chart-card", "aria-labelledby": `${id}-heading` },
          el("h3", { id: `${id}-heading`, text: section }), el("div", { class: "chart-row" })));
      }
      sections.get(section).lastChild.append(figure);
    }
    // a section of several charts takes the whole width; single ones sit side by side
    for (const section of sections.values()) {
      section.classList.toggle("wide", section.lastChild.children.length > 1);
    }
    $("history-charts").replaceChildren(...sections.values());
  }

  // charts.js labels every k-th bar of a chart, k chosen for labels of about 34 px ("3 Jun");
  // "30 Dec", "w/c 27 Jul" and "Nov 2025" are longer, so of the labels it drew keep every
  // m-th, m chosen for the longest (about 7 px a character at 12 px), so none touch. The
  // bars, their titles and the table keep every name.
  function spaceLabels(figure) {
    const labels = [...figure.querySelectorAll("svg.chart text.chart-tick[text-anchor='middle']")];
    if (labels.length < 2) return figure;
    const apart = Number(labels[1].getAttribute("x")) - Number(labels[0].getAttribute("x"));
    const widest = Math.max(...labels.map((label) => label.textContent.length)) * 7 + 8;
    const m = Math.max(1, Math.ceil(widest / apart));
    labels.forEach((label, i) => { if (i % m) label.remove(); });
    return figure;
  }

  function estimateSummary(overall) {
    if (!overall.estimates_measured) return "No ticket given an estimate at issue has been called on these dates.";
    return `Over ${overall.estimates_measured} tickets called, the estimate given at issue was out by `
      + `${fmtSeconds(overall.estimate_mae_seconds)} on average; on balance ${fmtBias(overall.estimate_bias_seconds)}.`;
  }

  function satisfactionSummary(overall) {
    if (!overall.feedback_answers) return "No visitor answered the feedback question on these dates.";
    return `${overall.feedback_answers} visitors answered (${fmtShare(overall.feedback_response_rate)} of completed visits); `
      + `${fmtShare(overall.satisfaction_share)} were satisfied or very satisfied, a mean score of ${fmtScore(overall.satisfaction_mean_score)}.`;
  }

  // Satisfaction as a table, beside first-contact resolution: for each day, week or month,
  // each service and each counter, the answers, the share satisfied, the mean score, the
  // response rate and the first-contact resolution of the same visits.
  function satisfactionTable(rows) {
    const headings = ["Answers", "Satisfied", "Mean score", "Response rate", "First-contact resolution"];
    const table = el("table", { class: "data", id: "satisfaction-table" },
      el("thead", {}, el("tr", {}, el("th", { scope: "col", text: "Scope" }), ...headings.map((h) => el("th", { scope: "col", class: "num", text: h })))),
      el("tbody", {}, ...rows.map(({ heading, figures, total, kind }) => {
        const f = figures || {};
        const cells = [
          String(f.feedback_answers || 0), fmtShare(f.satisfaction_share), fmtScore(f.satisfaction_mean_score),
          fmtShare(f.feedback_response_rate), fmtShare(f.first_contact_resolution_share),
        ];
        return el("tr", { class: total ? "over" : null, "data-scope": heading, "data-kind": kind || null },
          el("th", { scope: "row", text: heading }), ...cells.map((text) => el("td", { class: "num", text })));
      })));
    return el("figure", { id: "figure-satisfaction", class: "chart-figure" },
      el("figcaption", { class: "chart-caption", text: "Satisfaction by day, service and counter: \"How satisfied were you with the service today?\" asked on each ticket's page after the visit" }),
      table);
  }

  // The estimates' accuracy as a table: for each day, week or month and each service, the
  // tickets measured, the mean absolute error, the bias (negative: told less than they
  // waited) and those left out because they were never called.
  function accuracyTable(rows) {
    const headings = ["Tickets measured", "Mean absolute error", "Bias", "Not called (left out)", "Later estimates: mean absolute error"];
    const table = el("table", { class: "data", id: "estimate-accuracy" },
      el("thead", {}, el("tr", {}, el("th", { scope: "col", text: "Scope" }), ...headings.map((h) => el("th", { scope: "col", class: "num", text: h })))),
      el("tbody", {}, ...rows.map(({ heading, figures, total }) => {
        const f = figures || {};
        const cells = [
          String(f.estimates_measured || 0), fmtSeconds(f.estimate_mae_seconds), fmtBias(f.estimate_bias_seconds),
          String(f.estimates_not_called || 0), fmtSeconds(f.estimate_updates_mae_seconds),
        ];
        return el("tr", { class: total ? "over" : null, "data-scope": heading },
          el("th", { scope: "row", text: heading }), ...cells.map((text) => el("td", { class: "num", text })));
      })));
    return el("figure", { id: "figure-estimate-accuracy", class: "chart-figure" },
      el("figcaption", { class: "chart-caption", text: "How accurate the wait estimates were: the minutes given at issue against the wait to the first call" }),
      table);
  }

  // The history form's own events, once at start.
  function setUpHistory() {
    $("history-form").addEventListener("submit", showHistory);
    $("download-csv").addEventListener("click", downloadCsv);
  }

  W.history = { localDay, setDefaultDates, showHistory, setUpHistory };
})();
