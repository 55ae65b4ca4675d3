// Small behaviours that need script; everything else is plain HTML and htmx attributes.
(function () {
  "use strict";

  // <button data-copy="#id">: copy the value of the element it names.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) return;
    var source = document.querySelector(button.getAttribute("data-copy"));
    if (!source) return;
    source.select();
    var done = function () { button.textContent = "Copied"; };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(source.value).then(done, function () {});
    } else {
      document.execCommand("copy");
      done();
    }
  });

  // Conversation, proposal and generation frames are numbered (see conversations/streams.py). A frame
  // the page has already applied is dropped, and a socket that reconnects asks only for what
  // the page has not seen yet. The page's marker is #<stream>-seq.
  function lastSeq() {
    var marker = document.querySelector("#conversation-seq, #proposal-seq, #generation-seq");
    return marker ? parseInt(marker.getAttribute("data-seq") || "0", 10) : 0;
  }

  if (window.htmx) {
    // When htmx swaps in an element with the id of one on the page, it first copies the old
    // element's settle attributes onto it. Copying `style` is an inline style (refused by the
    // Content-Security-Policy) whenever something, a browser extension or a test driver, has
    // touched the old element's style; the pages set no inline styles, so nothing is lost.
    htmx.config.attributesToSettle = ["class", "width", "height"];
    htmx.createWebSocket = function (url) {
      return new WebSocket(url.replace(/([?&]since=)\d+/, "$1" + lastSeq()), []);
    };
  }

  document.addEventListener("htmx:wsBeforeMessage", function (event) {
    var message = event.detail.message;
    var match = /data-seq="(\d+)"/.exec(message);
    if (match && parseInt(match[1], 10) <= lastSeq()) {
      event.preventDefault();
      return;
    }
    // A frame that adds a message the page already shows (rendered from the database while
    // its frames are replayed, or a question being retried) moves it to the end, once.
    var added = /<div id="messages" hx-swap-oob="beforeend"><article id="(message-\d+)"/.exec(message);
    var shown = added && document.getElementById(added[1]);
    if (shown) shown.remove();
  });

  document.addEventListener("htmx:wsAfterMessage", function () {
    if (document.querySelector("[data-reload]")) window.location.reload();
    var list = document.getElementById("messages");
    if (list) list.scrollTop = list.scrollHeight;
  });

  // After sending an answer, clear the box for the next one.
  document.addEventListener("htmx:wsAfterSend", function (event) {
    var box = event.target.querySelector && event.target.querySelector("textarea");
    if (box) box.value = "";
  });

  // The workflow graph's nodes and edges are SVG groups, not buttons: Enter or Space on a
  // focused one opens it, as a click does.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Enter" && event.key !== " ") return;
    var item = event.target.closest && event.target.closest(".workflow-graph [role=button]");
    if (!item) return;
    event.preventDefault();
    item.dispatchEvent(new MouseEvent("click", { bubbles: true, cancelable: true }));
  });

  // Close an open <details> menu when clicking elsewhere.
  document.addEventListener("click", function (event) {
    document.querySelectorAll("details.menu[open]").forEach(function (menu) {
      if (!menu.contains(event.target)) menu.removeAttribute("open");
    });
  });
})();
