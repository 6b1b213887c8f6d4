// The manager dashboard's History: a range of past days (up to 92) chosen by date, their
// figures as tiles and SVG charts (charts.js), and the same figures as a CSV file. The
// figures are the server's `report` reply, `walkin report`'s own
// (queue_server/reporting/reports.py); several days are added up by manager-figures.js, and
// percentiles, which cannot be added up, are shown per day.
"use strict";

(function () {
  const W = window.WalkinManager;
  const { state: page, $, el, say, errorText, serviceName, services, timeZone } = W.page;
  const { fmtShare, fmtSeconds, fmtBias, standardMinutesOf, drawFigures, combine, emptyFigures } = W.figures;
  const MAX_DAYS = 92;

  function isoDay(date) { return date.toISOString().slice(0, 10); }

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
    if (days > MAX_DAYS) return { error: `Choose at most ${MAX_DAYS} days (that range has ${days}).` };
    return { from, to, days };
  }

  async function showHistory(event) {
    if (event) event.preventDefault();
    say("history-done", "");
    say("history-error", "");
    const range = chosenRange();
    if (range.error) { say("history-error", range.error); return; }
    say("history-done", "Loading the figures…");
    try {
      const reply = await page.conn.request("report", { from_day: range.from, to_day: range.to, format: "json" });
      page.historyLoaded = true;
      drawHistory(reply.reports || [], range);
      say("history-done", `Showing ${describeRange(range)}.`);
    } catch (error) {
      say("history-done", "");
      say("history-error", `The figures could not be loaded: ${errorText(error)}`);
    }
  }

  function describeRange(range) {
    const long = (day) => new Date(`${day}T12:00:00Z`).toLocaleDateString("en-GB", { weekday: "short", day: "numeric", month: "long", year: "numeric", timeZone: "UTC" });
    return range.days === 1 ? long(range.from) : `${long(range.from)} to ${long(range.to)} (${range.days} days)`;
  }

  async function downloadCsv() {
    say("history-done", "");
    say("history-error", "");
    const range = chosenRange();
    if (range.error) { say("history-error", range.error); return; }
    try {
      const reply = await page.conn.request("report", { from_day: range.from, to_day: range.to, format: "csv" });
      const blob = new Blob([reply.csv], { type: "text/csv;charset=utf-8" });
      const url = URL.createObjectURL(blob);
      const link = el("a", { href: url, download: reply.filename || `walkin-${range.from}-${range.to}.csv`, hidden: true });
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
  const axisMinutes = (minutes) => `${minutes} min`;
  const axisShare = (share) => `${Math.round(share * 1000) / 10}%`;

  function drawHistory(reports, range) {
    const C = window.WalkinCharts;
    const multiDay = reports.length > 1;
    const overall = reports.length ? combine(reports.map((r) => r.overall)) : emptyFigures();
    $("history-results").hidden = false;
    $("history-heading").textContent = `Figures for ${describeRange(range)}`;
    drawFigures($("history-figures"), { overall, report: reports[0] }, { multiDay });

    // scopes: services known to the centre first, then any others the reports name
    const codes = [...new Set([...services().map((s) => s.code), ...reports.flatMap((r) => Object.keys(r.services || {}))])];
    const byService = Object.fromEntries(codes.map((code) => [code, combine(reports.map((r) => (r.services || {})[code]))]));
    const counterNames = [...new Set(reports.flatMap((r) => Object.keys(r.counters || {})))].sort((a, b) => a.localeCompare(b, "en", { numeric: true }));
    const byCounter = Object.fromEntries(counterNames.map((name) => [name, combine(reports.map((r) => (r.counters || {})[name]))]));
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
    const days = reports.map((r) => r.day);
    const dayLabels = days.map((d) => new Date(`${d}T12:00:00Z`).toLocaleDateString("en-GB", { day: "numeric", month: "short", timeZone: "UTC" }));
    const perDay = (key) => reports.map((r) => r.overall[key] ?? null);
    const charts = [];
    const add = (section, figure) => charts.push({ section, figure });

    // volumes
    const hours = Object.keys(overall.by_hour || {}).map(Number);
    const firstHour = Math.min(8, ...hours);
    const lastHour = Math.max(17, ...hours);
    const hourKeys = [];
    for (let h = firstHour; h <= lastHour; h++) hourKeys.push(String(h).padStart(2, "0"));
    const busiest = hourKeys.reduce((best, h) => ((overall.by_hour[h] || 0) > (overall.by_hour[best] || 0) ? h : best), hourKeys[0]);
    add("Visitors", C.bars({
      id: "chart-by-hour", title: "Tickets issued by hour of the day", categoryHeading: "Hour",
      summary: overall.issued ? `The busiest hour was ${busiest}:00 with ${overall.by_hour[busiest] || 0} tickets.` : "No tickets were issued.",
      categories: hourKeys.map((h) => `${h}:00`), series: [{ name: "Tickets issued", values: hourKeys.map((h) => overall.by_hour[h] || 0) }],
      format: (v) => String(v), integer: true,
    }));
    add("Visitors", C.bars({
      id: "chart-by-service", title: "Tickets issued and visitors served by service", categoryHeading: "Service", horizontal: true,
      categories: serviceLabels, series: [
        { name: "Tickets issued", values: codes.map((c) => (byService[c] ? byService[c].issued : 0)) },
        { name: "Visitors served", values: codes.map((c) => (byService[c] ? byService[c].served : 0)) },
      ], format: (v) => String(v), integer: true,
    }));
    if (multiDay) {
      add("Visitors", C.bars({
        id: "chart-by-day", title: "Tickets issued by day", categoryHeading: "Day", categories: dayLabels,
        series: [{ name: "Tickets issued", values: perDay("issued") }, { name: "Visitors served", values: perDay("served") }],
        format: (v) => String(v), integer: true,
      }));
    }

    // waits
    if (multiDay) {
      add("Waits and service levels", C.bars({
        id: "chart-waits", title: "Waits by day (p50, p90 and longest)", categoryHeading: "Day", categories: dayLabels,
        summary: "Percentiles are per day: they cannot be added up over several days.",
        series: [
          { name: "Median (p50)", values: perDay("wait_p50_seconds").map(minutesOf) },
          { name: "90th percentile (p90)", values: perDay("wait_p90_seconds").map(minutesOf) },
          { name: "Longest", values: perDay("wait_max_seconds").map(minutesOf) },
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
    const standard = standardMinutesOf(reports[0]);
    add("Waits and service levels", perService({
      id: "chart-service-levels", title: `Called in time by service: appointments within ${standard} minutes, walk-ins within target`,
      max: 1, series: [
        { name: `Appointments within ${standard} min`, values: of(byService, used, "appointments_within_standard_share") },
        { name: "Walk-ins within target", values: of(byService, used, "walk_ins_within_target_share") },
      ], format: fmtShare,
    }));
    if (multiDay) {
      add("Waits and service levels", C.bars({
        id: "chart-service-levels-by-day", title: "Called in time by day", categoryHeading: "Day", max: 1, categories: dayLabels,
        series: [
          { name: `Appointments within ${standard} min`, values: perDay("appointments_within_standard_share") },
          { name: "Walk-ins within target", values: perDay("walk_ins_within_target_share") },
        ], format: fmtShare, axisFormat: axisShare,
      }));
    }

    // no-shows and abandonment
    const byScope = (options) => (multiDay
      ? C.bars({ ...options, title: `${options.title} by day`, categoryHeading: "Day", categories: dayLabels, series: options.series(perDay) })
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

    // channel shift
    const online = codes.filter((c) => (byService[c] && byService[c].channel_shift_offered) || services().some((s) => s.code === c && s.online_url));
    add("Channel shift", C.bars({
      id: "chart-channel-shift", title: "Channel shift at the kiosk: offered the web page, and went online", categoryHeading: "Service",
      horizontal: true, categories: online.map(serviceName),
      summary: overall.channel_shift_offered
        ? `${overall.channel_shift_online} of ${overall.channel_shift_offered} visitors offered a service's web page chose to go online (${fmtShare(overall.channel_shift_share)}).`
        : "No visitor was offered a web page at a kiosk.",
      series: [
        { name: "Offered the web page", values: online.map((c) => (byService[c] ? byService[c].channel_shift_offered : 0)) },
        { name: "Went online", values: online.map((c) => (byService[c] ? byService[c].channel_shift_online : 0)) },
      ], format: (v) => String(v), integer: true,
    }));

    // wait estimates: how far the minutes given at issue were from the waits that followed
    if (multiDay) {
      add("Wait estimates", C.bars({
        id: "chart-estimate-error", title: "Wait estimates at issue: mean absolute error by day", categoryHeading: "Day",
        categories: dayLabels, summary: estimateSummary(overall),
        series: [{ name: "Mean absolute error", values: perDay("estimate_mae_seconds").map(minutesOf) }],
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
      ...(multiDay ? reports.map((r, i) => ({ heading: dayLabels[i], figures: r.overall })) : []),
      ...used.map((code) => ({ heading: serviceName(code), figures: byService[code] })),
      { heading: multiDay ? "All days, all services" : "All services", figures: overall, total: true },
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
      const none = el("p", { class: "quiet", text: reports.length && !("counters" in reports[0]) ? "This server's report has no figures by counter." : "No visits were completed at any counter." });
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

  function estimateSummary(overall) {
    if (!overall.estimates_measured) return "No ticket given an estimate at issue has been called on these dates.";
    return `Over ${overall.estimates_measured} tickets called, the estimate given at issue was out by `
      + `${fmtSeconds(overall.estimate_mae_seconds)} on average; on balance ${fmtBias(overall.estimate_bias_seconds)}.`;
  }

  // The estimates' accuracy as a table: for each day or service, the tickets measured, the
  // mean absolute error, the bias (negative: told less than they waited) and those left
  // out because they were never called.
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
