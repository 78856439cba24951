// Hall display board: re-render on `board` events, flash the called window's row and announce
// `call` events, show and say a window's prompt to rate (with its countdown), and say so plainly
// when the connection to the hall node is lost. The server renders the first board; this keeps
// it live through /api/stream (SSE). Speech: the browser's own Chinese voice when it has one,
// else audio the hall node speaks (/api/display/voice: espeak-ng, no internet needed).
// The texts this writes itself come from the page (#board-text, in Chinese and, on a bilingual
// board, English): none is written here.
(function () {
  "use strict";
  var board = document.getElementById("board");
  var text = {};
  try { text = JSON.parse(document.getElementById("board-text").textContent); } catch (e) { /* no texts */ }
  // a shown text of #board-text into `el`: the Chinese, then the English (if any) as the template's bi() does
  var show = function (el, t, fill) {
    el.textContent = "";
    if (!t) return;
    el.appendChild(document.createTextNode(fill(t.zh)));
    if (t.en) {
      var en = document.createElement("span");
      en.className = "en";
      en.lang = "en";
      en.textContent = fill(t.en);
      el.appendChild(en);
    }
  };
  var limit = parseInt(board.dataset.limit, 10); // from the snapshot; each `board` event updates it
  var clock = document.getElementById("clock");
  var lost = document.getElementById("lost");
  var lostSince = document.getElementById("lost-since");
  var pausedAt = {}; // window id -> [paused seconds at snapshot, browser ms at snapshot]
  var rateAt = {}; // window id -> [seconds left of its prompt to rate at snapshot, browser ms at snapshot]
  var ratesSeen = null; // prompts (ticket ids) already on the board: said once; null until the first board
  var ratesEnded = {}; // prompts whose countdown ran out here: the board is re-read once for each
  var flashUntil = {}; // window id -> browser ms until which its row flashes
  var FLASH_MS = 6000;
  var QUIET_MS = 30000; // a stream silent this long is reopened (the server sends no heartbeat)
  var GRACE_MS = 8000; // a reopened stream must deliver its first board within this

  // hall time = last server time + elapsed browser time (the hall may run on a simulated clock)
  var base = Date.parse(clock.dataset.now), t0 = Date.now();
  var pad = function (n) { return (n < 10 ? "0" : "") + n; };
  var offsetMinutes = function (iso) {
    var m = /([+-])(\d\d):(\d\d)$/.exec(iso || "");
    return m ? (m[1] === "-" ? -1 : 1) * (parseInt(m[2], 10) * 60 + parseInt(m[3], 10)) : 0;
  };
  var offset = offsetMinutes(clock.dataset.now);
  var hallTime = function () {
    var d = new Date(base + Date.now() - t0 + offset * 60000);
    return pad(d.getUTCHours()) + ":" + pad(d.getUTCMinutes()) + ":" + pad(d.getUTCSeconds());
  };

  // ------------------------------------------------------------ connection state
  var offline = false;
  var goOffline = function () {
    if (offline) return;
    offline = true;
    // the clock stops at the last moment the hall was heard from, dimmed with the figures
    if (!isNaN(base)) {
      var last = hallTime();
      clock.textContent = last;
      show(lostSince, text.last_update, function (s) { return s.replace("{time}", last); });
    }
    document.body.classList.add("offline");
    lost.classList.remove("hidden");
  };
  var goOnline = function () {
    if (!offline) return;
    offline = false;
    document.body.classList.remove("offline");
    lost.classList.add("hidden");
  };

  var tick = function () {
    if (!offline && !isNaN(base)) clock.textContent = hallTime();
    document.querySelectorAll(".win.flash").forEach(function (c) {
      if ((flashUntil[c.dataset.window] || 0) <= Date.now()) c.classList.remove("flash");
    });
    var cards = document.querySelectorAll(".win.paused");
    for (var i = 0; i < cards.length; i++) {
      var p = pausedAt[cards[i].dataset.window];
      if (p) cards[i].classList.toggle("over", p[0] + (Date.now() - p[1]) / 1000 > limit);
    }
    // the prompt to rate counts down; when it runs out the server's board says what comes next
    document.querySelectorAll(".win[data-rate]").forEach(function (c) {
      var r = rateAt[c.dataset.window];
      if (!r) return;
      var left = Math.max(0, Math.ceil(r[0] - (Date.now() - r[1]) / 1000));
      c.querySelectorAll(".rate-left").forEach(function (shown) { shown.textContent = String(left); });
      if (left <= 0 && !ratesEnded[c.dataset.rate]) {
        ratesEnded[c.dataset.rate] = true;
        c.classList.remove("rating");
        refresh();
      }
    });
  };

  // The markup and its labels live in templates/display.html only: on a `board` event this
  // takes the snapshot's time and step-away limit, fetches the board the server renders from
  // the same snapshot, and swaps its live parts in (one fetch at a time; a newer event while
  // one is running fetches once more afterwards).
  var LIVE = ["alerts", "closed-note", "wins", "recent", "queues"];
  var fetching = false, again = false;
  var swap = function (doc) {
    LIVE.forEach(function (id) {
      var mine = document.getElementById(id), theirs = doc.getElementById(id);
      if (!mine || !theirs) return;
      mine.className = theirs.className;
      mine.innerHTML = theirs.innerHTML;
    });
    adopt();
  };
  // The side column lists every department, then the latest calls that fit: when notes above
  // the board (alerts, closed hall) take room, the oldest calls give way.
  var fit = function () {
    var side = document.querySelector(".side");
    var rows = document.querySelectorAll("#recent li");
    rows.forEach(function (li) { li.classList.remove("hidden"); });
    for (var i = rows.length - 1; i > 0 && side.scrollHeight > side.clientHeight; i--) rows[i].classList.add("hidden");
  };
  // read the paused seconds and the prompts to rate off the cards; keep a just-called row
  // flashing; a prompt new on the board is said once (not those already there when it opened)
  var adopt = function () {
    fit();
    pausedAt = {};
    rateAt = {};
    var first = ratesSeen === null, seen = {};
    document.querySelectorAll(".win").forEach(function (c) {
      if (c.dataset.paused !== undefined) pausedAt[c.dataset.window] = [parseInt(c.dataset.paused, 10), Date.now()];
      if ((flashUntil[c.dataset.window] || 0) > Date.now()) c.classList.add("flash");
      if (c.dataset.rate === undefined) return;
      rateAt[c.dataset.window] = [parseInt(c.dataset.rateLeft, 10), Date.now()];
      seen[c.dataset.rate] = true;
      if (!first && !ratesSeen[c.dataset.rate]) {
        speak(c.dataset.rateVoice, voiceUrl("rate", c.dataset.window, c.dataset.rateNumber));
      }
    });
    ratesSeen = seen;
  };
  var refresh = function () {
    if (fetching) { again = true; return; }
    fetching = true;
    fetch(window.location.pathname + window.location.search, { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(function (html) { swap(new DOMParser().parseFromString(html, "text/html")); })
      .catch(function () { /* keep the last board */ })
      .then(function () {
        fetching = false;
        if (again) { again = false; refresh(); }
      });
  };
  var render = function (b) {
    base = Date.parse(b.now); t0 = Date.now();
    offset = offsetMinutes(b.now);
    limit = b.step_away_limit_seconds;
    tick();
    refresh();
  };

  // ------------------------------------------------------------ announcements (calls, prompts to rate)
  var voiceBtn = document.getElementById("voice");
  // whether this browser has a Chinese voice of its own (a Pi's Chromium often has none: its
  // list is empty or Latin only); the list may arrive late, so it is asked each time
  var ownVoice = function () {
    try {
      if (!window.speechSynthesis) return false;
      return window.speechSynthesis.getVoices().some(function (v) { return /^(zh|cmn)/i.test(v.lang || ""); });
    } catch (e) { return false; }
  };
  if (window.speechSynthesis) try { window.speechSynthesis.getVoices(); } catch (e) { /* asked again later */ }
  var voiceUrl = function (what, win, number) {
    var q = "what=" + encodeURIComponent(what);
    if (win) q += "&window=" + encodeURIComponent(win);
    if (number) q += "&number=" + encodeURIComponent(number);
    return "/api/display/voice?" + q;
  };
  // the hall node's audio, one announcement after the other
  var queue = [], playing = false;
  var playNext = function () {
    if (playing || !queue.length) return;
    playing = true;
    var audio = new Audio(queue.shift());
    var done = function () { if (!playing) return; playing = false; playNext(); };
    audio.addEventListener("ended", done);
    audio.addEventListener("error", done);
    try {
      var p = audio.play();
      if (p && p.catch) p.catch(done);
    } catch (e) { done(); }
  };
  document.body.dataset.voice = ""; // how the last announcement was said (tests read it)
  var speak = function (text, src) {
    if (ownVoice()) {
      try {
        var u = new SpeechSynthesisUtterance(text);
        u.lang = "zh-CN";
        u.rate = 0.9;
        window.speechSynthesis.speak(u);
        document.body.dataset.voice = "browser";
        return;
      } catch (e) { /* fall back to the hall node's voice */ }
    }
    if (!src) return;
    document.body.dataset.voice = src;
    queue.push(src);
    playNext();
  };
  // only the called window's row flashes, for FLASH_MS; the rest of the board stays still
  var announce = function (c) {
    flashUntil[c.window] = Date.now() + FLASH_MS;
    var row = document.querySelector('.win[data-window="' + c.window + '"]');
    if (row) {
      row.classList.remove("flash");
      void row.offsetWidth; // restart the animation for a second call of the same window
      row.classList.add("flash");
    }
    speak(c.text, voiceUrl("call", c.window, c.number));
  };
  // Browsers may block speech until someone touches the page once; the button does that.
  voiceBtn.addEventListener("click", function () {
    speak(text.voice_enabled || "", voiceUrl("enabled"));
    voiceBtn.classList.add("hidden");
  });

  adopt();
  window.addEventListener("resize", fit);
  tick();
  setInterval(tick, 1000);
  if (!window.EventSource) return;

  // ------------------------------------------------------------ the stream
  var es = null, heard = Date.now(), reopened = 0, retry = null;
  var connect = function () {
    if (es) es.close();
    if (retry) { clearTimeout(retry); retry = null; }
    es = new EventSource("/api/stream");
    es.addEventListener("board", function (e) {
      heard = Date.now(); reopened = 0;
      goOnline();
      document.body.dataset.live = "1"; // the stream has answered (tests wait for it)
      try { render(JSON.parse(e.data)); } catch (err) { /* keep the last board */ }
    });
    es.addEventListener("call", function (e) {
      heard = Date.now();
      try { announce(JSON.parse(e.data)); } catch (err) { /* ignore a bad event */ }
    });
    es.addEventListener("error", function () {
      if (es.readyState === EventSource.OPEN) return;
      goOffline();
      // CONNECTING: the browser retries by itself; CLOSED (an error answer): retry here
      if (es.readyState === EventSource.CLOSED && !retry) retry = setTimeout(connect, 3000);
    });
  };
  connect();
  // A stream can also die silently (a cable, a proxy): one quiet for QUIET_MS is reopened, and
  // a reopened one that brings no board within GRACE_MS counts as lost (and is reopened again).
  setInterval(function () {
    var now = Date.now();
    if (now - heard < QUIET_MS) return;
    if (!reopened) { reopened = now; connect(); return; }
    if (now - reopened > GRACE_MS) { goOffline(); reopened = now; connect(); }
  }, 2000);
})();
