/* The review desk: a lightbox to flip through the 1280 px previews, and the keys documented on the
   page: ←/→ photos, A approve, R return (to the comment), N next report, Esc closes the large view.
   Without script every thumbnail opens its preview in a new tab and the forms work as they are. */
(function () {
  "use strict";
  var dialog = document.querySelector("[data-lightbox]");
  var links = Array.prototype.slice.call(document.querySelectorAll("[data-gallery] a[data-photo]"));
  var current = 0;

  function show(index) {
    if (!dialog || !links.length) return;
    current = (index + links.length) % links.length;
    var link = links[current];
    var img = dialog.querySelector("[data-lightbox-img]");
    img.src = link.href;
    img.alt = link.querySelector("img").alt;
    dialog.querySelector("[data-lightbox-caption]").textContent = link.dataset.caption;
    if (!dialog.open) dialog.showModal();
  }

  links.forEach(function (link, index) {
    link.addEventListener("click", function (event) {
      if (event.ctrlKey || event.metaKey || event.shiftKey) return; // a new tab, as asked
      event.preventDefault();
      show(index);
    });
  });
  if (dialog) {
    dialog.querySelector("[data-lightbox-prev]").addEventListener("click", function () { show(current - 1); });
    dialog.querySelector("[data-lightbox-next]").addEventListener("click", function () { show(current + 1); });
    dialog.querySelector("[data-lightbox-close]").addEventListener("click", function () { dialog.close(); });
    dialog.addEventListener("close", function () { if (links[current]) links[current].focus(); });
  }

  function typing(target) {
    return target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
  }

  document.addEventListener("keydown", function (event) {
    if (event.altKey || event.ctrlKey || event.metaKey || typing(event.target)) return;
    var key = event.key;
    if (key === "ArrowRight" || key === "ArrowLeft") {
      if (!links.length) return;
      event.preventDefault();
      show(dialog && dialog.open ? current + (key === "ArrowRight" ? 1 : -1) : key === "ArrowRight" ? 0 : links.length - 1);
      return;
    }
    var lower = key.toLowerCase();
    if (lower === "a") {
      var approve = document.querySelector("form[data-approve-form]");
      if (approve) { event.preventDefault(); if (dialog && dialog.open) dialog.close(); approve.requestSubmit(); }
    } else if (lower === "r") {
      var comment = document.querySelector("form[data-return-form] textarea");
      if (comment) { event.preventDefault(); if (dialog && dialog.open) dialog.close(); comment.focus(); }
    } else if (lower === "n") {
      var next = document.querySelector("[data-next]");
      if (next) { event.preventDefault(); window.location.assign(next.href); }
    }
  });
})();
