// The staff pages' connection to the queue server (/counter, /manager): sign-in, the
// session, requests and replies, pushes, reconnecting with backoff.
//
//   const conn = WalkinStaff.connect({
//     client: "walkin-counter/1",
//     onWelcome(welcome)      // signed in: {role, name, session_expires_at}
//     onSnapshot(snapshot)    // after every (re)connection: the whole state
//     onPush(message)         // event, queue, device_status, ... (docs/protocol.md)
//     onStatus(text)          // "" when connected, else what is wrong ("Reconnecting ...")
//     onSignedOut(reason)     // no session (any more): show the sign-in form; reason is
//                             //   "" on first load, or a sentence to show the user
//   });
//   await conn.signIn(username, password)   // rejects with {code, message}
//   await conn.request("call_next", {counter: "Counter 1"})  // the ok reply, or rejects
//                                           //   with the error reply {code, message, details}
//   conn.signOut()
//
// Why a token in sessionStorage and not a cookie: the browser never sends it by itself,
// so another site cannot act through a signed-in browser (CSRF); it is gone when the tab
// closes; the server expires it after idle time and at a fixed age regardless.
"use strict";

(function () {
  const SESSION_KEY = "walkin.staff.session";
  const MIN_BACKOFF_MS = 250;
  const MAX_BACKOFF_MS = 10000;
  const REQUEST_TIMEOUT_MS = 15000;
  const PING_EVERY_MS = 20000;
  //: close codes the server uses when a session ends (docs/protocol.md)
  const SESSION_ENDED = 4401;

  function socketUrl() {
    return `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`;
  }

  function connect(handlers) {
    const on = {
      onWelcome() {}, onSnapshot() {}, onPush() {}, onStatus() {}, onSignedOut() {},
      ...handlers,
    };
    let ws = null;
    const backoff = WalkinBackoff.create(MIN_BACKOFF_MS, MAX_BACKOFF_MS);
    let retryTimer = null;
    let pingTimer = null;
    let nextId = 1;
    let pending = new Map();  // id -> {resolve, reject, timer}
    let signedIn = false;
    let stopped = false;

    function failPending(message) {
      for (const { reject, timer } of pending.values()) {
        clearTimeout(timer);
        reject({ code: "disconnected", message });
      }
      pending = new Map();
    }

    // Opens a socket and says hello; resolves with the welcome, rejects with the
    // error reply (or a "disconnected" error if the socket closed first).
    function open(hello) {
      clearTimeout(retryTimer);
      if (ws) { ws.onclose = null; ws.close(); failPending("Reconnecting."); }
      return new Promise((resolve, reject) => {
        const socket = new WebSocket(socketUrl());
        ws = socket;
        let welcomed = false;
        socket.onopen = () => socket.send(JSON.stringify({ type: "hello", client: on.client, ...hello }));
        socket.onmessage = (frame) => {
          let message;
          try { message = JSON.parse(frame.data); } catch { return; }
          if (!welcomed) {
            if (message.type === "welcome") {
              welcomed = true;
              backoff.reset();
              WalkinFailover.served();
              if (message.session) sessionStorage.setItem(SESSION_KEY, message.session);
              signedIn = true;
              on.onStatus("");
              startPinging();
              on.onWelcome(message);
              resolve(message);
            } else if (message.type === "error") {
              reject(message);
            }
            return;
          }
          dispatch(message);
        };
        socket.onclose = (close) => {
          stopPinging();
          if (ws !== socket) return;
          ws = null;
          failPending("The connection to the queue server was lost.");
          if (!welcomed) reject({ code: "disconnected", message: "Cannot reach the queue server." });
          closed(close);
        };
      });
    }

    function dispatch(message) {
      if (message.type === "ok" || message.type === "error") {
        const waiting = pending.get(message.re);
        if (!waiting) return;
        pending.delete(message.re);
        clearTimeout(waiting.timer);
        if (message.type === "ok") waiting.resolve(message); else waiting.reject(message);
      } else if (message.type === "snapshot") {
        on.onSnapshot(message);
      } else if (message.type === "session_expired") {
        // the close that follows (4401) signs the page out
      } else {
        on.onPush(message);
      }
    }

    function closed(close) {
      if (stopped) return;
      if (close.code === 1008 && !signedIn) return;  // a refused hello: open() rejected
      if (close.code === SESSION_ENDED || close.code === 1008) {
        // the server ended the session (expired, signed out elsewhere, revoked):
        // only a new sign-in helps
        forget();
        on.onSignedOut(close.reason || "Your session has ended. Please sign in again.");
        return;
      }
      if (!sessionStorage.getItem(SESSION_KEY)) return;
      // another of the centre's servers may have taken over: the page moves there with
      // its session (sessions are kept in the database, so it carries on signed in)
      if (WalkinFailover.failed({ session: sessionStorage.getItem(SESSION_KEY) })) return;
      const delay = backoff.nextDelay();
      on.onStatus(`Reconnecting to the queue server… (retrying in ${Math.round(delay / 1000) || 1} s)`);
      retryTimer = setTimeout(resume, delay);
    }

    function forget() {
      signedIn = false;
      sessionStorage.removeItem(SESSION_KEY);
    }

    // Reconnects with the stored session; a refused session means signing in again.
    function resume() {
      const session = sessionStorage.getItem(SESSION_KEY);
      if (!session) { on.onSignedOut(""); return; }
      open({ session }).catch((error) => {
        if (error.code === "not_authenticated") {
          forget();
          on.onSignedOut(error.message);
        }
        // otherwise the close handler has scheduled the next try
      });
    }

    function startPinging() {
      stopPinging();
      pingTimer = setInterval(() => {
        // a desk PC's network can drop without a close; a reply proves the link
        request("ping", {}).catch(() => { if (ws) ws.close(); });
      }, PING_EVERY_MS);
    }

    function stopPinging() { clearInterval(pingTimer); pingTimer = null; }

    function request(type, fields = {}) {
      if (!ws || ws.readyState !== WebSocket.OPEN || !signedIn) {
        return Promise.reject({ code: "disconnected", message: "Not connected to the queue server; it will reconnect by itself." });
      }
      const id = nextId++;
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          pending.delete(id);
          reject({ code: "timeout", message: "The queue server did not answer in time. Check the screen before trying again." });
        }, REQUEST_TIMEOUT_MS);
        pending.set(id, { resolve, reject, timer });
        ws.send(JSON.stringify({ type, id, ...fields }));
      });
    }

    function signIn(username, password) {
      stopped = false;
      forget();
      return open({ username, password });
    }

    function signOut() {
      const socket = ws;
      const done = () => {
        stopped = true;
        forget();
        if (socket) { socket.onclose = null; socket.close(); }
        if (ws === socket) ws = null;
        failPending("Signed out.");
        on.onSignedOut("You have signed out.");
      };
      request("sign_out").then(done, done);
    }

    on.client = handlers.client || "walkin-staff-page/1";
    // a session carried here from the centre's other server (failover.js)
    const carried = WalkinFailover.carried("session");
    if (carried) sessionStorage.setItem(SESSION_KEY, carried);
    WalkinFailover.learn();
    // start: resume a session this tab already has, or ask for a sign-in
    setTimeout(resume, 0);
    return { signIn, signOut, request, get signedIn() { return signedIn; } };
  }

  window.WalkinStaff = { connect, SESSION_KEY };
})();
