// The console works without this file; with it, uploads show their progress.
"use strict";
document.querySelectorAll("form[data-progress]").forEach(function (form) {
  form.addEventListener("submit", function (event) {
    var bar = form.querySelector("progress");
    if (!bar || !window.XMLHttpRequest) { return; }
    event.preventDefault();
    var request = new XMLHttpRequest();
    request.open("POST", form.action);
    request.upload.addEventListener("progress", function (progress) {
      if (progress.lengthComputable) { bar.max = progress.total; bar.value = progress.loaded; }
    });
    request.addEventListener("load", function () {
      if (request.status === 200 && request.responseURL !== form.action) {
        window.location.assign(request.responseURL);  // the redirect after a good upload
        return;
      }
      document.open(); document.write(request.responseText); document.close();
    });
    bar.hidden = false;
    request.send(new FormData(form));
  });
});
