// The visitor's ticket status page (/t/<id>), live. The server has already drawn the
// status into the page (queue_server/web/ticket_page.py); this keeps it current: it
// opens /ws, says hello with the ticket id from the address, and redraws from every
// `ticket_status` the server sends (docs/ticket-status.md). Its own small client, not
// staff-client.js: a visitor has no sign-in, no session and sends nothing but pings.
//
// It makes no words of its own: each push carries the page's words in the visitor's
// language (queue_server/status_words.py), the ones the server drew the page with.
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

  // The words come with each push (ticket_status.words), in the visitor's language,
  // made by the server (queue_server/status_words.py): this script only shows them.
  // The connection line's words are on the page (data-live-*), in the same language.
  const liveText = (key) => body.dataset[`live${key[0].toUpperCase()}${key.slice(1)}`] || "";

  // ------------------------------------------------------------ drawing

  let lastCall = null;  // called_at of the call last shown (a recall has a new one)

  // Set an element's text only when it changes, so a live region speaks only news.
  function setText(element, text) {
    if (element && element.textContent !== text) element.textContent = text;
  }

  function draw(status) {
    const said = status.words;
    body.dataset.state = said.state;
    document.title = `${said.title} – ${status.centre}`;
    setText($("number"), status.number);
    // the name in its own language and direction (English where the centre has none
    // in the visitor's), with "(in English)" then
    const name = $("service-name");
    if (name) {
      setText(name, status.service_name);
      if (name.lang !== said.service_lang) name.lang = said.service_lang;
      if (name.dir !== said.service_dir) name.dir = said.service_dir;
    }
    setText($("service-note"), said.service_note);
    setText($("appointment"), said.appointment);
    setText($("headline"), said.headline);
    setText($("detail"), said.detail);
    const time = $("as-of") && $("as-of").querySelector("time");
    if (time) {
      time.dateTime = status.as_of;
      setText(time, said.updated);
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
    const backoff = WalkinBackoff.create(MIN_BACKOFF_MS, MAX_BACKOFF_MS);
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
          backoff.reset();
          WalkinFailover.served();
          setLive("live", liveText("live"));
          startPinging(ws);
        } else if (message.type === "ticket_status") {
          if (message.state === "done" && body.dataset.feedback === "ask") {
            // the visit is over: the server draws the page again with its question
            // ("How satisfied were you...?"), a plain form that needs no script
            stop("");
            location.reload();
            return;
          }
          draw(message);
          if (!message.today || FINAL.has(message.state)) stop("");
        } else if (message.type === "ok") {
          clearTimeout(pongTimer);
        } else if (message.type === "error" && !welcomed) {
          if (FOREVER.has(message.code)) stop(liveText("stopped"));
        }
      };
      ws.onclose = () => {
        if (socket !== ws) return;
        socket = null;
        stopPinging();
        if (stopped) return;
        setLive("reconnecting", liveText("reconnecting"));
        if (WalkinFailover.failed()) return;  // moving to the server that took over
        retryTimer = setTimeout(open, backoff.nextDelay());
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
        backoff.reset();
        open();
      }
    });
    window.addEventListener("online", () => {
      if (!socket && !stopped) { backoff.reset(); open(); }
    });

    setLive("connecting", liveText("connecting"));
    open();
  }

  // ------------------------------------------------------------ start

  const state = body.dataset.state;
  const ticketId = decodeURIComponent(location.pathname.slice("/t/".length));
  if (!TICKET_ID.test(ticketId) || !$("number")) return;  // the 404 page: nothing to follow
  // a page drawn as called: its call is already on screen; buzz only for new ones
  lastCall = state === "called" ? undefined : null;
  if (state === "done" || state === "no_show" || state === "cancelled" || state === "earlier-day") {
    body.dataset.live = "stopped";
    return;
  }
  WalkinFailover.learn();
  connect(ticketId);
})();
