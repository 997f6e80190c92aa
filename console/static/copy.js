// Beacon console: the copy buttons of secrets shown once. Served from /console/static (the
// console's Content-Security-Policy allows script from 'self' only; no inline script).
// Without script the buttons stay hidden and the secret can be selected and copied by hand.
(function () {
  "use strict";
  // A page that shows a secret once must not show it again: reloading it must not repeat the
  // POST that made it, so the page's history entry becomes a plain GET of the screen that
  // data-shown-once names (a same-origin path).
  var once = document.querySelector("[data-shown-once]");
  if (once && window.history.replaceState) {
    var screen = once.getAttribute("data-shown-once");
    window.history.replaceState(null, "", screen && screen.charAt(0) === "/" ? screen : window.location.pathname);
  }
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    var id = button.getAttribute("data-copy");
    var field = document.getElementById(id);
    var note = document.querySelector('[data-copy-status="' + id + '"]');
    if (!field) {
      return;
    }
    button.hidden = false;
    button.addEventListener("click", function () {
      var done = function (ok) {
        if (note) {
          note.textContent = ok ? "Copied to the clipboard." : "Copying failed: select the text and copy it.";
        }
      };
      if (navigator.clipboard && navigator.clipboard.writeText) {
        navigator.clipboard.writeText(field.value).then(function () { done(true); }, function () {
          field.select();
          done(document.execCommand("copy"));
        });
      } else {
        field.select();
        done(document.execCommand("copy"));
      }
    });
  });
})();
