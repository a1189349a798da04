// Record a short message in the browser where it can (MediaRecorder and a microphone, which
// browsers allow only on https or localhost); otherwise the file input stays, and a phone
// opens its own recorder for it. The recording is put into that input, so the form sends it
// like a chosen file.
(function () {
  "use strict";
  var box = document.querySelector(".recorder");
  if (!box || !window.MediaRecorder || !navigator.mediaDevices || !window.DataTransfer) return;
  var input = box.querySelector("input[type=file]");
  var buttons = box.querySelector(".recorder-buttons");
  var start = box.querySelector(".record-start");
  var stop = box.querySelector(".record-stop");
  var state = box.querySelector(".record-state");
  var recorder = null;
  var chunks = [];
  var kept = 0;
  // This hub's letter_recording_seconds and letter_recording_bytes settings.
  var seconds = parseInt(box.dataset.seconds, 10) || 120;
  var most = parseInt(box.dataset.bytes, 10) || 8388608;
  buttons.hidden = false;

  function finished() {
    var type = (recorder.mimeType || "audio/webm").split(";")[0];
    var name = type === "audio/ogg" ? "recording.ogg" : type === "audio/mp4" ? "recording.m4a" : "recording.webm";
    var files = new DataTransfer();
    files.items.add(new File(chunks, name, { type: type }));
    input.files = files.files;
    state.textContent = state.dataset.recorded;
    recorder.stream.getTracks().forEach(function (track) { track.stop(); });
    start.disabled = false;
    stop.disabled = true;
  }

  start.addEventListener("click", function () {
    navigator.mediaDevices.getUserMedia({ audio: true }).then(function (stream) {
      chunks = [];
      kept = 0;
      recorder = new MediaRecorder(stream);
      recorder.addEventListener("dataavailable", function (event) {
        chunks.push(event.data);
        kept += event.data.size;
        // A second's piece more could pass the size cap: stop while the whole still fits.
        if (recorder.state === "recording" && kept + 2 * event.data.size > most) recorder.stop();
      });
      recorder.addEventListener("stop", finished);
      recorder.start(1000);
      setTimeout(function () { if (recorder.state === "recording") recorder.stop(); }, seconds * 1000);
      state.textContent = state.dataset.recording;
      start.disabled = true;
      stop.disabled = false;
    }).catch(function () { buttons.hidden = true; });
  });
  stop.addEventListener("click", function () { if (recorder) recorder.stop(); });
})();
