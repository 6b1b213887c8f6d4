// The counter console (/counter): an adviser signs in, chooses their counter, and calls,
// serves, transfers and completes visitors from their desk. docs/console.md describes it.
//
// Everything goes over the websocket through staff-client.js. The page keeps a copy of
// the centre (counters, services, live tickets) from the snapshot and replaces a
// ticket or counter whenever an event push carries it; it never guesses a change from
// its own requests. Buttons are enabled when the action is legal in the state shown,
// but the server decides: its error messages are shown as they come.
"use strict";

(function () {
  const CLIENT = "walkin-counter/1";
  //: the counter this tab works at, kept for a reload (sessionStorage: this tab only)
  const COUNTER_KEY = "walkin.counter.choice";
  //: single-key shortcuts can be turned off (WCAG 2.1.4); remembered on this desk
  const SHORTCUTS_KEY = "walkin.counter.shortcuts";
  //: the council's appointment standard, until the snapshot says (centre.policy)
  const DEFAULT_APPOINTMENT_STANDARD_MINUTES = 10;
  const TICK_MS = 1000;
  const WAITS_EVERY_MS = 5000;
  const FINAL = new Set(["done", "no_show", "cancelled"]);
  const QUEUED = new Set(["waiting", "transferred"]);
  const OUTCOMES = [
    ["resolved", "Resolved: sorted out at this visit"],
    ["signposted", "Signposted to another organisation"],
    ["self_serve", "Helped to do it online (self-serve)"],
    ["appointment_booked", "Appointment booked"],
    ["referred", "Referred to the back office"],
  ];
  const OUTCOME_NAMES = Object.fromEntries(OUTCOMES);
  const COUNTER_STATES = { closed: "Closed", open: "Open", paused: "Paused", serving: "Serving" };
  const TICKET_STATES = {
    waiting: "Waiting", transferred: "Transferred", called: "Called", serving: "In service",
    parked: "Parked", done: "Done", no_show: "No-show", cancelled: "Cancelled",
  };
  //: single keys -> the button they press
  const SHORTCUTS = {
    n: "act-call-next", r: "act-recall", s: "act-start", c: "act-complete",
    x: "act-no-show", t: "act-transfer", k: "act-park", o: "act-open", p: ["act-pause", "act-resume"],
  };

  const $ = (id) => document.getElementById(id);

  const model = {
    me: null,                 // {name, role}
    centre: null,             // the snapshot's centre (name, timezone, ...)
    services: new Map(),      // code -> service view
    counters: new Map(),      // name -> counter (staff view)
    tickets: new Map(),       // id -> ticket (staff view), live ones only
    clockOffsetMs: 0,         // server time minus this machine's time
    counter: null,            // the counter I am signed in at (a name), once confirmed
    busy: false,              // a request from the buttons is on its way
    leaving: null,            // the counter I asked to leave (no "you were signed out")
  };
  let conn = null;
  let timeFormat = null;
  let lastWaitsDrawn = 0;
  let dialogOpener = null;

  // ------------------------------------------------------------ small helpers

  const now = () => Date.now() + model.clockOffsetMs;
  const ms = (iso) => (iso ? Date.parse(iso) : NaN);

  function setState(state) { document.body.dataset.state = state; }

  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs)) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else if (key.startsWith("data-")) node.setAttribute(key, value);
      else if (key in node) node[key] = value;
      else node.setAttribute(key, value);
    }
    for (const child of children) if (child !== null && child !== undefined) node.append(child);
    return node;
  }

  function clockTime(iso) {
    if (!iso) return "";
    return timeFormat ? timeFormat.format(new Date(iso)) : new Date(iso).toLocaleTimeString();
  }

  function duration(milliseconds) {
    const total = Math.max(0, Math.floor(milliseconds / 1000));
    const h = Math.floor(total / 3600);
    const m = Math.floor((total % 3600) / 60);
    const s = String(total % 60).padStart(2, "0");
    return h ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`;
  }

  const minutes = (milliseconds) => Math.max(0, Math.floor(milliseconds / 60000));
  const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;
  const serviceName = (code) => (model.services.get(code) || { name: code }).name;

  function targetMinutes(code) {
    const service = model.services.get(code);
    if (!service) return null;
    if (service.target_wait_minutes !== undefined) return Number(service.target_wait_minutes);
    if (service.target_wait !== undefined) return Number(service.target_wait) / 60;  // seconds
    return null;
  }

  const myCounter = () => (model.counter ? model.counters.get(model.counter) || null : null);
  const currentTicket = (counter) =>
    (counter && counter.current_ticket ? model.tickets.get(counter.current_ticket) || null : null);

  // ------------------------------------------------------------ waits

  // How long a queued ticket has waited against its standard: a walk-in against its
  // service's target; a checked-in appointment not yet seen against the 10 minutes
  // from its time (or its check-in, if later). The level is said in words as well as
  // shown in colour.
  function waitInfo(ticket, at) {
    const waited = at - ms(ticket.arrival_at);
    if (ticket.appointment_at && !ticket.first_called_at) {
      const due = Math.max(ms(ticket.appointment_at), ms(ticket.arrival_at));
      if (at < due) {
        return {
          level: "early",
          text: `Arrived ${minutes(waited)} min ago — due at ${clockTime(new Date(due).toISOString())}`,
        };
      }
      const late = minutes(at - due);
      const standard = model.centre?.policy?.appointment_standard_minutes
        ?? DEFAULT_APPOINTMENT_STANDARD_MINUTES;
      const level = levelOf(at - due, standard);
      const words = { ok: "within", half: "over half of", over: "over" }[level];
      return { level, text: `${late} min since due — ${words} the ${standard} min standard` };
    }
    const target = targetMinutes(ticket.service);
    const waitedMinutes = minutes(waited);
    if (!target) return { level: "ok", text: `${waitedMinutes} min` };
    const level = levelOf(waited, target);
    const words = { ok: "within target", half: "over half of target", over: "over target" }[level];
    return { level, text: `${waitedMinutes} min — ${words} ${formatMinutes(target)} min` };
  }

  function levelOf(waitedMs, standardMinutes) {
    const fraction = waitedMs / (standardMinutes * 60000);
    if (fraction > 1) return "over";
    if (fraction > 0.5) return "half";
    return "ok";
  }

  const formatMinutes = (m) => (Number.isInteger(m) ? String(m) : m.toFixed(1));

  // The tickets this counter may take: pinned to it, or unpinned and for one of its
  // services. Pinned first ("sent to you"), then primary, then secondary; oldest
  // first within each.
  function myQueue(counter) {
    if (!counter) return [];
    const rank = (t) => (t.pinned_counter === counter.name ? 0 : counter.primary.includes(t.service) ? 1 : 2);
    return [...model.tickets.values()]
      .filter((t) => QUEUED.has(t.state))
      .filter((t) => (t.pinned_counter
        ? t.pinned_counter === counter.name
        : counter.primary.includes(t.service) || counter.secondary.includes(t.service)))
      .map((t) => ({ ticket: t, rank: rank(t) }))
      .sort((a, b) => a.rank - b.rank || ms(a.ticket.arrival_at) - ms(b.ticket.arrival_at)
        || a.ticket.seq - b.ticket.seq);
  }

  function myParked(counter) {
    if (!counter) return [];
    return [...model.tickets.values()]
      .filter((t) => t.state === "parked" && t.pinned_counter === counter.name)
      .sort((a, b) => ms(a.state_since) - ms(b.state_since));
  }

  // ------------------------------------------------------------ what is legal now

  // Mirrors the core's transition tables (queue_server/core/transitions.py) so that
  // only sensible buttons are offered; the server still checks every request.
  function legal(counter, ticket) {
    const state = counter ? counter.state : null;
    const idleOpen = state === "open" && !ticket;
    const t = ticket ? ticket.state : null;
    return {
      call_next: idleOpen,
      call_ticket: idleOpen,
      recall: t === "called",
      start_service: t === "called",
      complete: t === "serving",
      no_show: t === "called",
      transfer: t === "called" || t === "serving",
      park: t === "called" || t === "serving",
      open_counter: state === "closed",
      pause_counter: idleOpen,
      resume_counter: state === "paused",
      close_counter: (state === "open" || state === "paused") && !ticket,
      sign_out_counter: state === "closed",
    };
  }

  // The action the adviser most likely wants next is drawn as the main button.
  function suggested(counter, ticket) {
    if (!counter) return null;
    if (ticket) return ticket.state === "called" ? "start_service" : ticket.state === "serving" ? "complete" : null;
    if (counter.state === "open") return "call_next";
    if (counter.state === "closed") return "open_counter";
    if (counter.state === "paused") return "resume_counter";
    return null;
  }

  // ------------------------------------------------------------ drawing

  function draw() {
    const signedIn = Boolean(model.me);
    $("who").hidden = !signedIn;
    $("staff-name").textContent = model.me ? model.me.name : "";
    $("centre-name").textContent = model.centre ? model.centre.name : "";
    $("sign-in-panel").hidden = signedIn;
    const counter = myCounter();
    $("choose-panel").hidden = !signedIn || Boolean(counter);
    $("console").hidden = !signedIn || !counter;
    $("shortcuts-on").closest("label").hidden = !counter;
    if (!signedIn) return;
    if (!counter) drawChoices();
    else drawConsole(counter);
  }

  function drawChoices() {
    const body = $("counter-choices");
    const focused = document.activeElement && document.activeElement.dataset.counter;
    body.replaceChildren();
    for (const counter of model.counters.values()) {
      const services = [
        counter.primary.map(serviceName).join(", "),
        counter.secondary.length ? `also ${counter.secondary.map(serviceName).join(", ")}` : "",
      ].filter(Boolean).join("; ");
      let who;
      let free = true;
      if (!counter.staff) {
        who = `Free (${COUNTER_STATES[counter.state].toLowerCase()})`;
      } else if (counter.staff === model.me.name) {
        who = `You (${COUNTER_STATES[counter.state].toLowerCase()})`;
      } else if (counter.state === "closed") {
        who = `${counter.staff} signed in, closed: you can take it over`;
      } else {
        who = `Taken by ${counter.staff} (${COUNTER_STATES[counter.state].toLowerCase()})`;
        free = false;
      }
      const button = el("button", {
        type: "button", class: "choose", "data-counter": counter.name, disabled: !free || model.busy,
        text: `Use ${counter.name}`,
      });
      button.addEventListener("click", () => chooseCounter(counter.name));
      body.append(el("tr", { class: free ? "" : "taken" },
        el("th", { scope: "row", text: counter.name }),
        el("td", { text: services }),
        el("td", { text: who }),
        el("td", {}, button)));
      if (focused === counter.name) button.focus();
    }
  }

  function drawConsole(counter) {
    const ticket = currentTicket(counter);
    $("counter-name").textContent = counter.name;
    const badge = $("counter-state");
    badge.textContent = COUNTER_STATES[counter.state] || counter.state;
    badge.className = `badge counter-${counter.state}`;
    $("counter-staff").textContent = counter.staff
      ? `Staffed by ${counter.staff}${counter.staff === model.me.name ? " (you)" : ""}`
      : "Nobody signed in";
    $("counter-skills").textContent = [
      `Main: ${counter.primary.map(serviceName).join(", ") || "none"}`,
      counter.secondary.length ? `Also: ${counter.secondary.map(serviceName).join(", ")}` : "",
    ].filter(Boolean).join(" · ");

    $("current-empty").hidden = Boolean(ticket);
    $("current-ticket").hidden = !ticket;
    $("current-empty").textContent = counter.state === "closed"
      ? "The counter is closed. Open it to start calling."
      : counter.state === "paused" ? "Paused: no tickets are sent to you until you resume."
        : "No ticket at this counter. Call the next one when you are ready.";
    if (!ticket) {
      for (const id of ["current-number", "current-state", "current-service", "current-details", "timer"]) {
        $(id).textContent = "";
      }
    } else {
      $("current-number").textContent = ticket.number;
      const state = $("current-state");
      state.textContent = TICKET_STATES[ticket.state] || ticket.state;
      state.className = `badge ticket-${ticket.state}`;
      $("current-service").textContent = ticket.service_name || serviceName(ticket.service);
      const details = [];
      if (ticket.appointment_at) details.push(`Appointment at ${clockTime(ticket.appointment_at)}`);
      else details.push("Walk-in");
      details.push(`arrived ${clockTime(ticket.arrival_at)}`);
      if (ticket.recalls) details.push(`recalled ${plural(ticket.recalls, "time")}`);
      if (ticket.transfers) details.push(`transferred ${plural(ticket.transfers, "time")}`);
      if (ticket.language && ticket.language !== "en") details.push(`language: ${ticket.language}`);
      $("current-details").textContent = details.join(" · ");
    }
    drawTimer(ticket);

    const allowed = legal(counter, ticket);
    const main = suggested(counter, ticket);
    for (const button of document.querySelectorAll("#console [data-action]")) {
      const action = button.dataset.action;
      button.disabled = model.busy || !allowed[action];
      button.classList.toggle("primary", action === main);
    }
    // pause and resume share a place and a key: show the one that applies
    $("act-resume").hidden = counter.state !== "paused";
    $("act-pause").hidden = counter.state === "paused";

    drawParked(counter);
    drawWaiting(counter);
  }

  function drawTimer(ticket) {
    if (!ticket) return;
    const serving = ticket.state === "serving" && ticket.service_started_at;
    const since = serving ? ticket.service_started_at : ticket.called_at;
    $("timer-label").textContent = serving ? "In service for" : "Since called";
    $("timer").textContent = since ? duration(now() - ms(since)) : "";
  }

  function drawParked(counter) {
    const parked = myParked(counter);
    const list = $("parked");
    const focused = document.activeElement && document.activeElement.dataset.key;
    list.replaceChildren();
    $("parked-empty").hidden = parked.length > 0;
    $("parked-count").textContent = parked.length ? `(${parked.length})` : "";
    const idle = legal(counter, null).call_ticket && !counter.current_ticket;
    for (const ticket of parked) {
      const returnButton = el("button", {
        type: "button", class: "small", text: "Return", "data-key": `return:${ticket.id}`,
        disabled: model.busy, "aria-label": `Return ${ticket.number} to the queue`,
      });
      returnButton.addEventListener("click", () => returnParked(ticket));
      const callButton = el("button", {
        type: "button", class: "small", text: "Call back…", "data-key": `callback:${ticket.id}`,
        disabled: model.busy || !idle, "aria-label": `Call back ${ticket.number}…`,
      });
      callButton.addEventListener("click", (event) => openCallTicket(event.currentTarget, ticket.id, "The visitor is back"));
      const cancelButton = el("button", {
        type: "button", class: "small quiet", text: "Cancel…", "data-key": `cancel:${ticket.id}`,
        disabled: model.busy, "aria-label": `Cancel ${ticket.number}…`,
      });
      cancelButton.addEventListener("click", (event) => openCancel(event.currentTarget, ticket));
      list.append(el("li", { "data-number": ticket.number },
        el("span", { class: "parked-number", text: ticket.number }),
        el("span", { class: "parked-what", text: `${ticket.service_name || serviceName(ticket.service)}, parked ${clockTime(ticket.state_since)}` }),
        el("span", { class: "parked-buttons" }, returnButton, callButton, cancelButton)));
    }
    restoreFocus(list, focused);
  }

  function drawWaiting(counter) {
    const queue = myQueue(counter);
    const body = $("waiting");
    const focused = document.activeElement && document.activeElement.dataset.key;
    const at = now();
    const idle = legal(counter, currentTicket(counter)).call_ticket;
    body.replaceChildren();
    for (const { ticket, rank } of queue) {
      const wait = waitInfo(ticket, at);
      const mark = rank === 0 ? (ticket.state === "transferred" ? "sent to you" : "yours, returned")
        : rank === 1 ? "main" : "also";
      const call = el("button", {
        type: "button", class: "small", text: "Call…", "data-key": `call:${ticket.id}`,
        disabled: model.busy || !idle, "aria-label": `Call ${ticket.number} out of turn…`,
      });
      call.addEventListener("click", (event) => openCallTicket(event.currentTarget, ticket.id, ""));
      body.append(el("tr", { "data-number": ticket.number, "data-id": ticket.id, class: `rank-${rank}` },
        el("th", { scope: "row", class: "number", text: ticket.number }),
        el("td", {},
          el("span", { text: ticket.service_name || serviceName(ticket.service) }),
          el("span", { class: `mark mark-${rank}`, text: mark })),
        el("td", { text: ticket.appointment_at ? clockTime(ticket.appointment_at) : "—" }),
        el("td", {}, el("span", {
          class: `wait wait-${wait.level}`, "data-wait": ticket.id, text: wait.text,
        })),
        el("td", { class: "call" }, call)));
    }
    $("waiting-empty").hidden = queue.length > 0;
    $("queue-count").textContent = `(${queue.length})`;
    restoreFocus(body, focused);
    lastWaitsDrawn = Date.now();
  }

  function restoreFocus(container, key) {
    if (!key) return;
    const again = container.querySelector(`[data-key="${CSS.escape(key)}"]`);
    if (again && !again.disabled) again.focus();
  }

  // Every second: the timer; every few seconds: the waits (in place, so focus stays).
  function tick() {
    const counter = myCounter();
    if (!counter || $("console").hidden) return;
    drawTimer(currentTicket(counter));
    if (Date.now() - lastWaitsDrawn < WAITS_EVERY_MS) return;
    lastWaitsDrawn = Date.now();
    const at = now();
    for (const span of document.querySelectorAll("#waiting [data-wait]")) {
      const ticket = model.tickets.get(span.dataset.wait);
      if (!ticket) continue;
      const wait = waitInfo(ticket, at);
      if (span.textContent !== wait.text) span.textContent = wait.text;
      span.className = `wait wait-${wait.level}`;
    }
  }

  // ------------------------------------------------------------ the model

  function takeSnapshot(snapshot) {
    model.clockOffsetMs = ms(snapshot.server_time) - Date.now() || 0;
    model.centre = snapshot.centre;
    try {
      timeFormat = new Intl.DateTimeFormat("en-GB", {
        hour: "2-digit", minute: "2-digit", timeZone: snapshot.centre.timezone,
      });
    } catch {
      timeFormat = new Intl.DateTimeFormat("en-GB", { hour: "2-digit", minute: "2-digit" });
    }
    model.services = new Map(snapshot.centre.services.map((s) => [s.code, s]));
    model.counters = new Map(snapshot.centre.counters.map((c) => [c.name, c]));
    model.tickets = new Map();
    for (const ticket of snapshot.tickets || []) keepTicket(ticket);
    settleCounter();
    draw();
    setState("ready");
  }

  function keepTicket(ticket) {
    if (FINAL.has(ticket.state)) model.tickets.delete(ticket.id);
    else model.tickets.set(ticket.id, ticket);
  }

  function takePush(message) {
    if (message.type !== "event") return;  // queue, device_status: the tickets say it all
    const before = myCounter();
    const beforeTicket = before ? before.current_ticket : null;
    if (message.ticket) keepTicket(message.ticket);
    if (message.counter) model.counters.set(message.counter.name, message.counter);
    if (message.service && message.service.code) {
      const known = model.services.get(message.service.code) || {};
      model.services.set(message.service.code, { ...known, ...message.service });
    }
    if (model.counter) {
      const counter = model.counters.get(model.counter);
      if (!counter || counter.staff !== model.me.name) {
        const asked = model.leaving === model.counter;
        const who = counter && counter.staff ? ` ${counter.staff} is there now.` : "";
        leaveCounter(asked ? "" : `You are no longer signed in at ${model.counter}.${who} Choose a counter.`);
      } else if (counter.current_ticket && counter.current_ticket !== beforeTicket) {
        const ticket = currentTicket(counter);
        if (ticket) say(`Calling ${ticket.number} (${ticket.service_name}) to ${counter.name}.`);
      }
    }
    draw();
  }

  // After a snapshot: the counter this tab chose, or the one the server already has
  // me at, or none (the adviser chooses).
  function settleCounter() {
    const mine = [...model.counters.values()].find((c) => c.staff === model.me.name);
    const wanted = sessionStorage.getItem(COUNTER_KEY) || (mine && mine.name);
    if (!wanted) { model.counter = null; return; }
    const counter = model.counters.get(wanted);
    if (counter && counter.staff === model.me.name) {
      model.counter = wanted;
      sessionStorage.setItem(COUNTER_KEY, wanted);
      return;
    }
    model.counter = null;
    if (counter) chooseCounter(wanted);  // sign in there again (e.g. after a restart)
    else sessionStorage.removeItem(COUNTER_KEY);
  }

  function leaveCounter(note) {
    model.counter = null;
    sessionStorage.removeItem(COUNTER_KEY);
    $("choose-error").textContent = note || "";
    closeDialogs();
  }

  // ------------------------------------------------------------ requests

  function say(text) { $("announce").textContent = text; }

  function chooseCounter(name) {
    $("choose-error").textContent = "";
    model.busy = true;
    draw();
    conn.request("sign_in_counter", { counter: name }).then(() => {
      sessionStorage.setItem(COUNTER_KEY, name);
      model.counter = name;
      $("action-error").textContent = "";
      say(`Signed in at ${name}.`);
    }, (error) => {
      sessionStorage.removeItem(COUNTER_KEY);
      model.counter = null;
      $("choose-error").textContent = `Could not sign in at ${name}: ${error.message}`;
    }).finally(() => {
      model.busy = false;
      draw();
      if (model.counter) focusMain();
    });
  }

  function focusMain() {
    const counter = myCounter();
    const main = document.querySelector("#console [data-action].primary:not([disabled]):not([hidden])");
    if (counter && main && !dialogIsOpen()) main.focus();
  }

  // One request from the console: buttons off while it travels, the server's error
  // shown in `errorBox` (the dialog's own, or the one under the buttons).
  function send(type, fields, { errorBox = $("action-error"), done = null } = {}) {
    const counter = myCounter();
    if (!counter) return Promise.resolve(null);
    errorBox.textContent = "";
    if (errorBox !== $("action-error")) $("action-error").textContent = "";
    model.busy = true;
    draw();
    return conn.request(type, fields).then((reply) => {
      if (done) done(reply);
      return reply;
    }, (error) => {
      errorBox.textContent = error.message || "The request failed.";
      return null;
    }).finally(() => {
      model.busy = false;
      draw();
    });
  }

  function counterAction(action) {
    const counter = myCounter();
    if (!counter) return;
    const ticket = currentTicket(counter);
    const number = ticket ? ticket.number : "";
    const messages = {
      call_next: (reply) => `Calling ${reply.ticket.number} (${reply.ticket.service_name}).`,
      recall: (reply) => (reply.ticket.state === "no_show"
        ? `${number} did not come after ${reply.ticket.recalls} recalls: marked no-show.`
        : `Recalled ${number}.`),
      start_service: () => `Serving ${number}.`,
      no_show: () => `${number} marked no-show.`,
      park: () => `${number} parked. Return it from "My parked tickets".`,
      open_counter: () => `${counter.name} is open.`,
      pause_counter: () => `${counter.name} is paused.`,
      resume_counter: () => `${counter.name} is open again.`,
      close_counter: () => `${counter.name} is closed.`,
      sign_out_counter: () => `You have left ${counter.name}.`,
    };
    if (action === "sign_out_counter") model.leaving = counter.name;
    send(action, { counter: counter.name }, {
      done: (reply) => {
        say(messages[action] ? messages[action](reply) : "Done.");
        if (action === "sign_out_counter") leaveCounter("");
      },
    }).then(() => {
      model.leaving = null;
      focusMain();
    });
  }

  function returnParked(ticket) {
    send("return_parked", { ticket: ticket.id }, {
      done: () => say(`${ticket.number} is back in the queue for ${model.counter}.`),
    });
  }

  // ------------------------------------------------------------ dialogs

  const dialogIsOpen = () => Boolean(document.querySelector("dialog[open]"));

  function openDialog(dialog, opener) {
    dialogOpener = opener || document.activeElement;
    dialog.querySelector(".error").textContent = "";
    dialog.showModal();
  }

  function closeDialog(dialog) {
    if (dialog.open) dialog.close();
  }

  function closeDialogs() {
    for (const dialog of document.querySelectorAll("dialog[open]")) closeDialog(dialog);
  }

  function afterDialog() {
    const opener = dialogOpener;
    dialogOpener = null;
    if (opener && opener.isConnected && !opener.disabled && !opener.hidden) opener.focus();
    else focusMain();
  }

  function openCallTicket(opener, ticketId, reason) {
    const counter = myCounter();
    if (!counter) return;
    const select = $("call-ticket-select");
    const previous = select.value;
    select.replaceChildren(el("option", { value: "", text: "Choose a ticket" }));
    const at = now();
    for (const { ticket } of myQueue(counter)) {
      select.append(el("option", {
        value: ticket.id,
        text: `${ticket.number} — ${ticket.service_name || serviceName(ticket.service)} — ${waitInfo(ticket, at).text}`,
      }));
    }
    for (const ticket of myParked(counter)) {
      select.append(el("option", { value: ticket.id, text: `${ticket.number} — parked here` }));
    }
    select.value = ticketId || previous || "";
    if (select.selectedIndex < 0) select.value = "";
    if (reason && !$("call-ticket-reason").value) $("call-ticket-reason").value = reason;
    openDialog($("call-ticket-dialog"), opener);
    (select.value ? $("call-ticket-reason") : select).focus();
  }

  function submitCallTicket(event) {
    event.preventDefault();
    const counter = myCounter();
    const errorBox = $("call-ticket-error");
    const ticketId = $("call-ticket-select").value;
    const reason = $("call-ticket-reason").value.trim();
    if (!ticketId) { errorBox.textContent = "Choose the ticket to call."; $("call-ticket-select").focus(); return; }
    if (!reason) { errorBox.textContent = "Give a reason for calling this ticket out of turn."; $("call-ticket-reason").focus(); return; }
    send("call_ticket", { counter: counter.name, ticket: ticketId, reason }, {
      errorBox,
      done: (reply) => {
        say(`Calling ${reply.ticket.number} (${reply.ticket.service_name}) out of turn.`);
        $("call-ticket-form").reset();
        closeDialog($("call-ticket-dialog"));
      },
    });
  }

  function openComplete(opener) {
    const ticket = currentTicket(myCounter());
    if (!ticket) return;
    $("complete-heading").textContent = `Complete ${ticket.number}`;
    openDialog($("complete-dialog"), opener);
    const chosen = document.querySelector("#outcomes input:checked");
    (chosen || document.querySelector("#outcomes input")).focus();
  }

  function submitComplete(event) {
    event.preventDefault();
    const counter = myCounter();
    const ticket = currentTicket(counter);
    const errorBox = $("complete-error");
    const chosen = document.querySelector("#outcomes input:checked");
    if (!chosen) {
      errorBox.textContent = "Choose how the visit ended.";
      document.querySelector("#outcomes input").focus();
      return;
    }
    const avoidable = $("complete-avoidable").checked;
    send("complete", { counter: counter.name, outcome: chosen.value, avoidable }, {
      errorBox,
      done: () => {
        say(`${ticket ? ticket.number : "The ticket"} completed: ${OUTCOME_NAMES[chosen.value].split(":")[0].toLowerCase()}${avoidable ? ", avoidable contact" : ""}.`);
        $("complete-form").reset();
        closeDialog($("complete-dialog"));
      },
    });
  }

  function openTransfer(opener) {
    const counter = myCounter();
    const ticket = currentTicket(counter);
    if (!ticket) return;
    $("transfer-heading").textContent = `Transfer ${ticket.number}`;
    const services = $("transfer-service");
    const wantedService = services.value;
    services.replaceChildren(el("option", { value: "", text: `Keep the service (${serviceName(ticket.service)})` }));
    for (const service of model.services.values()) {
      if (service.code === ticket.service) continue;
      services.append(el("option", { value: service.code, text: service.name }));
    }
    services.value = wantedService;
    if (services.selectedIndex < 0) services.value = "";
    const counters = $("transfer-counter");
    const wantedCounter = counters.value;
    counters.replaceChildren(el("option", { value: "", text: "Any counter that serves it" }));
    for (const other of model.counters.values()) {
      if (other.name === counter.name) continue;
      const who = other.staff ? `${other.staff}, ${COUNTER_STATES[other.state].toLowerCase()}` : "nobody there";
      counters.append(el("option", { value: other.name, text: `${other.name} (${who})` }));
    }
    counters.value = wantedCounter;
    if (counters.selectedIndex < 0) counters.value = "";
    openDialog($("transfer-dialog"), opener);
    services.focus();
  }

  function submitTransfer(event) {
    event.preventDefault();
    const counter = myCounter();
    const ticket = currentTicket(counter);
    const errorBox = $("transfer-error");
    const toService = $("transfer-service").value;
    const toCounter = $("transfer-counter").value;
    const reason = $("transfer-reason").value.trim();
    if (!toService && !toCounter) {
      errorBox.textContent = "Choose a service or a counter to transfer to.";
      $("transfer-service").focus();
      return;
    }
    if (!reason) { errorBox.textContent = "Give a reason for the transfer."; $("transfer-reason").focus(); return; }
    const fields = { counter: counter.name, reason };
    if (toService) fields.to_service = toService;
    if (toCounter) fields.to_counter = toCounter;
    send("transfer", fields, {
      errorBox,
      done: () => {
        const where = [toService ? serviceName(toService) : "", toCounter].filter(Boolean).join(" at ");
        say(`${ticket ? ticket.number : "The ticket"} transferred to ${where}.`);
        $("transfer-form").reset();
        closeDialog($("transfer-dialog"));
      },
    });
  }

  let cancelling = null;

  function openCancel(opener, ticket) {
    cancelling = ticket;
    $("cancel-heading").textContent = `Cancel ${ticket.number}`;
    openDialog($("cancel-dialog"), opener);
    $("cancel-reason").focus();
  }

  function submitCancel(event) {
    event.preventDefault();
    const errorBox = $("cancel-error");
    const reason = $("cancel-reason").value.trim();
    if (!cancelling) return;
    if (!reason) { errorBox.textContent = "Give a reason for cancelling the ticket."; $("cancel-reason").focus(); return; }
    const ticket = cancelling;
    send("cancel", { ticket: ticket.id, reason }, {
      errorBox,
      done: () => {
        say(`${ticket.number} cancelled.`);
        $("cancel-form").reset();
        closeDialog($("cancel-dialog"));
      },
    });
  }

  // ------------------------------------------------------------ keyboard

  function typing(target) {
    if (!target || !(target instanceof Element)) return false;
    return Boolean(target.closest("input, select, textarea, [contenteditable=''], [contenteditable='true']"));
  }

  function onKey(event) {
    if (event.defaultPrevented || event.ctrlKey || event.altKey || event.metaKey || event.repeat) return;
    if (!$("shortcuts-on").checked || $("console").hidden || dialogIsOpen()) return;
    if (typing(event.target)) return;
    const target = SHORTCUTS[event.key.toLowerCase()];
    if (!target) return;
    const buttons = (Array.isArray(target) ? target : [target]).map($);
    const button = buttons.find((b) => !b.hidden) || buttons[0];
    event.preventDefault();
    if (button.disabled) {
      say(`${button.firstChild.textContent.trim()} is not possible now.`);
      return;
    }
    button.click();
  }

  // ------------------------------------------------------------ start

  function start() {
    const outcomes = $("outcomes");
    for (const [value, label] of OUTCOMES) {
      const id = `outcome-${value}`;
      outcomes.append(el("div", { class: "outcome" },
        el("input", { type: "radio", name: "outcome", id, value }),
        el("label", { htmlFor: id, text: label })));
    }

    for (const button of document.querySelectorAll("#console [data-action]")) {
      const action = button.dataset.action;
      button.addEventListener("click", (event) => {
        if (action === "call_ticket") openCallTicket(event.currentTarget, "", "");
        else if (action === "complete") openComplete(event.currentTarget);
        else if (action === "transfer") openTransfer(event.currentTarget);
        else counterAction(action);
      });
    }
    $("call-ticket-form").addEventListener("submit", submitCallTicket);
    $("complete-form").addEventListener("submit", submitComplete);
    $("transfer-form").addEventListener("submit", submitTransfer);
    $("cancel-form").addEventListener("submit", submitCancel);
    for (const dialog of document.querySelectorAll("dialog")) {
      dialog.addEventListener("close", afterDialog);
      for (const close of dialog.querySelectorAll("[data-close]")) {
        close.addEventListener("click", () => closeDialog(dialog));
      }
    }

    const shortcuts = $("shortcuts-on");
    const keyed = [...document.querySelectorAll("[aria-keyshortcuts]")];
    const showShortcuts = () => {
      document.body.classList.toggle("no-shortcuts", !shortcuts.checked);
      for (const button of keyed) {
        if (!button.dataset.keys) button.dataset.keys = button.getAttribute("aria-keyshortcuts");
        if (shortcuts.checked) button.setAttribute("aria-keyshortcuts", button.dataset.keys);
        else button.removeAttribute("aria-keyshortcuts");
      }
    };
    shortcuts.checked = localStorage.getItem(SHORTCUTS_KEY) !== "off";
    shortcuts.addEventListener("change", () => {
      localStorage.setItem(SHORTCUTS_KEY, shortcuts.checked ? "on" : "off");
      showShortcuts();
    });
    showShortcuts();
    document.addEventListener("keydown", onKey);

    $("sign-in").addEventListener("submit", (event) => {
      event.preventDefault();
      const username = $("username").value.trim();
      const password = $("password").value;
      const errorBox = $("sign-in-error");
      if (!username || !password) {
        errorBox.textContent = "Enter your username and password.";
        (username ? $("password") : $("username")).focus();
        return;
      }
      errorBox.textContent = "";
      setState("connecting");
      conn.signIn(username, password).then(() => {
        $("password").value = "";
        $("signed-out-note").textContent = "";
      }, (error) => {
        setState("signed-out");
        errorBox.textContent = error.message || "Could not sign in.";
      });
    });
    $("sign-out").addEventListener("click", () => {
      sessionStorage.removeItem(COUNTER_KEY);
      conn.signOut();
    });

    conn = WalkinStaff.connect({
      client: CLIENT,
      onWelcome(welcome) {
        model.me = { name: welcome.name, role: welcome.role };
        setState("connecting");
      },
      onSnapshot: takeSnapshot,
      onPush: takePush,
      onStatus(text) { $("status").textContent = text; },
      onSignedOut: showSignedOut,
    });
    // Without a session to resume, say so now rather than after the client's first
    // turn: the form is shown at once, and the page's state is settled before load.
    if (!sessionStorage.getItem(WalkinStaff.SESSION_KEY)) showSignedOut("");
    setInterval(tick, TICK_MS);
  }

  function showSignedOut(reason) {
    model.me = null;
    model.counter = null;
    closeDialogs();
    $("signed-out-note").textContent = reason || "";
    draw();
    setState("signed-out");
  }

  start();
})();
