/* Status notices on another site: a banner, in a shadow root, of what /api/notices.json says
   is active for the components or network the tag names, in the visitor's language.
   <script src="https://status.example/embed.js" data-components="1,2" data-lang="auto" async>
   No dependencies, no inline style in the host document, no innerHTML. The words and the
   stylesheet are filled in by the server (statuspage/public/embed.py) from the catalogues. */
(function () {
  "use strict";
  var WORDS = __WORDS__;
  var CSS = __CSS__;
  var FLOOR = 10;
  var me = document.currentScript;
  if (!me || !window.fetch || !Element.prototype.attachShadow) return;
  var data = me.dataset;
  var origin = new URL(me.src, location.href).origin;
  var lang = chosen(data.lang);
  var words = WORDS[lang] || WORDS.en;
  var every = Math.max(FLOOR, parseInt(data.interval, 10) || 60) * 1000;
  var query = [];
  ["components", "asset", "network"].forEach(function (name) {
    if (data[name]) query.push(name + "=" + encodeURIComponent(data[name]));
  });
  if (lang) query.push("lang=" + lang);
  var url = origin + "/api/notices.json?" + query.join("&");
  var wanted = data.components ? data.components.split(",").map(function (s) { return s.trim(); }) : null;
  var key = "statuspage-embed:" + origin;
  var etag = null, timer = null, busy = false, shown = [], last = [], hidden = [];
  var host = document.createElement("div");
  host.setAttribute("data-statuspage-embed", "");
  var root = host.attachShadow({ mode: "open" });
  styled(root);
  var region = make("div", "region");
  region.setAttribute("role", "status");
  region.setAttribute("aria-live", "polite");
  region.setAttribute("aria-label", words.label);
  root.appendChild(region);

  function chosen(asked) {
    // The page's rule: zh* reads Chinese, en* English; anything else the site's default.
    var tags = asked && asked !== "auto" ? [asked] : navigator.languages || [navigator.language];
    for (var i = 0; i < tags.length; i++) {
      var tag = String(tags[i] || "").toLowerCase();
      if (tag.indexOf("zh") === 0) return "zh-CN";
      if (tag.indexOf("en") === 0) return "en";
    }
    return null;
  }

  function styled(shadow) {
    try {
      var sheet = new CSSStyleSheet();
      sheet.replaceSync(CSS);
      shadow.adoptedStyleSheets = [sheet];
    } catch (e) {
      // No constructable stylesheets (older browsers): a <style> in the shadow root, which
      // the host's style-src must allow; without it the banner shows unstyled.
      shadow.appendChild(make("style", "", CSS));
    }
  }

  function make(tag, name, text) {
    var node = document.createElement(tag);
    if (name) node.className = name;
    if (text) node.textContent = text;
    return node;
  }

  function place() {
    var target = data.target && document.querySelector(data.target);
    if (target) target.appendChild(host);
    else if (document.body && document.body.contains(me)) me.parentNode.insertBefore(host, me);
    else if (document.body) document.body.insertBefore(host, document.body.firstChild);
    else return document.addEventListener("DOMContentLoaded", place);
    document.addEventListener("visibilitychange", function () {
      if (document.hidden) stop();
      else if (!timer && !busy) poll();
    });
    poll();
  }

  function stop() {
    clearTimeout(timer);
    timer = null;
  }

  function poll() {
    stop();
    if (document.hidden) return;
    busy = true;
    fetch(url, { headers: etag ? { "If-None-Match": etag } : {}, credentials: "omit" })
      .then(function (answer) {
        if (answer.status === 200) {
          etag = answer.headers.get("ETag");
          return answer.json().then(read);
        }
        // 304: nothing changed. An error (429, 5xx: the status server overloaded, likely
        // during an outage) keeps the banner shown until an answer says otherwise.
      })
      .catch(function () {})
      .then(function () {
        busy = false;
        if (!document.hidden) timer = setTimeout(poll, every);
      });
  }

  function read(doc) {
    words = WORDS[doc.language] || words;
    last = doc.notices.filter(function (notice) {
      return !wanted || notice.components.some(function (id) { return wanted.indexOf(String(id)) >= 0; });
    });
    show(last);
  }

  function dismissed() {
    try { return JSON.parse(sessionStorage.getItem(key) || "[]"); } catch (e) { return []; }
  }

  function dismiss() {
    var gone = dismissed().concat(shown.map(function (n) { return n.id; })).slice(-100);
    try { sessionStorage.setItem(key, JSON.stringify(gone)); } catch (e) { /* kept in memory */ }
    hidden = hidden.concat(gone);
    show(last);
  }

  function show(list) {
    var gone = hidden.concat(dismissed());
    shown = list.filter(function (n) { return gone.indexOf(n.id) < 0; });
    while (region.firstChild) region.removeChild(region.firstChild);
    if (!shown.length) return;
    var incident = shown.some(function (n) { return n.kind === "incident"; });
    var box = make("div", "banner " + (incident ? "incident" : "maintenance"));
    box.setAttribute("lang", words.lang);
    var items = make("ul", "items");
    shown.forEach(function (n) { items.appendChild(item(n)); });
    var close = make("button", "close", "\u00d7");
    close.type = "button";
    close.setAttribute("aria-label", words.dismiss);
    close.addEventListener("click", dismiss);
    box.addEventListener("keydown", function (event) {
      if (event.key === "Escape" || event.key === "Esc") dismiss();
    });
    box.appendChild(items);
    box.appendChild(close);
    region.appendChild(box);
  }

  function item(n) {
    var li = make("li");
    li.appendChild(make("span", "title", words[n.kind] + words.colon + n.title));
    if (n.message) li.appendChild(make("p", "message", n.message));
    var more = make("p", "meta");
    if (n.expected_resolution_at) more.appendChild(make("span", "", words.expected + words.colon + when(n.expected_resolution_at) + " "));
    var link = make("a", "", words.details);
    link.href = n.url;
    link.target = "_blank";
    link.rel = "noopener";
    more.appendChild(link);
    li.appendChild(more);
    return li;
  }

  function when(iso) {
    var options = { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", timeZoneName: "short" };
    try { return new Date(iso).toLocaleString(words.lang, options); } catch (e) { return iso; }
  }

  place();
})();
