// The awards pages' 打印 button (no inline handlers: the Content-Security-Policy allows only
// central's own scripts).
document.querySelectorAll("[data-print]").forEach((b) => b.addEventListener("click", () => window.print()));
