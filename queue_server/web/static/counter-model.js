// The counter console's copy of the centre (counters, services, live tickets), taken
// from the snapshot and replaced one ticket or counter at a time as event pushes carry
// them; it never guesses a change from the page's own requests. Also the server's
// clock and the centre's time zone, and the questions the page asks of the copy.
"use strict";

(function () {
  const R = window.WalkinCounter.rules;

  const state = {
    me: null,                 // {name, role}
    centre: null,             // the snapshot's centre (name, timezone, ...)
    services: new Map(),      // code -> service view
    counters: new Map(),      // name -> counter (staff view)
    tickets: new Map(),       // id -> ticket (staff view), live ones only
    // A long queue is sent in part: each service's oldest `window`, and how many more
    // each service had (`leftOut`, {} when the list is whole); `waiting` is each
    // service's count from the latest queue push, so the page can say how many more.
    window: 0,
    leftOut: {},
    waiting: {},
    clockOffsetMs: 0,         // server time minus this machine's time
    counter: null,            // the counter I am signed in at (a name), once confirmed
    busy: false,              // a request from the buttons is on its way
    leaving: null,            // the counter I asked to leave (no "you were signed out")
    // what the booking system changed since this page opened, newest first (at most
    // BOOKING_NOTES_KEPT): {at, message, services} from the events' words
    bookingNotes: [],
  };
  const BOOKING_NOTES_KEPT = 20;
  const BOOKING_EVENTS = new Set(["appointment_booked", "appointment_changed", "appointment_cancelled"]);
  let timeFormat = null;

  const now = () => Date.now() + state.clockOffsetMs;

  function clockTime(iso) {
    if (!iso) return "";
    return timeFormat ? timeFormat.format(new Date(iso)) : new Date(iso).toLocaleTimeString();
  }

  const serviceName = (code) => (state.services.get(code) || { name: code }).name;
  const myCounter = () => (state.counter ? state.counters.get(state.counter) || null : null);
  const currentTicket = (counter) =>
    (counter && counter.current_ticket ? state.tickets.get(counter.current_ticket) || null : null);
  const myQueue = (counter) => R.queueFor(counter, state.tickets);
  const myParked = (counter) => R.parkedAt(counter, state.tickets);

  function waitInfo(ticket, at) {
    return R.waitInfo(ticket, at, {
      service: state.services.get(ticket.service),
      appointmentMinutes: state.centre?.policy?.appointment_standard_minutes,
      clockTime,
    });
  }

  function keepTicket(ticket) {
    if (R.FINAL.has(ticket.state)) state.tickets.delete(ticket.id);
    else state.tickets.set(ticket.id, ticket);
  }

  // The whole centre, after every (re)connection.
  function takeSnapshot(snapshot) {
    state.clockOffsetMs = R.ms(snapshot.server_time) - Date.now() || 0;
    state.centre = snapshot.centre;
    try {
      timeFormat = new Intl.DateTimeFormat("en-GB", {
        hour: "2-digit", minute: "2-digit", timeZone: snapshot.centre.timezone,
      });
    } catch {
      timeFormat = new Intl.DateTimeFormat("en-GB", { hour: "2-digit", minute: "2-digit" });
    }
    state.services = new Map(snapshot.centre.services.map((s) => [s.code, s]));
    state.counters = new Map(snapshot.centre.counters.map((c) => [c.name, c]));
    state.tickets = new Map();
    for (const ticket of snapshot.tickets || []) keepTicket(ticket);
    state.window = snapshot.tickets_window || 0;
    state.leftOut = snapshot.tickets_left_out || {};
    state.waiting = (snapshot.queue && snapshot.queue.waiting) || {};
  }

  // Each service's waiting count (a queue push, after every change).
  function takeQueue(message) {
    state.waiting = message.waiting || {};
  }

  // How many of a service's queued tickets the page holds.
  function held(code) {
    let count = 0;
    for (const t of state.tickets.values()) if (t.service === code && R.QUEUED.has(t.state)) count += 1;
    return count;
  }

  // For a list sent in part: how many of `services`' queue the page does not hold
  // (the server's count less the queued tickets held), 0 when the list is whole.
  function notHeld(services) {
    let more = 0;
    for (const code of services) {
      if (state.leftOut[code]) more += Math.max(0, (state.waiting[code] || 0) - held(code));
    }
    return more;
  }

  // Whether the part held has run short (half the window, or fewer than are waiting):
  // time to ask for a fresh snapshot.
  function runningShort() {
    return Object.keys(state.leftOut).some((code) => {
      const count = held(code);
      return count < state.window / 2 && count < (state.waiting[code] || 0);
    });
  }

  // The ticket, counter and service an event push carries; a booking's change in the
  // server's words (the dashboard's), with the services it touches.
  function takeEvent(message) {
    if (BOOKING_EVENTS.has(message.kind) && message.message && message.appointment) {
      const services = [message.appointment.service];
      if (message.from_service && message.from_service !== message.appointment.service) {
        services.push(message.from_service);
      }
      state.bookingNotes.unshift({ at: message.at, message: message.message, services });
      state.bookingNotes.length = Math.min(state.bookingNotes.length, BOOKING_NOTES_KEPT);
    }
    if (message.ticket) keepTicket(message.ticket);
    if (message.counter) state.counters.set(message.counter.name, message.counter);
    if (message.service && message.service.code) {
      const known = state.services.get(message.service.code) || {};
      state.services.set(message.service.code, { ...known, ...message.service });
    }
  }

  window.WalkinCounter.model = {
    state, now, clockTime, serviceName, myCounter, currentTicket, myQueue, myParked, waitInfo,
    takeSnapshot, takeEvent, takeQueue, notHeld, runningShort,
  };
})();
