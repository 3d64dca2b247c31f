/* Heard agent workspace: keyboard shortcuts, live updates (SSE), presence, reply coach.
   Progressive enhancement only: every action also works as a plain form without this file. */
(function () {
  "use strict";
  var body = document.body;
  var csrf = body.dataset.csrf;
  var page = body.dataset.page;
  var $ = function (sel, root) { return (root || document).querySelector(sel); };
  var $$ = function (sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); };
  function tpl(id, fallback) { var t = document.getElementById(id); return t ? t.innerHTML.trim() : fallback; }
  function announce(text) { var a = $("#announce"); if (a) { a.textContent = text; } }
  function typingTarget(el) {
    return el && (el.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName));
  }
  function post(url, data) {
    return fetch(url, {method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRF-Token": csrf},
      body: JSON.stringify(data)}).then(function (r) { return r.ok ? r.json() : null; });
  }

  /* ---- help dialog ---- */
  var help = $("#help");
  function openHelp() { if (help && !help.open) { help.showModal(); } }
  $$("[data-help]").forEach(function (b) { b.addEventListener("click", openHelp); });

  /* ---- abusive text: blurred until revealed ---- */
  document.addEventListener("click", function (ev) {
    var b = ev.target.closest && ev.target.closest(".blur");
    if (b) { b.classList.toggle("revealed"); }
  });

  /* ---- live updates ---- */
  var handlers = [];
  function onLive(fn) { handlers.push(fn); }
  function connect() {
    if (!window.EventSource) { return; }
    var src = new EventSource("/ui/events");
    var dot = $("#live-state");
    src.addEventListener("open", function () { if (dot) { dot.classList.add("on"); } });
    src.addEventListener("error", function () { if (dot) { dot.classList.remove("on"); } });
    ["message.new", "conversation.assign", "conversation.status", "conversation.tags", "conversation.rating", "presence"].forEach(function (kind) {
      src.addEventListener(kind, function (ev) {
        var data = JSON.parse(ev.data);
        handlers.forEach(function (fn) { fn(kind, data); });
      });
    });
  }

  /* ---- inbox ---- */
  function inbox() {
    var rows = function () { return $$("#rows tr"); };
    var current = -1;
    function select(i) {
      var r = rows();
      if (!r.length) { return; }
      current = Math.max(0, Math.min(r.length - 1, i));
      r.forEach(function (tr, j) { tr.classList.toggle("sel", j === current); tr.setAttribute("aria-selected", j === current ? "true" : "false"); });
      var link = $("a", r[current]);
      if (link) { link.focus({preventScroll: true}); r[current].scrollIntoView({block: "nearest"}); }
    }
    function chosen() {
      var checked = $$("#rows input[name=ids]:checked");
      if (!checked.length && current >= 0) {
        var box = $("input[name=ids]", rows()[current]);
        if (box) { box.checked = true; checked = [box]; }
      }
      return checked;
    }
    function bulk(op) {
      if (!chosen().length) { return; }
      var form = $("#bulk");
      if (op === "assign") { $("#bulk-agent").value = "me"; }
      var btn = $("button[name=op][value=" + op + "]", form);
      if (btn) { form.requestSubmit(btn); }
    }
    document.addEventListener("keydown", function (ev) {
      if (ev.ctrlKey || ev.metaKey || ev.altKey || typingTarget(ev.target)) { return; }
      var r = rows();
      if (ev.key === "j") { select(current + 1); ev.preventDefault(); }
      else if (ev.key === "k") { select(current - 1); ev.preventDefault(); }
      else if (ev.key === "Enter" && current >= 0 && r[current]) { location.href = r[current].dataset.href; }
      else if ((ev.key === "r" || ev.key === "n") && current >= 0 && r[current]) { location.href = r[current].dataset.href + (ev.key === "n" ? "#note" : "#reply"); }
      else if (ev.key === "a") { bulk("assign"); }
      else if (ev.key === "e") { bulk("close"); }
      else if (ev.key === "/") { var q = $("#q"); if (q) { q.focus(); q.select(); ev.preventDefault(); } }
      else if (ev.key === "?") { openHelp(); }
    });
    document.addEventListener("click", function (ev) {
      var tr = ev.target.closest && ev.target.closest("#rows tr");
      if (tr && !ev.target.closest("a,input,button,label")) { location.href = tr.dataset.href; }
    });
    var all = $("[data-select-all]");
    if (all) { all.addEventListener("change", function () { $$("#rows input[name=ids]").forEach(function (b) { b.checked = all.checked; }); }); }
    var timer = null;
    function refresh() {
      var params = new URLSearchParams(location.search);
      params.set("fragment", "rows");
      var keep = $$("#rows input[name=ids]:checked").map(function (b) { return b.value; });
      var sel = current >= 0 && rows()[current] ? rows()[current].dataset.id : null;
      fetch("/inbox?" + params.toString(), {credentials: "same-origin"}).then(function (r) { return r.ok ? r.text() : null; }).then(function (html) {
        var tbody = $("#rows");
        if (html === null || !tbody) { if (!tbody) { var n = $("#live-news"); if (n) { n.hidden = false; } } return; }
        tbody.innerHTML = html;
        keep.forEach(function (id) { var b = $("#rows input[value='" + id + "']"); if (b) { b.checked = true; } });
        if (sel) { rows().forEach(function (tr, j) { if (tr.dataset.id === sel) { current = j; tr.classList.add("sel"); } }); }
      });
    }
    onLive(function (kind) {
      if (kind === "presence") { return; }
      clearTimeout(timer); timer = setTimeout(refresh, 400);
    });
    $$("[data-refresh]").forEach(function (b) { b.addEventListener("click", function () { location.reload(); }); });
  }

  /* ---- conversation page ---- */
  function conversation() {
    var root = $(".conversation");
    var cid = parseInt(root.dataset.conversation, 10);
    var me = parseInt(root.dataset.me, 10);
    var form = $("#composer");
    var text = $("#reply");
    var lastTyped = 0;
    function setMode(mode) {
      form.dataset.mode = mode;
      var radio = $("input[name=mode][value=" + mode + "]", form);
      if (radio) { radio.checked = true; }
      text.placeholder = mode === "note" ? tpl("t-note-ph", "Internal note") : tpl("t-reply-ph", text.placeholder);
    }
    $$("input[name=mode]", form).forEach(function (r) { r.addEventListener("change", function () { setMode(r.value); text.focus(); }); });
    if (location.hash === "#note") { setMode("note"); text.focus(); }
    if (location.hash === "#reply") { text.focus(); }
    /* Enter in the composer (Ctrl/Cmd+Enter) sends in the current mode. */
    text.addEventListener("keydown", function (ev) {
      if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) {
        var b = form.dataset.mode === "note" ? $(".note-only button", form) : $(".reply-only button.primary", form);
        form.requestSubmit(b); ev.preventDefault();
      }
      if (ev.key === "Escape") { text.blur(); }
    });
    document.addEventListener("keydown", function (ev) {
      if (ev.ctrlKey || ev.metaKey || ev.altKey || typingTarget(ev.target)) { return; }
      if (ev.key === "r") { setMode("reply"); text.focus(); ev.preventDefault(); }
      else if (ev.key === "n") { setMode("note"); text.focus(); ev.preventDefault(); }
      else if (ev.key === "a") { var t = $("#take"); if (t) { t.requestSubmit(); } }
      else if (ev.key === "e") { var c = $("#close-btn"); if (c) { $("#status-form").requestSubmit(c); } }
      else if (ev.key === "?") { openHelp(); }
      else if (ev.key === "/" ) { location.href = "/inbox#search"; }
    });

    /* saved replies */
    var saved = JSON.parse(($("#saved-data") || {textContent: "[]"}).textContent || "[]");
    var picker = $("#saved");
    if (picker) {
      picker.addEventListener("change", function () {
        var r = saved.filter(function (s) { return s.key === picker.value; })[0];
        if (!r) { return; }
        var start = text.selectionStart, end = text.selectionEnd;
        if (!text.value.trim()) { text.value = r.text; }
        else { text.value = text.value.slice(0, start) + r.text + text.value.slice(end); }
        picker.value = "";
        setMode("reply"); text.focus();
        schedule();
      });
    }

    /* reply coach */
    var reviewed = null, timer = null, seq = 0;
    function schedule() { clearTimeout(timer); timer = setTimeout(runCoach, 350); }
    function runCoach() {
      if (form.dataset.mode === "note") { return; }
      var draft = text.value, mine = ++seq;
      post("/ui/coach", {conversation_id: cid, text: draft}).then(function (res) {
        if (!res || mine !== seq) { return; }
        reviewed = {draft: draft, res: res};
        showCoach(res, draft);
      });
    }
    function showCoach(res, draft) {
      $$("#latte li").forEach(function (li) { li.classList.toggle("done", !!res.latte[li.dataset.step]); });
      var box = $("#coach-findings");
      box.innerHTML = "";
      if (!draft.trim()) { return; }
      if (!res.findings.length) { var ok = document.createElement("p"); ok.className = "ok"; ok.textContent = tpl("coach-ok", "Looks good."); box.appendChild(ok); return; }
      res.findings.forEach(function (f, i) {
        var card = document.createElement("div");
        card.className = "finding " + f.severity;
        var msg = document.createElement("p"); msg.textContent = f.message; card.appendChild(msg);
        if (f.span && f.message.indexOf(draft.slice(f.span[0], f.span[1])) < 0) { var q = document.createElement("q"); q.textContent = draft.slice(f.span[0], f.span[1]); msg.prepend(q, " "); }
        if (f.suggestion) { var s = document.createElement("p"); s.className = "sugg"; s.textContent = f.suggestion; card.appendChild(s); }
        if (f.apply) {
          var b = document.createElement("button"); b.type = "button"; b.className = "apply";
          b.textContent = tpl("apply-label", "Apply"); b.dataset.index = i;
          b.addEventListener("click", function () { apply(f); });
          card.appendChild(b);
        }
        box.appendChild(card);
      });
    }
    function apply(f) {
      if (!reviewed || reviewed.draft !== text.value) { runCoach(); return; }
      var a = f.apply, v = text.value;
      text.value = v.slice(0, a.start) + a.text + v.slice(a.end);
      var at = text.value.indexOf("…", a.start);
      text.focus();
      if (at >= 0 && at < a.start + a.text.length) { text.setSelectionRange(at, at + 1); }
      else { text.setSelectionRange(a.start + a.text.length, a.start + a.text.length); }
      runCoach();
    }
    text.addEventListener("input", function () { lastTyped = Date.now(); schedule(); ping("typing"); });
    if (text.value.trim()) { schedule(); }

    /* presence: who else is here */
    var others = {};
    function showPresence() {
      var now = Date.now(), parts = [];
      Object.keys(others).forEach(function (id) {
        var o = others[id];
        if (o.until < now || o.state === "left") { delete others[id]; return; }
        parts.push(tpl(o.state === "typing" ? "t-typing" : "t-viewing", "{name}").replace("{name}", o.name));
      });
      var p = $("#presence");
      p.textContent = parts.join(" · ");
      p.classList.toggle("active", parts.length > 0);
    }
    var lastPing = 0;
    function ping(state) {
      if (state === "typing" && Date.now() - lastPing < 3000) { return; }
      lastPing = Date.now();
      post("/ui/presence", {conversation_id: cid, state: state}).then(function (res) {
        if (!res) { return; }
        res.others.forEach(function (o) { others[o.agent_id] = {name: o.name, state: o.state, until: Date.now() + 30000}; });
        showPresence();
      });
    }
    ping("viewing");
    setInterval(function () { ping(Date.now() - lastTyped < 5000 ? "typing" : "viewing"); showPresence(); }, 10000);
    window.addEventListener("pagehide", function () {
      navigator.sendBeacon && fetch("/ui/presence", {method: "POST", keepalive: true, credentials: "same-origin",
        headers: {"Content-Type": "application/json", "X-CSRF-Token": csrf}, body: JSON.stringify({conversation_id: cid, state: "left"})});
    });

    function refreshTimeline() {
      fetch("/conversations/" + cid + "?fragment=timeline", {credentials: "same-origin"}).then(function (r) { return r.ok ? r.text() : null; }).then(function (html) {
        if (!html) { return; }
        var old = $("#timeline");
        var seen = old ? old.dataset.lastSeen : "0";
        var holder = document.createElement("div"); holder.innerHTML = html;
        var fresh = holder.firstElementChild;
        $$(".msg", fresh).forEach(function (li) { if (parseInt(li.id.slice(1), 10) > parseInt(seen, 10)) { li.classList.add("fresh"); } });
        fresh.dataset.lastSeen = seen;  /* the composer still warns: you haven't replied to these */
        old.replaceWith(fresh);
        announce(tpl("t-new-message", "New message"));
      });
    }
    onLive(function (kind, data) {
      if (data.conversation_id !== cid) { return; }
      if (kind === "presence") {
        if (data.agent_id !== me) { others[data.agent_id] = {name: data.name, state: data.state, until: Date.now() + 30000}; showPresence(); }
      } else if (kind === "message.new" || kind === "conversation.rating") { refreshTimeline(); }
      else { var n = $("#changed"); if (n) { n.hidden = false; } }
    });
  }

  if (page === "inbox") { inbox(); }
  if (page === "conversation") { conversation(); }
  if (page === "inbox" || page === "conversation") { connect(); }
  if (page && page !== "inbox" && page !== "conversation") {
    document.addEventListener("keydown", function (ev) { if (ev.key === "?" && !typingTarget(ev.target)) { openHelp(); } });
  }
  if (location.hash === "#search") { var q = $("#q"); if (q) { q.focus(); } }
})();
