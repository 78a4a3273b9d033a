// The dismissal screens (templates/dismissal/), on top of app.js: reading a family's QR code
// with the device's camera at the curb. Progressive enhancement only: without this file or
// without a camera, staff type the car tag number, or a handheld scanner types the code into
// the QR box, and the forms post as usual. Live updates come from app.js ([data-live-region]).
//
// The code is read by the browser's own BarcodeDetector where it reads QR codes (Chrome on
// Android, Safari on recent iPads); elsewhere by jsQR (npm "jsqr", vendored into
// static/vendor/jsqr by `make vendor`), loaded only when the camera starts.
(function () {
  "use strict";

  var SCAN_EVERY_MS = 200;
  var MAX_SIDE = 720; // frames are scaled down to this before jsQR reads them

  function loadJsQR(url) {
    return new Promise(function (resolve, reject) {
      if (window.jsQR) { resolve(window.jsQR); return; }
      var script = document.createElement("script");
      script.src = url;
      script.async = true;
      script.addEventListener("load", function () {
        if (window.jsQR) resolve(window.jsQR);
        else reject(new Error("jsQR did not load"));
      });
      script.addEventListener("error", function () { reject(new Error("jsQR did not load")); });
      document.head.appendChild(script);
    });
  }

  function jsqrReader(url) {
    return loadJsQR(url).then(function (jsQR) {
      var canvas = document.createElement("canvas");
      var context = canvas.getContext("2d", { willReadFrequently: true });
      return function (video) {
        var width = video.videoWidth, height = video.videoHeight;
        if (!width || !height) return Promise.resolve(null);
        var scale = Math.min(1, MAX_SIDE / Math.max(width, height));
        width = Math.round(width * scale);
        height = Math.round(height * scale);
        canvas.width = width;
        canvas.height = height;
        context.drawImage(video, 0, 0, width, height);
        var found = jsQR(context.getImageData(0, 0, width, height).data, width, height,
                         { inversionAttempts: "attemptBoth" });
        return Promise.resolve(found && found.data ? found.data : null);
      };
    });
  }

  // A function that reads a QR code from the video's current frame (a promise of its text,
  // or null when there is none in view).
  function qrReader(jsqrUrl) {
    if (!("BarcodeDetector" in window)) return jsqrReader(jsqrUrl);
    return window.BarcodeDetector.getSupportedFormats().then(function (formats) {
      if (formats.indexOf("qr_code") === -1) return jsqrReader(jsqrUrl);
      var detector = new window.BarcodeDetector({ formats: ["qr_code"] });
      return function (video) {
        return detector.detect(video).then(function (codes) {
          return codes.length ? codes[0].rawValue : null;
        });
      };
    }, function () { return jsqrReader(jsqrUrl); });
  }

  function setUpScanner(box) {
    var form = box.closest("form");
    var input = form && form.querySelector("input[name='code']");
    var start = box.querySelector("[data-qr-start]");
    var stop = box.querySelector("[data-qr-stop]");
    var video = box.querySelector("[data-qr-video]");
    var status = box.querySelector("[data-qr-status]");
    if (!input || !start || !video) return;
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) return; // stays hidden
    box.hidden = false;
    var stream = null;
    var timer = null;

    function say(text) { if (status) status.textContent = text; }

    function end() {
      if (timer !== null) clearTimeout(timer);
      timer = null;
      if (stream) stream.getTracks().forEach(function (track) { track.stop(); });
      stream = null;
      video.srcObject = null;
      video.hidden = true;
      if (stop) stop.hidden = true;
      start.hidden = false;
    }

    function read(text) {
      end();
      input.value = text;
      say("Code read: checking the family in…");
      if (form.requestSubmit) form.requestSubmit();
      else form.submit();
    }

    function scan(decode) {
      if (!stream) return;
      decode(video).then(function (text) {
        if (!stream) return;
        if (text) read(text);
        else timer = setTimeout(function () { scan(decode); }, SCAN_EVERY_MS);
      }, function () {
        if (stream) timer = setTimeout(function () { scan(decode); }, SCAN_EVERY_MS);
      });
    }

    start.addEventListener("click", function () {
      say("Starting the camera…");
      var decode = null;
      qrReader(box.getAttribute("data-jsqr"))
        .then(function (reader) {
          decode = reader;
          return navigator.mediaDevices.getUserMedia({
            video: { facingMode: "environment" }, audio: false,
          });
        })
        .then(function (got) {
          stream = got;
          video.srcObject = stream;
          video.hidden = false;
          start.hidden = true;
          if (stop) { stop.hidden = false; stop.focus(); }
          return video.play();
        })
        .then(function () {
          say("Hold the family's QR code in front of the camera.");
          scan(decode);
        })
        .catch(function (error) {
          end();
          say(error && error.name === "NotAllowedError"
            ? "The camera is not allowed on this page. Allow it in the browser's settings, or type the tag number."
            : "No camera could be used. Type the tag number, or scan into the QR code box.");
        });
    });
    if (stop) stop.addEventListener("click", function () { end(); say(""); start.focus(); });
    window.addEventListener("pagehide", end);
  }

  document.addEventListener("DOMContentLoaded", function () {
    // On a phone the screens' bar scrolls sideways; keep the current screen in view.
    var current = document.querySelector(".screens [aria-current='page']");
    if (current) {
      var bar = current.parentNode;
      bar.scrollLeft = current.offsetLeft - bar.offsetLeft - 16;
    }
    document.querySelectorAll("[data-qr-scanner]").forEach(setUpScanner);
  });
})();
