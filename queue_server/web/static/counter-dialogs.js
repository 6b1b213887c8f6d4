// The counter console's dialogs: call a ticket out of turn, complete a visit (its
// outcome), transfer, and cancel a parked ticket. Each checks its form, sends through
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
    dialog.querySelector(".error").textContent = "";
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
    for (const dialog of document.querySelectorAll("dialog")) {
      dialog.addEventListener("close", afterDialog);
      for (const close of dialog.querySelectorAll("[data-close]")) {
        close.addEventListener("click", () => closeDialog(dialog));
      }
    }
  }

  C.dialogs = {
    dialogIsOpen, closeDialogs, openCallTicket, openComplete, openTransfer, openCancel, setUpDialogs,
  };
})();
