// Beacon console: live band coverage in the questionnaire editor. As the editor types, the
// editor form is posted to /console/questionnaires/coverage, which asks the screening service
// to check it (nothing is saved) and answers the coverage panel rendered by the server; the
// panel is replaced with it. Without this script the panel updates when the form is submitted.
(function () {
  "use strict";
  var form = document.getElementById("questionnaire-form");
  var panel = document.getElementById("coverage");
  if (!form || !panel || !window.fetch || !window.FormData) {
    return;
  }
  var timer = null;
  var latest = 0;
  function update() {
    var mine = ++latest;
    var body = new URLSearchParams(new FormData(form));
    body.delete("op");
    fetch("/console/questionnaires/coverage", {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "Content-Type": "application/x-www-form-urlencoded" }
    }).then(function (resp) {
      return resp.ok ? resp.text() : null;
    }).then(function (html) {
      if (html !== null && mine === latest) {
        panel.innerHTML = html;
        panel.setAttribute("data-updated", String(mine));
      }
    }).catch(function () { /* keep the last panel; a save still checks everything */ });
  }
  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(update, 300);
  }
  form.addEventListener("input", schedule);
  form.addEventListener("change", schedule);
})();
