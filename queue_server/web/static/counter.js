// The counter console (/counter): an adviser signs in, chooses their counter, and calls,
// serves, transfers and completes visitors from their desk. docs/console.md describes it.
//
// Everything goes over the websocket through staff-client.js. The page keeps a copy of
// the centre (counters, services, live tickets) from the snapshot and replaces a
// ticket or counter whenever an event push carries it; it never guesses a change from
// its own requests. Buttons are enabled when the action is legal in the state shown,
// but the server decides: its error messages are shown as they come.
//
// The page's scripts share one global, WalkinCounter, loaded in this order (each is
// deferred, so they run in order once the page is parsed):
//   counter-rules.js    .rules    waits against targets, legal actions, words (no page)
//   counter-model.js    .model    the copy of the centre, and questions about it
//   counter-draw.js     .draw     the page drawn from the model; the ticking timer
//   counter-actions.js  .actions  requests to the server, and signing in at a counter
//   counter-dialogs.js  .dialogs  call out of turn, complete, transfer, cancel, issue
//                                 a ticket for a visitor
//   counter.js (this)            the server's messages, the keyboard, and start
"use strict";

(function () {
  const C = window.WalkinCounter;
  const { state: model, myCounter, currentTicket } = C.model;
  const { draw, say, tick } = C.draw;
  const actions = C.actions;
  //: single-key shortcuts can be turned off (WCAG 2.1.4); remembered on this desk
  const SHORTCUTS_KEY = "walkin.counter.shortcuts";
  const TICK_MS = 1000;
  //: single keys -> the button they press
  const SHORTCUTS = {
    n: "act-call-next", r: "act-recall", s: "act-start", c: "act-complete",
    x: "act-no-show", t: "act-transfer", k: "act-park", o: "act-open", p: ["act-pause", "act-resume"],
    i: "act-issue",
  };
  const $ = (id) => document.getElementById(id);

  function setState(state) { document.body.dataset.state = state; }

  // ------------------------------------------------------------ the server's messages

  function takeSnapshot(snapshot) {
    C.model.takeSnapshot(snapshot);
    actions.settleCounter();
    draw();
    setState("ready");
  }

  // A long queue is held in part: once the part held runs short, ask for it again
  // (one request at a time; pushes go on being applied meanwhile).
  let refreshing = false;
  function refreshIfShort() {
    if (refreshing || !C.model.runningShort()) return;
    refreshing = true;
    actions.request("snapshot")
      .then((reply) => takeSnapshot(reply.snapshot))
      .catch(() => {})  // the next push tries again; a reconnection sends one anyway
      .finally(() => { refreshing = false; });
  }

  function takePush(message) {
    if (message.type === "queue") {  // the counts of a list held in part
      C.model.takeQueue(message);
      if (Object.keys(model.leftOut).length) {
        draw();
        refreshIfShort();
      }
      return;
    }
    if (message.type !== "event") return;  // device_status etc.: the tickets say it all
    const before = myCounter();
    const beforeTicket = before ? before.current_ticket : null;
    C.model.takeEvent(message);
    if (model.counter) {
      const counter = model.counters.get(model.counter);
      if (!counter || counter.staff !== model.me.name) {
        const asked = model.leaving === model.counter;
        const who = counter && counter.staff ? ` ${counter.staff} is there now.` : "";
        actions.leaveCounter(asked ? "" : `You are no longer signed in at ${model.counter}.${who} Choose a counter.`);
      } else if (counter.current_ticket && counter.current_ticket !== beforeTicket) {
        const ticket = currentTicket(counter);
        if (ticket) say(`Calling ${ticket.number} (${ticket.service_name}) to ${counter.name}.`);
      }
    }
    draw();
  }

  function showSignedOut(reason) {
    model.me = null;
    model.counter = null;
    C.dialogs.closeDialogs();
    $("signed-out-note").textContent = reason || "";
    draw();
    setState("signed-out");
  }

  // ------------------------------------------------------------ keyboard

  function typing(target) {
    if (!target || !(target instanceof Element)) return false;
    return Boolean(target.closest("input, select, textarea, [contenteditable=''], [contenteditable='true']"));
  }

  function onKey(event) {
    if (event.defaultPrevented || event.ctrlKey || event.altKey || event.metaKey || event.repeat) return;
    if (!$("shortcuts-on").checked || $("console").hidden || C.dialogs.dialogIsOpen()) return;
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

  function setUpShortcuts() {
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
  }

  // ------------------------------------------------------------ start

  function start() {
    C.dialogs.setUpDialogs();
    for (const button of document.querySelectorAll("#console [data-action]")) {
      const action = button.dataset.action;
      button.addEventListener("click", (event) => {
        if (action === "call_ticket") C.dialogs.openCallTicket(event.currentTarget, "", "");
        else if (action === "complete") C.dialogs.openComplete(event.currentTarget);
        else if (action === "transfer") C.dialogs.openTransfer(event.currentTarget);
        else if (action === "issue_for_visitor") C.dialogs.openIssue(event.currentTarget);
        else if (action === "reprint_ticket") actions.reprintTicket(currentTicket(myCounter()));
        else actions.counterAction(action);
      });
    }
    setUpShortcuts();

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
      actions.signIn(username, password).then(() => {
        $("password").value = "";
        $("signed-out-note").textContent = "";
      }, (error) => {
        setState("signed-out");
        errorBox.textContent = error.message || "Could not sign in.";
      });
    });
    $("sign-out").addEventListener("click", actions.signOut);

    actions.connect({
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

  start();
})();
