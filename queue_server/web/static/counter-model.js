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
    clockOffsetMs: 0,         // server time minus this machine's time
    counter: null,            // the counter I am signed in at (a name), once confirmed
    busy: false,              // a request from the buttons is on its way
    leaving: null,            // the counter I asked to leave (no "you were signed out")
  };
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
  }

  // The ticket, counter and service an event push carries.
  function takeEvent(message) {
    if (message.ticket) keepTicket(message.ticket);
    if (message.counter) state.counters.set(message.counter.name, message.counter);
    if (message.service && message.service.code) {
      const known = state.services.get(message.service.code) || {};
      state.services.set(message.service.code, { ...known, ...message.service });
    }
  }

  window.WalkinCounter.model = {
    state, now, clockTime, serviceName, myCounter, currentTicket, myQueue, myParked, waitInfo,
    takeSnapshot, takeEvent,
  };
})();
