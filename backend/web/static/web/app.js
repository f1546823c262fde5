/* 传习: what every page's script does, in plain JavaScript (no build step, no inline script: the
   Content-Security-Policy forbids it).
   - htmx helpers: rows that remove their own button after loading, the CSRF header.
   - "check all" boxes.
   - The phone's outbox: reports kept in IndexedDB while there was no connection, sent again with
     their own Idempotency-Key when it comes back (so a report is never made twice), and shown as
     待发送 until then. report.js puts them there. */
(function () {
  "use strict";

  function csrfToken() {
    var field = document.querySelector("input[name=csrfmiddlewaretoken]");
    if (field) return field.value;
    try {
      return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || "";
    } catch (e) {
      return "";
    }
  }

  document.addEventListener("htmx:afterRequest", function (event) {
    var elt = event.detail.elt;
    if (event.detail.successful && elt && elt.hasAttribute("data-remove-after-request")) elt.remove();
  });
  // A refused form swapped in place: move the focus to its message so it is read out.
  document.addEventListener("htmx:afterSwap", function (event) {
    var error = event.detail.target && event.detail.target.querySelector
      ? (event.detail.target.matches("[data-form-error]") ? event.detail.target : event.detail.target.querySelector("[data-form-error]"))
      : null;
    if (error) error.focus();
  });
  document.addEventListener("DOMContentLoaded", function () {
    var error = document.querySelector("[data-form-error]");
    if (error) error.focus();
  });

  document.addEventListener("change", function (event) {
    var box = event.target;
    if (!box.matches || !box.matches("[data-check-all]")) return;
    var form = box.form || document;
    form.querySelectorAll("input[type=checkbox][name='" + box.getAttribute("data-check-all") + "']").forEach(function (other) {
      if (!other.disabled) other.checked = box.checked;
    });
  });

  // The outbox ---------------------------------------------------------------------------------
  var DB = "chuanxi", STORE = "outbox";

  function openDb() {
    return new Promise(function (resolve, reject) {
      if (!window.indexedDB) return reject(new Error("no IndexedDB"));
      var request = indexedDB.open(DB, 1);
      request.onupgradeneeded = function () { request.result.createObjectStore(STORE, { keyPath: "key" }); };
      request.onsuccess = function () { resolve(request.result); };
      request.onerror = function () { reject(request.error); };
    });
  }

  function withStore(mode, work) {
    return openDb().then(function (db) {
      return new Promise(function (resolve, reject) {
        var tx = db.transaction(STORE, mode);
        var result = work(tx.objectStore(STORE));
        tx.oncomplete = function () { resolve(result && "result" in result ? result.result : result); };
        tx.onerror = function () { reject(tx.error); };
      });
    });
  }

  var outbox = {
    put: function (entry) { return withStore("readwrite", function (store) { return store.put(entry); }); },
    remove: function (key) { return withStore("readwrite", function (store) { return store.delete(key); }); },
    all: function () { return withStore("readonly", function (store) { return store.getAll(); }); },
  };

  function formDataOf(entry) {
    var data = new FormData();
    entry.fields.forEach(function (pair) { data.append(pair[0], pair[1]); });
    entry.photos.forEach(function (photo) { data.append("photos", photo.blob, photo.name); });
    return data;
  }

  function send(entry) {
    return fetch(entry.url, {
      method: "POST",
      body: formDataOf(entry),
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken(), "Idempotency-Key": entry.key, Accept: "application/json" },
    });
  }

  var banner = document.getElementById("outbox");

  function show(entries, note) {
    if (!banner) return;
    var pending = entries.filter(function (e) { return !e.refused; });
    var refused = entries.filter(function (e) { return e.refused; });
    banner.textContent = "";
    if (!pending.length && !refused.length && !note) { banner.hidden = true; return; }
    if (pending.length) {
      var strong = document.createElement("strong");
      strong.textContent = banner.dataset.labelPending;
      banner.appendChild(strong);
      banner.appendChild(document.createTextNode(banner.dataset.textPending.replace("{count}", pending.length)));
      var list = document.createElement("ul");
      pending.forEach(function (e) { var li = document.createElement("li"); li.textContent = e.title; list.appendChild(li); });
      banner.appendChild(list);
    }
    refused.forEach(function (e) {
      var p = document.createElement("p");
      p.textContent = banner.dataset.textFailed + " " + e.title + ": " + e.refused + " ";
      var discard = document.createElement("button");
      discard.type = "button";
      discard.className = "btn btn-small";
      discard.textContent = banner.dataset.textDiscard;
      discard.addEventListener("click", function () {
        outbox.remove(e.key).then(outbox.all).then(function (left) { show(left); });
      });
      p.appendChild(discard);
      banner.appendChild(p);
    });
    if (note) { var p = document.createElement("p"); p.textContent = note; banner.appendChild(p); }
    banner.hidden = false;
    document.dispatchEvent(new CustomEvent("outbox:changed", { detail: entries }));
  }

  var flushing = false;
  function flush() {
    if (flushing) return Promise.resolve();
    flushing = true;
    var sent = 0;
    return outbox.all().then(function (entries) {
      var waiting = entries.filter(function (e) { return !e.refused; });
      if (!navigator.onLine || !waiting.length) return entries;
      return waiting.reduce(function (chain, entry) {
        return chain.then(function () {
          return send(entry).then(function (response) {
            if (response.ok) { sent += 1; return outbox.remove(entry.key); }
            if (response.status >= 400 && response.status < 500 && response.status !== 408 && response.status !== 429) {
              return response.json().catch(function () { return {}; }).then(function (body) {
                entry.refused = body.message || String(response.status);
                return outbox.put(entry);
              });
            }
          }, function () { /* still offline: keep it */ });
        });
      }, Promise.resolve()).then(outbox.all);
    }).then(function (entries) {
      show(entries || [], sent ? banner && banner.dataset.textSent : "");
    }).catch(function () {}).then(function () { flushing = false; });
  }

  window.chuanxiOutbox = {
    keep: function (entry) { return outbox.put(entry).then(outbox.all).then(function (entries) { show(entries); return entries; }); },
    all: function () { return outbox.all().catch(function () { return []; }); },
    flush: flush,
    csrfToken: csrfToken,
  };

  window.addEventListener("online", flush);
  document.addEventListener("DOMContentLoaded", function () {
    outbox.all().then(function (entries) { show(entries); }).catch(function () {}).then(flush);
  });
})();
