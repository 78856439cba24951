// Central's live view (/live): server-sent events from /live/stream replace the hall sections
// and the headline figures in place, without reloading the page. Each message carries only
// the sections that changed (server-rendered, escaped HTML) and the order of the halls.
(function () {
  "use strict";
  var state = document.getElementById("live-state");
  var list = document.getElementById("live-halls");
  if (!state || !list || !window.EventSource) return;

  function say(kind, text) {
    state.setAttribute("data-state", kind);
    state.textContent = text;
  }

  function parse(html) {
    var t = document.createElement("template");
    t.innerHTML = html.trim();
    return t.content.firstElementChild;
  }

  function section(id) {
    var all = list.querySelectorAll("section.hall");
    for (var i = 0; i < all.length; i++) {
      if (all[i].getAttribute("data-hall") === id) return all[i];
    }
    return null;
  }

  function apply(msg) {
    Object.keys(msg.halls || {}).forEach(function (id) {
      var fresh = parse(msg.halls[id]);
      var old = section(id);
      if (!fresh) return;
      if (old) old.replaceWith(fresh); else list.appendChild(fresh);
    });
    var order = msg.order || [];
    list.querySelectorAll("section.hall").forEach(function (s) {
      if (order.indexOf(s.getAttribute("data-hall")) < 0) s.remove();
    });
    order.forEach(function (id) {
      var s = section(id);
      if (s) list.appendChild(s);
    });
    if (msg.totals) {
      var totals = document.getElementById("live-totals");
      var t = parse(msg.totals);
      if (totals && t) totals.replaceWith(t);
    }
    say("live", "实时更新：已连接，数据截至 " + msg.at);
  }

  var es = new EventSource("/live/stream");
  es.addEventListener("live", function (e) {
    try {
      apply(JSON.parse(e.data));
    } catch (err) {
      say("error", "实时更新：数据无法显示，请刷新页面");
    }
  });
  es.onerror = function () {
    if (es.readyState === EventSource.CLOSED) {  // refused (e.g. the login expired): no more retries
      say("lost", "实时更新已停止（登录可能已过期），请刷新页面重新登录；页面显示的是停止前的数据");
    } else {
      say("lost", "实时更新：与中心的连接中断，正在重新连接…（页面显示的是断开前的数据）");
    }
  };
})();
