// The manager dashboard's live changes: open and close counters, set a counter's skills
// (primary and secondary services) and the services' target waits. Each change is one
// request; the server records it in the audit log, and the live view is asked for again.
// Tables are kept row by row, so a refresh never loses what the manager is typing.
"use strict";

(function () {
  const W = window.WalkinManager;
  const { state: page, $, el, say, errorText, serviceName, services, syncRows, setCell, chip } = W.page;
  const { fmtTarget } = W.figures;

  // ------------------------------------------------------------------ open and close

  function drawOpenClose(counters) {
    syncRows(
      $("open-close"), counters, (c) => c.name,
      (c) => {
        const button = el("button", { type: "button", class: "button small" });
        button.addEventListener("click", () => openOrClose(button.dataset.counter, button.dataset.action));
        return el("tr", {}, el("th", { scope: "row" }), el("td"), el("td"), el("td", {}, button));
      },
      (row, c) => {
        const state = W.live.counterState(c);
        setCell(row, 0, c.name);
        setCell(row, 1, chip(state.kind, state.text));
        setCell(row, 2, c.staff || "nobody signed in");
        const button = row.querySelector("button");
        const action = c.state === "closed" ? "open" : "close";
        button.dataset.counter = c.name;
        button.dataset.action = action;
        button.textContent = action === "open" ? "Open" : "Close";
        button.classList.toggle("secondary", action === "close");
        button.setAttribute("aria-label", `${action === "open" ? "Open" : "Close"} ${c.name}`);
      },
    );
  }

  async function openOrClose(counter, action) {
    say("open-close-done", "");
    say("open-close-error", "");
    try {
      const reply = await page.conn.request(action === "open" ? "open_counter" : "close_counter", { counter });
      const state = reply.counter ? W.live.counterState(reply.counter).text.toLowerCase() : `${action === "open" ? "open" : "closed"}`;
      say("open-close-done", `Done: ${counter} is now ${state}.`);
      W.live.askForDashboard();
    } catch (error) {
      say("open-close-error", `${counter} was not ${action === "open" ? "opened" : "closed"}: ${errorText(error)}`);
    }
  }

  // ------------------------------------------------------------------ skills

  function drawSkillsChoices() {
    const select = $("skills-counter");
    const counters = page.centre ? page.centre.counters : [];
    const names = counters.map((c) => c.name);
    if ([...select.options].map((o) => o.value).join("\n") !== names.join("\n")) {
      select.replaceChildren(...names.map((name) => el("option", { value: name, text: name })));
      if (page.skillsCounter && names.includes(page.skillsCounter)) select.value = page.skillsCounter;
    }
    if (!$("skills").rows.length) {
      for (const service of services()) {
        const primary = el("input", { type: "checkbox", id: `skill-primary-${service.code}`, name: "primary", value: service.code });
        const secondary = el("input", { type: "checkbox", id: `skill-secondary-${service.code}`, name: "secondary", value: service.code });
        // a service is one or the other: ticking one unticks the other
        primary.addEventListener("change", () => { if (primary.checked) secondary.checked = false; page.skillsDirty = true; });
        secondary.addEventListener("change", () => { if (secondary.checked) primary.checked = false; page.skillsDirty = true; });
        $("skills").append(el("tr", { "data-service": service.code },
          el("th", { scope: "row", text: service.name }),
          el("td", { class: "tick" }, primary, el("label", { for: primary.id, class: "visually-hidden", text: `${service.name}: primary` })),
          el("td", { class: "tick" }, secondary, el("label", { for: secondary.id, class: "visually-hidden", text: `${service.name}: secondary` })),
        ));
      }
    }
    if (!page.skillsDirty || page.skillsCounter !== select.value) loadSkills(select.value);
  }

  function loadSkills(counterName) {
    const counter = (page.centre ? page.centre.counters : []).find((c) => c.name === counterName);
    page.skillsCounter = counterName;
    page.skillsDirty = false;
    $("skills-save").textContent = `Save skills for ${counterName}`;
    if (!counter) return;
    for (const service of services()) {
      $(`skill-primary-${service.code}`).checked = counter.primary.includes(service.code);
      $(`skill-secondary-${service.code}`).checked = counter.secondary.includes(service.code);
    }
  }

  async function saveSkills(event) {
    event.preventDefault();
    say("skills-done", "");
    say("skills-error", "");
    const counter = $("skills-counter").value;
    const ticked = (kind) => services().map((s) => s.code).filter((code) => $(`skill-${kind}-${code}`).checked);
    const primary = ticked("primary");
    const secondary = ticked("secondary");
    try {
      const reply = await page.conn.request("set_counter_skills", { counter, primary, secondary });
      const saved = reply.counter || { primary, secondary };
      const names = (codes) => (codes.length ? codes.map(serviceName).join(", ") : "none");
      say("skills-done", `Saved: ${counter} now serves ${names(saved.primary)} first; secondary: ${names(saved.secondary)}.`);
      page.skillsDirty = false;
      if (reply.counter && page.centre) {
        page.centre.counters = page.centre.counters.map((c) => (c.name === counter ? { ...c, ...reply.counter } : c));
      }
      W.live.askForDashboard();
    } catch (error) {
      // what was ticked stays ticked, to correct and save again
      say("skills-error", `The skills of ${counter} were not changed: ${errorText(error)}`);
    }
  }

  // ------------------------------------------------------------------ target waits

  function drawTargets(serviceFigures) {
    syncRows(
      $("targets"), serviceFigures, (s) => s.code,
      (s) => {
        const input = el("input", {
          type: "number", min: 1, max: 1440, step: 1, inputmode: "numeric", id: `target-${s.code}`,
          class: "minutes", value: Math.round(s.target_wait_minutes),
        });
        input.addEventListener("input", () => { input.dataset.dirty = "1"; });
        input.addEventListener("keydown", (e) => { if (e.key === "Enter") { e.preventDefault(); saveTarget(s.code); } });
        const label = el("label", { for: input.id, class: "visually-hidden", text: `New target wait for ${s.name}, in minutes` });
        const button = el("button", { type: "button", class: "button small", "aria-label": `Save target for ${s.name}`, text: "Save" });
        button.addEventListener("click", () => saveTarget(s.code));
        return el("tr", {}, el("th", { scope: "row" }), el("td", { class: "num" }), el("td", {}, label, input), el("td", {}, button));
      },
      (row, s) => {
        setCell(row, 0, s.name);
        setCell(row, 1, fmtTarget(s.target_wait_minutes));
        const input = row.querySelector("input");
        if (!input.dataset.dirty && document.activeElement !== input) input.value = String(Math.round(s.target_wait_minutes));
      },
    );
  }

  async function saveTarget(code) {
    say("targets-done", "");
    say("targets-error", "");
    const input = $(`target-${code}`);
    const text = input.value.trim();
    const minutes = Number(text);
    if (!text || !Number.isInteger(minutes) || minutes < 1 || minutes > 1440) {
      say("targets-error", `${serviceName(code)}: give the target as a whole number of minutes from 1 to 1440.`);
      input.focus();
      return;
    }
    try {
      await page.conn.request("set_service_target", { service: code, target_wait_minutes: minutes });
      delete input.dataset.dirty;
      say("targets-done", `Saved: the target wait for ${serviceName(code)} is now ${minutes} minutes.`);
      W.live.askForDashboard();
    } catch (error) {
      say("targets-error", `The target for ${serviceName(code)} was not changed: ${errorText(error)}`);
    }
  }

  // The skills form's own events, once at start.
  function setUpChanges() {
    $("skills-form").addEventListener("submit", saveSkills);
    $("skills-counter").addEventListener("change", () => loadSkills($("skills-counter").value));
  }

  W.changes = { drawOpenClose, drawSkillsChoices, drawTargets, setUpChanges };
})();
