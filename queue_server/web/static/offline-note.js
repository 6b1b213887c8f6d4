// The centre ran offline today (issue 13 item 4): one plain sentence from the snapshot's
// "offline" (or an "offline" push) for the board and the manager's dashboard:
// "Ran offline today 10:30–10:31 (1 min): 14 tickets issued while the server was away."
(function () {
  "use strict";

  function clock(iso, timeZone) {
    const when = new Date(iso);
    const options = { hour: "2-digit", minute: "2-digit" };
    try {
      return when.toLocaleTimeString("en-GB", { ...options, timeZone });
    } catch (error) {  // an unknown zone: the screen's own
      return when.toLocaleTimeString("en-GB", options);
    }
  }

  function length(seconds) {
    if (seconds < 60) return `${seconds} s`;
    const minutes = Math.round(seconds / 60);
    if (minutes < 60) return `${minutes} min`;
    return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
  }

  // summary: {spans: [{since, until}], seconds, tickets, kiosks}; "" when there is none
  function sentence(summary, timeZone) {
    if (!summary || !summary.spans || !summary.spans.length) return "";
    const spans = summary.spans.map((s) => `${clock(s.since, timeZone)}–${clock(s.until, timeZone)}`);
    const tickets = summary.tickets === 1 ? "1 ticket" : `${summary.tickets} tickets`;
    return `Ran offline today ${spans.join(", ")} (${length(summary.seconds)}): ` +
      `${tickets} issued while the server was away.`;
  }

  window.WalkinOffline = { sentence };
})();
