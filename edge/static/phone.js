// The visitor's phone page: keep #live current from the ticket's own event stream
// (/api/phone/{ticket}/{tag}/stream, SSE) and vibrate once when the number is near or called.
// The markup and its labels live in templates/phone_live.html only (in the page's language): on a
// change this re-reads the page and swaps #live. A browser without EventSource polls the ticket's state instead; a stream
// that goes quiet (a phone that slept, a Wi-Fi hand-over) is reopened, and so is a closed one when
// the page is shown again.
(function () {
  "use strict";
  var live = document.getElementById("live");
  if (!live) return;
  var lost = document.getElementById("lost");
  var POLL_MS = 10000; // without EventSource
  var QUIET_MS = 60000; // the server sends a heartbeat when quiet (15 s by default)
  var LOST_MS = 8000; // an error lasting this long is shown
  var last = null; // the last state (JSON text) seen
  var source = null, quietTimer = null, lostTimer = null;

  // ------------------------------------------------------------ vibration, once per reason
  var seenKey = "onestop-phone:" + window.location.pathname;
  var seen = function () {
    try { return JSON.parse(window.sessionStorage.getItem(seenKey) || "{}"); } catch (e) { return {}; }
  };
  // before the visitor's first tap the browser refuses (and logs) a vibration: wait for it
  var canBuzz = function () {
    return !!navigator.vibrate && (!navigator.userActivation || navigator.userActivation.hasBeenActive);
  };
  var buzz = function (reason, pattern) {
    if (!canBuzz()) return;
    var s = seen();
    if (s[reason]) return;
    s[reason] = 1;
    try { window.sessionStorage.setItem(seenKey, JSON.stringify(s)); } catch (e) { /* private mode */ }
    try { navigator.vibrate(pattern); } catch (e) { /* not allowed */ }
  };
  var alertFor = function (s) {
    if (s.state === "called") buzz("called-" + s.recalls, [400, 200, 400, 200, 400]);
    else if (s.remind) buzz("remind", [300, 150, 300]);
  };
  // browsers vibrate only after the visitor touched the page once: a button says so
  var vibrateRow = document.getElementById("vibrate-row");
  if (navigator.vibrate && vibrateRow) {
    vibrateRow.classList.remove("hidden");
    document.getElementById("vibrate").addEventListener("click", function () {
      try { navigator.vibrate(80); } catch (e) { /* not allowed */ }
      vibrateRow.classList.add("hidden");
    });
  }

  // ------------------------------------------------------------ re-reading the page
  var fetching = false, again = false;
  var refresh = function () {
    if (fetching) { again = true; return; }
    fetching = true;
    // (the query keeps the page's language: ?lang=en)
    fetch(window.location.pathname + window.location.search, { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        var theirs = doc.getElementById("live");
        if (theirs) live.innerHTML = theirs.innerHTML;
        if (doc.title) document.title = doc.title;
      })
      .catch(function () { /* keep what is shown */ })
      .then(function () {
        fetching = false;
        if (again) { again = false; refresh(); }
      });
  };
  var onState = function (text) {
    if (text === last) return;
    last = text;
    var s;
    try { s = JSON.parse(text); } catch (e) { return; }
    alertFor(s);
    refresh(); // (the first state too: something may have changed since the page was rendered)
  };

  // ------------------------------------------------------------ connection
  var heard = function () {
    clearTimeout(lostTimer); lostTimer = null;
    lost.classList.add("hidden");
    clearTimeout(quietTimer);
    quietTimer = setTimeout(reopen, QUIET_MS);
  };
  var trouble = function () {
    if (lostTimer === null) lostTimer = setTimeout(function () { lost.classList.remove("hidden"); }, LOST_MS);
  };
  var open = function () {
    source = new EventSource(live.dataset.stream);
    source.addEventListener("ticket", function (e) { heard(); onState(e.data); });
    source.addEventListener("heartbeat", heard);
    source.onopen = heard;
    source.onerror = function () {
      trouble();
      // closed for good (the node answered an error): try again a little later
      if (source.readyState === EventSource.CLOSED) { clearTimeout(quietTimer); quietTimer = setTimeout(reopen, LOST_MS); }
    };
  };
  var reopen = function () {
    if (source) source.close();
    open();
  };
  var poll = function () {
    fetch(live.dataset.stateUrl, { cache: "no-store" })
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(function (text) { heard(); onState(text); })
      .catch(trouble);
  };

  if (window.EventSource) {
    open();
    document.addEventListener("visibilitychange", function () {
      // a phone unlocked: show the latest at once, and reopen a stream the phone may have dropped
      if (document.visibilityState === "visible") { refresh(); if (source.readyState !== EventSource.OPEN) reopen(); }
    });
  } else {
    poll();
    setInterval(poll, POLL_MS);
  }
})();
