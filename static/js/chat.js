// Live chat on the /chat namespace. Every message gets a client id; the server stores it
// before broadcasting and acknowledges with the stored id. Unacknowledged messages are resent
// with the same client id after a reconnect (the server does not store them twice), and on
// every (re)connect the client asks for everything after the last id it has.
(function () {
  "use strict";
  var root = document.querySelector("[data-chat]");
  if (!root || typeof io === "undefined") return;
  var convId = parseInt(root.getAttribute("data-conversation"), 10);
  var me = parseInt(root.getAttribute("data-me"), 10);
  var log = root.querySelector("[data-chat-log]");
  var status = root.querySelector("[data-chat-status]");
  var form = root.querySelector("[data-chat-form]");
  var input = form.querySelector("textarea");
  var banner = document.querySelector("[data-emergency-banner]");
  var urgentBadge = document.querySelector("[data-urgent-badge]");
  var urgentClear = document.querySelector("[data-urgent-clear]");
  var residentPresence = document.querySelector("[data-resident-presence]");
  var isStaff = root.getAttribute("data-staff") === "1";
  var words = (root.getAttribute("data-emergency-words") || "").split(",").filter(Boolean);
  var pending = {};   // client id -> body, until acknowledged
  var lastId = 0;
  var otherRead = 0;
  var typingTimer = null;

  log.querySelectorAll("[data-id]").forEach(function (li) {
    lastId = Math.max(lastId, parseInt(li.getAttribute("data-id"), 10));
    var p = li.querySelector(".body");
    if (p) { var text = p.textContent; p.textContent = ""; linkify(p, text); }
  });

  function linkify(p, text) {
    // Plain text only; http(s) links become anchors built with DOM calls (never innerHTML).
    var re = /https?:\/\/[^\s<>"]+/g, at = 0, m;
    while ((m = re.exec(text)) !== null) {
      p.appendChild(document.createTextNode(text.slice(at, m.index)));
      var a = document.createElement("a");
      a.href = m[0]; a.textContent = m[0]; a.rel = "noopener noreferrer nofollow"; a.target = "_blank";
      p.appendChild(a);
      at = m.index + m[0].length;
    }
    p.appendChild(document.createTextNode(text.slice(at)));
  }

  function render(m) {
    if (log.querySelector('[data-id="' + m.id + '"]')) return;  // never shown twice
    var li = log.querySelector('[data-client-id="' + CSS.escape(m.client_id) + '"][data-sender="' + m.sender_id + '"]');
    if (!li) {
      li = document.createElement("li");
      log.appendChild(li);
    }
    li.className = "chat-msg" + (m.sender_id === me ? " mine" : "");
    li.setAttribute("data-id", m.id);
    li.setAttribute("data-client-id", m.client_id);
    li.setAttribute("data-sender", m.sender_id);
    li.textContent = "";
    var small = document.createElement("small");
    var when = new Date(m.created_at);
    small.textContent = m.sender + " · " + when.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    var p = document.createElement("p");
    p.className = "body";
    linkify(p, m.body);
    li.appendChild(small);
    li.appendChild(p);
    lastId = Math.max(lastId, m.id);
    showRead();
  }

  function showRead() {
    log.querySelectorAll(".chat-msg.mine").forEach(function (li) {
      var id = parseInt(li.getAttribute("data-id") || "0", 10);
      var mark = li.querySelector(".read");
      if (id && id <= otherRead && !mark) {
        mark = document.createElement("span");
        mark.className = "read";
        mark.textContent = root.getAttribute("data-text-read");
        li.appendChild(mark);
      }
    });
  }

  function markRead() {
    if (document.visibilityState === "visible" && lastId) socket.emit("read", { conversation_id: convId, last_id: lastId });
  }

  var socket = io("/chat");

  function send(clientId, body) {
    socket.timeout(10000).emit("send", { conversation_id: convId, client_id: clientId, body: body }, function (err, ack) {
      if (err) return;  // resent on reconnect
      if (!ack.ok) { status.textContent = ack.error.message; if (ack.error.code !== "rate_limited") delete pending[clientId]; return; }
      delete pending[clientId];
      render(ack.message);
      if (ack.urgent) showUrgent();
      if (ack.offline) {
        var text = root.getAttribute("data-text-offline");
        if (ack.offline.back_at) text += " " + root.getAttribute("data-text-back") + new Date(ack.offline.back_at).toLocaleString();
        status.textContent = text;
      }
    });
  }

  socket.on("connect", function () {
    socket.emit("join", { conversation_id: convId, after_id: lastId }, function (ack) {
      if (!ack || !ack.ok) { status.textContent = ack ? ack.error.message : ""; return; }
      ack.messages.forEach(render);
      otherRead = ack.other_read_id || 0;
      if (ack.urgent) showUrgent();
      if (isStaff) showPresence(ack.resident_online);
      showRead();
      Object.keys(pending).forEach(function (cid) { send(cid, pending[cid]); });
      markRead();
    });
  });
  socket.on("message", function (m) {
    if (m.conversation_id !== convId) return;
    render(m);
    if (m.sender_id !== me) { status.textContent = ""; markRead(); }
  });
  function showUrgent(on) {
    // The resident sees the 110 banner at once; officers see the conversation marked urgent.
    // An officer clearing the mark (解除紧急) hides both.
    var hidden = on === false;
    if (isStaff) {
      if (urgentBadge) urgentBadge.hidden = hidden;
      if (urgentClear) urgentClear.hidden = hidden;
    } else if (banner) banner.hidden = hidden;
  }
  function showPresence(online) {
    if (!residentPresence) return;
    residentPresence.textContent = residentPresence.getAttribute(online ? "data-text-online" : "data-text-offline");
    residentPresence.classList.toggle("online", !!online);
  }
  socket.on("urgent", function (u) { if (u.conversation_id === convId) showUrgent(u.urgent !== false); });
  socket.on("presence", function (p) {
    if (p.conversation_id === convId && isStaff) showPresence(p.online);
  });
  socket.on("read", function (r) {
    if (r.conversation_id !== convId) return;
    var mine = (r.side === "staff") !== isStaff;
    if (mine) { otherRead = Math.max(otherRead, r.last_id); showRead(); }
  });
  socket.on("typing", function (t) {
    if (t.conversation_id !== convId || t.user_id === me) return;
    status.textContent = root.getAttribute("data-text-typing");
    clearTimeout(typingTimer);
    typingTimer = setTimeout(function () { status.textContent = ""; }, 3000);
  });
  document.addEventListener("visibilitychange", markRead);

  var lastTyping = 0;
  input.addEventListener("input", function () {
    if (banner && words.some(function (w) { return input.value.indexOf(w) !== -1; })) banner.hidden = false;
    if (Date.now() - lastTyping > 2000) { lastTyping = Date.now(); socket.emit("typing", { conversation_id: convId }); }
  });
  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var body = input.value.trim();
    if (!body) return;
    var clientId = (window.crypto && crypto.randomUUID) ? crypto.randomUUID() : String(Date.now()) + Math.random();
    pending[clientId] = body;
    var li = document.createElement("li");
    li.className = "chat-msg mine sending";
    li.setAttribute("data-client-id", clientId);
    li.setAttribute("data-sender", me);
    li.textContent = body;
    log.appendChild(li);
    input.value = "";
    if (socket.connected) send(clientId, body);
  });
})();
