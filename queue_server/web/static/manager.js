// The manager dashboard (/manager): the hall live, live changes (counters, skills, target
// waits) and the figures of past days as charts, with CSV export. docs/console.md
// ("Manager dashboard") describes it for managers.
//
// Everything goes over the websocket through WalkinStaff (staff-client.js). The live view
// draws the server's `dashboard` reply: asked for after each (re)connection, a second
// after pushes settle, and every 15 seconds. History draws the `report` reply, whose
// figures are `walkin report`'s (queue_server/reporting/reports.py), never recomputed here except
// to add up several days (counts are summed and shares recomputed from them; percentiles
// cannot be added up, so they are shown per day).
//
// The page's scripts share one global, WalkinManager, loaded in this order (each is
// deferred, so they run in order once the page is parsed; charts.js comes before):
//   manager-page.js     .page     shared state, the centre's names and clock, row helpers
//   manager-figures.js  .figures  a report's figures: formats, tiles, adding days up
//   manager-live.js     .live     the live view, refreshed from `dashboard` replies
//   manager-changes.js  .changes  open and close counters, skills, target waits
//   manager-history.js  .history  past days' figures, charts and CSV
//   manager-comments.js .comments what visitors said (`feedback_comments`), under History's satisfaction
//   manager-staffing.js .staffing how many advisers a weekday needs (`staffing_advice`)
//   manager-region.js   .region   every centre of the database (`region`), live and past
//   manager.js (this)             tabs, signing in and out, the server's messages, start
"use strict";

(function () {
  const W = window.WalkinManager;
  const { state: page, $, setState, say, errorText } = W.page;
  const { askForDashboard, afterPush, startRefreshing, stopRefreshing } = W.live;

  // ------------------------------------------------------------------ tabs

  function selectTab(tab, focus) {
    for (const other of document.querySelectorAll('[role="tab"]')) {
      const selected = other === tab;
      other.setAttribute("aria-selected", String(selected));
      other.tabIndex = selected ? 0 : -1;
      $(other.getAttribute("aria-controls")).hidden = !selected;
    }
    if (focus) tab.focus();
    if (tab.id === "tab-history" && !page.historyLoaded && page.conn) W.history.showHistory();
    W.region.onTabSelected(tab.id === "tab-region");
  }

  function setUpTabs() {
    for (const tab of document.querySelectorAll('[role="tab"]')) {
      tab.addEventListener("click", () => selectTab(tab, false));
      tab.addEventListener("keydown", (event) => {
        // the tabs shown now (Region is there only for a database of several centres)
        const tabs = [...document.querySelectorAll('[role="tab"]')].filter((t) => !t.hidden);
        const index = tabs.indexOf(tab);
        const next = { ArrowRight: index + 1, ArrowLeft: index - 1, Home: 0, End: tabs.length - 1 }[event.key];
        if (next === undefined) return;
        event.preventDefault();
        selectTab(tabs[(next + tabs.length) % tabs.length], true);
      });
    }
  }

  // ------------------------------------------------------------------ signing in and out

  function show(view) {
    $("sign-in-view").hidden = view !== "sign-in";
    $("not-manager-view").hidden = view !== "not-manager";
    $("dashboard-view").hidden = view !== "dashboard";
    $("who").hidden = view === "sign-in";
  }

  function onWelcome(welcome) {
    page.role = welcome.role;
    page.name = welcome.name;
    $("signed-in-name").textContent = welcome.name;
    $("signed-in-role").textContent = welcome.role === "manager" ? " (manager)" : " (adviser)";
    say("sign-in-error", "");
    say("sign-in-message", "");
    if (welcome.role !== "manager") {
      // the server refuses a manager's messages from this session anyway; say so plainly
      $("not-manager-name").textContent = welcome.name;
      show("not-manager");
      stopRefreshing();
      W.region.reset();
    } else {
      show("dashboard");
    }
  }

  function onSnapshot(snapshot) {
    page.centre = {
      ...snapshot.centre,
      services: snapshot.centre.services.map((s) => ({ ...s })),
    };
    $("centre-name").textContent = snapshot.centre.name;
    showOffline(snapshot.offline);
    if (page.role !== "manager") { setState("ready"); return; }
    $("dashboard-heading").textContent = `Manager dashboard: ${snapshot.centre.name}`;
    document.title = `Manager dashboard – ${snapshot.centre.name}`;
    W.history.setDefaultDates(W.history.localDay(snapshot.server_time));
    startRefreshing();
    askForDashboard();
    W.region.askAtStart();
  }

  // the centre ran offline today (kiosks issued from leased numbers): when, how long
  function showOffline(summary) {
    const timeZone = page.centre ? page.centre.timezone : undefined;
    const note = window.WalkinOffline ? WalkinOffline.sentence(summary, timeZone) : "";
    $("offline-note").textContent = note;
    $("offline-note").hidden = !note;
  }

  function onPush(message) {
    if (message.type === "offline") showOffline(message);
    if (page.role !== "manager") return;
    if (["event", "queue", "device_status"].includes(message.type)) afterPush();
  }

  function onSignedOut(reason) {
    page.role = null;
    stopRefreshing();
    W.region.reset();
    const selected = document.querySelector('[role="tab"][aria-selected="true"]');
    if (selected && selected.id === "tab-region") selectTab($("tab-live"), false);
    show("sign-in");
    say("sign-in-message", reason);
    setState("signed-out");
  }

  async function signIn(event) {
    event.preventDefault();
    say("sign-in-error", "");
    say("sign-in-message", "");
    const username = $("username").value.trim();
    const password = $("password").value;
    if (!username || !password) {
      say("sign-in-error", "Enter your username and password.");
      return;
    }
    setState("connecting");
    try {
      await page.conn.signIn(username, password);
      $("password").value = "";
    } catch (error) {
      say("sign-in-error", errorText(error));
      setState("signed-out");
    }
  }

  function start() {
    setUpTabs();
    $("sign-in").addEventListener("submit", signIn);
    $("sign-out").addEventListener("click", () => page.conn.signOut());
    W.changes.setUpChanges();
    W.history.setUpHistory();
    W.comments.setUpComments();
    W.staffing.setUpStaffing();
    W.region.setUpRegion();
    page.conn = window.WalkinStaff.connect({
      client: "walkin-manager/1",
      onWelcome,
      onSnapshot,
      onPush,
      onStatus: (text) => say("status", text),
      onSignedOut,
    });
  }

  W.selectTab = selectTab;
  start();
})();
