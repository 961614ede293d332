// Live bell: the unread count updates without reloading (Socket.IO namespace /notifications).
(function () {
  "use strict";
  var count = document.querySelector(".bell .count");
  if (!count || typeof window.io !== "function") return;
  var socket = window.io("/notifications");
  socket.on("unread", function (data) {
    var n = data && typeof data.count === "number" ? data.count : 0;
    count.setAttribute("data-unread", String(n));
    count.textContent = n ? String(n) : "";
  });
})();
