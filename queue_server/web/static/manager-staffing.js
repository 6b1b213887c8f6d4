// The manager dashboard's Staffing: how many advisers a day of the week needs, from the
// server's `staffing_advice` reply (queue_server/net/staffing.py; docs/staffing.md). The
// server fits a day from the centre's own past days, answers each hour with Erlang C and
// simulates the centre's real routing for 3, 4, 5 ... advisers; this page only draws it.
"use strict";

(function () {
  const W = window.WalkinManager;
  const { state: page, $, el, say, errorText, serviceName } = W.page;
  const { fmtShare, fmtSeconds } = W.figures;
  const DAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"];
  const title = (word) => word.charAt(0).toUpperCase() + word.slice(1);
  const names = (codes) => codes.map(serviceName).join(", ");
  const money = (value) => (value === null || value === undefined ? "–" : `£${value.toFixed(2)}`);

  function cell(tag, text, numeric) {
    return el(tag, { class: numeric ? "num" : null, scope: tag === "th" ? "row" : null, text });
  }

  function optionRow(option, label, recommended) {
    const meets = option.meets_targets ? "Met" : "Not met";
    const row = el("tr", { class: recommended ? "recommended" : null },
      cell("th", label),
      cell("td", fmtShare(option.appointments_within_standard_share), true),
      cell("td", fmtSeconds(option.walk_in_wait_p90_seconds), true),
      cell("td", fmtShare(option.walk_ins_within_target_share), true),
      cell("td", fmtShare(option.utilisation), true),
      cell("td", money(option.cost_per_visit_gbp), true),
      el("td", {}, el("span", { class: `chip chip-${option.meets_targets ? "ok" : "warn"}`, text: recommended ? `${meets} (advised)` : meets })));
    return row;
  }

  function drawAdvice(advice) {
    $("staffing-results").hidden = false;
    const from = advice.fitted_from || { days: [] };
    $("staffing-heading").textContent = `${title(advice.weekday)}s, from ${from.days.length} past ${title(advice.weekday)}${from.days.length === 1 ? "" : "s"} (${from.tickets || 0} visits)`;
    const chosen = advice.options.find((o) => o.advisers === advice.recommended_advisers);
    $("staffing-recommendation").textContent = chosen
      ? `Advice: ${chosen.advisers} advisers all day. Over ${advice.days} simulated ${title(advice.weekday)}s they called ${fmtShare(chosen.appointments_within_standard_share)} of appointments within the standard and saw ${fmtShare(chosen.walk_ins_within_target_share)} of walk-ins within their target.`
      : `None of the numbers of advisers tried met both targets on ${title(advice.weekday)}s.`;
    $("staffing-skills").replaceChildren(...(chosen ? chosen.counters : []).map((c) => el("li", {
      text: `${c.name}: ${names(c.primary) || "–"}${c.secondary.length ? `; also ${names(c.secondary)}` : ""}`,
    })));
    const rows = advice.options.map((o) => optionRow(o, String(o.advisers), o.advisers === advice.recommended_advisers));
    if (advice.configured) rows.push(optionRow(advice.configured, `${advice.configured.advisers}, the centre's own counters`, false));
    if (advice.rota) rows.push(optionRow(advice.rota, `${advice.rota.advisers}, the centre's rota (with its breaks)`, false));
    $("staffing-options").replaceChildren(...rows);
    $("staffing-cost-note").textContent = `Adviser cost per visit: advisers' time at £${advice.adviser_cost_per_hour_gbp.toFixed(2)} an hour for each visitor served. For comparison, councils put the whole cost of a face-to-face visit at £${advice.face_to_face_cost_gbp.toFixed(2)}.`;
    $("staffing-hours").replaceChildren(...advice.hours.map((h) => el("tr", {},
      cell("th", h.hour),
      cell("td", h.arrivals.toFixed(1), true),
      cell("td", h.erlangs.toFixed(1), true),
      cell("td", String(h.erlang_pooled), true),
      cell("td", String(h.erlang_separate), true),
      cell("td", h.simulated === null ? "not met" : String(h.simulated), true))));
    const notes = [...(advice.notes || []), ...(from.notes || [])];
    $("staffing-notes").replaceChildren(...notes.map((n) => el("li", { text: n })));
  }

  async function showStaffing(event) {
    if (event) event.preventDefault();
    say("staffing-done", "");
    say("staffing-error", "");
    const weekday = $("staffing-weekday").value;
    const weeks = Number($("staffing-weeks").value);
    if (!DAYS.includes(weekday)) { say("staffing-error", "Choose a day of the week."); return; }
    if (!Number.isInteger(weeks) || weeks < 1 || weeks > 52) {
      say("staffing-error", "Give the weeks of history as a whole number from 1 to 52.");
      $("staffing-weeks").focus();
      return;
    }
    $("staffing-submit").disabled = true;
    say("staffing-done", `Working out the advice for ${title(weekday)}s…`);
    try {
      const reply = await page.conn.request("staffing_advice", { weekday, weeks });
      drawAdvice(reply.advice);
      say("staffing-done", `Showing the advice for ${title(weekday)}s.`);
    } catch (error) {
      say("staffing-done", "");
      say("staffing-error", `The advice could not be worked out: ${errorText(error)}`);
    } finally {
      $("staffing-submit").disabled = false;
    }
  }

  function setUpStaffing() {
    $("staffing-form").addEventListener("submit", showStaffing);
  }

  W.staffing = { setUpStaffing, showStaffing, drawAdvice };
})();
