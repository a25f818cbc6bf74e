// Scanning a card with the phone's or laptop's camera at the venue desk (progressive: the number
// field works without it). The browser's own BarcodeDetector is used where it exists; elsewhere the
// vendored ZXing library decodes the camera's frames. QR codes and Code 39, as on the cards.
(function () {
  "use strict";
  var form = document.querySelector("form.desk-lookup");
  var box = document.querySelector("[data-scan]");
  if (!form || !box) { return; }
  var panel = box.querySelector("[data-scan-panel]");
  var start = box.querySelector("[data-scan-start]");
  var input = form.querySelector("input[name=number]");
  var video = panel.querySelector("video");
  var status = box.querySelector("[data-scan-status]");
  var stopButton = panel.querySelector("[data-scan-stop]");
  var stream = null;
  var timer = null;
  var detector = null;
  var zxing = null;

  if (!(navigator.mediaDevices && navigator.mediaDevices.getUserMedia)) { return; }
  start.hidden = false;

  function say(text) { status.textContent = text; }

  function stop() {
    if (timer) { clearTimeout(timer); timer = null; }
    if (stream) { stream.getTracks().forEach(function (track) { track.stop(); }); stream = null; }
    video.srcObject = null;
    panel.hidden = true;
    start.hidden = false;
  }

  function found(text) {
    var number = (text || "").trim();
    if (!number) { return false; }
    stop();
    input.value = number;
    form.submit();
    return true;
  }

  function zxingReader() {
    if (zxing) { return zxing; }
    var ZX = window.ZXing;
    var hints = new Map();
    hints.set(ZX.DecodeHintType.POSSIBLE_FORMATS, [ZX.BarcodeFormat.QR_CODE, ZX.BarcodeFormat.CODE_39]);
    hints.set(ZX.DecodeHintType.TRY_HARDER, true);
    var reader = new ZX.MultiFormatReader();
    reader.setHints(hints);
    var canvas = document.createElement("canvas");
    zxing = { reader: reader, canvas: canvas, ctx: canvas.getContext("2d", { willReadFrequently: true }) };
    return zxing;
  }

  function decodeWithZxing() {
    var z = zxingReader();
    var ZX = window.ZXing;
    z.canvas.width = video.videoWidth;
    z.canvas.height = video.videoHeight;
    z.ctx.drawImage(video, 0, 0);
    try {
      var source = new ZX.HTMLCanvasElementLuminanceSource(z.canvas);
      var result = z.reader.decode(new ZX.BinaryBitmap(new ZX.HybridBinarizer(source)));
      return Promise.resolve(result.getText());
    } catch (error) {
      return Promise.resolve(null); // nothing readable in this frame
    }
  }

  function decodeWithDetector() {
    return detector.detect(video).then(function (codes) { return codes.length ? codes[0].rawValue : null; });
  }

  function loop() {
    if (!stream) { return; }
    if (video.readyState < 2 || !video.videoWidth) { timer = setTimeout(loop, 150); return; }
    (detector ? decodeWithDetector() : decodeWithZxing()).then(function (text) {
      if (!found(text)) { timer = setTimeout(loop, 200); }
    }, function () { timer = setTimeout(loop, 200); });
  }

  function loadZxing() {
    if (window.ZXing) { return Promise.resolve(); }
    return new Promise(function (resolve, reject) {
      var script = document.createElement("script");
      script.src = box.getAttribute("data-zxing-src");
      script.onload = resolve;
      script.onerror = reject;
      document.head.appendChild(script);
    });
  }

  function chooseDecoder() {
    if ("BarcodeDetector" in window) {
      return window.BarcodeDetector.getSupportedFormats().then(function (formats) {
        if (formats.indexOf("qr_code") >= 0 && formats.indexOf("code_39") >= 0) {
          detector = new window.BarcodeDetector({ formats: ["qr_code", "code_39"] });
          return;
        }
        return loadZxing();
      });
    }
    return loadZxing();
  }

  start.addEventListener("click", function () {
    panel.hidden = false;
    start.hidden = true;
    say(box.getAttribute("data-msg-starting"));
    chooseDecoder().then(function () {
      return navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false });
    }).then(function (media) {
      stream = media;
      video.srcObject = media;
      return video.play();
    }).then(function () {
      say(box.getAttribute("data-msg-scanning"));
      loop();
    }).catch(function () {
      stop();
      say(box.getAttribute("data-msg-unavailable"));
      input.focus();
    });
  });

  stopButton.addEventListener("click", function () { stop(); say(""); input.focus(); });
  document.addEventListener("keydown", function (event) { if (event.key === "Escape" && stream) { stop(); input.focus(); } });
})();
