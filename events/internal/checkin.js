// The check-in page's scanner (served as /check-in.js). Without it the
// page's form posts and the page answers; with it, scans are posted as
// JSON, answered in place, and queued in localStorage while the
// connection is down, each with its own id so that the server counts an
// upload sent twice once. The camera is used through the browser's
// BarcodeDetector where there is one.
(function () {
  "use strict";
  var root = document.getElementById("checkin");
  if (!root || !window.fetch) { return; }
  var url = root.getAttribute("data-scan-url");
  var list = root.getAttribute("data-list");
  var form = document.getElementById("checkin-form");
  var answer = document.getElementById("checkin-answer");
  var checkedIn = document.getElementById("checked-in");
  var booked = document.getElementById("booked");
  var queueNote = document.getElementById("checkin-queue");
  var key = "rose-ash-checkin-queue:" + list;

  function load() {
    try { return JSON.parse(localStorage.getItem(key) || "[]"); } catch (e) { return []; }
  }
  function save(q) {
    try { localStorage.setItem(key, JSON.stringify(q)); } catch (e) { /* private mode: kept in memory only */ }
    showQueue(q);
  }
  function showQueue(q) {
    queueNote.hidden = q.length === 0;
    queueNote.textContent = q.length === 1 ? "1 scan is waiting to be uploaded." : q.length + " scans are waiting to be uploaded.";
  }
  function show(a) {
    answer.textContent = a.message;
    answer.className = "checkin-answer " + (a.ok ? "checkin-ok" : (a.already ? "checkin-already" : "checkin-refused"));
    checkedIn.textContent = a.checked_in;
    booked.textContent = a.booked;
  }
  function newID() {
    if (window.crypto && crypto.randomUUID) { return crypto.randomUUID(); }
    return Date.now().toString(36) + "-" + Math.random().toString(36).slice(2);
  }
  // send posts one scan: it resolves with the answer, or rejects when the
  // scan should be kept and sent again (no connection, a 5xx).
  function send(s) {
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json" },
      body: JSON.stringify(s)
    }).then(function (res) {
      if (res.status >= 500) { throw new Error("status " + res.status); }
      if (!res.ok) {
        return { ok: false, message: "Not recorded (" + res.status + "): reload the page and sign in again.", checked_in: checkedIn.textContent, booked: booked.textContent };
      }
      return res.json();
    });
  }
  var flushing = false;
  function flush() {
    if (flushing) { return; }
    var q = load();
    if (q.length === 0) { return; }
    flushing = true;
    send(q[0]).then(function (a) {
      q = load(); q.shift(); save(q); show(a); flushing = false; flush();
    }, function () { flushing = false; });
  }
  function scan(code, kind) {
    var s = { code: code, kind: kind, list: list, scan_id: newID() };
    answer.textContent = "Checking " + code + "…";
    send(s).then(show, function () {
      var q = load(); q.push(s); save(q);
      answer.textContent = "No connection: the scan of " + code + " is kept and will be uploaded.";
      answer.className = "checkin-answer checkin-queued";
    });
  }
  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var code = form.elements.code.value.trim();
    if (!code) { return; }
    scan(code, form.elements.kind.value);
    form.elements.code.value = "";
    form.elements.code.focus();
  });
  window.addEventListener("online", flush);
  setInterval(flush, 15000);
  showQueue(load());
  flush();

  var start = document.getElementById("checkin-camera-start");
  var video = document.getElementById("checkin-camera");
  if (!("BarcodeDetector" in window) || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) { return; }
  start.hidden = false;
  start.addEventListener("click", function () {
    var detector = new window.BarcodeDetector({ formats: ["qr_code"] });
    navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } }).then(function (stream) {
      video.srcObject = stream;
      video.hidden = false;
      start.hidden = true;
      return video.play();
    }).then(function () {
      var last = "", lastAt = 0;
      function tick() {
        detector.detect(video).then(function (codes) {
          var now = Date.now();
          if (codes.length > 0 && (codes[0].rawValue !== last || now - lastAt > 4000)) {
            last = codes[0].rawValue; lastAt = now;
            scan(last, form.elements.kind.value);
          }
        }).catch(function () { /* a frame not ready yet */ }).then(function () { setTimeout(tick, 250); });
      }
      tick();
    }).catch(function (e) {
      answer.textContent = "The camera could not be started (" + e.name + "): type the codes instead.";
    });
  });
})();
