// The officers' chat inbox: unread counts, urgent marks and the residents' presence update
// live over the /chat namespace (event "inbox" and "presence" in the community's inbox room).
// Urgent conversations stay first, then the latest. Text is set with textContent only.
(function () {
  "use strict";
  var list = document.querySelector("[data-chat-inbox]");
  if (!list || typeof io === "undefined") return;
  var roomUrl = list.getAttribute("data-room-url");

  function text(name) { return list.getAttribute("data-text-" + name) || ""; }

  function item(id) {
    return list.querySelector('li[data-conversation="' + id + '"]');
  }

  function create(row) {
    var li = document.createElement("li");
    li.setAttribute("data-conversation", row.conversation_id);
    var urgent = document.createElement("span");
    urgent.className = "badge alert";
    urgent.setAttribute("data-urgent", "");
    urgent.textContent = text("urgent");
    var a = document.createElement("a");
    a.href = roomUrl.replace(/0$/, String(row.conversation_id));
    a.textContent = row.resident;
    var online = document.createElement("span");
    online.className = "badge";
    online.setAttribute("data-online", "");
    var small = document.createElement("small");
    small.textContent = row.community;
    var unread = document.createElement("span");
    unread.className = "badge alert";
    unread.setAttribute("data-unread", "");
    [urgent, document.createTextNode(" "), a, document.createTextNode(" "), online,
      document.createTextNode(" "), small, document.createTextNode(" "), unread].forEach(function (n) { li.appendChild(n); });
    var empty = list.querySelector("[data-empty]");
    if (empty) empty.remove();
    list.insertBefore(li, list.firstChild);
    return li;
  }

  function setOnline(li, online) {
    var badge = li.querySelector("[data-online]");
    badge.textContent = text(online ? "online" : "offline");
    badge.classList.toggle("online", !!online);
    li.setAttribute("data-is-online", online ? "1" : "0");
  }

  function update(row) {
    var li = item(row.conversation_id) || create(row);
    li.setAttribute("data-urgent", row.urgent ? "1" : "0");
    if (row.last_message_at) li.setAttribute("data-last", row.last_message_at);
    li.querySelector("[data-urgent]").hidden = !row.urgent;
    var unread = li.querySelector("[data-unread]");
    unread.hidden = !row.unread;
    unread.textContent = text("unread").replace("{n}", row.unread);
    unread.setAttribute("data-count", row.unread);
    setOnline(li, row.online);
    sort();
  }

  function sort() {
    var rows = Array.prototype.slice.call(list.querySelectorAll("li[data-conversation]"));
    rows.sort(function (x, y) {
      var u = (y.getAttribute("data-urgent") | 0) - (x.getAttribute("data-urgent") | 0);
      if (u) return u;
      var a = x.getAttribute("data-last") || "", b = y.getAttribute("data-last") || "";
      return a < b ? 1 : a > b ? -1 : 0;
    });
    rows.forEach(function (li) { list.appendChild(li); });
  }

  var socket = io("/chat");
  socket.on("connect", function () {
    socket.emit("watch_inbox", {}, function (ack) {
      if (ack && ack.ok) ack.rows.forEach(update);  // catch up on what changed meanwhile
    });
  });
  socket.on("inbox", update);
  socket.on("presence", function (p) {
    var li = item(p.conversation_id);
    if (li) setOnline(li, p.online);
  });
})();
