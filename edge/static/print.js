// Print buttons ([data-print]): the ticket slip, notices and guides have print CSS of their own.
document.querySelectorAll("[data-print]").forEach(function (b) {
  b.addEventListener("click", function () { window.print(); });
});
