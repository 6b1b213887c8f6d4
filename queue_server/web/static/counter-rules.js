// The counter console's rules, with no page, no model and no clock of their own: how
// long a queued ticket has waited against its standard, which tickets a counter may
// take and in what order, which actions are legal in a state, and the words for them.
// The other counter-*.js scripts draw and send; these only decide.
"use strict";

(function (global) {
  //: the council's appointment standard, until the snapshot says (centre.policy)
  const DEFAULT_APPOINTMENT_STANDARD_MINUTES = 10;
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

  // A counter holding a visitor only called (not yet at the desk) says "Called".
  function counterStateName(counter, ticket) {
    if (counter.state === "serving" && ticket && ticket.state === "called") return "Called";
    return COUNTER_STATES[counter.state] || counter.state;
  }

  const ms = (iso) => (iso ? Date.parse(iso) : NaN);

  function duration(milliseconds) {
    const total = Math.max(0, Math.floor(milliseconds / 1000));
    const h = Math.floor(total / 3600);
    const m = Math.floor((total % 3600) / 60);
    const s = String(total % 60).padStart(2, "0");
    return h ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`;
  }

  const minutes = (milliseconds) => Math.max(0, Math.floor(milliseconds / 60000));
  const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;
  const formatMinutes = (m) => (Number.isInteger(m) ? String(m) : m.toFixed(1));

  // A service's target wait in minutes (the staff view gives minutes, older servers
  // seconds), or null when there is none.
  function targetMinutes(service) {
    if (!service) return null;
    if (service.target_wait_minutes !== undefined) return Number(service.target_wait_minutes);
    if (service.target_wait !== undefined) return Number(service.target_wait) / 60;  // seconds
    return null;
  }

  // ------------------------------------------------------------ waits

  function levelOf(waitedMs, standardMinutes) {
    const fraction = waitedMs / (standardMinutes * 60000);
    if (fraction > 1) return "over";
    if (fraction > 0.5) return "half";
    return "ok";
  }

  // How long a queued ticket has waited at `at` (ms) against its standard: a walk-in
  // against its service's target; a checked-in appointment not yet seen against the 10
  // minutes from its time (or its check-in, if later). The level is said in words as
  // well as shown in colour. `service` is the ticket's service (or undefined),
  // `appointmentMinutes` the centre's standard (or undefined), `clockTime(iso)` a time
  // as the page shows it. Returns {level: "early"|"ok"|"half"|"over", text}.
  function waitInfo(ticket, at, { service, appointmentMinutes, clockTime }) {
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
      const standard = appointmentMinutes ?? DEFAULT_APPOINTMENT_STANDARD_MINUTES;
      const level = levelOf(at - due, standard);
      const words = { ok: "within", half: "over half of", over: "over" }[level];
      return { level, text: `${late} min since due — ${words} the ${standard} min standard` };
    }
    const target = targetMinutes(service);
    const waitedMinutes = minutes(waited);
    if (!target) return { level: "ok", text: `${waitedMinutes} min` };
    const level = levelOf(waited, target);
    const words = { ok: "within target", half: "over half of target", over: "over target" }[level];
    return { level, text: `${waitedMinutes} min — ${words} ${formatMinutes(target)} min` };
  }

  // ------------------------------------------------------------ whose tickets

  // The tickets (a Map of id -> ticket) this counter may take: pinned to it, or unpinned
  // and for one of its services. Pinned first ("sent to you"), then primary, then
  // secondary; oldest first within each. Returns [{ticket, rank}], rank 0, 1 or 2.
  function queueFor(counter, tickets) {
    if (!counter) return [];
    const rank = (t) => (t.pinned_counter === counter.name ? 0 : counter.primary.includes(t.service) ? 1 : 2);
    return [...tickets.values()]
      .filter((t) => QUEUED.has(t.state))
      .filter((t) => (t.pinned_counter
        ? t.pinned_counter === counter.name
        : counter.primary.includes(t.service) || counter.secondary.includes(t.service)))
      .filter((t) => equippedFor(counter, t))
      .map((t) => ({ ticket: t, rank: rank(t) }))
      .sort((a, b) => a.rank - b.rank || queuedSince(a.ticket) - queuedSince(b.ticket)
        || a.ticket.seq - b.ticket.seq);
  }

  // As the core's Counter.equipped_for: the counter has every feature the visitor
  // needs, and an adviser speaking their language for "language:<code>"
  // (docs/assistance.md). A ticket it is not equipped for is not its to call next.
  function equippedFor(counter, ticket) {
    for (const need of ticket.needs || []) {
      const wanted = need.startsWith("language:")
        ? (counter.languages || []).includes(need.slice("language:".length))
        : (counter.features || []).includes(need);
      if (!wanted) return false;
    }
    return true;
  }

  // As the core's Ticket.queued_since: the arrival, less a priority visitor's head start
  const queuedSince = (ticket) => ms(ticket.arrival_at) - (ticket.head_start || 0) * 1000;

  // The tickets parked at this counter, longest parked first.
  function parkedAt(counter, tickets) {
    if (!counter) return [];
    return [...tickets.values()]
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
      // printed again on a kiosk (the server refuses a finished ticket, and says so
      // when no kiosk is connected)
      reprint_ticket: t !== null && !FINAL.has(t),
      open_counter: state === "closed",
      pause_counter: idleOpen,
      resume_counter: state === "paused",
      close_counter: (state === "open" || state === "paused") && !ticket,
      sign_out_counter: state === "closed",
      // a ticket for a visitor at the desk, whatever the counter is doing
      issue_for_visitor: counter !== null && counter !== undefined,
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

  // ------------------------------------------------------------ words

  // Who is at a counter, as the choice of counters says it to `me` (a name), and
  // whether I may take it.
  function occupancy(counter, me) {
    const state = COUNTER_STATES[counter.state].toLowerCase();
    if (!counter.staff) return { who: `Free (${state})`, free: true };
    if (counter.staff === me) return { who: `You (${state})`, free: true };
    if (counter.state === "closed") return { who: `${counter.staff} signed in, closed: you can take it over`, free: true };
    return { who: `Taken by ${counter.staff} (${state})`, free: false };
  }

  // What the desk says when no ticket is at it.
  function idleNote(counter) {
    return counter.state === "closed"
      ? "The counter is closed. Open it to start calling."
      : counter.state === "paused" ? "Paused: no tickets are sent to you until you resume."
        : "No ticket at this counter. Call the next one when you are ready.";
  }

  // The current ticket's line of details; `clockTime(iso)` as for waitInfo.
  function ticketDetails(ticket, clockTime) {
    const details = [];
    if (ticket.appointment_at) details.push(`Appointment at ${clockTime(ticket.appointment_at)}`);
    else details.push("Walk-in");
    details.push(`arrived ${clockTime(ticket.arrival_at)}`);
    if (ticket.recalls) details.push(`recalled ${plural(ticket.recalls, "time")}`);
    if (ticket.transfers) details.push(`transferred ${plural(ticket.transfers, "time")}`);
    if (ticket.language && ticket.language !== "en") details.push(`language: ${ticket.language}`);
    if (ticket.channel === "remote") details.push(ticket.here === false ? "joined from a phone, not here yet" : "joined from a phone");
    if (ticket.channel === "reception") {
      details.push(ticket.directed_to ? `issued at the console, sent to ${ticket.directed_to}` : "issued at the console");
    }
    return details.join(" · ");
  }

  // Sent straight to its counter at issue ("walk direct") and still pinned there: as
  // the core's Ticket.directed.
  function directed(ticket) {
    return Boolean(ticket.directed_to) && ticket.pinned_counter === ticket.directed_to
      && !ticket.first_called_at && QUEUED.has(ticket.state);
  }

  // Joined from a phone and not here yet: call next passes over it until someone says
  // "I'm here" (the visitor, or staff for them: the waiting list's Here button).
  const away = (ticket) => ticket.channel === "remote" && ticket.here === false && QUEUED.has(ticket.state);

  // The help a visitor asked for, by the centre's names for it ("I use a wheelchair"),
  // for the flag beside their ticket (docs/assistance.md); "" when none.
  function assistanceText(ticket, categories) {
    const codes = ticket.assistance || [];
    if (!codes.length) return "";
    const names = new Map((categories || []).map((a) => [a.code, a.name]));
    return codes.map((code) => names.get(code) || code).join("; ");
  }

  // As the core's Ticket.transferred_from: the counter that transferred the ticket
  // away, while it waits for any counter (not sent to a named one).
  const transferredFrom = (ticket) => (ticket.state === "transferred" && !ticket.pinned_counter ? ticket.counter : null);

  // As the core's may_take: pins, skills and what the visitor needs.
  function mayTake(counter, ticket) {
    if (!equippedFor(counter, ticket)) return false;
    if (ticket.pinned_counter) return ticket.pinned_counter === counter.name;
    return counter.primary.includes(ticket.service) || counter.secondary.includes(ticket.service);
  }

  // As the core's routing.held_back: a visitor this counter transferred away is not
  // called straight back to it by "call next" while another counter able to take them
  // is open, for at most their service's target wait from the transfer (docs/routing.md,
  // "Transferred away"). When that hold ends (ms), or null if the ticket is not held
  // from `counter` at `at`. `counters`: every counter (staff view); `service`: the
  // ticket's service view.
  function heldUntil(counter, ticket, counters, service, at) {
    if (!counter || transferredFrom(ticket) !== counter.name) return null;
    const target = targetMinutes(service);
    if (target === null) return null;
    const ends = ms(ticket.state_since) + target * 60000;
    if (!(at < ends)) return null;
    const open = (c) => c.state === "open" || c.state === "serving";
    return [...counters].some((c) => c.name !== counter.name && open(c) && mayTake(c, ticket)) ? ends : null;
  }

  // Why a queued ticket is in this counter's list, by its rank (see queueFor).
  function queueMark(ticket, rank) {
    if (rank === 0 && directed(ticket)) return "walk direct: sent to you";
    return rank === 0 ? (ticket.state === "transferred" ? "sent to you" : "yours, returned")
      : rank === 1 ? "main" : "also";
  }

  (global.WalkinCounter = global.WalkinCounter || {}).rules = {
    FINAL, QUEUED, OUTCOMES, OUTCOME_NAMES, COUNTER_STATES, TICKET_STATES, counterStateName,
    ms, duration, waitInfo, queueFor, parkedAt, legal, suggested,
    occupancy, idleNote, ticketDetails, queueMark, assistanceText, equippedFor, directed, away,
    mayTake, heldUntil,
  };
})(typeof window !== "undefined" ? window : globalThis);
