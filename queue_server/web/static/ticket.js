// The visitor's ticket status page (/t/<id>), live. The server has already drawn the
// status into the page (queue_server/web/ticket_page.py); this keeps it current: it
// opens /ws, says hello with the ticket id from the address, and redraws from every
// `ticket_status` the server sends (docs/ticket-status.md). Its own small client, not
// staff-client.js: a visitor has no sign-in, no session and sends nothing but pings.
//
// `wording` must say what ticket_page.py `wording` says (the tests compare them).
//
// document.body.dataset.live: "connecting", "live", "reconnecting", or "stopped" (the
// ticket is finished, or the server no longer knows it: nothing more will change).
"use strict";

(function () {
  const TICKET_ID = /^[A-Za-z0-9_-]{16,64}$/;
  const CLIENT = "walkin-ticket-page/1";
  const MIN_BACKOFF_MS = 1000;
  const MAX_BACKOFF_MS = 30000;
  //: a phone that changed networks may hold a dead socket for minutes: ask now and then
  const PING_EVERY_MS = 25000;
  const PING_TIMEOUT_MS = 10000;
  const FINAL = new Set(["done", "no_show", "cancelled"]);
  //: hello refusals that a retry cannot fix (docs/protocol.md, errors)
  const FOREVER = new Set(["not_found", "not_authenticated", "forbidden", "invalid_request"]);

  const body = document.body;
  const $ = (id) => document.getElementById(id);
  const timezone = body.dataset.timezone || undefined;

  // ------------------------------------------------------------ the words

  const WEEKDAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];
  const MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
    "September", "October", "November", "December"];

  // The centre's local date of an ISO timestamp: {weekday 0-6, day, month 1-12, year}.
  function localDate(iso) {
    const parts = {};
    const format = new Intl.DateTimeFormat("en-GB", {
      timeZone: timezone, year: "numeric", month: "numeric", day: "numeric",
    });
    for (const part of format.formatToParts(new Date(iso))) parts[part.type] = Number(part.value);
    // the weekday of that calendar date (UTC noon: no time zone can move it)
    const weekday = new Date(Date.UTC(parts.year, parts.month - 1, parts.day, 12)).getUTCDay();
    return { weekday, day: parts.day, month: parts.month, year: parts.year };
  }

  function longDate(iso) {
    const d = localDate(iso);
    return `${WEEKDAYS[d.weekday]} ${d.day} ${MONTHS[d.month - 1]} ${d.year}`;
  }

  function clockTime(iso) {
    return new Intl.DateTimeFormat("en-GB", {
      timeZone: timezone, hour: "2-digit", minute: "2-digit", hourCycle: "h23",
    }).format(new Date(iso));
  }

  function waitText(minutes, reason) {
    if (minutes === null || minutes === undefined) {
      if (reason === "beyond_horizon") {
        return "No time estimate: the wait is longer than we can estimate today.";
      }
      return "No time estimate: no counter for this service is open right now.";
    }
    if (minutes < 1) return "Estimated wait: less than a minute.";
    return `Estimated wait: about ${minutes} minute${minutes === 1 ? "" : "s"}.`;
  }

  // {state, title, call, headline, detail} for one ticket_status message.
  function wording(s) {
    const number = s.number;
    if (!s.today) {
      return {
        state: "earlier-day",
        title: `Ticket ${number}: not valid today`,
        call: "",
        headline: `This ticket was for ${longDate(s.issued_at)}.`,
        detail: "Tickets are valid on the day they are issued. " +
          "Please take a new ticket at the kiosk if you need help today.",
      };
    }
    if (s.waiting) {
      const ahead = s.people_ahead || 0;
      const headline = ahead === 0 ? "You are next."
        : ahead === 1 ? "1 person ahead of you."
          : `${ahead} people ahead of you.`;
      return {
        state: "waiting",
        title: `Ticket ${number}: ${headline.slice(0, -1)}`,
        call: "",
        headline,
        detail: waitText(s.minutes, s.no_estimate_reason),
      };
    }
    const counter = s.counter;
    switch (s.state) {
      case "called": {
        const where = counter || "the counter";
        return {
          state: "called",
          title: `Go to ${where} now: ticket ${number}`,
          call: `Please go to ${where} now.`,
          headline: "",
          detail: `Your number ${number} has been called.`,
        };
      }
      case "serving":
        return {
          state: "serving", title: `Ticket ${number}: being seen`, call: "",
          headline: `You are being seen${counter ? ` at ${counter}` : ""}.`, detail: "",
        };
      case "parked":
        return {
          state: "parked", title: `Ticket ${number}: on hold`, call: "",
          headline: "Your ticket is on hold.",
          detail: "An adviser will call your number again when you are ready. Please stay nearby.",
        };
      case "done":
        return {
          state: "done", title: `Ticket ${number}: dealt with`, call: "",
          headline: "This ticket has been dealt with.", detail: "Thank you for visiting.",
        };
      case "no_show":
        return {
          state: "no_show", title: `Ticket ${number}: missed`, call: "",
          headline: "Your number was called, but you did not come to the counter.",
          detail: "If you still need help, please ask at reception.",
        };
      default:
        return {
          state: "cancelled", title: `Ticket ${number}: cancelled`, call: "",
          headline: "This ticket has been cancelled.",
          detail: "If you still need help, please ask at reception.",
        };
    }
  }

  // ------------------------------------------------------------ drawing

  let lastCall = null;  // called_at of the call last shown (a recall has a new one)

  // Set an element's text only when it changes, so a live region speaks only news.
  function setText(element, text) {
    if (element && element.textContent !== text) element.textContent = text;
  }

  function draw(status) {
    const said = wording(status);
    body.dataset.state = said.state;
    document.title = `${said.title} – ${status.centre}`;
    setText($("number"), status.number);
    setText($("service"), status.service_name);
    setText($("headline"), said.headline);
    setText($("detail"), said.detail);
    const time = $("as-of") && $("as-of").querySelector("time");
    if (time) {
      time.dateTime = status.as_of;
      setText(time, clockTime(status.as_of));
    }
    const callAt = said.call ? status.called_at : null;
    const call = $("call");
    if (callAt && callAt !== lastCall && call) {
      // a new call or a recall: said again even if the words are the same
      call.textContent = "";
      setTimeout(() => {
        if (lastCall === callAt) call.textContent = said.call;  // not if it moved on since
      }, 50);
      if (lastCall !== undefined) buzz();
    } else if (!said.call) {
      setText(call, "");
    }
    lastCall = callAt;
  }

  function buzz() {
    try {
      if (navigator.vibrate) navigator.vibrate([400, 200, 400]);
    } catch (_) { /* not allowed here: the words are enough */ }
  }

  function setLive(state, text) {
    body.dataset.live = state;
    setText($("connection"), text);
  }

  // ------------------------------------------------------------ the connection

  function connect(ticketId) {
    let backoff = MIN_BACKOFF_MS;
    let socket = null;
    let retryTimer = null;
    let pingTimer = null;
    let pongTimer = null;
    let pingId = 0;
    let stopped = false;

    function open() {
      clearTimeout(retryTimer);
      retryTimer = null;
      if (stopped) return;
      const ws = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`);
      socket = ws;
      let welcomed = false;
      ws.onopen = () => {
        ws.send(JSON.stringify({ type: "hello", ticket: ticketId, client: CLIENT }));
      };
      ws.onmessage = (frame) => {
        let message;
        try { message = JSON.parse(frame.data); } catch (_) { return; }
        if (message.type === "welcome") {
          welcomed = true;
          backoff = MIN_BACKOFF_MS;
          setLive("live", "Updates automatically");
          startPinging(ws);
        } else if (message.type === "ticket_status") {
          draw(message);
          if (!message.today || FINAL.has(message.state)) stop("");
        } else if (message.type === "ok") {
          clearTimeout(pongTimer);
        } else if (message.type === "error" && !welcomed) {
          if (FOREVER.has(message.code)) stop("Not updating. Refresh the page to try again.");
        }
      };
      ws.onclose = () => {
        if (socket !== ws) return;
        socket = null;
        stopPinging();
        if (stopped) return;
        setLive("reconnecting", "Reconnecting…");
        retryTimer = setTimeout(open, backoff * (0.75 + Math.random() / 2));
        backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
      };
    }

    function startPinging(ws) {
      stopPinging();
      pingTimer = setInterval(() => {
        if (ws.readyState !== WebSocket.OPEN) return;
        pingId += 1;
        ws.send(JSON.stringify({ type: "ping", id: pingId }));
        clearTimeout(pongTimer);
        pongTimer = setTimeout(() => ws.close(), PING_TIMEOUT_MS);
      }, PING_EVERY_MS);
    }

    function stopPinging() {
      clearInterval(pingTimer);
      clearTimeout(pongTimer);
    }

    // Nothing more will change (or nothing can be known): close and stay closed.
    function stop(text) {
      stopped = true;
      clearTimeout(retryTimer);
      stopPinging();
      setLive("stopped", text);
      if (socket) {
        const ws = socket;
        socket = null;
        ws.close();
      }
    }

    // A phone wakes the page after minutes asleep: reconnect now, not at the backoff.
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible" && !socket && !stopped) {
        backoff = MIN_BACKOFF_MS;
        open();
      }
    });
    window.addEventListener("online", () => {
      if (!socket && !stopped) { backoff = MIN_BACKOFF_MS; open(); }
    });

    setLive("connecting", "Updating…");
    open();
  }

  // ------------------------------------------------------------ start

  window.walkinTicket = { wording };
  const state = body.dataset.state;
  const ticketId = decodeURIComponent(location.pathname.slice("/t/".length));
  if (!TICKET_ID.test(ticketId) || !$("number")) return;  // the 404 page: nothing to follow
  // a page drawn as called: its call is already on screen; buzz only for new ones
  lastCall = state === "called" ? undefined : null;
  if (state === "done" || state === "no_show" || state === "cancelled" || state === "earlier-day") {
    body.dataset.live = "stopped";
    return;
  }
  connect(ticketId);
})();
