// The manager dashboard's Region: every centre that shares this server's database, for a
// manager of several one-stop shops. Shown only when the database has more than one
// centre (the `region` reply, asked for once after each snapshot, says how many).
//
// Live: the server's `region` reply (queue_server/reporting/region.py), a row a centre and
// a row of totals, asked for on selecting the tab and every 15 seconds while it is
// selected; a refresh that fails leaves the last figures on screen and says so. Each
// centre's times are in its own time zone.
//
// History: the `report` reply with `by: "centre"` and `all_centres` (the figures of
// `walkin report`, queue_server/reporting/ranges.py), a row a centre and one for the
// region, then the counters of every centre, kept apart by centre, then the help asked
// for at every centre beside all visitors; and the same as CSV.
"use strict";

(function () {
  const W = window.WalkinManager;
  const { state: page, $, el, say, errorText, serviceName, syncRows, setCell, chip } = W.page;
  const { fmtShare, fmtSeconds, fmtMinutes, fmtTarget } = W.figures;
  const REFRESH_EVERY_MS = 15000;
  //: the longest range one report covers (reporting/ranges.py MAX_RANGE_DAYS): two years
  const MAX_DAYS = 731;
  //: the history shown first: the four weeks ending today
  const DEFAULT_DAYS = 28;

  const region = {
    shown: false,      // the tab is there (more than one centre)
    selected: false,
    asking: false,
    timer: null,
    today: null,       // the asking centre's local day
    loaded: false,     // the history has been asked for once
    asked: 0,          // the latest history request: an earlier reply never replaces it
  };

  // ------------------------------------------------------------------ dates

  function addDays(day, days) {
    const date = new Date(`${day}T00:00:00Z`);
    date.setUTCDate(date.getUTCDate() + days);
    return date.toISOString().slice(0, 10);
  }

  function daysBetween(from, to) {
    return Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86400000) + 1;
  }

  function longDay(day) {
    return new Date(`${day}T12:00:00Z`).toLocaleDateString("en-GB", { weekday: "short", day: "numeric", month: "long", year: "numeric", timeZone: "UTC" });
  }

  // ------------------------------------------------------------------ the tab

  // After each snapshot (a manager signed in): is there more than one centre?
  function askAtStart() {
    if (page.role !== "manager" || !page.conn) return;
    page.conn.request("region").then(
      (reply) => {
        const data = reply.region;
        const several = data.centres.length > 1;
        region.shown = several;
        $("tab-region").hidden = !several;
        $("tab-region").dataset.centres = String(data.centres.length);
        if (!several) {
          if (region.selected) W.selectTab($("tab-live"), false);
          return;
        }
        setDefaultDates(data);
        say("region-error", "");
        drawRegion(data);
        if (region.selected) startRefreshing();
      },
      () => {
        // a server without the regional view, or a database not read just now: no tab
        // unless it was already shown (then its error line says why)
        if (region.shown) say("region-error", "The figures of every centre could not be read just now.");
      },
    );
  }

  // Called by the tabs (manager.js) whenever a tab is selected.
  function onTabSelected(isRegion) {
    region.selected = isRegion;
    if (!isRegion) { stopRefreshing(); return; }
    askForRegion();
    startRefreshing();
    if (!region.loaded && region.today) showRegionHistory();
  }

  function startRefreshing() {
    clearInterval(region.timer);
    region.timer = setInterval(askForRegion, REFRESH_EVERY_MS);
  }

  function stopRefreshing() {
    clearInterval(region.timer);
    region.timer = null;
  }

  // Signed out, or not a manager: no tab, no timer, no figures left behind.
  function reset() {
    stopRefreshing();
    region.shown = false;
    region.loaded = false;
    $("tab-region").hidden = true;
    delete $("tab-region").dataset.centres;
    $("region-results").hidden = true;
    say("region-history-done", "");
    say("region-history-error", "");
  }

  function askForRegion() {
    if (page.role !== "manager" || !page.conn || region.asking) return;
    region.asking = true;
    page.conn.request("region").then(
      (reply) => {
        say("region-error", "");
        drawRegion(reply.region);
      },
      (error) => {
        // the last figures stay on screen; say they may be old
        say("region-error", `The figures of every centre could not be updated: ${errorText(error)}`);
      },
    ).finally(() => { region.asking = false; });
  }

  // ------------------------------------------------------------------ live

  function clockIn(iso, zone) {
    return new Date(iso).toLocaleTimeString("en-GB", { timeZone: zone || undefined, hour: "2-digit", minute: "2-digit" });
  }

  // parts of a cell, a space apart (read out as words, not run together)
  function cell(...children) {
    const parts = children.filter((c) => c !== null && c !== undefined);
    const span = el("span");
    parts.forEach((part, i) => { if (i) span.append(" "); span.append(part); });
    return span;
  }

  function detail(text) { return el("span", { class: "detail", text }); }

  function plural(n, one, many) { return `${n} ${n === 1 ? one : many}`; }

  function longestWait(c) {
    if (!c.waiting) return cell(el("span", { class: "quiet", text: "no one waiting" }));
    const parts = [el("span", { class: "figure-text", text: fmtMinutes(c.longest_wait_minutes) })];
    const target = c.longest_wait_target_minutes;
    const service = c.longest_wait_service ? serviceName(c.longest_wait_service) : null;
    const hasTarget = target !== null && target !== undefined;
    if (service || hasTarget) {
      const about = el("span", { class: "detail" }, service && hasTarget ? `${service}, ` : service);
      if (hasTarget) about.append(el("span", { class: "nowrap", text: `target ${fmtTarget(target)}` }));
      parts.push(about);
    }
    if (hasTarget && c.longest_wait_minutes > target) parts.push(chip("bad", "Past target"));
    return cell(...parts);
  }

  function waiting(c) {
    const by = Object.entries(c.waiting_by_service || {}).map(([code, n]) => `${serviceName(code)} ${n}`).join(", ");
    return cell(el("span", { class: "figure-text", text: String(c.waiting) }), by ? detail(by) : null);
  }

  function appointments(a) {
    const standard = Math.round(a.appointment_standard_minutes || 10);
    if (!a.appointments_waiting) return cell(el("span", { class: "quiet", text: "none waiting" }));
    const parts = [el("span", { class: "figure-text", text: `${a.appointments_waiting} waiting` })];
    if (a.appointments_at_risk) parts.push(chip("warn", `${a.appointments_at_risk} at risk`));
    if (a.appointments_past_standard) parts.push(chip("bad", `${a.appointments_past_standard} past ${standard} min`));
    if (!a.appointments_at_risk && !a.appointments_past_standard) parts.push(chip("ok", "On time"));
    return cell(...parts);
  }

  function counters(c) {
    const more = [`${c.counters_staffed} staffed`];
    if (c.counters_paused) more.push(`${c.counters_paused} paused`);
    return cell(el("span", { class: "figure-text", text: String(c.counters_open) }), detail(more.join(", ")));
  }

  const SEVERITY = { warning: ["warn", "Warning"], fault: ["bad", "Fault"] };

  function devices(c) {
    const attention = (c.devices || []).filter((d) => d.severity);
    if (!attention.length) return cell(el("span", { class: "quiet", text: "none" }));
    return el("ul", { class: "region-devices" }, ...attention.map((d) => {
      const [kind, word] = SEVERITY[d.severity] || ["bad", "Fault"];
      const status = String(d.status).replaceAll("_", " ");
      return el("li", { "data-device": `${d.device}|${d.component}` }, chip(kind, word), " ",
        el("span", { class: "device-name", text: d.device }),
        ` ${d.component}: ${status}${d.detail ? ` (${d.detail})` : ""}`);
    }));
  }

  function lastActivity(c, generatedAt) {
    if (!c.last_activity_at) return cell(el("span", { class: "quiet", text: "no activity today" }));
    const ago = Math.max(0, (Date.parse(generatedAt) - Date.parse(c.last_activity_at)) / 60000);
    return cell(el("time", { datetime: c.last_activity_at, text: clockIn(c.last_activity_at, c.timezone) }),
      el("span", { class: "detail nowrap", text: ago < 1 ? "just now" : `${fmtMinutes(ago)} ago` }));
  }

  function newRow() {
    return el("tr", {}, el("th", { scope: "row" }),
      el("td", { class: "num" }), el("td", { class: "num" }), el("td", { class: "num" }), el("td"),
      el("td", { class: "num" }), el("td", { class: "num" }), el("td"), el("td"));
  }

  function drawRegion(data) {
    region.today = region.today || todayOf(data);
    const asking = data.centres.find((c) => c.id === data.centre);
    $("region-updated-at").textContent = clockIn(data.generated_at, asking ? asking.timezone : undefined);
    $("region-updated-at").dateTime = data.generated_at;
    $("region-updated").hidden = false;
    $("region-count").textContent = plural(data.centres.length, "centre", "centres");
    syncRows($("region-centres"), data.centres, (c) => c.id, newRow, (row, c) => {
      const name = cell(el("span", { class: "centre-label", text: c.name }), c.id === data.centre ? chip("none", "this centre") : null);
      setCell(row, 0, name);
      setCell(row, 1, waiting(c));
      setCell(row, 2, longestWait(c));
      setCell(row, 3, String(c.over_target));
      setCell(row, 4, appointments(c));
      setCell(row, 5, counters(c));
      setCell(row, 6, `${c.issued_today} / ${c.finished_today}`);
      setCell(row, 7, devices(c));
      setCell(row, 8, lastActivity(c, data.generated_at));
      row.dataset.centre = c.id;
      row.classList.toggle("this-centre", c.id === data.centre);
      row.classList.toggle("alarm", Boolean(c.over_target || c.appointments_past_standard));
      row.cells[3].classList.toggle("bad-figure", c.over_target > 0);
    });
    drawTotals(data.totals, data.centres);
  }

  function drawTotals(t, centres) {
    const row = $("region-totals");
    // the centres' own standards: "past 10 min" when they share one, else "past standard"
    const standards = new Set(centres.map((c) => Math.round(c.appointment_standard_minutes || 10)));
    const past = standards.size === 1 ? `past ${[...standards][0]} min` : "past standard";
    setCell(row, 1, String(t.waiting));
    setCell(row, 2, t.waiting ? cell(el("span", { class: "figure-text", text: fmtMinutes(t.longest_wait_minutes) }), detail("the longest anywhere"))
      : cell(el("span", { class: "quiet", text: "no one waiting" })));
    setCell(row, 3, String(t.over_target));
    const appts = [t.appointments_waiting ? el("span", { class: "figure-text", text: `${t.appointments_waiting} waiting` })
      : el("span", { class: "quiet", text: "none waiting" })];
    if (t.appointments_at_risk) appts.push(chip("warn", `${t.appointments_at_risk} at risk`));
    if (t.appointments_past_standard) appts.push(chip("bad", `${t.appointments_past_standard} ${past}`));
    setCell(row, 4, cell(...appts));
    const more = [`${t.counters_staffed} staffed`];
    if (t.counters_paused) more.push(`${t.counters_paused} paused`);
    setCell(row, 5, cell(el("span", { class: "figure-text", text: String(t.counters_open) }), detail(more.join(", "))));
    setCell(row, 6, `${t.issued_today} / ${t.finished_today}`);
    setCell(row, 7, String(t.devices_attention));
    setCell(row, 8, "");
  }

  // ------------------------------------------------------------------ history

  function todayOf(data) {
    const asking = data.centres.find((c) => c.id === data.centre) || data.centres[0];
    return asking ? asking.today : null;
  }

  function setDefaultDates(data) {
    const today = todayOf(data);
    if (!today) return;
    region.today = today;
    if (!$("region-to").value) $("region-to").value = today;
    if (!$("region-from").value) $("region-from").value = addDays(today, -(DEFAULT_DAYS - 1));
    $("region-to").max = today;
    $("region-from").max = today;
  }

  // the History tab's checks, in its words
  function chosenRange() {
    const from = $("region-from").value;
    const to = $("region-to").value;
    if (!from || !to) return { error: "Choose both dates, as day, month and year." };
    if (from > to) return { error: "The first date must not be after the last." };
    const days = daysBetween(from, to);
    if (days > MAX_DAYS) return { error: `Choose at most ${MAX_DAYS} days (two years); that range has ${days}.` };
    return { from, to, days };
  }

  function describeRange(range) {
    if (range.days === 1) return longDay(range.from);
    return `${longDay(range.from)} to ${longDay(range.to)} (${range.days} days)`;
  }

  async function showRegionHistory(event) {
    if (event) event.preventDefault();
    say("region-history-done", "");
    say("region-history-error", "");
    const range = chosenRange();
    if (range.error) { say("region-history-error", range.error); return; }
    region.loaded = true;
    say("region-history-done", "Loading the figures of every centre…");
    const mine = ++region.asked;
    try {
      const reply = await page.conn.request("report", {
        from_day: range.from, to_day: range.to, by: "centre", all_centres: true, format: "json",
      });
      if (mine !== region.asked) return;
      drawRegionHistory(reply.range, range);
      say("region-history-done", `Showing every centre, ${describeRange(range)}.`);
    } catch (error) {
      if (mine !== region.asked) return;
      say("region-history-done", "");
      say("region-history-error", `The figures could not be loaded: ${errorText(error)}`);
    }
  }

  async function downloadRegionCsv() {
    say("region-history-done", "");
    say("region-history-error", "");
    const range = chosenRange();
    if (range.error) { say("region-history-error", range.error); return; }
    try {
      const reply = await page.conn.request("report", {
        from_day: range.from, to_day: range.to, by: "centre", all_centres: true, format: "csv",
      });
      const blob = new Blob([reply.csv], { type: "text/csv;charset=utf-8" });
      const url = URL.createObjectURL(blob);
      const name = reply.filename || `walkin-all-centres-${range.from}-${range.to}-by-centre.csv`;
      const link = el("a", { href: url, download: name, hidden: true });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60000);
      say("region-history-done", `Downloaded ${name} (${describeRange(range)}).`);
    } catch (error) {
      say("region-history-error", `The CSV file could not be made: ${errorText(error)}`);
    }
  }

  function fmtGbp(value) {
    if (value === null || value === undefined) return "no data";
    return value.toLocaleString("en-GB", { style: "currency", currency: "GBP" });
  }

  // a share against a council standard (named in its column's heading): the share, and a
  // chip saying whether it meets it
  function againstTarget(share, met) {
    if (share === null || share === undefined) return "no data";
    return cell(el("span", { class: "figure-text", text: fmtShare(share) }), chip(met ? "ok" : "bad", met ? "Meets target" : "Misses target"));
  }

  function centreCells(f, standards) {
    const abandonMax = standards.abandonment_rate_max ?? 0.05;
    const fcrMin = standards.first_contact_resolution_min ?? 0.5;
    return [
      String(f.issued), String(f.served),
      againstTarget(f.abandonment_rate, f.abandonment_rate < abandonMax),
      fmtSeconds(f.wait_p90_seconds),
      fmtShare(f.appointments_within_standard_share),
      fmtShare(f.walk_ins_within_target_share),
      againstTarget(f.first_contact_resolution_share, f.first_contact_resolution_share > fcrMin),
      fmtShare(f.avoidable_contact_share),
      fmtGbp(f.face_to_face_cost_gbp),
    ];
  }

  function figuresRow(tag, heading, cells, key) {
    const row = el(tag, { "data-centre": key },
      el("th", { scope: "row", text: heading }),
      ...cells.map((content, i) => {
        const td = el("td", { class: [2, 6].includes(i) ? "share" : "num" });
        if (typeof content === "string") td.textContent = content; else td.append(content);
        return td;
      }));
    return row;
  }

  function byName(names) {
    return (a, b) => (names[a] || a).localeCompare(names[b] || b, "en", { numeric: true });
  }

  function drawRegionHistory(report, chosen) {
    const names = report.centre_names || {};
    const standards = report.standards || {};
    // null when the centres' standards differ (each centre's figures use its own)
    const standard = standards.appointment_standard_seconds;
    const byCentre = report.groups && Object.keys(report.groups).length ? report.groups : report.centres || {};
    const ids = Object.keys(byCentre).sort(byName(names));
    $("region-results").hidden = false;
    $("region-history-heading").textContent = `Every centre, ${describeRange(chosen)}`;
    $("region-standard-heading").textContent = standard
      ? `Appointments within ${Math.round(standard / 60)} min` : "Appointments within their centre's standard";
    $("region-by-centre").replaceChildren(...ids.map((id) => figuresRow("tr", names[id] || id, centreCells(byCentre[id], standards), id)));
    $("region-overall").replaceChildren(figuresRow("tr", "All centres", centreCells(report.overall, standards), "all"));

    // counters: "CENTRE/Counter 1", split at the first "/" (a counter's name may have one)
    const counters = Object.entries(report.counters || {}).map(([key, f]) => {
      const at = key.indexOf("/");
      const centre = at < 0 ? "" : key.slice(0, at);
      return { key, centre, name: at < 0 ? key : key.slice(at + 1), figures: f };
    });
    counters.sort((a, b) => byName(names)(a.centre, b.centre) || a.name.localeCompare(b.name, "en", { numeric: true }));
    $("region-counters-table").hidden = counters.length === 0;
    $("region-no-counters").hidden = counters.length > 0;
    $("region-counters").replaceChildren(...counters.map((c) => el("tr", { "data-counter": c.key },
      el("td", { text: names[c.centre] || c.centre }),
      el("th", { scope: "row", text: c.name }),
      el("td", { class: "num", text: String(c.figures.completed) }),
      el("td", { class: "num", text: fmtSeconds(c.figures.mean_service_seconds) }))));

    // the help asked for at every centre, beside all their visitors (manager-assistance.js)
    $("region-help").replaceChildren(...W.assistance.figures(report, "region-help"));
  }

  function setUpRegion() {
    $("region-form").addEventListener("submit", showRegionHistory);
    $("region-download-csv").addEventListener("click", downloadRegionCsv);
  }

  W.region = { askAtStart, onTabSelected, reset, setUpRegion };
})();
