// Window console: outcome-dependent parts of the 办结 form, the step-away timer, and live
// refresh on the hall's `board` events (the page works without this script; it then reloads
// itself every 20 s through a <noscript> meta refresh).
(function () {
  "use strict";
  var root = document.getElementById("console");
  if (!root) return;
  document.documentElement.classList.add("js");

  // ------------------------------------------------------------ the 办结 form
  var form = document.getElementById("complete-form");
  var dirty = false;
  if (form) {
    var outcomes = form.querySelectorAll('input[name="outcome"]');
    var items = form.querySelectorAll('input[name="item"]');
    var outcomeTouched = false;

    var checked = function (nodes) {
      for (var i = 0; i < nodes.length; i++) if (nodes[i].checked) return nodes[i];
      return null;
    };

    var update = function () {
      var o = checked(outcomes);
      var it = checked(items);
      var outcome = o ? o.value : "";
      form.querySelectorAll(".extra").forEach(function (el) {
        var on = outcome !== "" && el.dataset.for.split(" ").indexOf(outcome) >= 0;  // data-for: one or more outcomes
        el.classList.toggle("hide", !on);
        el.querySelectorAll("input, textarea").forEach(function (inp) {
          inp.disabled = !on || inp.closest(".check.disabled") !== null;
        });
      });
      form.querySelectorAll(".matgroup").forEach(function (g) {
        var on = it && g.dataset.item === it.value;
        g.classList.toggle("hide", !on);
        if (!on) g.querySelectorAll("input").forEach(function (inp) { inp.checked = false; inp.disabled = true; });
      });
      var reason = document.getElementById("reason");
      if (reason) reason.required = outcome === "refused";
      var text = it && it.dataset.deadline ? it.dataset.deadline : "（该事项无承诺时限）";
      form.querySelectorAll(".deadline-text").forEach(function (el) { el.textContent = text; });
    };

    items.forEach(function (inp) {
      inp.addEventListener("change", function () {
        // joint: pre-tick the item's co-departments; outcome follows the item's mode until chosen by hand
        var co = (inp.dataset.co || "").split(",").filter(Boolean);
        form.querySelectorAll('input[name="co_departments"]').forEach(function (c) { c.checked = co.indexOf(c.value) >= 0; });
        if (!outcomeTouched) {
          outcomes.forEach(function (o) { o.checked = o.value === inp.dataset.mode; });
        }
        update();
      });
    });
    outcomes.forEach(function (o) { o.addEventListener("change", function () { outcomeTouched = true; update(); }); });
    form.addEventListener("input", function () { dirty = true; });
    form.addEventListener("change", function () { dirty = true; });
    update();
  }
  document.querySelectorAll("form:not(#complete-form) input, form:not(#complete-form) select").forEach(function (el) {
    el.addEventListener("input", function () { if (el.value) dirty = true; });
  });

  // ------------------------------------------------------------ step-away timer
  var timer = document.getElementById("pause-timer");
  var paused = parseInt(root.dataset.pausedSeconds, 10);
  var limit = parseInt(root.dataset.limit, 10);
  if (timer && !isNaN(paused)) {
    var t0 = Date.now();
    var tick = function () {
      var s = paused + Math.floor((Date.now() - t0) / 1000);
      var mm = Math.floor(s / 60), ss = s % 60;
      timer.textContent = (mm < 10 ? "0" : "") + mm + ":" + (ss < 10 ? "0" : "") + ss;
      timer.classList.toggle("over", s > limit);
    };
    tick();
    setInterval(tick, 1000);
  }

  // ------------------------------------------------------------ waiting minutes
  // each queued number's wait, from its ticket time, on the hall's clock (which may run on a
  // simulated time): the page's render time, then the `now` of the stream's events
  var hallAt = Date.parse(root.dataset.now), hallT0 = Date.now(), renderedAt = hallAt;
  var hallNow = function () { return hallAt + (Date.now() - hallT0); };
  var waits = document.querySelectorAll(".queue-list li[data-waited]");
  var showWaits = function () {
    if (isNaN(hallAt)) return;
    var extra = Math.max(0, (hallNow() - renderedAt) / 1000);
    waits.forEach(function (li) {
      var m = li.querySelector(".waited-min");
      if (m) m.textContent = String(Math.floor((parseInt(li.dataset.waited, 10) + extra) / 60));
    });
  };
  var syncHall = function (iso) {
    var t = Date.parse(iso);
    if (!isNaN(t)) { hallAt = t; hallT0 = Date.now(); showWaits(); }
  };
  if (waits.length) setInterval(showWaits, 10000);

  // ------------------------------------------------------------ the prompt to rate
  // after a service this window prompts the visitor to rate it (/api/display/prompts, read at
  // load and on every `board` event: a rating ends it); the seconds left count down here
  var ratePrompt = document.getElementById("rate-prompt");
  var rateLeft = null; // [seconds left when read, browser ms then]
  var showRate = function () {
    if (!ratePrompt) return;
    var left = rateLeft ? Math.max(0, Math.ceil(rateLeft[0] - (Date.now() - rateLeft[1]) / 1000)) : 0;
    ratePrompt.classList.toggle("hidden", left <= 0);
    document.getElementById("rate-prompt-left").textContent = String(left);
  };
  var readRate = function () {
    if (!ratePrompt || !window.fetch) return;
    fetch("/api/display/prompts", { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (list) {
        var mine = null;
        list.forEach(function (p) { if (p.window === root.dataset.window) mine = p; });
        rateLeft = mine ? [mine.seconds_left, Date.now()] : null;
        if (mine) document.getElementById("rate-prompt-number").textContent = mine.number;
        showRate();
      })
      .catch(function () { /* keep what is shown */ });
  };
  readRate();
  setInterval(showRate, 1000);

  // ------------------------------------------------------------ live refresh
  if (!window.EventSource) return;
  var win = root.dataset.window, dept = root.dataset.department, sig = root.dataset.sig;
  var signature = function (board) {
    var w = null, q = null, i;
    for (i = 0; i < board.windows.length; i++) if (board.windows[i].id === win) w = board.windows[i];
    for (i = 0; i < board.queues.length; i++) if (board.queues[i].department === dept) q = board.queues[i];
    if (!w) return sig;
    return [w.state, w.ticket ? w.ticket.id : "", w.ticket ? String(w.ticket.recalls) : "", w.paused_at || "",
            String(q ? q.waiting : 0)].join("|");
  };
  var reloading = false;
  var es = new EventSource("/api/stream");
  // a form being submitted navigates away: a reload now would cancel that navigation
  document.addEventListener("submit", function () { reloading = true; es.close(); });
  es.addEventListener("heartbeat", function (e) {
    try { syncHall(JSON.parse(e.data).now); } catch (err) { /* keep the browser's count */ }
  });
  es.addEventListener("board", function (e) {
    var now, board;
    readRate();
    try { board = JSON.parse(e.data); now = signature(board); } catch (err) { return; }
    syncHall(board.now);
    if (now === sig) return;
    if (dirty) {
      document.getElementById("update-note").classList.add("show");
      return;
    }
    // never reload more often than every 3 s, whatever happens
    var last = parseInt(sessionStorage.getItem("console-reload") || "0", 10);
    var wait = Math.max(0, last + 3000 - Date.now());
    if (reloading) return;
    reloading = true;
    setTimeout(function () {
      sessionStorage.setItem("console-reload", String(Date.now()));
      es.close();
      window.location.reload();
    }, wait);
  });
  window.addEventListener("beforeunload", function () { es.close(); });
})();
