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
    var marker = document.querySelector("#conversation-seq, #proposal-seq, #generation-seq, #run-seq");
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
    // A run's event line the page already shows comes again the same way: the new copy
    // replaces it (placed in order after the swap, below).
    var line = /<li id="(run-event-\d+)"/.exec(message);
    var listed = line && document.getElementById(line[1]);
    if (listed) listed.remove();
  });

  // A run's event lines stay in the order of their events (data-order), whatever order their
  // frames were published in (the branches of a parallel node record at the same time).
  function orderRunEvents() {
    var log = document.getElementById("run-events");
    if (!log) return;
    var lines = Array.prototype.slice.call(log.children);
    var order = function (line) { return parseInt(line.getAttribute("data-order") || "0", 10); };
    for (var index = 1; index < lines.length; index++) {
      if (order(lines[index - 1]) > order(lines[index])) {
        lines.sort(function (a, b) { return order(a) - order(b); });
        lines.forEach(function (line) { log.appendChild(line); });
        return;
      }
    }
  }

  document.addEventListener("htmx:wsAfterMessage", function () {
    if (document.querySelector("[data-reload]")) window.location.reload();
    orderRunEvents();
    var list = document.getElementById("messages");
    if (list) list.scrollTop = list.scrollHeight;
  });

  // After sending an answer, clear the box for the next one.
  document.addEventListener("htmx:wsAfterSend", function (event) {
    var box = event.target.querySelector && event.target.querySelector("textarea");
    if (box) box.value = "";
  });


  // ---- Workflow editor (workflows/editor, workflows/templates/workflows) ---------------------
  // Only the editor's code is in this section; the graph, the forms and the findings are
  // rendered by the server, and everything here degrades to the forms without script.

  // htmx wires up swapped-in elements when the swap settles, a moment after they appear: a
  // click on a graph node in that moment went unheard, and a form sent then went without
  // htmx (the journey saw both under load). Before an event reaches an editor element, wire
  // it; htmx.process does nothing to an element already wired.
  function wired(item) {
    if (window.htmx && item) htmx.process(item);
    return item;
  }

  ["click", "change", "submit"].forEach(function (type) {
    document.addEventListener(type, function (event) {
      var target = event.target;
      wired(target.closest && target.closest(".workflow-editor [hx-get], .workflow-editor [hx-post]"));
    }, true);
  });

  // The workflow graph's nodes and edges are SVG groups, not buttons: Enter or Space on a
  // focused one opens it, as a click does.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Enter" && event.key !== " ") return;
    var item = event.target.closest && event.target.closest(".workflow-graph [role=button]");
    if (!item) return;
    event.preventDefault();
    wired(item).dispatchEvent(new MouseEvent("click", { bubbles: true, cancelable: true }));
  });

  // Connect two nodes by dragging from one onto the other (a graph members may change has
  // data-connectable). The connection is posted by the hidden #connect-form, as the "Add an
  // edge" form would post it; dropping elsewhere, or on the same node, connects nothing.
  var DRAG_START = 6; // pixels the pointer moves before a press becomes a drag
  var drag = null;

  function graphPoint(svg, event) {
    var point = svg.createSVGPoint();
    point.x = event.clientX;
    point.y = event.clientY;
    return point.matrixTransform(svg.getScreenCTM().inverse());
  }

  function nodeAt(event) {
    var under = document.elementFromPoint(event.clientX, event.clientY);
    var node = under && under.closest && under.closest(".workflow-graph .wf-node");
    return node && drag && node.ownerSVGElement === drag.svg ? node : null;
  }

  function markTarget(node) {
    if (drag.target === node) return;
    if (drag.target) drag.target.classList.remove("drop-target");
    drag.target = node && node !== drag.source ? node : null;
    if (drag.target) drag.target.classList.add("drop-target");
  }

  function endDrag() {
    if (!drag) return;
    if (drag.line) drag.line.remove();
    drag.svg.classList.remove("is-connecting");
    drag.source.classList.remove("drag-source");
    if (drag.target) drag.target.classList.remove("drop-target");
    drag = null;
  }

  document.addEventListener("pointerdown", function (event) {
    if (event.button !== 0 || !event.target.closest) return;
    var source = event.target.closest(".workflow-graph[data-connectable] .wf-node");
    // A touch on a node scrolls the graph; only its port starts a connection.
    if (!source || (event.pointerType === "touch" && !event.target.closest(".connect-port"))) return;
    var svg = source.ownerSVGElement;
    drag = { svg: svg, source: source, x: event.clientX, y: event.clientY, line: null, target: null, from: graphPoint(svg, event) };
  });

  document.addEventListener("pointermove", function (event) {
    if (!drag) return;
    if (!drag.line) {
      if (Math.abs(event.clientX - drag.x) + Math.abs(event.clientY - drag.y) < DRAG_START) return;
      drag.line = document.createElementNS("http://www.w3.org/2000/svg", "line");
      drag.line.setAttribute("class", "drag-line");
      drag.line.setAttribute("x1", drag.from.x);
      drag.line.setAttribute("y1", drag.from.y);
      drag.svg.appendChild(drag.line);
      drag.svg.classList.add("is-connecting");
      drag.source.classList.add("drag-source");
    }
    event.preventDefault();
    var point = graphPoint(drag.svg, event);
    drag.line.setAttribute("x2", point.x);
    drag.line.setAttribute("y2", point.y);
    markTarget(nodeAt(event));
  });

  document.addEventListener("pointerup", function (event) {
    if (!drag) return;
    var dragged = Boolean(drag.line);
    if (dragged) markTarget(nodeAt(event));
    var source = drag.source, target = drag.target;
    endDrag();
    if (!dragged) return; // a click: htmx opens the node
    // The click that ends a drag is not a click on the node: swallowed, if it comes at once.
    var swallow = function (click) {
      click.stopPropagation();
      click.preventDefault();
    };
    document.addEventListener("click", swallow, { capture: true, once: true });
    window.setTimeout(function () { document.removeEventListener("click", swallow, true); }, 0);
    var form = document.getElementById("connect-form");
    if (!target || !form) return;
    form.elements.source.value = source.getAttribute("data-node-id");
    form.elements.target.value = target.getAttribute("data-node-id");
    wired(form).requestSubmit();
  });

  document.addEventListener("pointercancel", endDrag);
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") endDrag();
  });

  // A finding's link opens what it is about in the side panel and selects it in the graph:
  // bring the selected node into view, which on a narrow screen is far above the findings.
  document.addEventListener("htmx:afterSettle", function (event) {
    var config = event.detail.requestConfig;
    if (!config || !config.elt || !config.elt.hasAttribute("data-show-in-graph")) return;
    var selected = document.querySelector(".workflow-graph .is-selected");
    if (selected) selected.scrollIntoView({ block: "center", inline: "center" });
  });

  // The edge form's Branch list shows the branches of the node chosen as From, taken from the
  // form's template of every decision's branches; it is hidden while that node has none.
  document.addEventListener("change", function (event) {
    var source = event.target;
    if (!source.matches || !source.matches("select[data-branch-source]")) return;
    var form = source.form;
    var field = form && form.querySelector("[data-branch-field]");
    var options = form && form.querySelector("template[data-branch-options]");
    if (!field || !options) return;
    var select = field.querySelector("select");
    while (select.options.length > 1) select.remove(1);
    select.value = "";
    var group = Array.prototype.find.call(options.content.querySelectorAll("optgroup"), function (candidate) {
      return candidate.getAttribute("data-source") === source.value;
    });
    if (group) {
      group.querySelectorAll("option").forEach(function (option) { select.appendChild(option.cloneNode(true)); });
    }
    field.hidden = !group;
  });

  // Key/value rows (workflows/editor/key_value.py): add a row from the template, remove one,
  // and keep the rows' accessible names numbered and the field's id on the first name box.
  function renumberRows(box) {
    var rows = box.querySelectorAll("[data-kv-rows] [data-kv-row]");
    rows.forEach(function (row, index) {
      var key = row.querySelector("[data-kv-key]");
      var value = row.querySelector("[data-kv-value]");
      var number = index + 1;
      key.setAttribute("aria-label", key.getAttribute("aria-label").replace(/, row \d+$/, "") + ", row " + number);
      value.setAttribute("aria-label", value.getAttribute("aria-label").replace(/, row \d+$/, "") + ", row " + number);
      row.querySelector("[data-kv-remove]").setAttribute("aria-label", "Remove row " + number);
      if (index === 0) key.id = box.getAttribute("data-kv-id");
      else key.removeAttribute("id");
    });
  }

  function addRow(box) {
    var template = box.querySelector("template[data-kv-template]");
    var row = template.content.firstElementChild.cloneNode(true);
    box.querySelector("[data-kv-rows]").appendChild(row);
    renumberRows(box);
    return row;
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-kv-add], [data-kv-remove]");
    if (!button) return;
    var box = button.closest("[data-kv]");
    if (!box) return;
    if (button.hasAttribute("data-kv-add")) {
      addRow(box).querySelector("[data-kv-key]").focus();
      return;
    }
    button.closest("[data-kv-row]").remove();
    if (!box.querySelector("[data-kv-rows] [data-kv-row]")) addRow(box);
    renumberRows(box);
    box.querySelector("[data-kv-add]").focus();
  });

  // A decision's "When no branch holds" list offers its branches: as branch rows are typed,
  // the list's "A branch" group follows them (the server checks the choice against the rows
  // it receives), so a branch and the default can be set in one save.
  document.addEventListener("input", function (event) {
    var form = event.target.closest && event.target.closest("[data-testid=branch-row]") && event.target.form;
    var select = form && form.querySelector("select[name=default_branch]");
    if (!select) return;
    var chosen = select.value;
    var group = select.querySelector('optgroup[label="A branch"]');
    if (!group) {
      group = document.createElement("optgroup");
      group.label = "A branch";
      select.insertBefore(group, select.options[0].nextSibling);  // after "None"
    }
    group.replaceChildren();
    form.querySelectorAll("[data-testid=branch-row]").forEach(function (each) {
      var id = each.querySelector("input[name$='-id']").value.trim();
      var label = each.querySelector("input[name$='-label']").value.trim();
      if (!id) return;
      group.appendChild(new Option("The \u201c" + (label || id) + "\u201d branch", id));
    });
    if (!group.children.length) group.remove();
    select.value = chosen;
    if (select.value !== chosen) select.value = "";
  });
  // ---- end of the workflow editor's section ----------------------------------------------

  // Close an open <details> menu when clicking elsewhere.
  document.addEventListener("click", function (event) {
    document.querySelectorAll("details.menu[open]").forEach(function (menu) {
      if (!menu.contains(event.target)) menu.removeAttribute("open");
    });
  });
})();
