// Hall display board: re-render on `board` events, flash and announce `call` events.
// The server renders the first board; this keeps it live through /api/stream (SSE).
(function () {
  "use strict";
  var board = document.getElementById("board");
  var limit = parseInt(board.dataset.limit, 10) || 900;
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

  // "2号窗口" before "10号窗口": digit runs compare as numbers, the rest by code point (as edge/pages/board.py)
  var chunks = function (s) {
    return (s.match(/\d+|\D+/g) || []).map(function (p) { return /^\d/.test(p) ? [0, parseInt(p, 10), ""] : [1, 0, p]; });
  };
  var natural = function (a, b) {
    var x = chunks(a), y = chunks(b);
    for (var i = 0; i < Math.min(x.length, y.length); i++) {
      for (var k = 0; k < 3; k++) {
        if (x[i][k] < y[i][k]) return -1;
        if (x[i][k] > y[i][k]) return 1;
      }
    }
    return x.length - y.length;
  };

  var el = function (tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  };

  var renderAlerts = function (list) {
    var box = document.getElementById("alerts");
    if (!box) return;
    box.textContent = "";
    (list || []).forEach(function (a) { box.appendChild(el("span", "alert alert-" + a.kind, a.text)); });
    box.classList.toggle("hidden", !(list && list.length));
  };

  var render = function (b) {
    base = Date.parse(b.now); t0 = Date.now();
    renderAlerts(b.alerts);
    document.getElementById("closed-note").classList.toggle("hidden", !!b.open);
    var wins = document.getElementById("wins");
    wins.textContent = "";
    pausedAt = {};
    var shown = b.windows.filter(function (w) { return w.staff || w.in_service; });
    shown.sort(function (x, y) { return natural(x.name, y.name); });
    wins.className = "wins" + (shown.length > 16 ? " lots" : shown.length > 9 ? " many" : "");
    shown.forEach(function (w) {
      var card = el("div", "win " + w.state + (w.over_limit ? " over" : "") +
                    ((calledUntil[w.id] || 0) > Date.now() ? " called" : ""));
      card.dataset.window = w.id;
      card.appendChild(el("div", "wname", w.name));
      card.appendChild(el("div", "wdept", w.department_name));
      var num = w.violation ? "离岗超时" : w.state === "paused" ? "暂停服务" : w.ticket ? w.ticket.number : w.state === "idle" ? "等待叫号" : "未开放";
      card.appendChild(el("div", "wnum", num));
      card.appendChild(el("div", "wstaff", w.staff ? w.staff.name + (w.role === "B" ? "（B岗）" : "") : "\u00a0"));
      if (w.state === "paused" && w.paused_seconds !== null) pausedAt[w.id] = [w.paused_seconds, Date.now()];
      wins.appendChild(card);
    });
    var recent = document.getElementById("recent");
    recent.textContent = "";
    b.recent.slice(0, 8).forEach(function (r) {
      var li = el("li");
      li.appendChild(el("b", "", r.number));
      li.appendChild(el("span", "", r.window_name));
      li.appendChild(el("span", "", r.at));
      recent.appendChild(li);
    });
    if (!b.recent.length) { var li = el("li"); li.appendChild(el("span", "", "暂无叫号")); recent.appendChild(li); }
    var qs = document.getElementById("queues");
    qs.textContent = "";
    b.queues.forEach(function (q) {
      var li = el("li");
      li.appendChild(el("span", "", q.name));
      var s = el("span");
      s.appendChild(el("b", "", String(q.waiting)));
      s.appendChild(document.createTextNode(" 人"));
      li.appendChild(s);
      qs.appendChild(li);
    });
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

  document.querySelectorAll(".win[data-paused]").forEach(function (c) {
    pausedAt[c.dataset.window] = [parseInt(c.dataset.paused, 10), Date.now()];
  });
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
