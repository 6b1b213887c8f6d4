// The History's "What visitors said": the comments visitors left with their answer to
// "How satisfied were you with the service today?" for the range chosen, under the
// satisfaction figures. The server's `feedback_comments` reply (walkin report
// --comments's own, queue_server/reporting/comments.py): newest visit first, a page of
// PAGE_SIZE at a time, each with its day, time, service, counter, answer and outcome, the
// comment as stored (personal data already taken out and marked "[redacted: …]") and
// what was taken out. Never the ticket: the server does not send it. Filtered by service
// and counter; says so when there are none, and when the range's comments were erased.
"use strict";

(function () {
  const W = window.WalkinManager;
  const { state: page, $, el, errorText, serviceName, services } = W.page;
  //: comments asked for at a time (the server allows up to 100)
  const PAGE_SIZE = 20;
  const MARKER = /\[redacted: [^\]]+\]/g;
  let range = null;      // the History's range: { from, to, days }
  let shown = 0;         // rows in the table
  let asOf = null;       // the first page's time: later pages never shift
  let asked = 0;         // the latest request: a slower earlier reply never replaces it
  // the block's parts, found once: the History moves the block into each new drawing of
  // its Satisfaction section, and a block between two drawings is not in the document
  const ui = {};
  const say = (name, text) => { ui[name].textContent = text || ""; };

  const plural = (n, one, many) => `${n} ${n === 1 ? one : many || `${one}s`}`;
  const dayText = (day) => new Date(`${day}T12:00:00Z`).toLocaleDateString("en-GB",
    { weekday: "short", day: "numeric", month: "short", year: "numeric", timeZone: "UTC" });

  // The filter's choices: the centre's services and counters, keeping what was chosen.
  function fillChoices() {
    const fill = (select, all, options) => {
      const chosen = select.value;
      select.replaceChildren(el("option", { value: "", text: all }),
        ...options.map(([value, text]) => el("option", { value, text })));
      select.value = options.some(([value]) => value === chosen) ? chosen : "";
    };
    fill(ui.service, "All services", services().map((s) => [s.code, s.name]));
    const counters = (page.centre ? page.centre.counters : []).map((c) => c.name)
      .sort((a, b) => a.localeCompare(b, "en", { numeric: true }));
    fill(ui.counter, "All counters", counters.map((name) => [name, name]));
  }

  function scopeWords(reply) {
    const service = reply.service ? serviceName(reply.service) : "all services";
    const counter = reply.counter || "all counters";
    return `${service}, ${counter}`;
  }

  function rangeWords(reply) {
    return reply.from_day === reply.to_day ? dayText(reply.from_day)
      : `${dayText(reply.from_day)} to ${dayText(reply.to_day)}`;
  }

  // A comment as text, its "[redacted: …]" markers set apart so they are seen as the
  // screening's, not the visitor's.
  function commentCell(text) {
    const cell = el("td", { class: "comment-text" });
    let at = 0;
    for (const match of text.matchAll(MARKER)) {
      cell.append(text.slice(at, match.index), el("span", { class: "redaction", text: match[0] }));
      at = match.index + match[0].length;
    }
    cell.append(text.slice(at));
    return cell;
  }

  function row(comment) {
    return el("tr", {},
      el("td", { class: "nowrap", text: dayText(comment.day) }),
      el("td", { class: "nowrap", text: comment.time }),
      el("td", { text: serviceName(comment.service) }),
      el("td", { class: "nowrap", text: comment.counter || "Not recorded" }),
      el("td", { text: `${comment.answer} (${comment.score} of 5)` }),
      el("td", { text: comment.outcome ? comment.outcome_words || comment.outcome : "Not recorded" }),
      commentCell(comment.comment),
      el("td", { text: comment.redacted.length ? comment.redacted.join(", ") : "Nothing" }));
  }

  function erasedWords(reply) {
    if (!reply.erased) return "";
    const one = reply.erased === 1;
    const after = reply.retention_days ? `${reply.retention_days} days after ${one ? "it was" : "they were"} given`
      : "once the centre's retention period was over";
    return `${plural(reply.erased, "comment")} from these dates ${one ? "was" : "were"} erased ${after}, `
      + "as the centre's rules say; the answers still count in the figures above.";
  }

  function draw(reply, append) {
    const body = ui.rows;
    if (!append) body.replaceChildren();
    const added = reply.comments.map(row);
    body.append(...added);
    shown = body.rows.length;
    if (append && added.length) {
      // "Show more" may hide itself: the keyboard carries on at the first new comment
      const first = added[0].cells[0];
      first.tabIndex = -1;
      first.focus();
    }
    const none = reply.total === 0;
    ui.table.hidden = none;
    ui.none.hidden = !none;
    say("none", none ? `No visitor left a comment on these dates (${scopeWords(reply)}).` : "");
    say("erased", erasedWords(reply));
    say("caption", `What visitors said, ${rangeWords(reply)}, ${scopeWords(reply)}: newest first`);
    const more = ui.more;
    more.hidden = !reply.more;
    more.textContent = `Show ${Math.min(reply.more, PAGE_SIZE)} more (${reply.more} not shown yet)`;
    if (none) say("done", "No comments to show.");
    else if (reply.more) say("done", `Showing ${shown} of ${plural(reply.total, "comment")}, newest first.`);
    else say("done", `Showing ${reply.total === 1 ? "the only comment" : `all ${reply.total} comments`}, newest first.`);
  }

  async function load(append) {
    if (!range) return;
    say("error", "");
    const fields = { from_day: range.from, to_day: range.to, limit: PAGE_SIZE, offset: append ? shown : 0 };
    const service = ui.service.value;
    const counter = ui.counter.value;
    if (service) fields.service = service;
    if (counter) fields.counter = counter;
    if (append && asOf) fields.as_of = asOf;
    const mine = ++asked;
    say("done", "Loading the comments…");
    try {
      const reply = await page.conn.request("feedback_comments", fields);
      if (mine !== asked) return;
      if (!append) asOf = reply.as_of;
      draw(reply, append);
    } catch (error) {
      if (mine !== asked) return;
      say("done", "");
      say("error", `The comments could not be loaded: ${errorText(error)}`);
    }
  }

  // Show the comments of the History's new range (`chosen`: from, to, days) inside
  // `section` (the Satisfaction section), from the first page.
  function show(chosen, section) {
    range = chosen;
    if (section) section.append(ui.block);
    ui.block.hidden = false;
    fillChoices();
    load(false);
  }

  function setUpComments() {
    for (const [name, id] of Object.entries({
      block: "history-comments", form: "comments-form", service: "comments-service", counter: "comments-counter",
      done: "comments-done", error: "comments-error", none: "comments-none", erased: "comments-erased",
      table: "comments-table", caption: "comments-caption", rows: "comments-rows", more: "comments-more",
    })) ui[name] = $(id);
    ui.form.addEventListener("submit", (event) => { event.preventDefault(); load(false); });
    ui.more.addEventListener("click", () => load(true));
  }

  W.comments = { show, setUpComments, PAGE_SIZE };
})();
