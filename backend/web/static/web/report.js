/* The report form on a phone: photos from the camera or the album (several at once, HEIC too),
   previews with remove, 提交 with an upload progress bar, the refusals in place, and the outbox when
   there is no connection. The Idempotency-Key was made when the form opened (data-key): a retry, by
   hand or from the outbox, never makes a second report.

   Previews are drawn on a canvas from the file itself (no blob: or data: image URLs, which the
   Content-Security-Policy may forbid); a format the browser cannot decode (HEIC in Chromium) shows
   its file name instead, and the server decodes it. */
(function () {
  "use strict";
  var form = document.querySelector("form[data-report]");
  if (!form) return;
  var text = form.dataset;
  var maxPhotos = parseInt(text.maxPhotos || "0", 10);
  var list = form.querySelector("[data-photo-list]");
  var counter = form.querySelector("[data-photo-count]");
  var inputs = form.querySelectorAll("[data-photo-input]");
  var progress = form.querySelector("[data-progress]");
  var bar = progress && progress.querySelector("progress");
  var barText = progress && progress.querySelector("[data-progress-text]");
  var button = form.querySelector("button[type=submit]");
  var errorSlot = form.querySelector("#report-error");
  var photos = []; // {id, file}
  var nextId = 1;

  function kb(size) {
    return size >= 1048576 ? (size / 1048576).toFixed(1) + " MB" : Math.max(1, Math.round(size / 1024)) + " KB";
  }

  function preview(file, holder) {
    var canvas = document.createElement("canvas");
    canvas.width = 160;
    canvas.height = 120;
    canvas.setAttribute("aria-hidden", "true");
    var fallback = function () {
      holder.textContent = "";
      var note = document.createElement("span");
      note.className = "photo-placeholder";
      note.textContent = file.name + " · " + text.textNoPreview;
      holder.appendChild(note);
    };
    if (!window.createImageBitmap) return fallback();
    createImageBitmap(file).then(function (image) {
      var scale = Math.max(160 / image.width, 120 / image.height);
      var w = image.width * scale, h = image.height * scale;
      canvas.getContext("2d").drawImage(image, (160 - w) / 2, (120 - h) / 2, w, h);
      holder.textContent = "";
      holder.appendChild(canvas);
    }, fallback);
  }

  function render() {
    if (!list) return; // a summary only (上报 of a delegated assignment): no photos to show
    list.textContent = "";
    photos.forEach(function (photo, index) {
      var item = document.createElement("li");
      item.className = "photo-preview";
      item.dataset.id = photo.id;
      var holder = document.createElement("div");
      holder.className = "photo-frame";
      item.appendChild(holder);
      preview(photo.file, holder);
      var name = document.createElement("span");
      name.className = "photo-name";
      name.textContent = (index + 1) + ". " + photo.file.name + " (" + kb(photo.file.size) + ")";
      item.appendChild(name);
      if (photo.error) {
        var error = document.createElement("p");
        error.className = "error-text";
        error.setAttribute("role", "alert");
        error.textContent = photo.error;
        item.appendChild(error);
        item.classList.add("photo-refused");
      }
      var remove = document.createElement("button");
      remove.type = "button";
      remove.className = "btn btn-small";
      remove.textContent = text.textRemove;
      remove.setAttribute("aria-label", text.textRemove + " " + photo.file.name);
      remove.addEventListener("click", function () {
        photos = photos.filter(function (p) { return p.id !== photo.id; });
        render();
        (list.querySelector("button") || inputs[inputs.length - 1]).focus();
      });
      item.appendChild(remove);
      list.appendChild(item);
    });
    if (counter) counter.textContent = photos.length + " / " + maxPhotos + " " + text.textChosen;
  }

  inputs.forEach(function (input) {
    input.addEventListener("change", function () {
      Array.prototype.forEach.call(input.files, function (file) {
        photos.push({ id: nextId++, file: file });
      });
      input.value = ""; // the same photo can be picked again after a remove
      render();
    });
  });

  function fieldPairs() {
    var pairs = [];
    new FormData(form).forEach(function (value, name) {
      if (name === "photos" || name === "csrfmiddlewaretoken" || name === "idempotency_key") return;
      pairs.push([name, value]);
    });
    return pairs;
  }

  function clearErrors() {
    form.querySelectorAll(".js-error").forEach(function (node) { node.remove(); });
    form.querySelectorAll("[data-form-error]").forEach(function (node) { node.remove(); });
    photos.forEach(function (photo) { delete photo.error; });
  }

  function showMessage(message, tone) {
    var box = document.createElement("div");
    box.className = "alert alert-" + (tone || "error") + " js-error";
    box.setAttribute("role", "alert");
    box.tabIndex = -1;
    var strong = document.createElement("strong");
    strong.textContent = message;
    box.appendChild(strong);
    errorSlot.appendChild(box);
    box.focus();
  }

  function showErrors(body) {
    var errors = body.errors || {};
    Object.keys(errors).forEach(function (name) {
      var problems = errors[name];
      if (name === "photos" && Array.isArray(problems)) {
        var general = [];
        problems.forEach(function (problem) {
          if (problem && typeof problem === "object" && typeof problem.index === "number" && photos[problem.index]) {
            photos[problem.index].error = problem.message;
          } else {
            general.push(typeof problem === "object" ? problem.message : problem);
          }
        });
        render();
        problems = general;
      }
      var field = form.querySelector("[name='" + name + "']:not([type=hidden])") || form.querySelector("fieldset.photos");
      if (!problems || !problems.length || !field) return;
      var note = document.createElement("div");
      note.className = "error-text js-error";
      note.id = name + "-error";
      [].concat(problems).forEach(function (problem) {
        var p = document.createElement("p");
        p.textContent = typeof problem === "object" ? (problem.message || JSON.stringify(problem)) : problem;
        note.appendChild(p);
      });
      var old = form.querySelector("#" + name + "-error");
      if (old) old.remove();
      (field.closest(".field") || field).appendChild(note);
    });
    showMessage(body.message);
  }

  function entry() {
    return {
      key: text.key,
      url: form.action,
      title: text.title,
      assignment: text.assignment,
      fields: fieldPairs(),
      photos: photos.map(function (photo) { return { name: photo.file.name, blob: photo.file }; }),
      created: new Date().toISOString(),
    };
  }

  function keepOnPhone() {
    return window.chuanxiOutbox.keep(entry()).then(function () {
      button.disabled = true;
      showMessage(text.textKept, "warning");
    }, function () {
      showMessage(text.textFailed);
    });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    clearErrors();
    render();
    if (!navigator.onLine && window.chuanxiOutbox) return keepOnPhone();
    var data = new FormData();
    fieldPairs().forEach(function (pair) { data.append(pair[0], pair[1]); });
    photos.forEach(function (photo) { data.append("photos", photo.file, photo.file.name); });
    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    xhr.setRequestHeader("X-CSRFToken", window.chuanxiOutbox ? window.chuanxiOutbox.csrfToken() : "");
    xhr.setRequestHeader("Idempotency-Key", text.key);
    xhr.setRequestHeader("Accept", "application/json");
    button.disabled = true;
    progress.hidden = false;
    bar.value = 0;
    barText.textContent = text.textSending;
    xhr.upload.addEventListener("progress", function (e) {
      if (!e.lengthComputable) return;
      var percent = Math.round((100 * e.loaded) / e.total);
      bar.value = percent;
      barText.textContent = percent + "%";
    });
    xhr.addEventListener("load", function () {
      var body = {};
      try { body = JSON.parse(xhr.responseText || "{}"); } catch (e) { body = {}; }
      if (xhr.status === 201 || xhr.status === 200) {
        bar.value = 100;
        barText.textContent = text.textSent;
        window.location.assign(body.redirect || form.action);
        return;
      }
      progress.hidden = true;
      button.disabled = false;
      if (xhr.status >= 500 || !body.message) return showMessage(text.textFailed);
      showErrors(body);
    });
    // The connection dropped (or never was): keep the report on the phone with its key.
    xhr.addEventListener("error", function () {
      progress.hidden = true;
      button.disabled = false;
      if (window.chuanxiOutbox) keepOnPhone(); else showMessage(text.textFailed);
    });
    xhr.send(data);
  });

  // A report of this assignment already kept on the phone: say so instead of offering a second one.
  document.addEventListener("outbox:changed", function (event) {
    var mine = (event.detail || []).some(function (e) { return e.assignment === text.assignment && !e.refused; });
    button.disabled = mine;
  });
  render();
})();
