// The console works without this file; with it, uploads show their progress.
"use strict";
// A form's `action` property is shadowed by any field named "action": read the attribute.
function target(form) { return new URL(form.getAttribute("action"), window.location.href).href; }

document.querySelectorAll("form[data-progress]").forEach(function (form) {
  form.addEventListener("submit", function (event) {
    var bar = form.querySelector("progress");
    if (!bar || !window.XMLHttpRequest) { return; }
    event.preventDefault();
    var request = new XMLHttpRequest();
    request.open("POST", target(form));
    request.upload.addEventListener("progress", function (progress) {
      if (progress.lengthComputable) { bar.max = progress.total; bar.value = progress.loaded; }
    });
    request.addEventListener("load", function () {
      if (request.status === 200 && request.responseURL !== target(form)) {
        window.location.assign(request.responseURL);  // the redirect after a good upload
        return;
      }
      document.open(); document.write(request.responseText); document.close();
    });
    bar.hidden = false;
    request.send(new FormData(form));
  });
});

// Live preview: as staff type an update, the server renders the preview (the same as the
// Preview button does) and it replaces the one on the page.
document.querySelectorAll("form[data-live-preview]").forEach(function (form) {
  var shown = document.getElementById(form.getAttribute("data-live-preview"));
  var timer = null;
  var asked = 0;
  function refresh() {
    var body = new URLSearchParams(new FormData(form));
    body.set("action", "preview");
    var mine = ++asked;
    fetch(target(form), { method: "POST", body: body, credentials: "same-origin" })
      .then(function (response) { return response.text(); })
      .then(function (html) {
        if (mine !== asked) { return; }  // a newer preview is on its way
        var found = new DOMParser().parseFromString(html, "text/html").getElementById(shown.id);
        if (found) { shown.innerHTML = found.innerHTML; }
      });
  }
  form.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(refresh, 400);
  });
});
