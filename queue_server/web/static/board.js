// The web display board: the same pushes, rules and announcements as the Kivy board
// (display_board/). docs/boards.md describes the address options and the token.
"use strict";

(function () {
  const TOKEN_KEY = "walkin.board.token";
  const CLIENT = "walkin-web-board/0.1";
  const MIN_BACKOFF_MS = 200;
  const MAX_BACKOFF_MS = 10000;
  const PING_EVERY_MS = 20000;   // a TV on Wi-Fi can lose the link without a close
  const PING_TIMEOUT_MS = 10000;
  const CAPTION_HOLD_MS = 3000;
  const SPEECH_RETRY_MS = 250;
  const SPEECH_WAIT_MS = 8000;
  const MAX_BACKLOG = 6;
  const AUDIO_MODES = ["chime+speech", "chime", "off"];

  const $ = (id) => document.getElementById(id);
  // The board's visitor-facing words, in its screen languages (?screen=cy,en), put into
  // the page by the server from the catalogues (speech/board_words.py).
  const WORDS = JSON.parse(document.body.dataset.words || "{}");
  const word = (key, fallback) => WORDS[key] || fallback;
  // What the board did, with wall-clock times: for the tests, the benchmark and a look
  // in the browser's console. Holds only what the screen shows.
  const trace = [];
  const record = (event, fields = {}) => trace.push({ t: performance.timeOrigin + performance.now(), event, ...fields });

  // ------------------------------------------------------------ options

  function readOptions() {
    const params = new URLSearchParams(location.search);
    const errors = [];
    const list = (name) => {
      const value = params.get(name);
      if (value === null) return null;
      const items = value.split(",").map((s) => s.trim()).filter((s) => s);
      if (!items.length) errors.push(`${name} is empty`);
      return items.length ? items : null;
    };
    let audio = params.get("audio") || "chime+speech";
    if (!AUDIO_MODES.includes(audio)) {
      errors.push(`audio must be one of ${AUDIO_MODES.join(", ")}`);
      audio = "chime+speech";
    }
    let history = Number(params.get("history") ?? 6);
    if (!Number.isInteger(history) || history < 0 || history > 8) {
      errors.push("history must be 0 to 8");
      history = 6;
    }
    let windowSeconds = Number(params.get("announce_window") ?? 60);
    if (!(windowSeconds >= 0)) {
      errors.push("announce_window must be a number of seconds");
      windowSeconds = 60;
    }
    return {
      counters: list("counters"),
      services: list("services"),
      audio,
      languages: params.get("languages") || "visitor,en",
      history,
      announceWindowSeconds: windowSeconds,
      message: (params.get("message") || "").trim(),
      waiting: params.get("waiting") === "1",
      portrait: params.get("portrait") === "1",
      errors,
    };
  }

  // The token arrives once in the address (#token=... or ?token=...), is kept in this
  // tab's sessionStorage (or, if asked, localStorage), and is removed from the address
  // bar at once. See docs/boards.md for what that protects and what it does not.
  function takeToken() {
    const url = new URL(location.href);
    const hash = new URLSearchParams(url.hash.slice(1));
    // or carried here from the centre's other server (failover.js)
    const fromUrl = hash.get("token") || url.searchParams.get("token") || WalkinFailover.carried("token");
    if (fromUrl) {
      sessionStorage.setItem(TOKEN_KEY, fromUrl);
      url.searchParams.delete("token");
      hash.delete("token");
      url.hash = hash.toString();
      history.replaceState(null, "", url.pathname + url.search + url.hash);
    }
    return sessionStorage.getItem(TOKEN_KEY) || localStorage.getItem(TOKEN_KEY);
  }

  function forgetToken() {
    sessionStorage.removeItem(TOKEN_KEY);
    localStorage.removeItem(TOKEN_KEY);
  }

  // ------------------------------------------------------------ the screen

  function render(view, options) {
    $("centre").textContent = view.centreName;
    $("status").textContent = view.connected ? ""
      : everConnected ? word("reconnecting", "Reconnecting\u2026") : word("connecting", "Connecting\u2026");
    const latest = view.latest;
    $("latest-heading").textContent = latest ? word("now_calling", "Now calling") : word("take_a_seat", "Please take a seat");
    $("latest-number").textContent = latest ? latest.number : "";
    $("latest-counter").textContent = latest ? `\u2192 ${latest.counter}` : "";
    $("latest-placeholder").hidden = Boolean(latest);
    $("previous-panel").hidden = options.history === 0;
    const rows = view.previous.map((call) => {
      const row = document.createElement("tr");
      for (const text of [call.number, call.counter]) {
        const cell = document.createElement("td");
        cell.textContent = text;
        row.appendChild(cell);
      }
      return row;
    });
    $("previous").replaceChildren(...rows);
    const waiting = Object.entries(view.waiting).filter(([, n]) => n > 0)
      .map(([code, n]) => `${view.serviceNames[code] || code} ${n}`);
    $("waiting").textContent = options.waiting
      ? `${word("waiting", "Waiting")}:  ${waiting.join("  \u00b7  ") || word("nobody", "nobody")}` : "";
    timeZone = view.timezone || undefined;
  }

  function flash() {
    const panel = $("latest-panel");
    panel.classList.remove("flash");
    void panel.offsetWidth; // restart the animation
    panel.classList.add("flash");
  }

  function showCaptions(captions) {
    const lines = captions.map((c) => {
      const p = document.createElement("p");
      p.textContent = c.text;
      p.lang = c.language;
      if (c.rtl) p.dir = "rtl";
      return p;
    });
    $("captions").replaceChildren(...lines);
  }

  let timeZone;  // the centre's, from the snapshot
  function tickClock() {
    const now = new Date();
    try {
      $("clock").textContent = now.toLocaleTimeString("en-GB", { hour: "2-digit", minute: "2-digit", timeZone });
    } catch (error) {  // an unknown zone: the screen's own
      $("clock").textContent = now.toLocaleTimeString("en-GB", { hour: "2-digit", minute: "2-digit" });
    }
  }

  // ------------------------------------------------------------ sound

  class Announcer {
    constructor(options, token) {
      this.options = options;
      this.token = token;
      this.context = null;
      this.chime = null;
      this.queue = [];
      this.busy = false;
      this.captionTimer = null;
    }

    get enabled() {
      return this.context !== null && this.context.state === "running";
    }

    // Browsers start sound only from a click or tap (autoplay policy).
    async enable() {
      const Context = window.AudioContext || window.webkitAudioContext;
      if (!Context) return false;
      this.context = this.context || new Context();
      await this.context.resume();
      if (!this.chime) {
        const response = await fetch("/board/chime.wav");
        this.chime = await this.context.decodeAudioData(await response.arrayBuffer());
      }
      record("sound_enabled", { state: this.context.state });
      return this.enabled;
    }

    announce(call) {
      if (this.options.audio === "off") return;
      const item = { call, captions: null, speech: null };
      if (this.options.audio === "chime+speech") {
        // ask now: the server starts speaking while the chime plays
        item.captions = this.fetchCaptions(call).catch(() => []);
      }
      this.queue.push(item);
      while (this.queue.length > MAX_BACKLOG) this.queue.shift();
      if (!this.busy) this.next();
    }

    async next() {
      this.busy = true;
      while (this.queue.length) {
        const item = this.queue.shift();
        try {
          await this.play(item);
        } catch (error) {
          record("announce_failed", { call_id: item.call.call_id, error: String(error) });
        }
      }
      this.busy = false;
    }

    async play(item) {
      const captions = item.captions ? await item.captions : [];
      clearTimeout(this.captionTimer);
      if (captions.length) showCaptions(captions);
      record("announce_start", { call_id: item.call.call_id, captions: captions.map((c) => c.text) });
      if (this.enabled) {
        await this.playBuffer(this.chime, "chime");
        if (captions.length) await this.speak(item.call, captions);
      } else if (captions.length) {
        await new Promise((resolve) => setTimeout(resolve, 4000)); // shown, though not heard
      }
      record("announce_end", { call_id: item.call.call_id });
      this.captionTimer = setTimeout(() => showCaptions([]), CAPTION_HOLD_MS);
    }

    async fetchCaptions(call) {
      const response = await fetch(this.url("/board/announce", call), { headers: this.auth() });
      if (!response.ok) throw new Error(`captions: HTTP ${response.status}`);
      return (await response.json()).captions;
    }

    async speak(call, captions) {
      const deadline = performance.now() + SPEECH_WAIT_MS;
      while (performance.now() < deadline) {
        const response = await fetch(this.url("/board/announce.wav", call), { headers: this.auth() });
        if (response.status === 200) {
          const buffer = await this.context.decodeAudioData(await response.arrayBuffer());
          await this.playBuffer(buffer, "speech");
          return;
        }
        if (response.status !== 503) break; // the server cannot speak: use the browser's voice
        await new Promise((resolve) => setTimeout(resolve, SPEECH_RETRY_MS));
      }
      await this.browserSpeech(captions);
    }

    browserSpeech(captions) {
      const synth = window.speechSynthesis;
      if (!synth || !synth.getVoices().length) {
        record("speech_unavailable");
        return Promise.resolve();
      }
      return captions.reduce((done, caption) => done.then(() => new Promise((resolve) => {
        const utterance = new SpeechSynthesisUtterance(caption.text);
        utterance.lang = caption.language;
        utterance.onend = utterance.onerror = resolve;
        synth.speak(utterance);
      })), Promise.resolve());
    }

    playBuffer(buffer, what) {
      return new Promise((resolve) => {
        const source = this.context.createBufferSource();
        source.buffer = buffer;
        source.connect(this.context.destination);
        source.onended = resolve;
        record("play", { what, seconds: buffer.duration });
        source.start();
      });
    }

    url(path, call) {
      const query = new URLSearchParams({ call: call.call_id, languages: this.options.languages });
      return `${path}?${query}`;
    }

    auth() {
      return { Authorization: `Bearer ${this.token}` };
    }
  }

  // ------------------------------------------------------------ the connection

  let everConnected = false;

  function follow(token, options, state, announcer) {
    const backoff = WalkinBackoff.create(MIN_BACKOFF_MS, MAX_BACKOFF_MS);
    let ids = 0;

    function connect() {
      const scheme = location.protocol === "https:" ? "wss:" : "ws:";
      const ws = new WebSocket(`${scheme}//${location.host}/ws`);
      let pingTimer = null;
      let pongTimer = null;
      let refused = false;

      ws.onopen = () => ws.send(JSON.stringify({ type: "hello", token, client: CLIENT }));
      ws.onmessage = (frame) => {
        const message = JSON.parse(frame.data);
        if (message.type === "error" && message.code === "not_authenticated") {
          refused = true;
          forgetToken();
          $("status").textContent = "This board's token was refused";
          record("refused", { message: message.message });
          askForToken("The token was refused. Enter a board token.");
          return;
        }
        if (message.type === "ok" && message.re === pingTimer?.id) {
          clearTimeout(pongTimer);
          return;
        }
        if (message.type === "snapshot") {
          everConnected = true;
          backoff.reset();
          WalkinFailover.served();
        }
        apply(message);
      };
      ws.onclose = () => {
        clearInterval(pingTimer?.interval);
        clearTimeout(pongTimer);
        if (refused) return;
        if (state.view.connected) {
          state.connectionLost();
          render(state.view, options);
          record("reconnecting");
        }
        // another of the centre's servers may have taken over: the board moves there,
        // with its token and the newest call it has seen (announced there only if newer)
        if (WalkinFailover.failed({ token, announced: state.newestCallMs() })) return;
        setTimeout(connect, backoff.nextDelay());
      };
      pingTimer = {
        id: null,
        interval: setInterval(() => {
          if (ws.readyState !== WebSocket.OPEN || !state.view.connected) return;
          pingTimer.id = `ping-${++ids}`;
          ws.send(JSON.stringify({ type: "ping", id: pingTimer.id }));
          pongTimer = setTimeout(() => ws.close(), PING_TIMEOUT_MS);
        }, PING_EVERY_MS),
      };
    }

    function apply(message) {
      if (message.type === "offline" || (message.type === "snapshot" && message.offline)) {
        // the centre ran offline today: when, and for how long (issue 13)
        const note = WalkinOffline.sentence(message.type === "offline" ? message : message.offline,
          message.centre ? message.centre.timezone : timeZone);
        $("offline-note").textContent = note;
        $("offline-note").hidden = !note;
      }
      const update = state.apply(message);
      if (message.type === "snapshot") {
        record("snapshot", {
          latest: state.view.latest ? state.view.latest.call_id : null,
          previous: state.view.previous.map((c) => c.call_id),
        });
      }
      if (!update.redraw) return;
      render(state.view, options);
      if (update.flash) flash();
      for (const call of update.announce) announcer.announce(call);
      if (update.announce.length) {
        const shown = update.announce.map((c) => ({ call_id: c.call_id, number: c.number, counter: c.counter }));
        // after the frame that paints the change: requestAnimationFrame runs just
        // before the paint, and a task queued from it runs once the paint is done
        requestAnimationFrame(() => setTimeout(() => shown.forEach((c) => record("shown", c)), 0));
      }
    }

    connect();
  }

  // ------------------------------------------------------------ start

  function askForToken(error) {
    const form = $("token-form");
    form.hidden = false;
    $("token-error").textContent = error || "";
    form.onsubmit = (event) => {
      event.preventDefault();
      const token = $("token-input").value.trim();
      if (!token) return;
      sessionStorage.setItem(TOKEN_KEY, token);
      if ($("token-remember").checked) localStorage.setItem(TOKEN_KEY, token);
      location.reload();
    };
  }

  // The fixed phrases of the page, in the screen languages.
  function applyWords() {
    document.title = word("now_calling", "Now calling");
    $("latest-placeholder").textContent = word("placeholder", "Your number will be shown here");
    const headings = document.querySelectorAll("#previous-panel thead th");
    headings[0].textContent = word("ticket", "Ticket");
    headings[1].textContent = word("counter", "Counter");
  }

  function start() {
    applyWords();
    const options = readOptions();
    if (WORDS.problem) options.errors.push(WORDS.problem);  // ?screen= named an unknown language
    if (options.errors.length) {
      $("config-error").hidden = false;
      $("config-error").textContent = "Board address options: " + options.errors.join("; ");
    }
    if (options.portrait && window.innerWidth > window.innerHeight) document.body.classList.add("rotated");
    if (options.message) {
      $("message").textContent = options.message;
      $("ticker").hidden = false;
      $("message").style.setProperty("--ticker-seconds", `${Math.max(10, options.message.length / 4)}s`);
    }
    tickClock();
    setInterval(tickClock, 1000);
    WalkinFailover.learn();
    const announced = Number(WalkinFailover.carried("announced"));
    if (announced > 0) options.announcedUpToMs = announced;  // moved here from another server
    const state = new window.WalkinBoardState.BoardState(options);
    render(state.view, options);
    window.walkinBoard = { trace, state, options };
    const token = takeToken();
    if (!token) {
      askForToken();
      return;
    }
    const announcer = new Announcer(options, token);
    window.walkinBoard.announcer = announcer;
    if (options.audio !== "off") {
      const button = $("enable-sound");
      button.hidden = false;
      button.onclick = async () => {
        try {
          if (await announcer.enable()) button.hidden = true;
        } catch (error) {
          record("sound_failed", { error: String(error) });
        }
      };
    }
    follow(token, options, state, announcer);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
