// The client's letter: a Print button where the browser can print (the page works without it).
document.addEventListener("DOMContentLoaded", () => {
  const button = document.querySelector("[data-print]");
  if (button && typeof window.print === "function") {
    button.hidden = false;
    button.addEventListener("click", () => window.print());
  }
});
