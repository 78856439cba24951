// Hall display board: re-render on `board` events, flash and announce `call` events.
// The server renders the first board; this keeps it live through /api/stream (SSE).
(function () {
  "use strict";
  var board = document.getElementById("board");
  var limit = parseInt(board.dataset.limit, 10); // from the snapshot; each `board` event updates it
  var clock = document.getElementById("clock");
  var pausedAt = {}; // window id -> [paused seconds at snapshot, browser ms at snapshot]
  var calledUntil = {}; // window id -> browser ms until which its card is highlighted
  var CALLED_MS = 15000;

  // hall time = last server time + elapsed browser time (the hall may run on a simulated clock)
  var base = Date.parse(clock.dataset.now), t0 = Date.now();
  var pad = function (n) { return (n < 10 ? "0" : "") + n; };
  var hallNow = function () { return new Date(base + Date.now() - t0); };
  var offsetMinutes = (function (iso) {
    var m = /([+-])(\d\d):(\d\d)$/.exec(iso || "");
    return m ? (m[1] === "-" ? -1 : 1) * (parseInt(m[2], 10) * 60 + parseInt(m[3], 10)) : 0;
  })(clock.dataset.now);
  var tick = function () {
    if (!isNaN(base)) {
      var d = new Date(hallNow().getTime() + offsetMinutes * 60000);
      clock.textContent = pad(d.getUTCHours()) + ":" + pad(d.getUTCMinutes()) + ":" + pad(d.getUTCSeconds());
    }
    document.querySelectorAll(".win.called").forEach(function (c) {
      if ((calledUntil[c.dataset.window] || 0) <= Date.now()) c.classList.remove("called");
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
  // read the paused seconds off the cards; keep a just-called card highlighted
  var adopt = function () {
    pausedAt = {};
    document.querySelectorAll(".win").forEach(function (c) {
      if (c.dataset.paused !== undefined) pausedAt[c.dataset.window] = [parseInt(c.dataset.paused, 10), Date.now()];
      if ((calledUntil[c.dataset.window] || 0) > Date.now()) c.classList.add("called");
    });
  };
  var refresh = function () {
    if (fetching) { again = true; return; }
    fetching = true;
    fetch(window.location.pathname + window.location.search, { credentials: "same-origin" })
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
    limit = b.step_away_limit_seconds;
    refresh();
  };

  // ------------------------------------------------------------ call announcements
  var overlay = document.getElementById("overlay");
  var pending = [], showing = false;
  var voiceBtn = document.getElementById("voice");
  var speak = function (text) {
    try {
      if (!window.speechSynthesis) return;
      var u = new SpeechSynthesisUtterance(text);
      u.lang = "zh-CN";
      u.rate = 0.9;
      window.speechSynthesis.speak(u);
    } catch (e) { /* no voice on this machine: the flash still shows */ }
  };
  var next = function () {
    if (!pending.length) { showing = false; overlay.classList.remove("show"); return; }
    showing = true;
    var c = pending.shift();
    document.getElementById("onum").textContent = c.number;
    document.getElementById("otext").textContent = "请到 " + c.window_name + " 办理";
    overlay.classList.add("show");
    calledUntil[c.window] = Date.now() + CALLED_MS;
    var card = document.querySelector('.win[data-window="' + c.window + '"]');
    if (card) card.classList.add("called");
    speak(c.text);
    setTimeout(next, 6000);
  };
  var announce = function (c) {
    pending.push(c);
    if (!showing) next();
  };
  // Browsers may block speech until someone touches the page once; the button does that.
  voiceBtn.addEventListener("click", function () { speak("语音播报已启用"); voiceBtn.classList.add("hidden"); });

  adopt();
  tick();
  setInterval(tick, 1000);
  if (!window.EventSource) return;
  var es = new EventSource("/api/stream");
  es.addEventListener("board", function (e) {
    try { render(JSON.parse(e.data)); } catch (err) { /* keep the last board */ }
  });
  es.addEventListener("call", function (e) {
    try { announce(JSON.parse(e.data)); } catch (err) { /* ignore a bad event */ }
  });
})();
