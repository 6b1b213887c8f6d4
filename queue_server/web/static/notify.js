// "Notify me on this phone" on the ticket status page (web/notify_page.py). Shown only
// where the browser can take Web Push: it asks permission, registers push-sw.js,
// subscribes with the server's VAPID public key (the section's data-vapid) and posts
// the subscription to the page's own address (do=push), as the page's forms do; the
// page is then drawn again, saying the phone will be notified. Nothing else: the page
// works without it, and the text message form never needs it.
(function () {
  "use strict";
  const box = document.querySelector(".notify-push");
  if (!box || !box.dataset.vapid) return;
  if (!("serviceWorker" in navigator) || !("PushManager" in window) || !("Notification" in window)) {
    return; // stays hidden: this browser cannot be notified
  }
  const button = document.getElementById("push-button");
  const said = document.getElementById("push-status");
  box.hidden = false;

  function keyBytes(text) {
    const padded = (text + "===".slice((text.length + 3) % 4)).replace(/-/g, "+").replace(/_/g, "/");
    return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
  }

  function activated(registration) {
    // a worker outside this page's scope never makes navigator.serviceWorker.ready
    // resolve here: wait for the registration's own worker instead
    return new Promise((resolve) => {
      if (registration.active) return resolve(registration);
      const worker = registration.installing || registration.waiting;
      worker.addEventListener("statechange", () => {
        if (worker.state === "activated") resolve(registration);
      });
    });
  }

  async function subscribe() {
    const permission = await Notification.requestPermission();
    if (permission !== "granted") throw new Error("not allowed");
    const registration = await activated(await navigator.serviceWorker.register("/static/push-sw.js"));
    const subscription = await registration.pushManager.subscribe({
      userVisibleOnly: true,
      applicationServerKey: keyBytes(box.dataset.vapid),
    });
    const body = new URLSearchParams({ do: "push", subscription: JSON.stringify(subscription) });
    const reply = await fetch(window.location.pathname, { method: "POST", body: body });
    if (!reply.ok) throw new Error("refused: " + reply.status);
  }

  button.addEventListener("click", () => {
    button.disabled = true;
    subscribe().then(
      () => {
        said.textContent = box.dataset.on;
        window.location.reload();
      },
      () => {
        said.textContent = box.dataset.failed;
        button.disabled = false;
      },
    );
  });
})();
