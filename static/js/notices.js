// Rich-text editor for notices: a small toolbar over a contenteditable area. Without this
// file the textarea stays and takes HTML directly. Whatever is posted, the server sanitises
// it once, on save, with an allow-list; this editor is a convenience, not a safeguard.
(function () {
  "use strict";
  var textarea = document.querySelector("textarea[data-rich-editor]");
  if (!textarea || !document.execCommand) return;
  var uploadUrl = textarea.getAttribute("data-rich-editor");
  var csrf = textarea.getAttribute("data-csrf");
  var area = document.createElement("div");
  area.className = "editor-area";
  area.contentEditable = "true";
  area.setAttribute("role", "textbox");
  area.setAttribute("aria-multiline", "true");
  area.setAttribute("aria-label", textarea.labels && textarea.labels[0] ? textarea.labels[0].textContent : "");
  area.innerHTML = textarea.value; // already sanitised by the server when it was saved
  var toolbar = document.createElement("div");
  toolbar.className = "editor-toolbar";
  toolbar.setAttribute("role", "toolbar");
  var file = document.createElement("input");
  file.type = "file";
  file.accept = "image/jpeg,image/png";
  file.className = "is-hidden";

  function command(name, value) {
    area.focus();
    document.execCommand(name, false, value);
  }
  // Button names come translated from the page (data-labels); Chinese if missing.
  var labels = {};
  try { labels = JSON.parse(textarea.getAttribute("data-labels") || "{}"); } catch (e) { labels = {}; }
  function label(key, fallback) { return labels[key] || fallback; }
  var buttons = [
    ["B", label("bold", "粗体"), function () { command("bold"); }],
    ["I", label("italic", "斜体"), function () { command("italic"); }],
    ["H2", label("h2", "二级标题"), function () { command("formatBlock", "h2"); }],
    ["H3", label("h3", "三级标题"), function () { command("formatBlock", "h3"); }],
    ["P", label("p", "段落"), function () { command("formatBlock", "p"); }],
    ["• ", label("ul", "列表"), function () { command("insertUnorderedList"); }],
    ["1.", label("ol", "编号"), function () { command("insertOrderedList"); }],
    [label("link", "链接"), label("link", "链接"), function () {
      var url = window.prompt("https://");
      if (url && /^(https?:\/\/|mailto:)/i.test(url)) command("createLink", url);
    }],
    [label("table", "表格"), label("table", "表格"), function () {
      command("insertHTML", "<table><tbody><tr><th>&nbsp;</th><th>&nbsp;</th></tr><tr><td>&nbsp;</td><td>&nbsp;</td></tr></tbody></table><p></p>");
    }],
    [label("image", "图片"), label("image", "图片"), function () { file.click(); }]
  ];
  buttons.forEach(function (b) {
    var button = document.createElement("button");
    button.type = "button";
    button.textContent = b[0];
    button.title = b[1];
    button.setAttribute("aria-label", b[1]);
    button.addEventListener("click", b[2]);
    toolbar.appendChild(button);
  });
  file.addEventListener("change", function () {
    if (!file.files.length) return;
    var data = new FormData();
    data.append("image", file.files[0]);
    fetch(uploadUrl, { method: "POST", body: data, credentials: "same-origin", headers: { "X-CSRFToken": csrf } })
      .then(function (r) { return r.json(); })
      .then(function (body) {
        if (body.url) command("insertImage", body.url);
        else if (body.error) window.alert(body.error.message);
      });
    file.value = "";
  });
  textarea.classList.add("is-hidden");
  textarea.parentNode.insertBefore(toolbar, textarea);
  textarea.parentNode.insertBefore(area, textarea);
  textarea.parentNode.insertBefore(file, textarea);
  textarea.form.addEventListener("submit", function () {
    textarea.value = area.innerHTML; // posted in the (now hidden) field
  });
})();
