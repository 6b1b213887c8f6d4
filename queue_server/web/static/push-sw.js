// The service worker of "Notify me on this phone" (notify.js): shows each push the
// queue server sends ({"title": the ticket's number, "body": the words}), so the
// phone buzzes with its screen off; a tap brings the ticket's page forward if open.
"use strict";

self.addEventListener("push", (event) => {
  let data = {};
  try {
    data = event.data ? event.data.json() : {};
  } catch (e) {
    data = { body: event.data ? event.data.text() : "" };
  }
  event.waitUntil(
    self.registration.showNotification(data.title || "", {
      body: data.body || "",
      tag: "walkin-ticket",
      renotify: true,
      vibrate: [300, 100, 300],
    }),
  );
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  event.waitUntil(
    self.clients.matchAll({ type: "window", includeUncontrolled: true }).then((pages) => {
      const ticket = pages.find((page) => new URL(page.url).pathname.startsWith("/t/"));
      return ticket ? ticket.focus() : undefined;
    }),
  );
});
