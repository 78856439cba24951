// The sign-on form: a staff button fills in the staff id and moves to the PIN field.
document.querySelectorAll("[data-staff]").forEach(function (b) {
  b.addEventListener("click", function () {
    document.getElementById("staff").value = b.dataset.staff;
    document.getElementById("pin").focus();
  });
});
