// The manager dashboard's live view: the server's `dashboard` reply, asked for after
// each (re)connection, a second after pushes settle, and every 15 seconds, drawn as the
// queues against their targets, the counters, the alerts, the kiosks and printers, and
// today's figures. Each reply also refreshes the live changes' tables and History's dates.
"use strict";

(function () {
  const W = window.WalkinManager;
  const {
    state: page, $, el, setState, say, errorText, serviceName, clockTime, minutesSince, syncRows, setCell, chip,
  } = W.page;
  const { fmtMinutes, fmtTarget, drawFigures } = W.figures;
  const REFRESH_EVERY_MS = 15000;
  const PUSH_SETTLE_MS = 1000;
  const NEAR_TARGET = 0.75;  // a wait past three quarters of its target is "near"
  const TICKETS_PER_SERVICE = 20;  // as the server lists them (reporting/dashboard.py)

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
    drawBookings(dashboard);
    drawTickets(dashboard);
    W.changes.drawOpenClose(dashboard.counters);
    W.changes.drawTargets(dashboard.services);
    W.changes.drawSkillsChoices();
    if (!page.historyLoaded) W.history.setDefaultDates(dashboard.day);
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
    // visitors who joined from a phone, and of them those not here yet (passed over by
    // "call next" until they say "I'm here")
    const fromPhone = dashboard.services.reduce((n, s) => n + (s.remote_waiting || 0), 0);
    const notHere = dashboard.services.reduce((n, s) => n + (s.remote_not_here || 0), 0);
    $("remote-summary").textContent = fromPhone
      ? `${fromPhone} joined from a phone, ${notHere ? `${notHere} not here yet` : "all here"}.`
      : "";
    const num = () => el("td", { class: "num" });
    syncRows(
      $("queues"), dashboard.services, (s) => s.code,
      () => el("tr", {}, el("th", { scope: "row" }), num(), num(), num(), num(), num(), el("td")),
      (row, s) => {
        setCell(row, 0, s.name);
        setCell(row, 1, String(s.waiting));
        setCell(row, 2, String(s.remote_waiting || 0));
        setCell(row, 3, String(s.remote_not_here || 0));
        setCell(row, 4, s.waiting ? fmtMinutes(s.longest_wait_minutes) : "–");
        setCell(row, 5, fmtTarget(s.target_wait_minutes));
        const standing = waitStanding(s);
        setCell(row, 6, chip(standing.kind, standing.text));
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
    // called, the visitor is on the way: the counter is not serving yet
    if (counter.state === "serving" && counter.current_ticket_state === "called") {
      return { kind: "busy", text: "Called" };
    }
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

  // ------------------------------------------------------------------ waiting tickets

  // the filter's choices: which of the listed tickets each shows, and its words
  const TICKET_FILTERS = {
    all: { keep: () => true, words: "waiting" },
    remote: { keep: (t) => t.channel === "remote", words: "joined from a phone" },
    away: { keep: (t) => t.channel === "remote" && !t.here, words: "joined from a phone and not here yet" },
    assisted: { keep: (t) => t.assistance.length > 0, words: "asked for help" },
  };

  // what is special about a ticket, in words (never by colour alone)
  function ticketNotes(t) {
    const notes = [];
    if (t.channel === "remote") {
      notes.push(t.here
        ? { text: "Joined from a phone, here" }
        : { text: "Joined from a phone, not here yet: call next passes over it", kind: "away" });
    }
    if (t.assistance.length) {
      notes.push({ text: `Asked for help: ${t.assistance.map((a) => a.name).join("; ")}` });
    }
    if (t.appointment_at) notes.push({ text: `Appointment at ${clockTime(t.appointment_at)}` });
    if (t.pinned_counter) notes.push({ text: `For ${t.pinned_counter} only` });
    return notes;
  }

  function drawTickets(dashboard) {
    const tickets = dashboard.waiting_tickets || [];
    const filter = TICKET_FILTERS[$("tickets-filter").value] || TICKET_FILTERS.all;
    const shown = tickets.filter(filter.keep);
    syncRows(
      $("tickets"), shown, (t) => t.number,
      () => el("tr", {}, el("th", { scope: "row" }), el("td"), el("td", { class: "num" }), el("td")),
      (row, t) => {
        setCell(row, 0, t.number);
        setCell(row, 1, serviceName(t.service));
        setCell(row, 2, fmtMinutes(t.waited_minutes));
        const notes = ticketNotes(t);
        setCell(row, 3, notes.length
          ? el("span", {}, ...notes.map((n) => el("span", { class: `note${n.kind ? ` note-${n.kind}` : ""}`, text: n.text })))
          : "–");
        row.dataset.channel = t.channel;
        row.dataset.here = String(t.here);
      },
    );
    $("tickets-table").hidden = shown.length === 0;
    const total = dashboard.total_waiting || 0;
    const count = $("tickets-count");
    const text = $("tickets-filter").value === "all"
      ? (total ? `${total} waiting; ${shown.length} listed, first in the queue first.` : "No one is waiting.")
      : `${shown.length} ${shown.length === 1 ? "ticket" : "tickets"} ${filter.words}.`;
    if (count.textContent !== text) count.textContent = text;
    const left = Object.entries(dashboard.waiting_tickets_left_out || {})
      .map(([code, n]) => `${n} more for ${serviceName(code)}`);
    $("tickets-left-out").textContent = left.length
      ? `Each service's first ${TICKETS_PER_SERVICE} are listed, with every ticket from a phone or asking for help; ${left.join(", ")}.`
      : "";
  }

  // ------------------------------------------------------------------ bookings

  // today's bookings (the report's figures: docs/reports.md) in words
  const BOOKING_FIGURES = [
    ["appointments_booked", "booked"],
    ["appointments_checked_in", "checked in"],
    ["appointments_awaited", "still to come"],
    ["appointments_late", "came too late to check in"],
    ["appointments_missed", "missed"],
    ["appointments_cancelled", "cancelled"],
  ];

  function drawBookings(dashboard) {
    const overall = (dashboard.today && dashboard.today.overall) || {};
    const items = BOOKING_FIGURES.map(([key, words]) => el("li", { "data-figure": key },
      el("strong", { text: overall[key] === undefined ? "–" : String(overall[key]) }), ` ${words}`));
    $("bookings-today").replaceChildren(...items);
    // what the booking system sent today, newest first, in the server's words; a new
    // one is added at the top, never the list rebuilt (the live region says only it)
    const changes = dashboard.booking_changes || [];
    const list = $("booking-changes");
    const existing = new Map([...list.children].map((item) => [item.dataset.key, item]));
    const wanted = new Set();
    changes.forEach((change, index) => {
      const key = `${change.at}|${change.kind}|${change.ref}`;
      wanted.add(key);
      let item = existing.get(key);
      if (!item) {
        const time = el("time", { datetime: change.at, text: clockTime(change.at) });
        item = el("li", { "data-key": key, "data-kind": change.kind, "data-ref": change.ref },
          time, el("span", { class: "message", text: change.message }));
      }
      if (list.children[index] !== item) list.insertBefore(item, list.children[index] || null);
    });
    for (const [key, item] of existing) if (!wanted.has(key)) item.remove();
    $("no-booking-changes").hidden = changes.length > 0;
  }

  // a new filter redraws from the last dashboard, asking the server nothing
  $("tickets-filter").addEventListener("change", () => { if (page.dashboard) drawTickets(page.dashboard); });

  W.live = { askForDashboard, afterPush, startRefreshing, stopRefreshing, counterState };
})();
