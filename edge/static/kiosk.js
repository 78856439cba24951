// Kiosk rejoin page: an on-screen keypad (the departments' letter prefixes and digits) fills the
// number field, so a visitor never needs a keyboard. Without script the field can still be typed.
(function () {
  "use strict";
  var form = document.querySelector("[data-keypad]");
  if (!form) return;
  var input = form.querySelector("input[name=number]");
  var max = parseInt(input.getAttribute("maxlength"), 10) || 8;
  form.addEventListener("click", function (e) {
    var b = e.target.closest("button");
    if (!b || b.type === "submit") return;
    if (b.dataset.key !== undefined) {
      var v = input.value.toUpperCase();
      // a letter starts a new number; digits follow it
      if (/[A-Z]/.test(b.dataset.key)) v = b.dataset.key;
      else if (v.length < max) v += b.dataset.key;
      input.value = v;
    } else if (b.hasAttribute("data-back")) {
      input.value = input.value.slice(0, -1);
    } else if (b.hasAttribute("data-clear")) {
      input.value = "";
    }
  });
})();
