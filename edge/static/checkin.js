// Kiosk appointment check-in: an on-screen keypad (digits and the booking code's letters, no
// 0/O/1/I in codes) fills the entry field, so a visitor never needs a keyboard. Without script
// the field can still be typed.
(function () {
  "use strict";
  var form = document.querySelector("[data-checkin-keypad]");
  if (!form) return;
  var input = form.querySelector("input[name=entry]");
  var max = parseInt(input.getAttribute("maxlength"), 10) || 6;
  form.addEventListener("click", function (e) {
    var b = e.target.closest("button");
    if (!b || b.type === "submit") return;
    if (b.dataset.key !== undefined) {
      if (input.value.length < max) input.value = input.value.toUpperCase() + b.dataset.key;
    } else if (b.hasAttribute("data-back")) {
      input.value = input.value.slice(0, -1);
    } else if (b.hasAttribute("data-clear")) {
      input.value = "";
    }
  });
})();
