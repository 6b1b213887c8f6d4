// The counter console's dialogs: call a ticket out of turn, complete a visit (its
// outcome), transfer, cancel a parked ticket, and issue a ticket for a visitor at the
// desk (with a note and "walk direct"; docs/assistance.md, "Issued at the console"). Each checks its form, sends through
// counter-actions.js, and gives focus back to the button that opened it.
"use strict";

(function () {
  const C = window.WalkinCounter;
  const R = C.rules;
  const { state: model, now, serviceName, myCounter, currentTicket, myQueue, myParked, waitInfo } = C.model;
  const { el, say } = C.draw;
  const $ = (id) => document.getElementById(id);
  let dialogOpener = null;
  let cancelling = null;

  const dialogIsOpen = () => Boolean(document.querySelector("dialog[open]"));

  function openDialog(dialog, opener) {
    dialogOpener = opener || document.activeElement;
    for (const box of dialog.querySelectorAll(".error")) box.textContent = "";
    dialog.showModal();
  }

  function closeDialog(dialog) {
    if (dialog.open) dialog.close();
  }

  function closeDialogs() {
    for (const dialog of document.querySelectorAll("dialog[open]")) closeDialog(dialog);
  }

  function afterDialog() {
    const opener = dialogOpener;
    dialogOpener = null;
    if (opener && opener.isConnected && !opener.disabled && !opener.hidden) opener.focus();
    else C.actions.focusMain();
  }

  function openCallTicket(opener, ticketId, reason) {
    const counter = myCounter();
    if (!counter) return;
    const select = $("call-ticket-select");
    const previous = select.value;
    select.replaceChildren(el("option", { value: "", text: "Choose a ticket" }));
    const at = now();
    for (const { ticket } of myQueue(counter)) {
      select.append(el("option", {
        value: ticket.id,
        text: `${ticket.number} — ${ticket.service_name || serviceName(ticket.service)} — ${waitInfo(ticket, at).text}`,
      }));
    }
    for (const ticket of myParked(counter)) {
      select.append(el("option", { value: ticket.id, text: `${ticket.number} — parked here` }));
    }
    select.value = ticketId || previous || "";
    if (select.selectedIndex < 0) select.value = "";
    if (reason && !$("call-ticket-reason").value) $("call-ticket-reason").value = reason;
    openDialog($("call-ticket-dialog"), opener);
    (select.value ? $("call-ticket-reason") : select).focus();
  }

  function submitCallTicket(event) {
    event.preventDefault();
    const counter = myCounter();
    const errorBox = $("call-ticket-error");
    const ticketId = $("call-ticket-select").value;
    const reason = $("call-ticket-reason").value.trim();
    if (!ticketId) { errorBox.textContent = "Choose the ticket to call."; $("call-ticket-select").focus(); return; }
    if (!reason) { errorBox.textContent = "Give a reason for calling this ticket out of turn."; $("call-ticket-reason").focus(); return; }
    C.actions.send("call_ticket", { counter: counter.name, ticket: ticketId, reason }, {
      errorBox,
      done: (reply) => {
        say(`Calling ${reply.ticket.number} (${reply.ticket.service_name}) out of turn.`);
        $("call-ticket-form").reset();
        closeDialog($("call-ticket-dialog"));
      },
    });
  }

  function openComplete(opener) {
    const ticket = currentTicket(myCounter());
    if (!ticket) return;
    $("complete-heading").textContent = `Complete ${ticket.number}`;
    openDialog($("complete-dialog"), opener);
    const chosen = document.querySelector("#outcomes input:checked");
    (chosen || document.querySelector("#outcomes input")).focus();
  }

  function submitComplete(event) {
    event.preventDefault();
    const counter = myCounter();
    const ticket = currentTicket(counter);
    const errorBox = $("complete-error");
    const chosen = document.querySelector("#outcomes input:checked");
    if (!chosen) {
      errorBox.textContent = "Choose how the visit ended.";
      document.querySelector("#outcomes input").focus();
      return;
    }
    const avoidable = $("complete-avoidable").checked;
    C.actions.send("complete", { counter: counter.name, outcome: chosen.value, avoidable }, {
      errorBox,
      done: () => {
        say(`${ticket ? ticket.number : "The ticket"} completed: ${R.OUTCOME_NAMES[chosen.value].split(":")[0].toLowerCase()}${avoidable ? ", avoidable contact" : ""}.`);
        $("complete-form").reset();
        closeDialog($("complete-dialog"));
      },
    });
  }

  function openTransfer(opener) {
    const counter = myCounter();
    const ticket = currentTicket(counter);
    if (!ticket) return;
    $("transfer-heading").textContent = `Transfer ${ticket.number}`;
    const services = $("transfer-service");
    const wantedService = services.value;
    services.replaceChildren(el("option", { value: "", text: `Keep the service (${serviceName(ticket.service)})` }));
    for (const service of model.services.values()) {
      if (service.code === ticket.service) continue;
      services.append(el("option", { value: service.code, text: service.name }));
    }
    services.value = wantedService;
    if (services.selectedIndex < 0) services.value = "";
    const counters = $("transfer-counter");
    const wantedCounter = counters.value;
    counters.replaceChildren(el("option", { value: "", text: "Any counter that serves it" }));
    for (const other of model.counters.values()) {
      if (other.name === counter.name) continue;
      const who = other.staff ? `${other.staff}, ${R.COUNTER_STATES[other.state].toLowerCase()}` : "nobody there";
      counters.append(el("option", { value: other.name, text: `${other.name} (${who})` }));
    }
    counters.value = wantedCounter;
    if (counters.selectedIndex < 0) counters.value = "";
    openDialog($("transfer-dialog"), opener);
    services.focus();
  }

  function submitTransfer(event) {
    event.preventDefault();
    const counter = myCounter();
    const ticket = currentTicket(counter);
    const errorBox = $("transfer-error");
    const toService = $("transfer-service").value;
    const toCounter = $("transfer-counter").value;
    const reason = $("transfer-reason").value.trim();
    if (!toService && !toCounter) {
      errorBox.textContent = "Choose a service or a counter to transfer to.";
      $("transfer-service").focus();
      return;
    }
    if (!reason) { errorBox.textContent = "Give a reason for the transfer."; $("transfer-reason").focus(); return; }
    const fields = { counter: counter.name, reason };
    if (toService) fields.to_service = toService;
    if (toCounter) fields.to_counter = toCounter;
    C.actions.send("transfer", fields, {
      errorBox,
      done: () => {
        const where = [toService ? serviceName(toService) : "", toCounter].filter(Boolean).join(" at ");
        say(`${ticket ? ticket.number : "The ticket"} transferred to ${where}.`);
        $("transfer-form").reset();
        closeDialog($("transfer-dialog"));
      },
    });
  }

  function openCancel(opener, ticket) {
    cancelling = ticket;
    $("cancel-heading").textContent = `Cancel ${ticket.number}`;
    openDialog($("cancel-dialog"), opener);
    $("cancel-reason").focus();
  }

  function submitCancel(event) {
    event.preventDefault();
    const errorBox = $("cancel-error");
    const reason = $("cancel-reason").value.trim();
    if (!cancelling) return;
    if (!reason) { errorBox.textContent = "Give a reason for cancelling the ticket."; $("cancel-reason").focus(); return; }
    const ticket = cancelling;
    C.actions.send("cancel", { ticket: ticket.id, reason }, {
      errorBox,
      done: () => {
        say(`${ticket.number} cancelled.`);
        $("cancel-form").reset();
        closeDialog($("cancel-dialog"));
      },
    });
  }

  // ------------------------------------------------------------ issue for a visitor

  const LANGUAGE_NAMES = {
    en: "English", cy: "Welsh (Cymraeg)", pl: "Polish (Polski)", ro: "Romanian (Română)",
    ur: "Urdu (اردو)", ar: "Arabic (العربية)",
  };
  const NOTE_MAX = 200;
  //: one key per visitor's ticket: a retry of the same form is the same ticket
  let issueKey = null;

  function newKey() {
    const bytes = new Uint8Array(12);
    crypto.getRandomValues(bytes);
    return `console-${[...bytes].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
  }

  function fill(select, options, wanted) {
    select.replaceChildren(...options.map(([value, text, disabled]) => el("option", { value, text, disabled })));
    select.value = wanted;
    if (select.selectedIndex < 0 || select.options[select.selectedIndex].disabled) select.value = options[0][0];
  }

  function noteCount() {
    const used = $("issue-note").value.length;
    $("issue-note-count").textContent = used ? `${used} of ${NOTE_MAX} characters` : "";
  }

  function openIssue(opener) {
    const counter = myCounter();
    if (!counter) return;
    if (!issueKey) issueKey = newKey();
    $("issue-form").hidden = false;
    $("issued").hidden = true;
    const services = [...model.services.values()];
    fill($("issue-service"), [["", "Choose a service"], ...services.map((s) => [s.code, s.name])],
      $("issue-service").value);
    const languages = (model.centre && model.centre.languages) || ["en"];
    fill($("issue-language"), languages.map((code) => [code, LANGUAGE_NAMES[code] || code]),
      $("issue-language").value || "en");
    const assistance = (model.centre && model.centre.assistance) || [];
    const box = $("issue-assistance");
    if (box.childElementCount !== assistance.length) {
      box.replaceChildren(...assistance.map((a) => el("div", { class: "outcome" },
        el("input", { type: "checkbox", id: `issue-help-${a.code}`, value: a.code }),
        el("label", { htmlFor: `issue-help-${a.code}`, text: a.name }))));
    }
    $("issue-assistance-set").hidden = assistance.length === 0;
    const counters = [...model.counters.values()].map((c) => {
      const closed = c.state === "closed";
      const who = closed ? "closed" : `${c.staff || "nobody"}, ${R.COUNTER_STATES[c.state].toLowerCase()}`;
      return [c.name, `${c.name} (${c.name === counter.name ? "you, " : ""}${who})`, closed];
    });
    fill($("issue-direct"), [["", "No: they wait for the next free counter"], ...counters],
      $("issue-direct").value);
    noteCount();
    openDialog($("issue-dialog"), opener);
    $("issue-service").focus();
  }

  function submitIssue(event) {
    event.preventDefault();
    const errorBox = $("issue-error");
    const service = $("issue-service").value;
    const note = $("issue-note").value.trim();
    if (!service) { errorBox.textContent = "Choose the service the visitor needs."; $("issue-service").focus(); return; }
    if (note.length > NOTE_MAX) {
      errorBox.textContent = `The note is ${note.length} characters long; keep it to ${NOTE_MAX}.`;
      $("issue-note").focus();
      return;
    }
    const fields = {
      service,
      idempotency_key: issueKey || (issueKey = newKey()),
      language: $("issue-language").value || "en",
      assistance: [...document.querySelectorAll("#issue-assistance input:checked")].map((i) => i.value),
      print: $("issue-print").checked,
    };
    if (note) fields.note = note;
    if ($("issue-direct").value) fields.walk_direct = $("issue-direct").value;
    C.actions.send("issue_for_visitor", fields, {
      errorBox,
      done: (reply) => {
        issueKey = null;  // the next visitor's ticket is a new one
        showIssued(reply, fields);
        $("issue-form").reset();
        noteCount();
      },
    });
  }

  // The dialog's second view: the number, big, for the adviser to tell the visitor,
  // where to go, and whether it was printed.
  function showIssued(reply, fields) {
    const ticket = reply.ticket;
    $("issue-form").hidden = true;
    $("issued").hidden = false;
    $("issued-number").textContent = ticket.number;
    const estimate = reply.estimate || {};
    const wait = estimate.minutes === null || estimate.minutes === undefined ? ""
      : estimate.minutes === 0 ? " They should be called straight away."
        : ` About ${estimate.minutes} minutes.`;
    $("issued-where").textContent = fields.walk_direct
      ? `Send them to ${fields.walk_direct}: only that counter will call them.${wait}`
      : `${ticket.service_name}: they wait to be called.${wait}`;
    $("issued-print").textContent = reply.printed_on
      ? `Printed on kiosk ${reply.printed_on}.`
      : reply.not_printed ? `Not printed: ${reply.not_printed}` : "Not printed (you chose not to).";
    say(`Ticket ${ticket.number} issued for ${ticket.service_name}${fields.walk_direct ? `, walk direct to ${fields.walk_direct}` : ""}.`);
    $("issued-done").focus();
  }

  // The outcome choices, the forms and the close buttons, once at start.
  function setUpDialogs() {
    const outcomes = $("outcomes");
    for (const [value, label] of R.OUTCOMES) {
      const id = `outcome-${value}`;
      outcomes.append(el("div", { class: "outcome" },
        el("input", { type: "radio", name: "outcome", id, value }),
        el("label", { htmlFor: id, text: label })));
    }
    $("call-ticket-form").addEventListener("submit", submitCallTicket);
    $("complete-form").addEventListener("submit", submitComplete);
    $("transfer-form").addEventListener("submit", submitTransfer);
    $("cancel-form").addEventListener("submit", submitCancel);
    $("issue-form").addEventListener("submit", submitIssue);
    $("issue-note").addEventListener("input", noteCount);
    // an error said about the form goes once the form is changed
    $("issue-form").addEventListener("change", () => { $("issue-error").textContent = ""; });
    for (const dialog of document.querySelectorAll("dialog")) {
      dialog.addEventListener("close", afterDialog);
      for (const close of dialog.querySelectorAll("[data-close]")) {
        close.addEventListener("click", () => closeDialog(dialog));
      }
    }
  }

  C.dialogs = {
    dialogIsOpen, closeDialogs, openCallTicket, openComplete, openTransfer, openCancel, openIssue,
    setUpDialogs,
  };
})();
