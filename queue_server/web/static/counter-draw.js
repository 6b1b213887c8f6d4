// The counter console drawn from its model (counter-model.js): the choice of counters,
// the desk with its ticket and buttons, my parked tickets and the waiting list, and the
// timer and waits that tick on between pushes. Buttons are enabled when the action is
// legal in the state shown (counter-rules.js); what they do is counter-actions.js's
// and counter-dialogs.js's.
"use strict";

(function () {
  const C = window.WalkinCounter;
  const R = C.rules;
  const {
    state: model, now, clockTime, serviceName, myCounter, currentTicket, myQueue, myParked, waitInfo,
  } = C.model;
  const WAITS_EVERY_MS = 5000;
  const $ = (id) => document.getElementById(id);
  let lastWaitsDrawn = 0;

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

  function say(text) { $("announce").textContent = text; }

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
      const { who, free } = R.occupancy(counter, model.me.name);
      const button = el("button", {
        type: "button", class: "choose", "data-counter": counter.name, disabled: !free || model.busy,
        text: `Use ${counter.name}`,
      });
      button.addEventListener("click", () => C.actions.chooseCounter(counter.name));
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
    badge.textContent = R.counterStateName(counter, ticket);
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
    $("current-empty").textContent = R.idleNote(counter);
    if (!ticket) {
      for (const id of ["current-number", "current-state", "current-service", "current-details", "timer"]) {
        $(id).textContent = "";
      }
      $("current-assist").hidden = true;
      $("current-note").hidden = true;
    } else {
      $("current-number").textContent = ticket.number;
      const state = $("current-state");
      state.textContent = R.TICKET_STATES[ticket.state] || ticket.state;
      state.className = `badge ticket-${ticket.state}`;
      $("current-service").textContent = ticket.service_name || serviceName(ticket.service);
      $("current-details").textContent = R.ticketDetails(ticket, clockTime);
      const help = R.assistanceText(ticket, model.centre && model.centre.assistance);
      $("current-assist").textContent = help ? `Asked for help: ${help}` : "";
      $("current-assist").hidden = !help;
      // staff's note from issuing it at the console: for this adviser, never public
      $("current-note").textContent = ticket.note ? `Note: ${ticket.note}` : "";
      $("current-note").hidden = !ticket.note;
    }
    drawTimer(ticket);

    const allowed = R.legal(counter, ticket);
    const main = R.suggested(counter, ticket);
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
    drawBookingNotes(counter);
  }

  //: how many of the booking system's changes the desk lists
  const BOOKING_NOTES_SHOWN = 5;

  // The booking system's changes to bookings of this counter's services since the page
  // opened, newest first, in the server's words (docs/console.md, "Bookings changed").
  function drawBookingNotes(counter) {
    const takes = new Set([...counter.primary, ...counter.secondary]);
    const mine = model.bookingNotes.filter((note) => note.services.some((s) => takes.has(s)));
    $("booking-notes-panel").hidden = mine.length === 0;
    $("booking-notes").replaceChildren(
      ...mine.slice(0, BOOKING_NOTES_SHOWN).map((note) =>
        el("li", {}, el("span", { class: "when", text: clockTime(note.at) }), " ", note.message)),
    );
  }

  // a flag beside a waiting ticket whose visitor asked for help (docs/assistance.md)
  function assistMark(ticket) {
    const help = R.assistanceText(ticket, model.centre && model.centre.assistance);
    return help ? [el("span", { class: "mark mark-assist", text: `Help: ${help}` })] : [];
  }

  function drawTimer(ticket) {
    if (!ticket) return;
    const serving = ticket.state === "serving" && ticket.service_started_at;
    const since = serving ? ticket.service_started_at : ticket.called_at;
    $("timer-label").textContent = serving ? "In service for" : "Since called";
    $("timer").textContent = since ? R.duration(now() - R.ms(since)) : "";
  }

  function drawParked(counter) {
    const parked = myParked(counter);
    const list = $("parked");
    const focused = document.activeElement && document.activeElement.dataset.key;
    list.replaceChildren();
    $("parked-empty").hidden = parked.length > 0;
    $("parked-count").textContent = parked.length ? `(${parked.length})` : "";
    const idle = R.legal(counter, null).call_ticket && !counter.current_ticket;
    for (const ticket of parked) {
      const returnButton = el("button", {
        type: "button", class: "small", text: "Return", "data-key": `return:${ticket.id}`,
        disabled: model.busy, "aria-label": `Return ${ticket.number} to the queue`,
      });
      returnButton.addEventListener("click", () => C.actions.returnParked(ticket));
      const callButton = el("button", {
        type: "button", class: "small", text: "Call back…", "data-key": `callback:${ticket.id}`,
        disabled: model.busy || !idle, "aria-label": `Call back ${ticket.number}…`,
      });
      callButton.addEventListener("click", (event) => C.dialogs.openCallTicket(event.currentTarget, ticket.id, "The visitor is back"));
      const cancelButton = el("button", {
        type: "button", class: "small quiet", text: "Cancel…", "data-key": `cancel:${ticket.id}`,
        disabled: model.busy, "aria-label": `Cancel ${ticket.number}…`,
      });
      cancelButton.addEventListener("click", (event) => C.dialogs.openCancel(event.currentTarget, ticket));
      const reprintButton = el("button", {
        type: "button", class: "small quiet", text: "Reprint", "data-key": `reprint:${ticket.id}`,
        disabled: model.busy, "aria-label": `Reprint ticket ${ticket.number}`,
      });
      reprintButton.addEventListener("click", () => C.actions.reprintTicket(ticket));
      list.append(el("li", { "data-number": ticket.number },
        el("span", { class: "parked-number", text: ticket.number }),
        el("span", { class: "parked-what", text: `${ticket.service_name || serviceName(ticket.service)}, parked ${clockTime(ticket.state_since)}` }),
        el("span", { class: "parked-buttons" }, returnButton, callButton, reprintButton, cancelButton)));
    }
    restoreFocus(list, focused);
  }

  // A visitor this counter sent on: "call next" here passes over them until the time
  // shown, while another counter can take them (R.heldUntil, as the server decides).
  function heldMark(counter, ticket, at) {
    const until = R.heldUntil(counter, ticket, model.counters.values(), model.services.get(ticket.service), at);
    if (until === null) return null;
    return el("span", {
      class: "mark mark-held", "data-held": ticket.id,
      text: `you sent them on: Call next passes them over until ${clockTime(new Date(until).toISOString())}`,
    });
  }

  function drawWaiting(counter) {
    const queue = myQueue(counter);
    const body = $("waiting");
    const focused = document.activeElement && document.activeElement.dataset.key;
    const at = now();
    const idle = R.legal(counter, currentTicket(counter)).call_ticket;
    body.replaceChildren();
    for (const { ticket, rank } of queue) {
      const wait = waitInfo(ticket, at);
      const call = el("button", {
        type: "button", class: "small", text: "Call…", "data-key": `call:${ticket.id}`,
        disabled: model.busy || !idle, "aria-label": `Call ${ticket.number} out of turn…`,
      });
      call.addEventListener("click", (event) => C.dialogs.openCallTicket(event.currentTarget, ticket.id, ""));
      // a visitor who joined from a phone and is at the desk: staff say "I'm here"
      const here = R.away(ticket) ? el("button", {
        type: "button", class: "small", text: "Here", "data-key": `here:${ticket.id}`,
        disabled: model.busy, "aria-label": `${ticket.number}'s visitor is here`,
      }) : null;
      if (here) here.addEventListener("click", () => C.actions.visitorHere(ticket));
      body.append(el("tr", { "data-number": ticket.number, "data-id": ticket.id, class: `rank-${rank}` },
        el("th", { scope: "row", class: "number", text: ticket.number }),
        el("td", {},
          el("span", { text: ticket.service_name || serviceName(ticket.service) }),
          el("span", {
            class: `mark mark-${rank}${R.directed(ticket) ? " mark-direct" : ""}`,
            text: R.queueMark(ticket, rank),
          }),
          R.away(ticket) ? el("span", { class: "mark mark-away", text: "joined from a phone, not here yet" }) : null,
          heldMark(counter, ticket, at),
          ...assistMark(ticket)),
        el("td", { text: ticket.appointment_at ? clockTime(ticket.appointment_at) : "—" }),
        el("td", {}, el("span", {
          class: `wait wait-${wait.level}`, "data-wait": ticket.id, text: wait.text,
        })),
        el("td", { class: "call" }, here, here ? " " : null, call)));
    }
    // a long queue is held in part (counter-model.js): say how many more there are
    const more = counter ? C.model.notHeld([...counter.primary, ...counter.secondary]) : 0;
    $("waiting-empty").hidden = queue.length + more > 0;
    $("queue-count").textContent = `(${queue.length + more})`;
    $("waiting-more").hidden = more === 0;
    $("waiting-more").textContent = more
      ? `The oldest ${queue.length} are listed; ${more} more ${more === 1 ? "is" : "are"} waiting for your services.`
      : "";
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

  C.draw = { el, say, draw, tick };
})();
