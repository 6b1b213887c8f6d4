// What every part of the manager dashboard shares: its state (the connection, who is
// signed in, the snapshot's centre, the last dashboard), the centre's names, clock and
// time zone, messages, and the helpers that build elements and update tables row by row.
"use strict";

(function () {
  const state = {
    conn: null,
    role: null,
    name: null,
    centre: null,           // the snapshot's centre: services, counters, time zone
    dashboard: null,
    clockOffsetMs: 0,       // server time minus this browser's time
    asking: false,
    askAgain: false,
    settleTimer: null,
    refreshTimer: null,
    historyLoaded: false,
    skillsCounter: null,
    skillsDirty: false,
  };
  const $ = (id) => document.getElementById(id);

  function el(tag, attributes = {}, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes)) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "text") node.textContent = value;
      else node.setAttribute(name, value === true ? "" : String(value));
    }
    for (const child of children) {
      if (child !== null && child !== undefined) node.append(child);
    }
    return node;
  }

  function setState(name) { document.body.dataset.state = name; }

  function say(id, text) { $(id).textContent = text || ""; }

  function errorText(error) {
    if (!error) return "Something went wrong.";
    let text = error.message || String(error);
    const retry = error.details && error.details.retry_after_seconds;
    if (retry) text += ` Try again in ${Math.ceil(retry)} seconds.`;
    return text;
  }

  function serviceName(code) {
    const found = (state.centre ? state.centre.services : []).find((s) => s.code === code);
    return found ? found.name : code;
  }

  function services() { return state.centre ? state.centre.services : []; }

  function timeZone() { return (state.centre && state.centre.timezone) || undefined; }

  function clockTime(iso) {
    if (!iso) return "";
    return new Date(iso).toLocaleTimeString("en-GB", { timeZone: timeZone(), hour: "2-digit", minute: "2-digit" });
  }

  function serverNow() { return Date.now() + state.clockOffsetMs; }

  function minutesSince(iso) {
    if (!iso) return null;
    return Math.max(0, (serverNow() - Date.parse(iso)) / 60000);
  }

  // ------------------------------------------------------------------ keyed rows
  // Tables are updated row by row (never rebuilt), so a refresh keeps focus and what a
  // manager is typing.

  function syncRows(tbody, items, keyOf, make, update) {
    const existing = new Map([...tbody.rows].map((row) => [row.dataset.key, row]));
    items.forEach((item, index) => {
      const key = keyOf(item);
      let row = existing.get(key);
      if (!row) {
        row = make(item);
        row.dataset.key = key;
      }
      existing.delete(key);
      if (tbody.rows[index] !== row) tbody.insertBefore(row, tbody.rows[index] || null);
      update(row, item);
    });
    for (const row of existing.values()) row.remove();
  }

  function setCell(row, index, content) {
    const cell = row.cells[index];
    if (typeof content === "string") {
      if (cell.textContent !== content) cell.textContent = content;
    } else {
      cell.replaceChildren(content);
    }
  }

  function chip(kind, text) { return el("span", { class: `chip chip-${kind}`, text }); }

  (window.WalkinManager = window.WalkinManager || {}).page = {
    state, $, el, setState, say, errorText, serviceName, services, timeZone, clockTime, minutesSince,
    syncRows, setCell, chip,
  };
})();
