/* 传习: the 复制 button of the work statistics' sentence (a file, not inline: the CSP forbids inline
   script). The button stays hidden without script. navigator.clipboard where the browser allows it
   (a secure context); otherwise the old copy command on a selection; if that fails too, the text is
   left selected and the page says how to copy it. */
(function () {
  "use strict";

  function selectText(node) {
    var range = document.createRange();
    range.selectNodeContents(node);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }

  function say(button, text) {
    var status = button.parentNode.querySelector("[data-copy-status]");
    if (status) status.textContent = text;
  }

  function fallback(button, node) {
    selectText(node);
    var copied = false;
    try {
      copied = document.execCommand("copy");
    } catch (e) {
      copied = false;
    }
    say(button, copied ? button.getAttribute("data-text-copied") : button.getAttribute("data-text-selected"));
  }

  document.addEventListener("DOMContentLoaded", function () {
    var buttons = document.querySelectorAll("[data-copy]");
    Array.prototype.forEach.call(buttons, function (button) {
      var node = document.getElementById(button.getAttribute("data-copy"));
      if (!node) return;
      button.hidden = false;
      button.addEventListener("click", function () {
        var text = node.textContent.trim();
        if (navigator.clipboard && window.isSecureContext) {
          navigator.clipboard.writeText(text).then(
            function () { say(button, button.getAttribute("data-text-copied")); },
            function () { fallback(button, node); }
          );
        } else {
          fallback(button, node);
        }
      });
    });
  });
})();
