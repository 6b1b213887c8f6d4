// The manager dashboard (/manager): the hall live, live changes (counters, skills, target
// waits) and the figures of past days as charts, with CSV export. docs/console.md
// ("Manager dashboard") describes it for managers.
//
// Everything goes over the websocket through WalkinStaff (staff-client.js). The live view
// draws the server's `dashboard` reply: asked for after each (re)connection, a second
// after pushes settle, and every 15 seconds. History draws the `report` reply, whose
// figures are `walkin report`'s (queue_server/reports.py), never recomputed here except
// to add up several days (counts are summed and shares recomputed from them; percentiles
// cannot be added up, so they are shown per day).
"use strict";

(function () {
  const REFRESH_EVERY_MS = 15000;
  const PUSH_SETTLE_MS = 1000;
  const MAX_DAYS = 92;
  const NEAR_TARGET = 0.75;  // a wait past three quarters of its target is "near"
  const $ = (id) => document.getElementById(id);

  const page = {
    conn: null,
    role: null,
    name: null,
    centre: null,           // the snapshot's centre: services, counters, time zone
    dashboard: null,
    clockOffsetMs: 0,       // server time minus this browser's time
    asking: false,
    askAgain: false,
    settleTimer: null,
    refreshTimer: null,
    historyLoaded: false,
    skillsCounter: null,
    skillsDirty: false,
  };

  // ------------------------------------------------------------------ small helpers

  function el(tag, attributes = {}, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes)) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "text") node.textContent = value;
      else node.setAttribute(name, value === true ? "" : String(value));
    }
    for (const child of children) {
      if (child !== null && child !== undefined) node.append(child);
    }
    return node;
  }

  function setState(state) { document.body.dataset.state = state; }

  function say(id, text) { $(id).textContent = text || ""; }

  function errorText(error) {
    if (!error) return "Something went wrong.";
    let text = error.message || String(error);
    const retry = error.details && error.details.retry_after_seconds;
    if (retry) text += ` Try again in ${Math.ceil(retry)} seconds.`;
    return text;
  }

  function serviceName(code) {
    const found = (page.centre ? page.centre.services : []).find((s) => s.code === code);
    return found ? found.name : code;
  }

  function services() { return page.centre ? page.centre.services : []; }

  function timeZone() { return (page.centre && page.centre.timezone) || undefined; }

  function clockTime(iso) {
    if (!iso) return "";
    return new Date(iso).toLocaleTimeString("en-GB", { timeZone: timeZone(), hour: "2-digit", minute: "2-digit" });
  }

  function serverNow() { return Date.now() + page.clockOffsetMs; }

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

  function fmtMinutes(minutes) {
    if (minutes === null || minutes === undefined) return NO_DATA;
    if (minutes < 1) return "under 1 min";
    if (minutes < 120) return `${Math.floor(minutes)} min`;
    return `${Math.floor(minutes / 60)} h ${Math.floor(minutes % 60)} min`;
  }

  function fmtTarget(minutes) { return `${Math.round(minutes)} min`; }

  function minutesSince(iso) {
    if (!iso) return null;
    return Math.max(0, (serverNow() - Date.parse(iso)) / 60000);
  }

  // ------------------------------------------------------------------ keyed rows
  // Tables are updated row by row (never rebuilt), so a refresh keeps focus and what a
  // manager is typing.

  function syncRows(tbody, items, keyOf, make, update) {
    const existing = new Map([...tbody.rows].map((row) => [row.dataset.key, row]));
    items.forEach((item, index) => {
      const key = keyOf(item);
      let row = existing.get(key);
      if (!row) {
        row = make(item);
        row.dataset.key = key;
      }
      existing.delete(key);
      if (tbody.rows[index] !== row) tbody.insertBefore(row, tbody.rows[index] || null);
      update(row, item);
    });
    for (const row of existing.values()) row.remove();
  }

  function setCell(row, index, content) {
    const cell = row.cells[index];
    if (typeof content === "string") {
      if (cell.textContent !== content) cell.textContent = content;
    } else {
      cell.replaceChildren(content);
    }
  }

  function chip(kind, text) { return el("span", { class: `chip chip-${kind}`, text }); }

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
        : spec.kind === "seconds" ? fmtSeconds(value) : fmtCount(value);
      const item = el("div", { class: "figure", "data-figure": spec.key });
      const detail = [];
      if (spec.of && value !== null && value !== undefined) {
        detail.push(el("span", { class: "detail", text: `${figures.overall[spec.of[0]]} of ${figures.overall[spec.of[1]]}` }));
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

  // ------------------------------------------------------------------ the live view

  function askForDashboard() {
    if (page.role !== "manager" || !page.conn) return;
    if (page.asking) { page.askAgain = true; return; }
    page.asking = true;
    page.conn.request("dashboard").then(
      (reply) => {
        say("dashboard-error", "");
        drawDashboard(reply.dashboard);
      },
      (error) => {
        // the last figures stay on screen; say they may be old
        say("dashboard-error", `The live figures could not be updated: ${errorText(error)}`);
      },
    ).finally(() => {
      page.asking = false;
      if (document.body.dataset.state === "connecting" && page.role === "manager") setState("ready");
      if (page.askAgain) { page.askAgain = false; askForDashboard(); }
    });
  }

  function afterPush() {
    clearTimeout(page.settleTimer);
    page.settleTimer = setTimeout(askForDashboard, PUSH_SETTLE_MS);
  }

  function startRefreshing() {
    clearInterval(page.refreshTimer);
    page.refreshTimer = setInterval(askForDashboard, REFRESH_EVERY_MS);
  }

  function stopRefreshing() {
    clearInterval(page.refreshTimer);
    clearTimeout(page.settleTimer);
    page.refreshTimer = null;
  }

  function drawDashboard(dashboard) {
    page.dashboard = dashboard;
    page.clockOffsetMs = Date.parse(dashboard.generated_at) - Date.now();
    // live changes change targets and skills: keep the centre's copy current
    if (page.centre) {
      for (const service of dashboard.services) {
        const known = page.centre.services.find((s) => s.code === service.code);
        if (known) known.target_wait_minutes = service.target_wait_minutes;
      }
      page.centre.counters = dashboard.counters;
    }
    $("centre-open").textContent = dashboard.open ? "The centre is open." : "The centre is closed.";
    $("updated-at").textContent = clockTime(dashboard.generated_at);
    $("updated-at").dateTime = dashboard.generated_at;
    $("updated").hidden = false;
    drawQueues(dashboard);
    drawCounters(dashboard);
    drawAlerts(dashboard.alerts || []);
    drawFigures($("today-figures"), { overall: dashboard.today.overall, report: dashboard.today });
    drawDevices(dashboard.devices || []);
    drawOpenClose(dashboard.counters);
    drawTargets(dashboard.services);
    drawSkillsChoices();
    if (!page.historyLoaded) setDefaultDates(dashboard.day);
  }

  function waitStanding(service) {
    if (!service.waiting) return { kind: "none", text: "No one waiting" };
    if (service.over_target) return { kind: "bad", text: "Over target" };
    if (service.longest_wait_minutes >= NEAR_TARGET * service.target_wait_minutes) {
      return { kind: "warn", text: "Near target" };
    }
    return { kind: "ok", text: "Within target" };
  }

  function drawQueues(dashboard) {
    $("total-waiting").textContent = String(dashboard.total_waiting);
    const longest = dashboard.longest_wait || {};
    if (longest.service && dashboard.total_waiting) {
      const service = dashboard.services.find((s) => s.code === longest.service);
      const target = service ? `, target ${fmtTarget(service.target_wait_minutes)}` : "";
      const standing = service ? ` (${waitStanding(service).text.toLowerCase()})` : "";
      $("longest-wait-summary").textContent =
        `Longest wait: ${fmtMinutes(longest.minutes)}, ${serviceName(longest.service)}${target}${standing}.`;
    } else {
      $("longest-wait-summary").textContent = "No one is waiting.";
    }
    const over = dashboard.services.filter((s) => s.over_target).map((s) => s.name);
    if (over.length) {
      $("longest-wait-summary").textContent +=
        ` ${over.length === 1 ? "1 service is" : `${over.length} services are`} over target: ${over.join(", ")}.`;
    }
    syncRows(
      $("queues"), dashboard.services, (s) => s.code,
      () => el("tr", {}, el("th", { scope: "row" }), el("td", { class: "num" }), el("td", { class: "num" }), el("td", { class: "num" }), el("td")),
      (row, s) => {
        setCell(row, 0, s.name);
        setCell(row, 1, String(s.waiting));
        setCell(row, 2, s.waiting ? fmtMinutes(s.longest_wait_minutes) : "–");
        setCell(row, 3, fmtTarget(s.target_wait_minutes));
        const standing = waitStanding(s);
        setCell(row, 4, chip(standing.kind, standing.text));
        row.dataset.service = s.code;
        row.classList.toggle("over", standing.kind === "bad");
      },
    );
  }

  const COUNTER_STATES = {
    closed: { kind: "none", text: "Closed" },
    open: { kind: "ok", text: "Open, free" },
    paused: { kind: "warn", text: "Paused" },
    serving: { kind: "busy", text: "Serving" },
  };

  function counterState(counter) {
    return COUNTER_STATES[counter.state] || { kind: "none", text: counter.state };
  }

  function drawCounters(dashboard) {
    syncRows(
      $("counters"), dashboard.counters, (c) => c.name,
      () => el("tr", {}, el("th", { scope: "row" }), el("td"), el("td"), el("td"), el("td", { class: "num" })),
      (row, c) => {
        const state = counterState(c);
        setCell(row, 0, c.name);
        setCell(row, 1, chip(state.kind, state.text));
        setCell(row, 2, c.staff || "nobody signed in");
        const ticket = c.current_ticket_number
          ? `${c.current_ticket_number}${c.current_ticket_service ? ` · ${serviceName(c.current_ticket_service)}` : ""}`
          : "–";
        setCell(row, 3, ticket);
        setCell(row, 4, c.current_ticket_number && c.serving_since ? fmtMinutes(minutesSince(c.serving_since)) : "–");
        row.dataset.counter = c.name;
      },
    );
  }

  function alertKey(alert) {
    return [alert.kind, alert.service, alert.ticket, alert.ticket_number, alert.number, alert.device, alert.component]
      .filter((v) => v !== undefined && v !== null).join("|");
  }

  const SEVERITY = { breach: "Breach", warning: "Warning", fault: "Fault" };

  function drawAlerts(alerts) {
    const list = $("alerts");
    const existing = new Map([...list.children].map((item) => [item.dataset.key, item]));
    const order = { breach: 0, fault: 1, warning: 2 };
    const sorted = [...alerts].sort((a, b) => (order[a.severity] ?? 3) - (order[b.severity] ?? 3));
    const wanted = new Set();
    for (const alert of sorted) {
      const key = alertKey(alert) || alert.message;
      wanted.add(key);
      let item = existing.get(key);
      if (!item) {
        // appended, never rebuilt: the live region announces new alerts only
        item = el("li", { "data-key": key, "data-kind": alert.kind },
          el("strong", { class: "severity" }), document.createTextNode(" "), el("span", { class: "message" }));
        list.append(item);
      }
      item.className = `alert alert-${alert.severity}`;
      item.querySelector(".severity").textContent = `${SEVERITY[alert.severity] || alert.severity}:`;
      const message = item.querySelector(".message");
      if (message.textContent !== alert.message) message.textContent = alert.message;
    }
    for (const [key, item] of existing) if (!wanted.has(key)) item.remove();
    $("no-alerts").hidden = alerts.length > 0;
  }

  function drawDevices(devices) {
    // the server says how serious each is (a printer near the end of its roll still prints)
    $("no-devices").hidden = devices.length > 0;
    $("devices-table").hidden = devices.length === 0;
    const sorted = [...devices].sort((a, b) => Number(a.ok) - Number(b.ok) || a.device.localeCompare(b.device));
    syncRows(
      $("devices"), sorted, (d) => `${d.device}|${d.component}`,
      () => el("tr", {}, el("th", { scope: "row" }), el("td"), el("td"), el("td")),
      (row, d) => {
        setCell(row, 0, d.device);
        setCell(row, 1, d.component);
        const status = String(d.status).replaceAll("_", " ");
        const detail = d.detail ? `. ${d.detail}` : "";
        const warning = !d.ok && d.severity === "warning";
        const text = d.ok ? (d.status === "ok" ? "OK" : `OK: ${status}`) : `${warning ? "Warning" : "Fault"}: ${status}${detail}`;
        setCell(row, 2, chip(d.ok ? "ok" : warning ? "warn" : "bad", text));
        setCell(row, 3, clockTime(d.at));
      },
    );
  }

  // ------------------------------------------------------------------ live changes

  function drawOpenClose(counters) {
    syncRows(
      $("open-close"), counters, (c) => c.name,
      (c) => {
        const button = el("button", { type: "button", class: "button small" });
        button.addEventListener("click", () => openOrClose(button.dataset.counter, button.dataset.action));
        return el("tr", {}, el("th", { scope: "row" }), el("td"), el("td"), el("td", {}, button));
      },
      (row, c) => {
        const state = counterState(c);
        setCell(row, 0, c.name);
        setCell(row, 1, chip(state.kind, state.text));
        setCell(row, 2, c.staff || "nobody signed in");
        const button = row.querySelector("button");
        const action = c.state === "closed" ? "open" : "close";
        button.dataset.counter = c.name;
        button.dataset.action = action;
        button.textContent = action === "open" ? "Open" : "Close";
        button.classList.toggle("secondary", action === "close");
        button.setAttribute("aria-label", `${action === "open" ? "Open" : "Close"} ${c.name}`);
      },
    );
  }

  async function openOrClose(counter, action) {
    say("open-close-done", "");
    say("open-close-error", "");
    try {
      const reply = await page.conn.request(action === "open" ? "open_counter" : "close_counter", { counter });
      const state = reply.counter ? counterState(reply.counter).text.toLowerCase() : `${action === "open" ? "open" : "closed"}`;
      say("open-close-done", `Done: ${counter} is now ${state}.`);
      askForDashboard();
    } catch (error) {
      say("open-close-error", `${counter} was not ${action === "open" ? "opened" : "closed"}: ${errorText(error)}`);
    }
  }

  function drawSkillsChoices() {
    const select = $("skills-counter");
    const counters = page.centre ? page.centre.counters : [];
    const names = counters.map((c) => c.name);
    if ([...select.options].map((o) => o.value).join("\n") !== names.join("\n")) {
      select.replaceChildren(...names.map((name) => el("option", { value: name, text: name })));
      if (page.skillsCounter && names.includes(page.skillsCounter)) select.value = page.skillsCounter;
    }
    if (!$("skills").rows.length) {
      for (const service of services()) {
        const primary = el("input", { type: "checkbox", id: `skill-primary-${service.code}`, name: "primary", value: service.code });
        const secondary = el("input", { type: "checkbox", id: `skill-secondary-${service.code}`, name: "secondary", value: service.code });
        // a service is one or the other: ticking one unticks the other
        primary.addEventListener("change", () => { if (primary.checked) secondary.checked = false; page.skillsDirty = true; });
        secondary.addEventListener("change", () => { if (secondary.checked) primary.checked = false; page.skillsDirty = true; });
        $("skills").append(el("tr", { "data-service": service.code },
          el("th", { scope: "row", text: service.name }),
          el("td", { class: "tick" }, primary, el("label", { for: primary.id, class: "visually-hidden", text: `${service.name}: primary` })),
          el("td", { class: "tick" }, secondary, el("label", { for: secondary.id, class: "visually-hidden", text: `${service.name}: secondary` })),
        ));
      }
    }
    if (!page.skillsDirty || page.skillsCounter !== select.value) loadSkills(select.value);
  }

  function loadSkills(counterName) {
    const counter = (page.centre ? page.centre.counters : []).find((c) => c.name === counterName);
    page.skillsCounter = counterName;
    page.skillsDirty = false;
    $("skills-save").textContent = `Save skills for ${counterName}`;
    if (!counter) return;
    for (const service of services()) {
      $(`skill-primary-${service.code}`).checked = counter.primary.includes(service.code);
      $(`skill-secondary-${service.code}`).checked = counter.secondary.includes(service.code);
    }
  }

  async function saveSkills(event) {
    event.preventDefault();
    say("skills-done", "");
    say("skills-error", "");
    const counter = $("skills-counter").value;
    const ticked = (kind) => services().map((s) => s.code).filter((code) => $(`skill-${kind}-${code}`).checked);
    const primary = ticked("primary");
    const secondary = ticked("secondary");
    try {
      const reply = await page.conn.request("set_counter_skills", { counter, primary, secondary });
      const saved = reply.counter || { primary, secondary };
      const names = (codes) => (codes.length ? codes.map(serviceName).join(", ") : "none");
      say("skills-done", `Saved: ${counter} now serves ${names(saved.primary)} first; secondary: ${names(saved.secondary)}.`);
      page.skillsDirty = false;
      if (reply.counter && page.centre) {
        page.centre.counters = page.centre.counters.map((c) => (c.name === counter ? { ...c, ...reply.counter } : c));
      }
      askForDashboard();
    } catch (error) {
      // what was ticked stays ticked, to correct and save again
      say("skills-error", `The skills of ${counter} were not changed: ${errorText(error)}`);
    }
  }

  function drawTargets(serviceFigures) {
    syncRows(
      $("targets"), serviceFigures, (s) => s.code,
      (s) => {
        const input = el("input", {
          type: "number", min: 1, max: 1440, step: 1, inputmode: "numeric", id: `target-${s.code}`,
          class: "minutes", value: Math.round(s.target_wait_minutes),
        });
        input.addEventListener("input", () => { input.dataset.dirty = "1"; });
        input.addEventListener("keydown", (e) => { if (e.key === "Enter") { e.preventDefault(); saveTarget(s.code); } });
        const label = el("label", { for: input.id, class: "visually-hidden", text: `New target wait for ${s.name}, in minutes` });
        const button = el("button", { type: "button", class: "button small", "aria-label": `Save target for ${s.name}`, text: "Save" });
        button.addEventListener("click", () => saveTarget(s.code));
        return el("tr", {}, el("th", { scope: "row" }), el("td", { class: "num" }), el("td", {}, label, input), el("td", {}, button));
      },
      (row, s) => {
        setCell(row, 0, s.name);
        setCell(row, 1, fmtTarget(s.target_wait_minutes));
        const input = row.querySelector("input");
        if (!input.dataset.dirty && document.activeElement !== input) input.value = String(Math.round(s.target_wait_minutes));
      },
    );
  }

  async function saveTarget(code) {
    say("targets-done", "");
    say("targets-error", "");
    const input = $(`target-${code}`);
    const text = input.value.trim();
    const minutes = Number(text);
    if (!text || !Number.isInteger(minutes) || minutes < 1 || minutes > 1440) {
      say("targets-error", `${serviceName(code)}: give the target as a whole number of minutes from 1 to 1440.`);
      input.focus();
      return;
    }
    try {
      await page.conn.request("set_service_target", { service: code, target_wait_minutes: minutes });
      delete input.dataset.dirty;
      say("targets-done", `Saved: the target wait for ${serviceName(code)} is now ${minutes} minutes.`);
      askForDashboard();
    } catch (error) {
      say("targets-error", `The target for ${serviceName(code)} was not changed: ${errorText(error)}`);
    }
  }

  // ------------------------------------------------------------------ history

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
  ];
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

  // ------------------------------------------------------------------ tabs

  function selectTab(tab, focus) {
    for (const other of document.querySelectorAll('[role="tab"]')) {
      const selected = other === tab;
      other.setAttribute("aria-selected", String(selected));
      other.tabIndex = selected ? 0 : -1;
      $(other.getAttribute("aria-controls")).hidden = !selected;
    }
    if (focus) tab.focus();
    if (tab.id === "tab-history" && !page.historyLoaded && page.conn) showHistory();
  }

  function setUpTabs() {
    const tabs = [...document.querySelectorAll('[role="tab"]')];
    for (const tab of tabs) {
      tab.addEventListener("click", () => selectTab(tab, false));
      tab.addEventListener("keydown", (event) => {
        const index = tabs.indexOf(tab);
        const next = { ArrowRight: index + 1, ArrowLeft: index - 1, Home: 0, End: tabs.length - 1 }[event.key];
        if (next === undefined) return;
        event.preventDefault();
        selectTab(tabs[(next + tabs.length) % tabs.length], true);
      });
    }
  }

  // ------------------------------------------------------------------ signing in and out

  function show(view) {
    $("sign-in-view").hidden = view !== "sign-in";
    $("not-manager-view").hidden = view !== "not-manager";
    $("dashboard-view").hidden = view !== "dashboard";
    $("who").hidden = view === "sign-in";
  }

  function onWelcome(welcome) {
    page.role = welcome.role;
    page.name = welcome.name;
    $("signed-in-name").textContent = welcome.name;
    $("signed-in-role").textContent = welcome.role === "manager" ? " (manager)" : " (adviser)";
    say("sign-in-error", "");
    say("sign-in-message", "");
    if (welcome.role !== "manager") {
      // the server refuses a manager's messages from this session anyway; say so plainly
      $("not-manager-name").textContent = welcome.name;
      show("not-manager");
      stopRefreshing();
    } else {
      show("dashboard");
    }
  }

  function onSnapshot(snapshot) {
    page.centre = {
      ...snapshot.centre,
      services: snapshot.centre.services.map((s) => ({ ...s })),
    };
    $("centre-name").textContent = snapshot.centre.name;
    if (page.role !== "manager") { setState("ready"); return; }
    $("dashboard-heading").textContent = `Manager dashboard: ${snapshot.centre.name}`;
    document.title = `Manager dashboard – ${snapshot.centre.name}`;
    setDefaultDates(localDay(snapshot.server_time));
    startRefreshing();
    askForDashboard();
  }

  function onPush(message) {
    if (page.role !== "manager") return;
    if (["event", "queue", "device_status"].includes(message.type)) afterPush();
  }

  function onSignedOut(reason) {
    page.role = null;
    stopRefreshing();
    show("sign-in");
    say("sign-in-message", reason);
    setState("signed-out");
  }

  async function signIn(event) {
    event.preventDefault();
    say("sign-in-error", "");
    say("sign-in-message", "");
    const username = $("username").value.trim();
    const password = $("password").value;
    if (!username || !password) {
      say("sign-in-error", "Enter your username and password.");
      return;
    }
    setState("connecting");
    try {
      await page.conn.signIn(username, password);
      $("password").value = "";
    } catch (error) {
      say("sign-in-error", errorText(error));
      setState("signed-out");
    }
  }

  function start() {
    setUpTabs();
    $("sign-in").addEventListener("submit", signIn);
    $("sign-out").addEventListener("click", () => page.conn.signOut());
    $("skills-form").addEventListener("submit", saveSkills);
    $("skills-counter").addEventListener("change", () => loadSkills($("skills-counter").value));
    $("history-form").addEventListener("submit", showHistory);
    $("download-csv").addEventListener("click", downloadCsv);
    page.conn = window.WalkinStaff.connect({
      client: "walkin-manager/1",
      onWelcome,
      onSnapshot,
      onPush,
      onStatus: (text) => say("status", text),
      onSignedOut,
    });
  }

  start();
})();
