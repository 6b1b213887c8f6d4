// What a board shows and announces, decided from the queue server's pushes. No I/O.
// The same rules as display_board/calls.py (read its docstring); one table of scenarios,
// tests/display_board/call_scenarios.json, checks both.
"use strict";

(function (global) {
  const REMEMBERED_CALLS = 2000;

  function numberPrefix(number) {
    const match = /^[^\d]*/.exec(number);
    return match ? match[0].replace(/^[-\s]+|[-\s]+$/g, "").toUpperCase() : "";
  }

  function clean(values) {
    if (!values) return null;
    const set = new Set(values.map((v) => v.trim().toLowerCase()).filter((v) => v));
    return set.size ? set : null;
  }

  function toCall(message) {
    return {
      call_id: String(message.call_id),
      number: String(message.number),
      counter: String(message.counter),
      at: String(message.at),
      atMs: Date.parse(message.at),
      recall: Number(message.recall || 0),
      language: String(message.language || "en"),
    };
  }

  class BoardState {
    // options: {counters: [names] | null, services: [codes] | null, history, announceWindowSeconds}
    constructor(options = {}) {
      this.counters = clean(options.counters);
      this.services = clean(options.services);
      this.history = options.history === undefined ? 6 : options.history;
      this.announceWindowMs = 1000 * (options.announceWindowSeconds === undefined ? 60 : options.announceWindowSeconds);
      // a board that moved from another of the centre's servers (failover.js): it has
      // announced every call up to this time, and announces newer ones in its first
      // snapshot as after any reconnection
      this.announcedUpToMs = options.announcedUpToMs || null;
      this.view = {
        latest: null, previous: [], waiting: {}, serviceNames: {}, counters: {},
        centreName: "", timezone: "", connected: false, unknownServices: [],
      };
      this.seen = new Set();
      this.seenOrder = [];
      this.snapshots = 0;
      this.prefixes = null;
    }

    // Returns {announce: [calls, oldest first], flash: bool, redraw: bool}.
    apply(message) {
      switch (message.type) {
        case "snapshot": return this.snapshot(message);
        case "call": return this.call(toCall(message));
        case "queue":
          this.queue(message);
          return { announce: [], flash: false, redraw: true };
        case "counters":
          this.view.counters = Object.fromEntries((message.counters || []).map((c) => [c.name, c.state]));
          return { announce: [], flash: false, redraw: true };
        default:
          return { announce: [], flash: false, redraw: false };
      }
    }

    connectionLost() {
      this.view.connected = false;
      return { announce: [], flash: false, redraw: true };
    }

    shows(call) {
      if (this.counters && !this.counters.has(call.counter.trim().toLowerCase())) return false;
      if (this.services) return (this.prefixes || new Set()).has(numberPrefix(call.number));
      return true;
    }

    // The time of the newest call this board has shown (ms), or null.
    newestCallMs() {
      const calls = (this.view.latest ? [this.view.latest] : []).concat(this.view.previous);
      return calls.length ? Math.max(...calls.map((c) => c.atMs)) : (this.announcedUpToMs || null);
    }

    snapshot(message) {
      const first = this.snapshots === 0 && this.announcedUpToMs === null;
      this.snapshots += 1;
      const centre = message.centre || {};
      this.view.centreName = String(centre.name || "");
      this.view.timezone = String(centre.timezone || "");
      this.learnServices(centre.services || []);
      this.view.counters = Object.fromEntries((centre.counters || []).map((c) => [c.name, c.state]));
      this.queue(message.queue || {});
      this.view.connected = true;

      const calls = (message.recent_calls || []).map(toCall);
      calls.sort((a, b) => b.atMs - a.atMs);
      const shown = this.newestPerTicket(calls.filter((c) => this.shows(c)));
      this.view.latest = shown.length ? shown[0] : null;
      this.view.previous = shown.slice(1, this.history + 1);

      const serverTime = message.server_time ? Date.parse(message.server_time) : NaN;
      const announce = [];
      for (const call of shown.slice().reverse()) {
        if (this.seen.has(call.call_id)) continue;
        this.remember(call.call_id);
        if (this.announcedUpToMs !== null && call.atMs <= this.announcedUpToMs) continue;
        const recent = !Number.isNaN(serverTime) && serverTime - call.atMs <= this.announceWindowMs;
        if (!first && recent) announce.push(call);
      }
      return { announce, flash: announce.length > 0, redraw: true };
    }

    call(call) {
      if (this.seen.has(call.call_id) || !this.shows(call)) {
        return { announce: [], flash: false, redraw: false };
      }
      this.remember(call.call_id);
      const shown = this.newestPerTicket(
        [call].concat(this.view.latest ? [this.view.latest] : [], this.view.previous));
      this.view.latest = shown[0];
      this.view.previous = shown.slice(1, this.history + 1);
      return { announce: [call], flash: true, redraw: true };
    }

    queue(message) {
      const waiting = message.waiting || {};
      const out = {};
      for (const [code, count] of Object.entries(waiting)) {
        if (!this.services || this.services.has(code.toLowerCase())) out[code] = Number(count);
      }
      this.view.waiting = out;
    }

    learnServices(services) {
      this.view.serviceNames = Object.fromEntries(services.map((s) => [s.code, s.name || s.code]));
      if (!this.services) {
        this.prefixes = null;
        return;
      }
      const byCode = new Map(services.map((s) => [String(s.code).toLowerCase(), String(s.prefix || "").toUpperCase()]));
      this.prefixes = new Set([...this.services].filter((c) => byCode.has(c)).map((c) => byCode.get(c)));
      this.view.unknownServices = [...this.services].filter((c) => !byCode.has(c)).sort();
    }

    newestPerTicket(calls) {
      const out = [];
      const numbers = new Set();
      for (const call of calls) {
        if (!numbers.has(call.number)) {
          numbers.add(call.number);
          out.push(call);
        }
      }
      return out;
    }

    remember(callId) {
      this.seen.add(callId);
      this.seenOrder.push(callId);
      while (this.seenOrder.length > REMEMBERED_CALLS) this.seen.delete(this.seenOrder.shift());
    }
  }

  global.WalkinBoardState = { BoardState, numberPrefix };
})(typeof window !== "undefined" ? window : globalThis);
