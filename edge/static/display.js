// Hall display board: re-render on `board` events, flash the called window's row and announce
// `call` events, and say so plainly when the connection to the hall node is lost.
// The server renders the first board; this keeps it live through /api/stream (SSE).
(function () {
  "use strict";
  var board = document.getElementById("board");
  var limit = parseInt(board.dataset.limit, 10); // from the snapshot; each `board` event updates it
  var clock = document.getElementById("clock");
  var lost = document.getElementById("lost");
  var lostSince = document.getElementById("lost-since");
  var pausedAt = {}; // window id -> [paused seconds at snapshot, browser ms at snapshot]
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
      lostSince.textContent = "（最后更新 " + last + "）";
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
  // read the paused seconds off the cards; keep a just-called row flashing
  var adopt = function () {
    fit();
    pausedAt = {};
    document.querySelectorAll(".win").forEach(function (c) {
      if (c.dataset.paused !== undefined) pausedAt[c.dataset.window] = [parseInt(c.dataset.paused, 10), Date.now()];
      if ((flashUntil[c.dataset.window] || 0) > Date.now()) c.classList.add("flash");
    });
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

  // ------------------------------------------------------------ call announcements
  var voiceBtn = document.getElementById("voice");
  var speak = function (text) {
    try {
      if (!window.speechSynthesis) return;
      var u = new SpeechSynthesisUtterance(text);
      u.lang = "zh-CN";
      u.rate = 0.9;
      window.speechSynthesis.speak(u);
    } catch (e) { /* no voice on this machine: the row still flashes */ }
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
    speak(c.text);
  };
  // Browsers may block speech until someone touches the page once; the button does that.
  voiceBtn.addEventListener("click", function () { speak("语音播报已启用"); voiceBtn.classList.add("hidden"); });

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
