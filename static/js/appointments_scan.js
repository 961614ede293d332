// Officer check-in: read a booking's QR code with the camera and put its code into the
// check-in form. The browser's BarcodeDetector is used where it reads QR codes; elsewhere
// the vendored jsQR decoder (static/vendor/jsqr/) is loaded on first use and reads the
// video frames drawn onto a canvas. Without camera support there is no button and the
// form works as before: the code is typed in.
(function () {
  "use strict";
  var slot = document.getElementById("scan-slot");
  var input = document.getElementById("code");
  if (!slot || !input) return;
  var area = document.getElementById("scan-area");
  var video = document.getElementById("scan-video");
  var status = document.getElementById("scan-status");
  var jsqrSrc = slot.getAttribute("data-jsqr-src");
  var texts = {
    start: slot.getAttribute("data-label-start") || "扫码",
    stop: slot.getAttribute("data-label-stop") || "停止",
    found: slot.getAttribute("data-label-found") || "已识别：",
    failed: slot.getAttribute("data-label-failed") || "无法打开摄像头。"
  };
  var button = null;
  // Booking codes: eight characters of the unambiguous alphabet (services.CODE_ALPHABET).
  var CODE = /([ABCDEFGHJKLMNPQRSTUVWXYZ23456789]{8})\s*$/;
  var canvas = document.createElement("canvas");
  var stream = null;
  var timer = null;
  var detectorPromise = null;

  function say(text) {
    if (status) status.textContent = text;
  }

  // The booking code inside a scanned text (the QR holds the bare code), or null.
  function codeIn(text) {
    var match = CODE.exec(String(text || "").trim().toUpperCase());
    return match ? match[1] : null;
  }

  function loadJsQR() {
    if (window.jsQR) return Promise.resolve(window.jsQR);
    return new Promise(function (resolve, reject) {
      var script = document.createElement("script");
      script.src = jsqrSrc;
      script.onload = function () { resolve(window.jsQR); };
      script.onerror = reject;
      document.head.appendChild(script);
    });
  }

  // A BarcodeDetector that reads QR codes, or null when the browser has none.
  function nativeDetector() {
    if (!detectorPromise) {
      detectorPromise = !("BarcodeDetector" in window)
        ? Promise.resolve(null)
        : window.BarcodeDetector.getSupportedFormats().then(function (formats) {
            return formats.indexOf("qr_code") >= 0
              ? new window.BarcodeDetector({ formats: ["qr_code"] })
              : null;
          }, function () { return null; });
    }
    return detectorPromise;
  }

  // Decode pixels (an ImageData) with jsQR: the text, or null.
  function decodePixels(imageData) {
    return loadJsQR().then(function (jsQR) {
      var found = jsQR(imageData.data, imageData.width, imageData.height);
      return found ? found.data : null;
    });
  }

  // Decode what an image, canvas or video shows: the text of the first QR code, or null.
  function decode(source) {
    return nativeDetector().then(function (detector) {
      if (detector) {
        return detector.detect(source).then(function (codes) {
          return codes.length ? codes[0].rawValue : null;
        });
      }
      var width = source.videoWidth || source.naturalWidth || source.width;
      var height = source.videoHeight || source.naturalHeight || source.height;
      if (!width || !height) return null;
      // Small images (an SVG of a few centimetres) are scaled up so each module has pixels.
      var scale = Math.max(1, 400 / Math.min(width, height));
      width = Math.round(width * scale);
      height = Math.round(height * scale);
      canvas.width = width;
      canvas.height = height;
      var context = canvas.getContext("2d", { willReadFrequently: true });
      // Transparent pixels would read as black: paint white under the image first.
      context.fillStyle = "#fff";
      context.fillRect(0, 0, width, height);
      context.drawImage(source, 0, 0, width, height);
      return decodePixels(context.getImageData(0, 0, width, height));
    });
  }

  function fill(code) {
    input.value = code;
    input.dispatchEvent(new Event("input", { bubbles: true }));
    say(texts.found + code);
    var submit = input.form && input.form.querySelector("button[type=submit]");
    if (submit) submit.focus();
  }

  function stop() {
    if (timer) window.clearTimeout(timer);
    timer = null;
    if (stream) stream.getTracks().forEach(function (track) { track.stop(); });
    stream = null;
    video.srcObject = null;
    area.hidden = true;
    button.textContent = texts.start;
    button.setAttribute("aria-pressed", "false");
  }

  function tick() {
    if (!stream) return;
    decode(video).then(function (text) {
      var code = codeIn(text);
      if (code) {
        stop();
        fill(code);
      } else if (stream) {
        timer = window.setTimeout(tick, 200);
      }
    }, function () {
      if (stream) timer = window.setTimeout(tick, 400);
    });
  }

  function start() {
    area.hidden = false;
    button.textContent = texts.stop;
    button.setAttribute("aria-pressed", "true");
    say("");
    navigator.mediaDevices
      .getUserMedia({ video: { facingMode: "environment" }, audio: false })
      .then(function (media) {
        stream = media;
        video.srcObject = media;
        return video.play();
      })
      .then(tick, function () {
        stop();
        say(texts.failed);
      });
  }

  // The decoding path without a camera, for tests.
  window.portalScan = { decode: decode, decodePixels: decodePixels, codeIn: codeIn, fill: fill };
  if (!(navigator.mediaDevices && navigator.mediaDevices.getUserMedia)) return;
  button = document.createElement("button");
  button.type = "button";
  button.id = "scan-button";
  button.className = "secondary";
  button.textContent = texts.start;
  button.setAttribute("aria-pressed", "false");
  button.setAttribute("aria-controls", "scan-area");
  slot.appendChild(button);
  button.addEventListener("click", function () {
    if (stream) stop();
    else start();
  });
})();
