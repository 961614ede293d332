// Consultation pages: the 110 banner as soon as an emergency word is typed, similar answered
// questions while the title is typed, and canned replies inserted into the reply box.
(function () {
  "use strict";
  var banner = document.querySelector("[data-emergency-banner]");
  document.querySelectorAll("[data-emergency-words]").forEach(function (form) {
    var words = (form.getAttribute("data-emergency-words") || "").split(",").filter(Boolean);
    form.addEventListener("input", function (ev) {
      if (!banner || !ev.target.value) return;
      var text = ev.target.value;
      if (words.some(function (w) { return text.indexOf(w) !== -1; })) banner.hidden = false;
    });
  });

  var ask = document.querySelector("[data-similar-url]");
  var title = document.getElementById("title");
  var box = document.querySelector("[data-similar]");
  var list = document.querySelector("[data-similar-list]");
  if (ask && title && box && list) {
    var timer = null;
    var kb = ask.getAttribute("data-kb-url");
    title.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        var q = title.value.trim();
        if (q.length < 2) { box.hidden = true; return; }
        fetch(ask.getAttribute("data-similar-url") + "?q=" + encodeURIComponent(q), { credentials: "same-origin" })
          .then(function (r) { return r.ok ? r.json() : { items: [] }; })
          .then(function (data) {
            list.textContent = "";
            (data.items || []).forEach(function (item) {
              var li = document.createElement("li");
              var a = document.createElement("a");
              a.href = kb + "/" + item.id;
              a.textContent = item.title;
              li.appendChild(a);
              list.appendChild(li);
            });
            box.hidden = list.children.length === 0;
          })
          .catch(function () { box.hidden = true; });
      }, 300);
    });
  }

  var canned = document.querySelector("[data-canned]");
  if (canned) {
    canned.addEventListener("change", function () {
      var body = document.getElementById("body");
      if (body && canned.value) {
        body.value = (body.value ? body.value + "\n" : "") + canned.value;
        body.focus();
      }
    });
  }
})();
