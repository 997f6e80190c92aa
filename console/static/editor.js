// Beacon console, article editor: clinical-claim lint findings as the editor types.
// Vendored with the console (no library). It runs under the console's Content-Security-Policy
// (script-src 'self': no inline script, no eval) and only enhances the page: without it the
// findings show on Preview and Save. 600 ms after the last keystroke in the title, summary or
// body it posts the form to /console/lint (same origin, the session cookie) and lists the
// findings the content service's lint reports for the unsaved text; nothing is saved.
(function () {
  'use strict';
  var form = document.getElementById('article-form');
  var live = document.getElementById('lint-live');
  if (!form || !live || !window.fetch || form.querySelector('fieldset[disabled]')) {
    return;
  }
  var url = form.getAttribute('data-lint');
  var watched = { title: true, summary: true, body: true };
  var timer = null;
  var sent = 0;

  function el(tag, text, cls) {
    var node = document.createElement(tag);
    if (text) { node.textContent = text; }
    if (cls) { node.className = cls; }
    return node;
  }

  function show(data) {
    live.replaceChildren();
    live.hidden = false;
    if (data.error) {
      live.appendChild(el('p', 'As you type: the lint could not run: ' + data.error, 'field-error'));
      return;
    }
    var findings = data.findings || [];
    live.appendChild(el('p', 'As you type (not saved): ' + findings.length +
      (findings.length === 1 ? ' finding' : ' findings') + '; reading ease ' + data.flesch + ' (' + data.level + '), ' +
      data.words + ' words.', 'live-summary'));
    if (findings.length === 0) { return; }
    var list = el('ol', '', 'findings');
    list.id = 'lint-live-findings';
    findings.forEach(function (f) {
      var item = el('li', '', 'finding ' + f.Severity);
      item.setAttribute('data-rule', f.RuleID);
      var p = el('p');
      p.appendChild(el('strong', f.Severity));
      p.appendChild(document.createTextNode(' '));
      p.appendChild(el('code', f.RuleID));
      p.appendChild(document.createTextNode(' in ' + f.Where + ': \u201c' + f.Match + '\u201d. ' + f.Message));
      item.appendChild(p);
      if (f.Suggestion) { item.appendChild(el('p', 'Suggested rewrite: ' + f.Suggestion, 'suggestion')); }
      if (f.Suppressed) { item.appendChild(el('p', 'Suppressed in the text: ' + f.Suppressed)); }
      if (f.Acknowledged) { item.appendChild(el('p', 'Acknowledged by a reviewer.')); }
      list.appendChild(item);
    });
    live.appendChild(list);
  }

  function lint() {
    var mine = ++sent;
    fetch(url, {
      method: 'POST',
      body: new URLSearchParams(new FormData(form)),
      credentials: 'same-origin',
      headers: { Accept: 'application/json' }
    }).then(function (resp) {
      return resp.json();
    }).then(function (data) {
      if (mine === sent) { show(data); }
    }).catch(function () {
      if (mine === sent) { show({ error: 'no answer from the console' }); }
    });
  }

  form.addEventListener('input', function (event) {
    if (!watched[event.target.name]) { return; }
    window.clearTimeout(timer);
    timer = window.setTimeout(lint, 600);
  });
})();
