// A page whose queue server stops answering moves to the centre's server that is active
// now (issue 13: a standby took over). The centre lists its servers in its configuration
// ([servers] pages = ["https://queue-a…", "https://queue-b…"]); the page learns the list
// from its own server's /healthz when it loads, and, after its connection has failed
// twice in a row, asks each other server's /healthz (answered to any page: CORS) which is
// active, and opens the same page there. What the page must keep (a board's token, a
// counter's session, what a board has announced) goes along in the address's fragment,
// which is never sent to a server, and the page takes it from there at once.
//
//   WalkinFailover.learn();                        // at load
//   WalkinFailover.failed({token: "…"})            // after each failed connection:
//                                                  //   true when it is moving the page
//   WalkinFailover.served();                       // once connected
//   WalkinFailover.carried("session")              // at load: a value carried here, or null
"use strict";

window.WalkinFailover = (() => {
  const KEY = "walkin.servers";
  const FAILURES_BEFORE_LOOKING = 2;
  const ASK_TIMEOUT_MS = 3000;
  let failures = 0;
  let looking = false;
  let moving = false;
  // the fragment's carried values, taken out of the address bar at once
  const carriedValues = (() => {
    const hash = new URLSearchParams(location.hash.slice(1));
    const taken = {};
    for (const key of [...hash.keys()]) {
      if (key.startsWith("carry-")) {
        taken[key.slice(6)] = hash.get(key);
        hash.delete(key);
      }
    }
    if (Object.keys(taken).length) {
      const rest = hash.toString();
      history.replaceState(null, "", location.pathname + location.search + (rest ? `#${rest}` : ""));
    }
    return taken;
  })();

  function others() {
    let listed = [];
    try { listed = JSON.parse(sessionStorage.getItem(KEY) || "[]"); } catch (_) { listed = []; }
    return listed.filter((origin) => origin !== location.origin);
  }

  function learn() {
    return fetch("/healthz", { cache: "no-store" })
      .then((reply) => reply.json())
      .then((body) => {
        if (Array.isArray(body.servers)) sessionStorage.setItem(KEY, JSON.stringify(body.servers));
      })
      .catch(() => {});  // known from an earlier load of this tab, or none
  }

  async function activeElsewhere() {
    for (const origin of others()) {
      try {
        const controller = new AbortController();
        const timer = setTimeout(() => controller.abort(), ASK_TIMEOUT_MS);
        const reply = await fetch(`${origin}/healthz`, { cache: "no-store", signal: controller.signal });
        clearTimeout(timer);
        const body = await reply.json();
        if (body.role === "active") return origin;
      } catch (_) { /* down, or not a Walkin server: the next */ }
    }
    return null;
  }

  // After a failed connection: true when the page is being moved (stop reconnecting).
  function failed(carry = {}) {
    if (moving) return true;
    failures += 1;
    if (failures < FAILURES_BEFORE_LOOKING || looking || !others().length) return false;
    looking = true;
    activeElsewhere().then((origin) => {
      looking = false;
      if (!origin) return;
      moving = true;
      const hash = new URLSearchParams(location.hash.slice(1));
      for (const [key, value] of Object.entries(carry)) {
        if (value !== null && value !== undefined && value !== "") hash.set(`carry-${key}`, String(value));
      }
      location.replace(`${origin}${location.pathname}${location.search}#${hash}`);
    });
    return false;
  }

  function served() { failures = 0; }

  function carried(key) {
    return Object.prototype.hasOwnProperty.call(carriedValues, key) ? carriedValues[key] : null;
  }

  return { learn, failed, served, carried, get moving() { return moving; } };
})();
