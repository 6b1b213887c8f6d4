// What the counter console asks of the server (through staff-client.js), and what it
// says when the server has done it: signing in at a counter and leaving it, and the
// desk's actions. Buttons are off while a request travels; the server decides, and its
// error messages are shown as they come.
"use strict";

(function () {
  const C = window.WalkinCounter;
  const { state: model, myCounter, currentTicket } = C.model;
  const CLIENT = "walkin-counter/1";
  //: the counter this tab works at, kept for a reload (sessionStorage: this tab only)
  const COUNTER_KEY = "walkin.counter.choice";
  const $ = (id) => document.getElementById(id);
  let conn = null;

  // Opens the page's one connection; `handlers` as for WalkinStaff.connect.
  function connect(handlers) {
    conn = WalkinStaff.connect({ client: CLIENT, ...handlers });
  }

  const signIn = (username, password) => conn.signIn(username, password);

  function signOut() {
    sessionStorage.removeItem(COUNTER_KEY);
    conn.signOut();
  }

  // ------------------------------------------------------------ my counter

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
    C.dialogs.closeDialogs();
  }

  function chooseCounter(name) {
    $("choose-error").textContent = "";
    model.busy = true;
    C.draw.draw();
    conn.request("sign_in_counter", { counter: name }).then(() => {
      sessionStorage.setItem(COUNTER_KEY, name);
      model.counter = name;
      $("action-error").textContent = "";
      C.draw.say(`Signed in at ${name}.`);
    }, (error) => {
      sessionStorage.removeItem(COUNTER_KEY);
      model.counter = null;
      $("choose-error").textContent = `Could not sign in at ${name}: ${error.message}`;
    }).finally(() => {
      model.busy = false;
      C.draw.draw();
      if (model.counter) focusMain();
    });
  }

  function focusMain() {
    const counter = myCounter();
    const main = document.querySelector("#console [data-action].primary:not([disabled]):not([hidden])");
    if (counter && main && !C.dialogs.dialogIsOpen()) main.focus();
  }

  // ------------------------------------------------------------ requests

  // One request from the console: buttons off while it travels, the server's error
  // shown in `errorBox` (the dialog's own, or the one under the buttons).
  function send(type, fields, { errorBox = $("action-error"), done = null } = {}) {
    const counter = myCounter();
    if (!counter) return Promise.resolve(null);
    errorBox.textContent = "";
    if (errorBox !== $("action-error")) $("action-error").textContent = "";
    model.busy = true;
    C.draw.draw();
    return conn.request(type, fields).then((reply) => {
      if (done) done(reply);
      return reply;
    }, (error) => {
      errorBox.textContent = error.message || "The request failed.";
      return null;
    }).finally(() => {
      model.busy = false;
      C.draw.draw();
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
        C.draw.say(messages[action] ? messages[action](reply) : "Done.");
        if (action === "sign_out_counter") leaveCounter("");
      },
    }).then(() => {
      model.leaving = null;
      focusMain();
    });
  }

  function returnParked(ticket) {
    send("return_parked", { ticket: ticket.id }, {
      done: () => C.draw.say(`${ticket.number} is back in the queue for ${model.counter}.`),
    });
  }

  // Print the visitor's ticket again on a kiosk (the server picks the one that issued
  // it, else any connected one), marked REPRINT and audited; the reply names the kiosk.
  function reprintTicket(ticket) {
    if (!ticket) return;
    send("reprint_ticket", { ticket: ticket.id, reason: "visitor_asked" }, {
      done: (reply) => C.draw.say(`${ticket.number} is being printed again at ${reply.kiosk}.`),
    });
  }

  // Staff say "I'm here" for a visitor who joined from a phone and is at the desk
  // (here_for_visitor, audited as theirs): call next may call them from now.
  function visitorHere(ticket) {
    send("here_for_visitor", { ticket: ticket.id }, {
      done: (reply) => C.draw.say(reply.already
        ? `${ticket.number} was already marked here.`
        : `${ticket.number} is here: they will be called in their place.`),
    });
  }

  C.actions = {
    connect, signIn, signOut, settleCounter, leaveCounter, chooseCounter, focusMain, send,
    counterAction, returnParked, reprintTicket, visitorHere,
    // a request with no buttons to hold (the snapshot the page asks for again)
    request: (type, fields) => conn.request(type, fields || {}),
  };
})();
