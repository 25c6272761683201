// Collapsible main navigation for narrow screens: progressive enhancement.
// Without this script the nav list is always shown and wraps; with it, a
// "Menu" button (a real <button>, so Enter/Space work) toggles the list below
// the breakpoint set in site.css. Escape closes it and returns focus.
(function () {
  "use strict";
  var nav = document.getElementById("site-nav");
  if (!nav) return;
  var button = nav.querySelector(".site-nav__toggle");
  var list = document.getElementById("site-nav-list");
  if (!button || !list) return;

  function setOpen(open) {
    button.setAttribute("aria-expanded", open ? "true" : "false");
    nav.setAttribute("data-open", open ? "true" : "false");
  }

  nav.setAttribute("data-enhanced", "true");
  button.hidden = false;
  setOpen(false);

  button.addEventListener("click", function () {
    setOpen(button.getAttribute("aria-expanded") !== "true");
  });

  nav.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && button.getAttribute("aria-expanded") === "true") {
      setOpen(false);
      button.focus();
    }
  });
})();
