// Device simulator page (--simulate): pins and readers, refreshed twice a second.
(function () {
  "use strict";
  var ROLE = { lamp: "暂停服务灯", pause_button: "暂停按钮", rating_button: "评价按钮", door: "门磁", power: "电源检测",
               rating_lamp: "评价提示灯" };
  var el = function (tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  };
  var post = function (url, body) {
    return fetch(url, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) })
      .then(function (r) { return r.json().then(function (j) { if (!r.ok) alert(j.detail || r.status); return j; }); });
  };
  var button = function (text, fn) { var b = el("button", "secondary", text); b.type = "button"; b.onclick = fn; return b; };
  var press = function (name) {
    post("/api/sim/pins/" + name, { action: "press" }).then(function () {
      setTimeout(function () { post("/api/sim/pins/" + name, { action: "release" }).then(refresh); }, 150);
    });
  };
  var stateText = function (p) {
    if (p.role === "rating_lamp") return { off: "灭", blink: "闪烁（请评价）" }[p.lamp] || p.lamp;
    if (p.role === "lamp") return { off: "灭", on: "亮", blink: "闪烁（离岗超时或请评价）" }[p.lamp] || p.lamp;
    if (p.role === "door") return p.active ? "已关闭" : "打开";
    if (p.role === "power") return p.active ? "通电" : "断电";
    return p.active ? "按下" : "松开";
  };
  var renderPins = function (pins) {
    var box = document.getElementById("pins");
    box.textContent = "";
    pins.forEach(function (p) {
      var row = el("div", "pin-row");
      if (p.role === "lamp" || p.role === "rating_lamp") row.appendChild(el("span", "lamp-dot " + (p.lamp || "off")));
      var label = p.name + " · " + (ROLE[p.role] || p.role) + (p.window ? " · " + p.window : "") +
        (p.label ? " · " + p.label : "") + " · " + (p.board ? p.board + ":" : "") +
        (typeof p.pin === "number" ? "GPIO" + p.pin : p.pin) + "（" + ({ high: "高电平", low: "低电平" }[p.level] || "电平未知") + "）";
      row.appendChild(el("span", "pname", label));
      row.appendChild(el("b", "", stateText(p)));
      if (!p.ok) row.appendChild(el("span", "red", p.error));
      else if (p.role === "pause_button" || p.role === "rating_button") row.appendChild(button("按", function () { press(p.name); }));
      else if (p.role === "door" || p.role === "power") {
        row.appendChild(button(p.active ? (p.role === "door" ? "打开" : "断电") : (p.role === "door" ? "关闭" : "通电"),
          function () { post("/api/sim/pins/" + p.name, { action: p.active ? "release" : "press" }).then(refresh); }));
      }
      box.appendChild(row);
    });
  };
  var renderReaders = function (rs) {
    var body = document.querySelector("#readers tbody");
    body.textContent = "";
    rs.forEach(function (r) {
      var tr = el("tr");
      tr.appendChild(el("td", "", r.label));
      tr.appendChild(el("td", r.state === "ok" ? "green" : "red", r.state === "ok" ? "正常" : r.state === "fault" ? "故障：" + r.error : r.state));
      tr.appendChild(el("td", "", r.last ? r.last.read_at.slice(11, 19) + " " + r.last.message : "—"));
      var td = el("td");
      td.appendChild(button(r.state === "fault" ? "插回" : "拔出", function () {
        post("/api/sim/readers/" + r.name, { action: r.state === "fault" ? "plug" : "unplug" }).then(refresh);
      }));
      tr.appendChild(td);
      body.appendChild(tr);
    });
  };
  var renderAlerts = function (list) {
    var box = document.getElementById("sim-alerts");
    box.textContent = "";
    list.forEach(function (a) { box.appendChild(el("span", "alert alert-" + a.kind, a.text)); });
    box.classList.toggle("hidden", !list.length);
  };
  var refresh = function () {
    fetch("/api/sim/pins").then(function (r) { return r.json(); }).then(renderPins).catch(function () {});
    fetch("/api/sim/readers").then(function (r) { return r.json(); }).then(renderReaders).catch(function () {});
    fetch("/api/display").then(function (r) { return r.json(); }).then(function (b) { renderAlerts(b.alerts || []); }).catch(function () {});
  };
  document.getElementById("badge-form").addEventListener("submit", function (e) {
    e.preventDefault();
    var f = e.target;
    post("/api/sim/badge", { reader: f.reader.value, card: f.card.value.trim(), variant: f.variant.value })
      .then(function () { setTimeout(refresh, 100); });
  });
  refresh();
  setInterval(refresh, 500);
})();
