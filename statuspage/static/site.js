// The public page's only script: every <time datetime> shows the reader's own time zone and how
// long ago (or how soon) it is; the network matrix's search filters as one types. The page is rendered once per change and served as cached bytes,
// so "12 minutes ago" is written here, from the datetime, and kept fresh; without JavaScript the
// page keeps the site's own zone. Words come from the browser's CLDR data, as Babel's do.
(function () {
  "use strict";
  var root = document.documentElement;
  var lang = root.lang || "en";
  var UNITS = [["year", 31536000], ["month", 2592000], ["week", 604800], ["day", 86400],
    ["hour", 3600], ["minute", 60], ["second", 1]];
  var relative = window.Intl && Intl.RelativeTimeFormat
    ? new Intl.RelativeTimeFormat(lang, { numeric: "always" }) : null;

  function two(n) { return (n < 10 ? "0" : "") + n; }

  // As Babel's format_timedelta: the largest unit that makes at least 0.85 of one.
  function ago(seconds) {
    for (var i = 0; i < UNITS.length; i++) {
      var value = Math.abs(seconds) / UNITS[i][1];
      if (value >= 0.85) {
        return relative.format((seconds < 0 ? -1 : 1) * Math.max(1, Math.round(value)), UNITS[i][0]);
      }
    }
    return relative.format(0, "second");
  }

  function offset(date) {
    var minutes = -date.getTimezoneOffset();
    var sign = minutes < 0 ? "-" : "+";
    minutes = Math.abs(minutes);
    return "UTC" + sign + two(Math.floor(minutes / 60)) + ":" + two(minutes % 60);
  }

  // The form the server writes: "2026-03-01 12:30 (UTC+08:00)", "2026年3月1日 12:30 (UTC+08:00)".
  function local(date) {
    var clock = two(date.getHours()) + ":" + two(date.getMinutes());
    var day = lang === "zh-CN"
      ? date.getFullYear() + "年" + (date.getMonth() + 1) + "月" + date.getDate() + "日"
      : date.getFullYear() + "-" + two(date.getMonth() + 1) + "-" + two(date.getDate());
    return day + " " + clock + " (" + offset(date) + ")";
  }

  function show() {
    var wrap = document.body.getAttribute("data-relative") || " ({relative})";
    var now = Date.now();
    var times = document.querySelectorAll("time[datetime]");
    for (var i = 0; i < times.length; i++) {
      var el = times[i];
      var date = new Date(el.getAttribute("datetime"));
      if (isNaN(date.getTime())) { continue; }
      if (!el.hasAttribute("title")) { el.setAttribute("title", el.textContent); }
      el.textContent = local(date);
      if (!relative) { continue; }
      var note = el.nextElementSibling;
      if (!note || !note.classList.contains("ago")) {
        note = document.createElement("span");
        note.className = "ago";
        el.parentNode.insertBefore(note, el.nextSibling);
      }
      note.textContent = wrap.replace("{relative}", ago((date.getTime() - now) / 1000));
    }
    var zone = document.getElementById("time-zone");
    var named = window.Intl && Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (zone && named) {
      zone.textContent = zone.getAttribute("data-reader").replace(
        "{zone}", named + " (" + offset(new Date()) + ")");
    }
  }

  show();
  window.setInterval(show, 30000);

  // /networks: the search filters the rows as one types (the form's GET ?q= does the same on
  // the server without JavaScript; a static copy ignores ?q=, so it is read here too).
  var search = document.getElementById("network-q");
  var none = document.getElementById("no-match");
  function filter() {
    var words = search.value.toLowerCase().split(/\s+/).filter(Boolean);
    var rows = document.querySelectorAll("tr[data-search]");
    var shown = 0;
    for (var i = 0; i < rows.length; i++) {
      var text = rows[i].getAttribute("data-search");
      var hit = words.every(function (word) { return text.indexOf(word) >= 0; });
      rows[i].hidden = !hit;
      if (hit) { shown++; }
    }
    var groups = document.querySelectorAll("table.networks tbody");
    for (var j = 0; j < groups.length; j++) {
      groups[j].hidden = !groups[j].querySelector("tr[data-search]:not([hidden])");
    }
    none.hidden = shown > 0;
    if (!shown) { none.textContent = none.getAttribute("data-words").replace("{q}", search.value); }
  }
  if (search && none) {
    var asked = new URLSearchParams(location.search).get("q");
    if (asked && !search.value) { search.value = asked; }
    search.addEventListener("input", filter);
    if (search.value) { filter(); }
  }
}());
